//! Stage 5 cases: Merkle trees, diff and sync.
//!
//! ```yaml
//! stage: anti-entropy
//! track: merkle-diff
//! name: one-changed-value
//! setup:
//!   depth: 2
//!   replicas:
//!     a: {values: {apple: red, banana: yellow}}
//!     b: {values: {apple: red, banana: green}}
//! steps:
//!   - diff: {on: a, with: b, expect: {keys: [{key: banana, difference: different}]}}
//! ```
//!
//! Replicas are named in `setup.replicas`, each loaded (in key order, before the first step) from
//! `values` (key → value, stored as one version with the shorthand clock `{W: {counter: 1}}`),
//! `versions` (key → explicit sibling set) and `generate: N` (keys `key-0` … `key-{N-1}` with
//! values `value-0` …). Every step names its replica with `on:`. A `root` step can save the root
//! under a name with `as:`, and `same_root` compares replicas' current roots or saved ones, so a
//! case can say "the delete changed the root" without writing a hash.
//!
//! `insert` is an action: it checks only that the call returns. Its effect is checked by the
//! steps after it.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use anti_entropy::{
    Diff, Hash, KeyDifference, MAX_DEPTH, NodeId, Replica, SiblingStores, SyncReport, VectorClock,
    Version,
};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use vector_clocks::Entry;

use super::StagePlugin;
use crate::expect::{
    Expect, Expectation, ListExpect, Mismatch, NoError, Observed as Reported, judge_as,
};
use crate::implementation::Selection;
use crate::implementations;
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;

/// The stage-5 plugin.
pub struct Plugin;

/// The depth a case gets when its setup leaves `depth` out.
const DEFAULT_DEPTH: u32 = 2;
/// The most keys `generate` may ask for, to keep a case fast on a learner's debug build.
const MAX_GENERATED: u32 = 100_000;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "AntiEntropyTrack")]
pub enum Track {
    MerkleBuild,
    MerkleDiff,
    Incremental,
    Sync,
}

/// The replicas a case starts from, and their trees' depth.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AntiEntropySetup")]
pub struct Setup {
    /// Every replica's tree depth (`2^depth` leaves); 2 when left out, at most 20.
    #[serde(default)]
    pub depth: Option<u32>,
    /// Replicas by name, with the data each starts with.
    #[serde(default)]
    #[schemars(with = "BTreeMap<NodeId, ReplicaData>")]
    pub replicas: BTreeMap<NodeId, Spanned<ReplicaData>>,
}

/// The data one replica starts with, inserted in key order before the first step.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaData {
    /// Key → value, each stored as one version with the shorthand clock `{W: {counter: 1}}`.
    /// Two different values under one key have equal clocks, so reconciliation cannot merge
    /// them: give `versions` to keys a case syncs.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Key → its sibling set, written out.
    #[serde(default)]
    pub versions: BTreeMap<String, Vec<Version>>,
    /// Keys `key-0` … `key-{N-1}` with values `value-0` …, with the shorthand clock.
    #[serde(default)]
    pub generate: Option<u32>,
}

/// `insert` checks only that the call returns: its effect is checked by the steps that follow.
#[derive(Debug, Default)]
pub struct Returns;

impl Expectation for Returns {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        "returns".into()
    }

    fn judge(&self, observed: &Reported, _: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |_: &()| Ok(()))
    }
}

impl Returns {
    /// Ends a step that only has to return, so the parent sees it run to its end.
    fn check(&self, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        snapshots.report(&()).unwrap_or(Ok(()))
    }
}

static RETURNS: Returns = Returns;

/// Expectation on a diff: all the given checks must hold.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DiffExpect")]
pub struct DiffExpect {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// Exactly these differing keys, in key order (`[]`: the replicas agree).
    pub keys: Option<Vec<KeyDifference>>,
    /// Exactly this many hash comparisons.
    pub comparisons: Option<u64>,
    /// At most this many hash comparisons.
    pub comparisons_at_most: Option<u64>,
    /// The whole diff must match this recorded snapshot.
    pub snapshot: Option<String>,
}

impl Expectation for DiffExpect {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        let any = self.keys.is_some()
            || self.comparisons.is_some()
            || self.comparisons_at_most.is_some()
            || self.snapshot.is_some();
        if any {
            Ok(())
        } else {
            Err(
                "`expect` checks nothing; give keys, comparisons, comparisons_at_most or snapshot"
                    .into(),
            )
        }
    }

    fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Reported, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

impl DiffExpect {
    /// With `comparisons_at_most`, the grader also bounds what it saw the diff read from the
    /// other tree, so the bound holds whatever count the diff reports about itself.
    fn check_cost(&self, done: &DiffDone) -> Result<(), Mismatch> {
        let Some(n) = self.comparisons_at_most else {
            return Ok(());
        };
        if done.listings > 0 {
            return Err(Mismatch::new(
                format!("a diff that reads at most {n} hashes of the other tree"),
                "a diff that listed every key of the other replica (keys()): that is the \
                 key-by-key comparison the tree exists to avoid",
            ));
        }
        let reads = done.node_reads;
        if reads > n {
            return Err(Mismatch::new(
                format!("at most {n} hashes read from the other tree"),
                format!("{reads} hashes read (other.node() calls)"),
            ));
        }
        Ok(())
    }

    fn check(&self, done: &DiffDone, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(done) {
            return verdict;
        }
        self.check_cost(done)?;
        let diff = &done.diff;
        if let Some(keys) = &self.keys
            && *keys != diff.keys
        {
            return Err(Mismatch::new(
                format!("keys {}", inline(keys)),
                format!("keys {}", inline(&diff.keys)),
            ));
        }
        if let Some(n) = self.comparisons
            && n != diff.comparisons
        {
            return Err(Mismatch::new(
                format!("{n} comparisons"),
                format!("{} comparisons", diff.comparisons),
            ));
        }
        if let Some(n) = self.comparisons_at_most
            && diff.comparisons > n
        {
            return Err(Mismatch::new(
                format!("at most {n} comparisons"),
                format!("{} comparisons", diff.comparisons),
            ));
        }
        match &self.snapshot {
            Some(name) => snapshots.check(name, diff),
            None => Ok(()),
        }
    }
}

/// What a diff step did: the diff, and what the grader saw it read from the other tree.
#[derive(Debug, Serialize, Deserialize)]
struct DiffDone {
    diff: Diff,
    node_reads: u64,
    listings: u64,
}

/// The other replica as a diff sees it: every read of its tree is counted, so cost checks
/// measure what the diff did rather than trust what it reports.
struct Observed<'a> {
    inner: &'a dyn Replica,
    node_reads: Cell<u64>,
    listings: Cell<u64>,
}

impl<'a> Observed<'a> {
    fn new(inner: &'a dyn Replica) -> Self {
        Observed {
            inner,
            node_reads: Cell::new(0),
            listings: Cell::new(0),
        }
    }
}

impl Replica for Observed<'_> {
    fn new(_depth: u32) -> Self {
        unreachable!("the grader never builds an observer from scratch")
    }

    fn depth(&self) -> u32 {
        self.inner.depth()
    }

    fn segment(&self, key: &str) -> u64 {
        self.inner.segment(key)
    }

    fn insert(&mut self, _key: &str, _siblings: Vec<Version>) {
        unreachable!("diff only has a shared reference to the other replica")
    }

    fn delete(&mut self, _key: &str) -> bool {
        unreachable!("diff only has a shared reference to the other replica")
    }

    fn get(&self, key: &str) -> Vec<Version> {
        self.inner.get(key)
    }

    fn keys(&self) -> Vec<String> {
        self.listings.set(self.listings.get() + 1);
        self.inner.keys()
    }

    fn leaf(&self, segment: u64) -> Vec<(String, Vec<Version>)> {
        self.inner.leaf(segment)
    }

    fn node(&self, level: u32, index: u64) -> Hash {
        self.node_reads.set(self.node_reads.get() + 1);
        self.inner.node(level, index)
    }

    fn diff(&self, other: &dyn Replica) -> Diff {
        self.inner.diff(other)
    }

    fn sync(&mut self, _other: &mut dyn Replica, _stores: &SiblingStores) -> SyncReport {
        unreachable!("diff only has a shared reference to the other replica")
    }
}

/// Expectation on a sync's report: all the given checks must hold.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SyncExpect")]
pub struct SyncExpect {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// Exactly the keys sent to the other replica, in key order.
    pub sent: Option<Vec<String>>,
    /// Exactly the keys received from the other replica, in key order.
    pub received: Option<Vec<String>>,
    /// How many distinct keys moved, either way.
    pub moved: Option<usize>,
    /// The whole report must match this recorded snapshot.
    pub snapshot: Option<String>,
}

impl Expectation for SyncExpect {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        let any = self.sent.is_some()
            || self.received.is_some()
            || self.moved.is_some()
            || self.snapshot.is_some();
        if any {
            Ok(())
        } else {
            Err("`expect` checks nothing; give sent, received, moved or snapshot".into())
        }
    }

    fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Reported, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

impl SyncExpect {
    fn check(&self, report: &SyncReport, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(report) {
            return verdict;
        }
        for (what, want, got) in [
            ("sent", &self.sent, &report.sent),
            ("received", &self.received, &report.received),
        ] {
            if let Some(want) = want
                && want != got
            {
                return Err(Mismatch::new(
                    format!("{what} {}", inline(want)),
                    format!("{what} {}", inline(got)),
                ));
            }
        }
        if let Some(n) = self.moved {
            let moved: BTreeSet<&String> = report.sent.iter().chain(&report.received).collect();
            if moved.len() != n {
                return Err(Mismatch::new(
                    format!("{} moved", crate::render::count(n as u64, "key", "keys")),
                    format!(
                        "{} moved: {}",
                        crate::render::count(moved.len() as u64, "key", "keys"),
                        inline(&moved)
                    ),
                ));
            }
        }
        match &self.snapshot {
            Some(name) => snapshots.check(name, report),
            None => Ok(()),
        }
    }
}

/// One operation, with its expectation.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "AntiEntropyStep")]
pub enum Step {
    /// `segment(key)`: the key's leaf.
    Segment {
        on: NodeId,
        key: String,
        expect: Expect<u64, NoError>,
    },
    /// The root hash, `node(0, 0)`; `as:` saves it for `same_root`.
    Root {
        on: NodeId,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<Hash, NoError>,
    },
    /// `node(level, index)`.
    Node {
        on: NodeId,
        level: u32,
        index: u64,
        expect: Expect<Hash, NoError>,
    },
    /// The keys of leaf `segment`, in the order `leaf` returns them.
    Leaf {
        on: NodeId,
        segment: u64,
        expect: ListExpect<String, NoError>,
    },
    /// `keys()`.
    Keys {
        on: NodeId,
        expect: ListExpect<String, NoError>,
    },
    /// `get(key)`: the key's siblings.
    Get {
        on: NodeId,
        key: String,
        expect: ListExpect<Version, NoError>,
    },
    /// `insert(key, …)` with either `value` (the shorthand clock `{W: {counter: 1}}`) or
    /// `versions`. Checks that it returns and, with `expect: {hashes_at_most: N}`, how much it
    /// hashed.
    Insert {
        on: NodeId,
        key: String,
        #[serde(default)]
        value: Option<String>,
        #[serde(default)]
        versions: Option<Vec<Version>>,
        /// Optional: how much the insert may hash (`{hashes_at_most: N}`).
        #[serde(default)]
        expect: Option<InsertExpect>,
    },
    /// `delete(key)`: whether the key was there.
    Delete {
        on: NodeId,
        key: String,
        expect: Expect<bool, NoError>,
    },
    /// Whether two roots are equal; `a` and `b` each name a replica (its root now) or a root
    /// saved with `as:`.
    SameRoot {
        a: String,
        b: String,
        expect: Expect<bool, NoError>,
    },
    /// Whether every node of the replica's tree equals that of a fresh replica (same
    /// implementation, same depth) given the same data in key order.
    MatchesRebuild {
        on: NodeId,
        expect: Expect<bool, NoError>,
    },
    /// `on.diff(with)`.
    Diff {
        on: NodeId,
        with: NodeId,
        expect: DiffExpect,
    },
    /// `on.sync(with)`.
    Sync {
        on: NodeId,
        with: NodeId,
        expect: SyncExpect,
    },
}

impl Step {
    /// The replicas the step names.
    fn replicas(&self) -> Vec<&NodeId> {
        match self {
            Step::Segment { on, .. }
            | Step::Root { on, .. }
            | Step::Node { on, .. }
            | Step::Leaf { on, .. }
            | Step::Keys { on, .. }
            | Step::Get { on, .. }
            | Step::Insert { on, .. }
            | Step::Delete { on, .. }
            | Step::MatchesRebuild { on, .. } => vec![on],
            Step::Diff { on, with, .. } | Step::Sync { on, with, .. } => vec![on, with],
            Step::SameRoot { .. } => Vec::new(),
        }
    }
}

/// Judges the hashes an insert was seen to compute: between its path (`depth + 1`) and `bound`.
/// What an insert cost, as the step reports it: SHA-256 computations counted by
/// `anti_entropy::Sha256` during the insert and a root read after it, and the tree's depth.
#[derive(Debug, Serialize, Deserialize)]
pub struct UpdateCost {
    pub hashes: u64,
    pub depth: u32,
}

/// Expectation on an insert: how much it may hash.
#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertExpect {
    /// Shown when this step fails, instead of the case's `hint`.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// At most this many SHA-256 computations (counted by `anti_entropy::Sha256`) by the
    /// insert and a root read right after it, and at least `depth + 1` (its leaf and the nodes
    /// above: fewer means the tree was hashed with something the grader cannot see).
    pub hashes_at_most: Option<u64>,
}

impl Expectation for InsertExpect {
    fn validate(&self) -> Result<(), String> {
        match self.hashes_at_most {
            Some(_) => Ok(()),
            None => Err("`expect` checks nothing; give `hashes_at_most`".into()),
        }
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn judge(&self, observed: &Reported, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |cost: &UpdateCost| self.check(cost, snapshots))
    }
}

impl InsertExpect {
    fn check(&self, cost: &UpdateCost, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(cost) {
            return verdict;
        }
        let (hashes, depth) = (cost.hashes, cost.depth);
        let Some(bound) = self.hashes_at_most else {
            return Ok(());
        };
        let path = u64::from(depth) + 1;
        if hashes < path {
            return Err(Mismatch::new(
                format!(
                    "at least {path} hashes by anti_entropy::Sha256 (the leaf and {depth} nodes above it)"
                ),
                format!(
                    "{hashes} counted: hash the tree with anti_entropy::Sha256, not sha2 directly, so \
                     the grader can see the work an update does"
                ),
            ));
        }
        if hashes > bound {
            return Err(Mismatch::new(
                format!("at most {bound} hashes for one insert (its path is {path})"),
                format!(
                    "{hashes} hashes: an update must rehash one leaf and the nodes above it, not \
                     rebuild the tree (a whole tree of depth {depth} is {} hashes)",
                    (1u64 << (depth + 1).min(63)) - 1
                ),
            ));
        }
        Ok(())
    }
}

/// The one version a shorthand value stands for.
fn shorthand(value: &str) -> Vec<Version> {
    let clock: VectorClock = [(
        NodeId::new("W"),
        Entry {
            counter: 1,
            timestamp: 0,
        },
    )]
    .into_iter()
    .collect();
    vec![Version {
        clock,
        value: value.to_string(),
    }]
}

/// The replicas under test, and the roots a case saved.
pub struct State {
    depth: u32,
    new_replica: fn(u32) -> Box<dyn Replica>,
    stores: SiblingStores,
    replicas: BTreeMap<NodeId, Box<dyn Replica>>,
    saved: BTreeMap<String, Hash>,
}

impl State {
    fn replica(&mut self, name: &NodeId) -> &mut dyn Replica {
        match self.replicas.get_mut(name) {
            Some(r) => r.as_mut(),
            None => unreachable!("validation checks every replica a step names"),
        }
    }

    /// A replica's current root, or a saved one.
    fn root_named(&mut self, name: &str) -> Hash {
        match self.saved.get(name) {
            Some(h) => *h,
            None => self.replica(&NodeId::new(name)).node(0, 0),
        }
    }

    /// Whether `name`'s tree equals a fresh replica's built from the same data.
    fn matches_rebuild(&mut self, name: &NodeId) -> Result<bool, Mismatch> {
        let (depth, new_replica) = (self.depth, self.new_replica);
        let replica = self.replica(name);
        let mut fresh = new_replica(depth);
        for key in replica.keys() {
            fresh.insert(&key, replica.get(&key));
        }
        for level in 0..=depth {
            for index in 0..1u64 << level {
                if replica.node(level, index) != fresh.node(level, index) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::AntiEntropy;
    const TRACKS: &'static [&'static str] = &["merkle-build", "merkle-diff", "incremental", "sync"];
    type Track = Track;
    type Setup = Setup;
    type Step = Step;
    type State = State;

    fn validate(setup: &Setup, steps: &[Spanned<Step>]) -> Vec<(Location, String)> {
        let mut problems = Vec::new();
        let depth = setup.depth.unwrap_or(DEFAULT_DEPTH);
        for (name, data) in &setup.replicas {
            let at = data.referenced;
            let data = &data.value;
            if depth > MAX_DEPTH {
                problems.push((at, format!("depth {depth} is more than {MAX_DEPTH}")));
            }
            if data.generate.is_some_and(|n| n > MAX_GENERATED) {
                problems.push((
                    at,
                    format!("replica {name}: generate at most {MAX_GENERATED} keys"),
                ));
            }
            let generated = data.generate.unwrap_or(0);
            for key in data.versions.keys() {
                if data.values.contains_key(key) {
                    problems.push((
                        at,
                        format!("replica {name}: key {key} is in both values and versions"),
                    ));
                }
            }
            for key in data.values.keys().chain(data.versions.keys()) {
                if key
                    .strip_prefix("key-")
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n < generated && format!("key-{n}") == *key)
                {
                    problems.push((at, format!("replica {name}: key {key} is also generated")));
                }
            }
            if let Some((key, _)) = data.versions.iter().find(|(_, v)| v.is_empty()) {
                problems.push((
                    at,
                    format!("replica {name}: key {key} has no versions; leave the key out"),
                ));
            }
        }
        let mut saved: BTreeSet<&String> = BTreeSet::new();
        for step in steps {
            let at = step.referenced;
            for r in step.value.replicas() {
                if !setup.replicas.contains_key(r) {
                    problems.push((
                        at,
                        format!("names replica {r}, which is not in setup.replicas"),
                    ));
                }
            }
            match &step.value {
                Step::Diff { on, with, .. } | Step::Sync { on, with, .. } if on == with => {
                    problems.push((at, format!("`on` and `with` are both {on}")));
                }
                Step::Insert {
                    expect:
                        Some(InsertExpect {
                            hashes_at_most: Some(n),
                            ..
                        }),
                    ..
                } if *n < u64::from(depth) + 1 => problems.push((
                    at,
                    format!(
                        "hashes_at_most {n} is below the {} hashes any insert into a tree of depth {depth} needs (its leaf and the nodes above)",
                        depth + 1
                    ),
                )),
                Step::Insert {
                    value, versions, ..
                } => match (value, versions) {
                    (Some(_), None) => {}
                    (None, Some(v)) if !v.is_empty() => {}
                    (None, Some(_)) => problems.push((
                        at,
                        "insert needs at least one version; use delete to remove a key".into(),
                    )),
                    _ => problems.push((
                        at,
                        "insert takes exactly one of `value` and `versions`".into(),
                    )),
                },
                Step::Node { level, index, .. }
                    if *level > depth || *index >= 1u64 << (*level).min(63) =>
                {
                    problems.push((
                        at,
                        format!(
                            "no node ({level}, {index}) in a tree of depth {depth}: level 0..={depth}, index below 2^level"
                        ),
                    ));
                }
                Step::Leaf { segment, .. } if *segment >= 1u64 << depth.min(63) => {
                    problems.push((at, format!("no leaf {segment} in a tree of depth {depth}")));
                }
                Step::SameRoot { a, b, .. } => {
                    for name in [a, b] {
                        let replica = setup.replicas.contains_key(&NodeId::new(name));
                        if !replica && !saved.contains(name) {
                            problems.push((
                                at,
                                format!(
                                    "`{name}` is neither a replica nor a root saved by an earlier step's `as:`"
                                ),
                            ));
                        }
                    }
                }
                Step::Root {
                    save_as: Some(name),
                    ..
                } => {
                    if let Err(e) = crate::case::check_name(name) {
                        problems.push((at, format!("saved root {e}")));
                    }
                    if setup.replicas.contains_key(&NodeId::new(name)) {
                        problems.push((
                            at,
                            format!("`{name}` is a replica; save the root under another name"),
                        ));
                    }
                    saved.insert(name);
                }
                _ => {}
            }
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Segment { expect, .. } => expect,
            Step::Root { expect, .. } | Step::Node { expect, .. } => expect,
            Step::Leaf { expect, .. } | Step::Keys { expect, .. } => expect,
            Step::Get { expect, .. } => expect,
            Step::Insert {
                expect: Some(expect),
                ..
            } => expect,
            Step::Insert { expect: None, .. } => &RETURNS,
            Step::Delete { expect, .. }
            | Step::SameRoot { expect, .. }
            | Step::MatchesRebuild { expect, .. } => expect,
            Step::Diff { expect, .. } => expect,
            Step::Sync { expect, .. } => expect,
        }
    }

    fn label(step: &Step) -> String {
        match step {
            Step::Segment { on, key, .. } => format!("segment {} on {on}", inline(key)),
            Step::Root { on, save_as, .. } => format!(
                "root of {on}{}",
                save_as
                    .as_ref()
                    .map(|n| format!(" as {n}"))
                    .unwrap_or_default()
            ),
            Step::Node {
                on, level, index, ..
            } => format!("node ({level}, {index}) of {on}"),
            Step::Leaf { on, segment, .. } => format!("leaf {segment} of {on}"),
            Step::Keys { on, .. } => format!("keys of {on}"),
            Step::Get { on, key, .. } => format!("get {} on {on}", inline(key)),
            Step::Insert {
                on,
                key,
                value,
                versions,
                ..
            } => match (value, versions) {
                (Some(v), _) => format!("insert {} = {} on {on}", inline(key), inline(v)),
                (_, Some(v)) => format!("insert {} = {} on {on}", inline(key), inline(v)),
                _ => format!("insert {} on {on}", inline(key)),
            },
            Step::Delete { on, key, .. } => format!("delete {} on {on}", inline(key)),
            Step::SameRoot { a, b, .. } => format!("same root: {a} and {b}"),
            Step::MatchesRebuild { on, .. } => format!("tree of {on} equals a rebuild"),
            Step::Diff { on, with, .. } => format!("diff {on} with {with}"),
            Step::Sync { on, with, .. } => format!("sync {on} with {with}"),
        }
    }

    fn setup_label(setup: &Setup) -> String {
        let depth = setup.depth.unwrap_or(DEFAULT_DEPTH);
        let replicas: Vec<String> = setup
            .replicas
            .iter()
            .map(|(name, data)| {
                let d = &data.value;
                let n = d.values.len() + d.versions.len() + d.generate.unwrap_or(0) as usize;
                format!("{name} ({})", crate::render::count(n as u64, "key", "keys"))
            })
            .collect();
        format!("setup: depth {depth}; replicas {}", replicas.join(", "))
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        let depth = setup.depth.unwrap_or(DEFAULT_DEPTH);
        let new_replica = implementations::anti_entropy(&selection.get(Stage::AntiEntropy)).new;
        let clocks = implementations::vector_clocks(&selection.get(Stage::VectorClocks));
        let mut replicas = BTreeMap::new();
        for (name, data) in &setup.replicas {
            let data = &data.value;
            let mut all: BTreeMap<String, Vec<Version>> = BTreeMap::new();
            for i in 0..data.generate.unwrap_or(0) {
                all.insert(format!("key-{i}"), shorthand(&format!("value-{i}")));
            }
            for (key, value) in &data.values {
                all.insert(key.clone(), shorthand(value));
            }
            for (key, versions) in &data.versions {
                all.insert(key.clone(), versions.clone());
            }
            let mut replica = new_replica(depth);
            for (key, versions) in all {
                replica.insert(&key, versions);
            }
            replicas.insert(name.clone(), replica);
        }
        Ok(State {
            depth,
            new_replica,
            stores: SiblingStores::new(clocks.new_store),
            replicas,
            saved: BTreeMap::new(),
        })
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        match step {
            Step::Segment { on, key, expect } => {
                expect.check(&Ok(state.replica(on).segment(key)), snapshots)
            }
            Step::Root {
                on,
                save_as,
                expect,
            } => {
                let root = state.replica(on).node(0, 0);
                if let Some(name) = save_as {
                    state.saved.insert(name.clone(), root);
                }
                expect.check(&Ok(root), snapshots)
            }
            Step::Node {
                on,
                level,
                index,
                expect,
            } => expect.check(&Ok(state.replica(on).node(*level, *index)), snapshots),
            Step::Leaf {
                on,
                segment,
                expect,
            } => {
                let keys = state
                    .replica(on)
                    .leaf(*segment)
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                expect.check(&Ok(keys), snapshots)
            }
            Step::Keys { on, expect } => expect.check(&Ok(state.replica(on).keys()), snapshots),
            Step::Get { on, key, expect } => {
                expect.check(&Ok(state.replica(on).get(key)), snapshots)
            }
            Step::Insert {
                on,
                key,
                value,
                versions,
                expect,
            } => {
                let siblings = match (value, versions) {
                    (Some(v), _) => shorthand(v),
                    (_, Some(v)) => v.clone(),
                    (None, None) => unreachable!("validation requires value or versions"),
                };
                let depth = state.depth;
                let replica = state.replica(on);
                // Observed: the counted hashes of the insert and of a root read after it (so a
                // tree that rehashes lazily, on `node`, is counted too).
                let before = anti_entropy::hashes_computed();
                replica.insert(key, siblings);
                let Some(expect) = expect else {
                    return RETURNS.check(snapshots);
                };
                replica.node(0, 0);
                let hashes = anti_entropy::hashes_computed().saturating_sub(before);
                expect.check(&UpdateCost { hashes, depth }, snapshots)
            }
            Step::Delete { on, key, expect } => {
                expect.check(&Ok(state.replica(on).delete(key)), snapshots)
            }
            Step::SameRoot { a, b, expect } => {
                let same = state.root_named(a) == state.root_named(b);
                expect.check(&Ok(same), snapshots)
            }
            Step::MatchesRebuild { on, expect } => {
                let same = state.matches_rebuild(on)?;
                expect.check(&Ok(same), snapshots)
            }
            Step::Diff { on, with, expect } => {
                let Some(other) = state.replicas.get(with) else {
                    unreachable!("validation checks every replica a step names")
                };
                let Some(here) = state.replicas.get(on) else {
                    unreachable!("validation checks every replica a step names")
                };
                let observed = Observed::new(other.as_ref());
                let diff = here.diff(&observed);
                let done = DiffDone {
                    diff,
                    node_reads: observed.node_reads.get(),
                    listings: observed.listings.get(),
                };
                expect.check(&done, snapshots)
            }
            Step::Sync { on, with, expect } => {
                let Some(mut here) = state.replicas.remove(on) else {
                    unreachable!("validation checks every replica a step names")
                };
                let stores = state.stores;
                let report = here.sync(state.replica(with), &stores);
                state.replicas.insert(on.clone(), here);
                expect.check(&report, snapshots)
            }
        }
    }
}
