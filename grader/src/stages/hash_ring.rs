//! Stage 1 cases: the consistent hash ring.
//!
//! ```yaml
//! stage: hash-ring
//! track: ring-placement
//! name: key-exactly-on-a-token
//! setup: {vnodes: 4, nodes: [A, B, C]}
//! steps:
//!   - owner: {key: "B#2", expect: {equals: B}}
//! ```
//!
//! The grader tracks which nodes are in the ring itself (from the setup and from successful
//! `add_node`/`remove_node` steps), so load and key-movement measurements never depend on the
//! implementation under test reporting its own membership correctly.

use std::collections::{BTreeMap, BTreeSet};

use dynamo_common::NodeId;
use hash_ring::{HashRing, RingError, Token, Transfer};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use super::StagePlugin;
use crate::expect::{
    Between, Expect, Expectation, ListExpect, Mismatch, Observed, judge_as, show_result,
};
use crate::implementation::Selection;
use crate::implementations::{self, RingImpl};
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;

/// The stage-1 plugin.
pub struct Plugin;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "HashRingTrack")]
pub enum Track {
    RingPlacement,
    VirtualNodes,
    PreferenceList,
    MembershipChanges,
}

/// The ring a case starts from. Without `vnodes` there is no ring until a `new_ring` step, so a
/// case about positions alone does not depend on `new` and `add_node`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "HashRingSetup")]
pub struct Setup {
    /// Tokens per node (at least 1; test 0 with a `new_ring` step).
    #[serde(default)]
    pub vnodes: Option<u32>,
    /// Nodes added, in order, before the first step. May be empty.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub nodes: Vec<Spanned<NodeId>>,
    /// Nodes whose tokens are placed by hand (`add_node_at`), added after `nodes`, in name
    /// order: node -> its token positions, vnode 0 first (`{A: [100, 900], B: [500]}`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<NodeId, Vec<u64>>")]
    pub tokens: BTreeMap<NodeId, Spanned<Vec<u64>>>,
}

/// One operation on the ring, with its expectation.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "HashRingStep")]
pub enum Step {
    /// The ring position of a string.
    Position {
        key: String,
        expect: Expect<u64, RingError>,
    },
    /// Replaces the ring with a new, empty one; its value is the new ring's token list.
    NewRing {
        vnodes: u32,
        expect: ListExpect<Token, RingError>,
    },
    /// Adds a node (with `tokens`, at those positions: `add_node_at`); its value is the list of
    /// transfers.
    AddNode {
        #[schemars(with = "NodeId")]
        node: Spanned<NodeId>,
        #[serde(default)]
        tokens: Option<Vec<u64>>,
        expect: ListExpect<Transfer, RingError>,
    },
    /// Removes a node; its value is the list of transfers.
    RemoveNode {
        #[schemars(with = "NodeId")]
        node: Spanned<NodeId>,
        expect: ListExpect<Transfer, RingError>,
    },
    /// The ring's tokens in ring order, optionally only those of one node.
    Tokens {
        #[serde(default)]
        #[schemars(with = "Option<NodeId>")]
        node: Option<Spanned<NodeId>>,
        expect: ListExpect<Token, RingError>,
    },
    /// The node that owns a key.
    Owner {
        key: String,
        expect: Expect<NodeId, RingError>,
    },
    /// The owners of several keys, as a map from key to node.
    Owners {
        keys: Vec<String>,
        expect: Expect<BTreeMap<String, NodeId>, RingError>,
    },
    /// The first `n` distinct nodes for a key.
    PreferenceList {
        key: String,
        n: usize,
        expect: ListExpect<NodeId, RingError>,
    },
    /// Owners of the keys `{prefix}0` .. `{prefix}{keys-1}`, counted per node.
    Load {
        keys: u32,
        #[serde(default = "default_prefix")]
        prefix: String,
        expect: LoadExpect,
    },
    /// Adds a node and measures which of `keys` sample keys changed owner.
    MovesOnAdd {
        #[schemars(with = "NodeId")]
        node: Spanned<NodeId>,
        keys: u32,
        expect: MovesExpect,
    },
    /// Removes a node and measures which of `keys` sample keys changed owner.
    MovesOnRemove {
        #[schemars(with = "NodeId")]
        node: Spanned<NodeId>,
        keys: u32,
        expect: MovesExpect,
    },
}

fn default_prefix() -> String {
    "key-".into()
}

/// What a `load` step measured.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Load {
    /// Keys owned per node (every node in the ring, also those that own none).
    pub counts: BTreeMap<NodeId, u64>,
    /// The busiest node's count over the mean count: 1.0 is a perfect spread.
    pub max_over_mean: f64,
}

/// Expectation of a `load` step.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadExpect {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// Bounds on max/mean.
    pub max_over_mean: Option<Between>,
    /// Exact counts per node.
    pub counts: Option<BTreeMap<NodeId, u64>>,
    pub snapshot: Option<String>,
}

impl Expectation for LoadExpect {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(b) = &self.max_over_mean {
            b.validate()?;
        }
        if self.max_over_mean.is_none() && self.counts.is_none() && self.snapshot.is_none() {
            return Err("`expect` checks nothing; use max_over_mean, counts or snapshot".into());
        }
        Ok(())
    }

    fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Observed, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

/// What a `moves_on_add`/`moves_on_remove` step measured.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Moves {
    /// Sample keys whose owner changed.
    pub moved: u64,
    /// `moved / keys`.
    pub fraction: f64,
    /// Keys that changed owner although no transfer covers them with that `from` and `to`.
    pub outside_transfers: u64,
    /// Keys a transfer covers that did not move from its `from` to its `to`.
    pub not_moved_inside: u64,
    /// Pairs of reported transfers whose ranges share a position (a duplicate counts too). The
    /// transfers of one change are disjoint, so this must be 0 whatever the `expect` says.
    pub overlapping: u64,
}

/// Expectation of a moves step.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MovesExpect {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    pub fraction: Option<Between>,
    pub moved: Option<u64>,
    pub outside_transfers: Option<u64>,
    pub not_moved_inside: Option<u64>,
    pub snapshot: Option<String>,
}

impl Expectation for MovesExpect {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(b) = &self.fraction {
            b.validate()?;
        }
        let any = self.fraction.is_some()
            || self.moved.is_some()
            || self.outside_transfers.is_some()
            || self.not_moved_inside.is_some()
            || self.snapshot.is_some();
        if any {
            Ok(())
        } else {
            Err("`expect` checks nothing; use fraction, moved, outside_transfers, not_moved_inside or snapshot".into())
        }
    }

    fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Observed, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

/// A ring under test plus the grader's own record of its members.
pub struct State {
    implementation: RingImpl,
    /// `None` until the setup or a `new_ring` step creates one; validation guarantees every
    /// step that needs a ring comes after that.
    ring: Option<Box<dyn HashRing>>,
    members: BTreeSet<NodeId>,
}

impl State {
    fn ring(&mut self) -> &mut dyn HashRing {
        match &mut self.ring {
            Some(ring) => ring.as_mut(),
            None => unreachable!("validation puts a ring before every step that needs one"),
        }
    }
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::HashRing;
    const TRACKS: &'static [&'static str] = &[
        "ring-placement",
        "virtual-nodes",
        "preference-list",
        "membership-changes",
    ];
    type Track = Track;
    type Setup = Setup;
    type Step = Step;
    type State = State;

    fn validate(setup: &Setup, steps: &[Spanned<Step>]) -> Vec<(Location, String)> {
        let mut problems = Vec::new();
        let mut declared: BTreeSet<&NodeId> = BTreeSet::new();
        for node in &setup.nodes {
            if !declared.insert(&node.value) {
                problems.push((
                    node.referenced,
                    format!("node {} is listed twice", node.value),
                ));
            }
        }
        for (node, at) in &setup.tokens {
            if !declared.insert(node) {
                problems.push((
                    at.referenced,
                    format!("node {node} is in setup.nodes and setup.tokens; list it once"),
                ));
            }
            if at.value.is_empty() {
                problems.push((
                    at.referenced,
                    format!(
                        "node {node} has no tokens; test that with an `add_node` step with `tokens: []`"
                    ),
                ));
            }
        }
        let first = steps.first().map_or(Location::UNKNOWN, |s| s.referenced);
        if setup.vnodes == Some(0) {
            problems.push((
                first,
                "setup.vnodes must be at least 1; test zero with a `new_ring` step".into(),
            ));
        }
        if setup.vnodes.is_none() && !setup.nodes.is_empty() {
            problems.push((first, "setup.nodes needs setup.vnodes".into()));
        }
        if setup.vnodes.is_none() && !setup.tokens.is_empty() {
            problems.push((
                first,
                "setup.tokens needs setup.vnodes (the ring's `new`, for nodes added without tokens)"
                    .into(),
            ));
        }
        let mut has_ring = setup.vnodes.is_some();
        for step in steps {
            match &step.value {
                Step::Position { .. } => {}
                Step::NewRing { .. } => has_ring = true,
                _ if !has_ring => problems.push((
                    step.referenced,
                    "this step needs a ring: give setup.vnodes, or start with a `new_ring` step"
                        .into(),
                )),
                _ => {}
            }
            let mut unknown = |node: &NodeId, declared: &BTreeSet<&NodeId>| {
                if !declared.contains(node) {
                    problems.push((
                        step.referenced,
                        format!(
                            "names node {node}, which is not in the setup nor added by an earlier step"
                        ),
                    ));
                }
            };
            match &step.value {
                Step::AddNode { node, expect, .. } => {
                    for t in expect.named_items() {
                        unknown(&t.from, &declared);
                    }
                    declared.insert(&node.value);
                }
                Step::MovesOnAdd { node, .. } => {
                    declared.insert(&node.value);
                }
                Step::RemoveNode { node, expect } => {
                    if expect.error.is_none() {
                        unknown(&node.value, &declared);
                    }
                    for t in expect.named_items() {
                        unknown(&t.to, &declared);
                    }
                }
                Step::MovesOnRemove { node, .. } => unknown(&node.value, &declared),
                Step::Tokens { node, expect } => {
                    if let Some(node) = node {
                        unknown(&node.value, &declared);
                    }
                    for t in expect.named_items() {
                        unknown(&t.node, &declared);
                    }
                }
                Step::Owner { expect, .. } => {
                    if let Some(node) = &expect.equals {
                        unknown(node, &declared);
                    }
                }
                Step::Owners { expect, .. } => {
                    for node in expect.equals.iter().flat_map(|m| m.values()) {
                        unknown(node, &declared);
                    }
                }
                Step::PreferenceList { expect, .. } => {
                    for node in expect.named_items() {
                        unknown(node, &declared);
                    }
                }
                Step::Load { expect, .. } => {
                    for node in expect.counts.iter().flat_map(|c| c.keys()) {
                        unknown(node, &declared);
                    }
                }
                Step::Position { .. } | Step::NewRing { .. } => {}
            }
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Position { expect, .. } => expect,
            Step::Owner { expect, .. } => expect,
            Step::Owners { expect, .. } => expect,
            Step::NewRing { expect, .. } | Step::Tokens { expect, .. } => expect,
            Step::AddNode { expect, .. } | Step::RemoveNode { expect, .. } => expect,
            Step::PreferenceList { expect, .. } => expect,
            Step::Load { expect, .. } => expect,
            Step::MovesOnAdd { expect, .. } | Step::MovesOnRemove { expect, .. } => expect,
        }
    }

    fn label(step: &Step) -> String {
        match step {
            Step::Position { key, .. } => format!("position {}", inline(key)),
            Step::NewRing { vnodes, .. } => format!("new_ring vnodes={vnodes}"),
            Step::AddNode {
                node,
                tokens: Some(at),
                ..
            } => format!("add_node_at {} {}", node.value, inline(at)),
            Step::AddNode { node, .. } => format!("add_node {}", node.value),
            Step::RemoveNode { node, .. } => format!("remove_node {}", node.value),
            Step::Tokens { node: None, .. } => "tokens".into(),
            Step::Tokens { node: Some(n), .. } => format!("tokens of {}", n.value),
            Step::Owner { key, .. } => format!("owner {}", inline(key)),
            Step::Owners { keys, .. } => format!(
                "owners of {}",
                crate::render::count(keys.len() as u64, "key", "keys")
            ),
            Step::PreferenceList { key, n, .. } => {
                format!("preference_list {} n={n}", inline(key))
            }
            Step::Load { keys, prefix, .. } => format!("load over {keys} keys {prefix}N"),
            Step::MovesOnAdd { node, keys, .. } => {
                format!("moves_on_add {} over {keys} keys", node.value)
            }
            Step::MovesOnRemove { node, keys, .. } => {
                format!("moves_on_remove {} over {keys} keys", node.value)
            }
        }
    }

    fn setup_label(setup: &Setup) -> String {
        match setup.vnodes {
            None => "setup (no ring)".into(),
            Some(v) if setup.nodes.is_empty() => format!("setup: new({v})"),
            Some(v) => {
                let mut nodes: Vec<String> =
                    setup.nodes.iter().map(|n| n.value.to_string()).collect();
                nodes.extend(
                    setup
                        .tokens
                        .iter()
                        .map(|(n, at)| format!("{n} at {}", inline(&at.value))),
                );
                format!("setup: new({v}), then add_node {}", nodes.join(", "))
            }
        }
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        let implementation = implementations::hash_ring(&selection.get(Stage::HashRing));
        let mut members = BTreeSet::new();
        let Some(vnodes) = setup.vnodes else {
            return Ok(State {
                implementation,
                ring: None,
                members,
            });
        };
        let mut ring = (implementation.new)(vnodes).map_err(|e| {
            Mismatch::new(
                format!("new({vnodes}) to succeed"),
                show_result::<(), _>(&Err(e)),
            )
        })?;
        for node in &setup.nodes {
            let node = node.value.clone();
            ring.add_node(node.clone()).map_err(|e| {
                Mismatch::new(
                    format!("add_node({node}) to succeed"),
                    show_result::<(), _>(&Err(e)),
                )
            })?;
            members.insert(node);
        }
        for (node, at) in &setup.tokens {
            ring.add_node_at(node.clone(), &at.value).map_err(|e| {
                Mismatch::new(
                    format!("add_node_at({node}, {}) to succeed", inline(&at.value)),
                    show_result::<(), _>(&Err(e)),
                )
            })?;
            members.insert(node.clone());
        }
        Ok(State {
            implementation,
            ring: Some(ring),
            members,
        })
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        match step {
            Step::Position { key, expect } => {
                expect.check(&Ok((state.implementation.position)(key)), snapshots)
            }
            Step::NewRing { vnodes, expect } => {
                let result = (state.implementation.new)(*vnodes).map(|ring| {
                    let tokens = ring.tokens();
                    state.ring = Some(ring);
                    state.members.clear();
                    tokens
                });
                expect.check(&result, snapshots)
            }
            Step::AddNode {
                node,
                tokens,
                expect,
            } => {
                let result = match tokens {
                    Some(at) => state.ring().add_node_at(node.value.clone(), at),
                    None => state.ring().add_node(node.value.clone()),
                };
                if result.is_ok() {
                    state.members.insert(node.value.clone());
                }
                expect.check(&result, snapshots)
            }
            Step::RemoveNode { node, expect } => {
                let result = state.ring().remove_node(&node.value);
                if result.is_ok() {
                    state.members.remove(&node.value);
                }
                expect.check(&result, snapshots)
            }
            Step::Tokens { node, expect } => {
                let mut tokens = state.ring().tokens();
                if let Some(node) = node {
                    tokens.retain(|t| t.node == node.value);
                }
                expect.check(&Ok(tokens), snapshots)
            }
            Step::Owner { key, expect } => expect.check(&state.ring().owner(key), snapshots),
            Step::Owners { keys, expect } => {
                let owners: Result<BTreeMap<String, NodeId>, RingError> = keys
                    .iter()
                    .map(|k| state.ring().owner(k).map(|n| (k.clone(), n)))
                    .collect();
                expect.check(&owners, snapshots)
            }
            Step::PreferenceList { key, n, expect } => {
                expect.check(&state.ring().preference_list(key, *n), snapshots)
            }
            Step::Load {
                keys,
                prefix,
                expect,
            } => check_load(state, *keys, prefix, expect, snapshots),
            Step::MovesOnAdd { node, keys, expect } => {
                check_moves(state, &node.value, true, *keys, expect, snapshots)
            }
            Step::MovesOnRemove { node, keys, expect } => {
                check_moves(state, &node.value, false, *keys, expect, snapshots)
            }
        }
    }
}

fn check_load(
    state: &mut State,
    keys: u32,
    prefix: &str,
    expect: &LoadExpect,
    snapshots: &mut Snapshots,
) -> Result<(), Mismatch> {
    let mut counts: BTreeMap<NodeId, u64> = state.members.iter().map(|n| (n.clone(), 0)).collect();
    for i in 0..keys {
        let key = format!("{prefix}{i}");
        let owner = state.ring().owner(&key).map_err(|e| {
            Mismatch::new(
                format!("owner({key:?}) to succeed"),
                show_result::<(), _>(&Err(e)),
            )
        })?;
        match counts.get_mut(&owner) {
            Some(c) => *c += 1,
            None => {
                return Err(Mismatch::new(
                    format!("owner({key:?}) to be one of {}", inline(&state.members)),
                    owner.to_string(),
                ));
            }
        }
    }
    let mean = f64::from(keys) / counts.len().max(1) as f64;
    let max = counts.values().copied().max().unwrap_or(0) as f64;
    let load = Load {
        max_over_mean: round(max / mean),
        counts,
    };
    expect.check(&load, snapshots)
}

impl LoadExpect {
    fn check(&self, load: &Load, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(load) {
            return verdict;
        }
        if let Some(bound) = &self.max_over_mean
            && !bound.holds(load.max_over_mean)
        {
            return Err(Mismatch::new(
                format!("max/mean {bound}"),
                format!(
                    "max/mean {} with counts {}",
                    load.max_over_mean,
                    inline(&load.counts)
                ),
            ));
        }
        if let Some(counts) = &self.counts
            && *counts != load.counts
        {
            return Err(Mismatch::new(inline(counts), inline(&load.counts)));
        }
        match &self.snapshot {
            Some(name) => snapshots.check(name, load),
            None => Ok(()),
        }
    }
}

fn check_moves(
    state: &mut State,
    node: &NodeId,
    add: bool,
    keys: u32,
    expect: &MovesExpect,
    snapshots: &mut Snapshots,
) -> Result<(), Mismatch> {
    let sample: Vec<String> = (0..keys).map(|i| format!("key-{i}")).collect();
    let owners = |ring: &dyn HashRing| -> Result<Vec<NodeId>, Mismatch> {
        sample
            .iter()
            .map(|k| {
                ring.owner(k).map_err(|e| {
                    Mismatch::new(
                        format!("owner({k:?}) to succeed"),
                        show_result::<(), _>(&Err(e)),
                    )
                })
            })
            .collect()
    };
    let before = owners(state.ring())?;
    let change = if add {
        state.ring().add_node(node.clone())
    } else {
        state.ring().remove_node(node)
    };
    let transfers = change.map_err(|e| {
        let op = if add { "add_node" } else { "remove_node" };
        Mismatch::new(
            format!("{op}({node}) to succeed"),
            show_result::<(), _>(&Err(e)),
        )
    })?;
    if add {
        state.members.insert(node.clone());
    } else {
        state.members.remove(node);
    }
    let after = owners(state.ring())?;
    let mut moves = Moves {
        moved: 0,
        fraction: 0.0,
        outside_transfers: 0,
        not_moved_inside: 0,
        overlapping: overlapping_pairs(&transfers),
    };
    for ((key, old), new) in sample.iter().zip(&before).zip(&after) {
        let pos = (state.implementation.position)(key);
        let covering = transfers.iter().find(|t| t.range.contains(pos));
        if old != new {
            moves.moved += 1;
            if !covering.is_some_and(|t| t.from == *old && t.to == *new) {
                moves.outside_transfers += 1;
            }
        } else if covering.is_some() {
            moves.not_moved_inside += 1;
        }
    }
    moves.fraction = round(moves.moved as f64 / f64::from(keys.max(1)));
    expect.check(&moves, snapshots)
}

impl MovesExpect {
    fn check(&self, moves: &Moves, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(moves) {
            return verdict;
        }
        // Judged whatever the case expects: a key covered twice would be sent twice, and the
        // per-key counts see only the first covering transfer.
        if moves.overlapping != 0 {
            return Err(Mismatch::new(
                "disjoint transfers (no position in two ranges)",
                format!(
                    "{} overlapping pair(s) of transfers (measured {})",
                    moves.overlapping,
                    inline(moves)
                ),
            ));
        }
        let exact = [
            ("moved", self.moved, moves.moved),
            (
                "outside_transfers",
                self.outside_transfers,
                moves.outside_transfers,
            ),
            (
                "not_moved_inside",
                self.not_moved_inside,
                moves.not_moved_inside,
            ),
        ];
        for (what, want, got) in exact {
            if let Some(want) = want
                && want != got
            {
                return Err(Mismatch::new(
                    format!("{what}: {want}"),
                    format!("{what}: {got} (measured {})", inline(moves)),
                ));
            }
        }
        if let Some(bound) = &self.fraction
            && !bound.holds(moves.fraction)
        {
            return Err(Mismatch::new(
                format!("fraction moved {bound}"),
                format!("{} (measured {})", moves.fraction, inline(moves)),
            ));
        }
        match &self.snapshot {
            Some(name) => snapshots.check(name, moves),
            None => Ok(()),
        }
    }
}

/// How many pairs of `transfers` have ranges that share a position. Two arcs `(s, e]` meet
/// exactly when one contains the other's end: the end of their common part is one of their ends.
fn overlapping_pairs(transfers: &[Transfer]) -> u64 {
    let mut pairs = 0;
    for (i, a) in transfers.iter().enumerate() {
        for b in &transfers[i + 1..] {
            if a.range.contains(b.range.end) || b.range.contains(a.range.end) {
                pairs += 1;
            }
        }
    }
    pairs
}

/// Four decimals: enough to judge a spread, stable to print.
fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
