//! Stage 6 cases: read repair over sibling sets on the simulated network.
//!
//! ```yaml
//! stage: read-repair
//! track: repair
//! name: one-stale-replica
//! setup:
//!   nodes: [A, B, C]
//!   r: 2
//!   latency_ms: {A: 10, B: 20, C: 30}
//!   versions:
//!     old: {value: red, clock: {A: {counter: 1}}}
//!     new: {value: blue, clock: {A: {counter: 2}}}
//!   stored: {A: {k: [new]}, B: {k: [old]}, C: {k: [new]}}
//! steps:
//!   - read: {key: k, expect: {answer: [new], latency_ms: 40, repairs: {B: [new]}}}
//! ```
//!
//! Versions are declared once, by name, and every list of versions (what a replica stores, the
//! answer, a repair) names them; a set is compared as a set. Each case runs on its own
//! current-thread runtime with paused time, like stage 2. A `read` step runs the coordinator
//! until it returns, then lets every message in flight land, so `repairs` counts every repair
//! the read caused. The client's answer is shown in the trace as a line of its own
//! (`coordinator -> client answer …`), at the moment it was given.

use std::collections::{BTreeMap, BTreeSet};

use dynamo_common::diagram::{self, Answer, Item};
use dynamo_common::sim::{DropRule, Fate, Link, MessageKind, NetworkConfig};
use read_repair::{Client, Network, NodeId, ReadError, Siblings, Stage4, Version};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use tokio::runtime::Runtime;

use super::StagePlugin;
use super::cluster::{LazyRing, NetworkSetup, declare_nodes, ids, names, paused_runtime};
use crate::case::check_name;
use crate::expect::{Expectation, ListExpect, Mismatch, Observed, judge_as, show_result};
use crate::implementation::Selection;
use crate::implementations::{self, ClockImpl, DynReadRepair};
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;

/// The stage-6 plugin.
pub struct Plugin;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "ReadRepairTrack")]
pub enum Track {
    StaleDetection,
    Repair,
    Convergence,
}

/// The cluster, the network and the replicas' versions a case starts from.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ReadRepairSetup")]
pub struct Setup {
    /// The cluster's nodes, added to a ring (stage 1) in this order.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub nodes: Vec<Spanned<NodeId>>,
    /// Tokens per node on the ring (default 8).
    #[serde(default)]
    pub vnodes: Option<u32>,
    /// N: replicas per key, the length of the ring's preference list (default: every node).
    #[serde(default)]
    pub n: Option<usize>,
    /// R: replies a read waits for before answering.
    pub r: usize,
    /// Versions by name: `v1: {value: red, clock: {A: {counter: 1}}}`.
    #[serde(default)]
    pub versions: BTreeMap<String, Version>,
    /// What replicas hold before the first step: node -> key -> version names. Each set is a
    /// valid sibling set: no version in it is before (or equal to) another.
    #[serde(default)]
    #[schemars(with = "BTreeMap<NodeId, BTreeMap<String, Vec<String>>>")]
    pub stored: BTreeMap<NodeId, BTreeMap<String, Vec<Spanned<String>>>>,
    /// One-way latency per node, in simulated ms (default `default_latency_ms`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<NodeId, u64>")]
    pub latency_ms: super::cluster::NodeMap<u64>,
    /// Latency of nodes not in `latency_ms` (default 10).
    #[serde(default)]
    pub default_latency_ms: Option<u64>,
    /// One-way links with their own latency; `coordinator` names the coordinator.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Nodes that are down for the whole case.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub down: Vec<Spanned<NodeId>>,
    /// Messages that are lost (`kind`: put, repair, ack, get, reply).
    #[serde(default)]
    pub drops: Vec<DropRule>,
    /// How long the coordinator waits for a reply (default 1000 ms).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl Setup {
    fn network(&self) -> NetworkSetup<'_> {
        NetworkSetup {
            latency_ms: &self.latency_ms,
            default_latency_ms: self.default_latency_ms,
            links: &self.links,
            down: &self.down,
            drops: &self.drops,
        }
    }
}

/// One operation, with its expectation.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "ReadRepairStep")]
pub enum Step {
    /// Reads `key` through the coordinator, from `preference` if given (for example a fallback
    /// standing in for a down primary), else from the ring's preference list of length N.
    Read {
        key: String,
        #[serde(default)]
        #[schemars(with = "Option<Vec<NodeId>>")]
        preference: Option<Vec<Spanned<NodeId>>>,
        expect: ReadExpect,
    },
    /// What each node holds for `key` right now, by version name (`[]`: nothing).
    Replicas { key: String, expect: ReplicasExpect },
    /// Every message so far, one line each, with the client's answers in place.
    Trace {
        expect: ListExpect<String, ReadError>,
    },
}

/// Expectation of a `read`: the client's answer, when it came, and the repairs the read sent.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadExpect {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// The client got exactly these versions (`[]`: not found), in any order.
    pub answer: Option<Vec<String>>,
    /// The client got exactly this error.
    pub error: Option<ReadError>,
    /// Simulated ms from the call to the client's answer.
    pub latency_ms: Option<u64>,
    /// Exactly these repairs were sent, one per node, each carrying exactly this set
    /// (`{}`: no repair at all).
    pub repairs: Option<BTreeMap<NodeId, Vec<String>>>,
    /// `true`: the client was answered before the first repair was sent.
    pub answered_first: Option<bool>,
    /// The case's named versions, filled in by the parent (`StagePlugin::prepare`).
    #[serde(skip)]
    #[schemars(skip)]
    pub names: Names,
}

impl Expectation for ReadExpect {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        if self.answer.is_some() && self.error.is_some() {
            return Err("give one of answer and error".into());
        }
        let checks = [
            self.answer.is_some(),
            self.error.is_some(),
            self.latency_ms.is_some(),
            self.repairs.is_some(),
            self.answered_first.is_some(),
        ];
        if !checks.contains(&true) {
            return Err(
                "`expect` checks nothing; use answer, error, latency_ms, repairs or answered_first"
                    .into(),
            );
        }
        if self.answered_first == Some(false) {
            return Err("`answered_first: false` would reward a mistake; leave it out".into());
        }
        Ok(())
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Observed, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

/// Expectation of a `replicas` step: every node's set, by version name.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicasExpect {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// Node -> the versions it holds, in any order; every node of the cluster must be listed.
    pub equals: Option<BTreeMap<NodeId, Vec<String>>>,
    /// The map (versions shown by name, in sibling order) matches this recorded snapshot.
    pub snapshot: Option<String>,
    /// The case's named versions, filled in by the parent (`StagePlugin::prepare`).
    #[serde(skip)]
    #[schemars(skip)]
    pub names: Names,
}

/// The case's named versions (`setup.versions`), to show versions by name and to turn names
/// into versions.
#[derive(Debug, Default)]
pub struct Names(BTreeMap<String, Version>);

impl Names {
    fn name_of(&self, v: &Version) -> String {
        self.0
            .iter()
            .find(|(_, known)| *known == v)
            .map_or_else(|| format!("{} {}", v.value, v.clock), |(n, _)| n.clone())
    }

    /// A set of versions by name, in sibling order.
    fn names(&self, versions: &[Version]) -> Vec<String> {
        let mut sorted = versions.to_vec();
        sorted.sort();
        sorted.iter().map(|v| self.name_of(v)).collect()
    }

    /// Named versions as a sorted set (names were checked when the case was loaded).
    fn set(&self, names: &[String]) -> Vec<Version> {
        let mut set: Vec<Version> = names
            .iter()
            .filter_map(|n| self.0.get(n).cloned())
            .collect();
        set.sort();
        set
    }
}

impl Expectation for ReplicasExpect {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        if self.equals.is_none() && self.snapshot.is_none() {
            return Err("`expect` checks nothing; use equals or snapshot".into());
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

/// A running case.
pub struct State {
    runtime: Runtime,
    network: Network,
    ring: LazyRing,
    n: usize,
    coordinator: Box<dyn DynReadRepair>,
    stage4: Stage4,
    nodes: Vec<NodeId>,
    /// How long the coordinator waits for a reply or an ack.
    timeout_ms: u64,
    /// The client's answers so far: (trace position, answer), shown among the messages.
    answers: Vec<(usize, Answer)>,
}

impl State {
    /// The messages, with a line for each answer the client got, where it got it.
    fn trace_lines(&self) -> Vec<String> {
        self.trace_items().iter().map(ToString::to_string).collect()
    }

    /// The messages and the client's answers, in the order they happened.
    fn trace_items(&self) -> Vec<Item> {
        let mut items = diagram::items(&self.network.trace());
        for (at, answer) in self.answers.iter().rev() {
            items.insert((*at).min(items.len()), Item::Answer(answer.clone()));
        }
        items
    }
}

/// The pairs `(a, b)` of `names` whose clocks make `a` before or equal to `b`: a set holding
/// both is no sibling set (stage 4 keeps only versions that are mutually concurrent). Judged on
/// the clocks as written, by the stage-4 rule (a missing actor counts 0), not by any
/// implementation under test. Unknown names are reported elsewhere.
fn not_siblings<'a>(
    versions: &BTreeMap<String, Version>,
    names: &'a [Spanned<String>],
) -> Vec<(&'a Spanned<String>, &'a Spanned<String>)> {
    let at_most = |a: &Version, b: &Version| {
        a.clock
            .entries
            .iter()
            .all(|(actor, e)| b.clock.entries.get(actor).map_or(0, |f| f.counter) >= e.counter)
    };
    let mut pairs = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let (Some(va), Some(vb)) = (versions.get(&a.value), versions.get(&b.value)) else {
                continue;
            };
            // An equal pair is reported once; a strictly older one from its own side.
            let equal = at_most(va, vb) && at_most(vb, va);
            if i != j && at_most(va, vb) && (!equal || i < j) {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

fn coordinator_name() -> NodeId {
    NetworkConfig::default().coordinator
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::ReadRepair;
    const TRACKS: &'static [&'static str] = &["stale-detection", "repair", "convergence"];
    type Track = Track;
    type Setup = Setup;
    type Step = Step;
    type State = State;

    fn prepare(_name: &str, setup: &Setup, steps: &mut [Spanned<Step>]) {
        for step in steps {
            match &mut step.value {
                Step::Read { expect, .. } => expect.names = Names(setup.versions.clone()),
                Step::Replicas { expect, .. } => expect.names = Names(setup.versions.clone()),
                Step::Trace { .. } => {}
            }
        }
    }

    fn validate(setup: &Setup, steps: &[Spanned<Step>]) -> Vec<(Location, String)> {
        let mut problems = Vec::new();
        let first = steps.first().map_or(Location::UNKNOWN, |s| s.referenced);
        let coordinator = coordinator_name();
        let declared = declare_nodes(
            &setup.nodes,
            setup.vnodes,
            &[coordinator.clone(), NodeId::new("client")],
            first,
            &mut problems,
        );
        let n = setup.n.unwrap_or(setup.nodes.len());
        if n == 0 || n > setup.nodes.len() {
            problems.push((
                first,
                format!("setup.n must be between 1 and {}", setup.nodes.len()),
            ));
        }
        if setup.r == 0 || setup.r > n {
            problems.push((first, format!("setup.r must be between 1 and n = {n}")));
        }
        for name in setup.versions.keys() {
            if let Err(e) = check_name(name) {
                problems.push((first, format!("version {e}")));
            }
        }
        let known = |n: &NodeId| declared.contains(n);
        let endpoint = |n: &NodeId| known(n) || *n == coordinator;
        let check_names = |at: Location, names: &[String], problems: &mut Vec<_>| {
            for name in names {
                if !setup.versions.contains_key(name) {
                    problems.push((
                        at,
                        format!("names version {name}, which is not in setup.versions"),
                    ));
                }
            }
        };
        let mut unknown = Vec::new();
        for (node, keys) in &setup.stored {
            if !known(node) {
                unknown.push(("setup.stored", node.clone(), first));
            }
            for (key, names) in keys {
                let at = names.first().map_or(first, |n| n.referenced);
                let plain: Vec<String> = names.iter().map(|n| n.value.clone()).collect();
                check_names(at, &plain, &mut problems);
                for (a, b) in not_siblings(&setup.versions, names) {
                    problems.push((
                        a.referenced,
                        format!(
                            "setup.stored.{node}.{key}: version {} is before or equal to {} \
                             (no counter of it is larger), so [{}] is not a sibling set; store \
                             only the newer one, or make them concurrent",
                            a.value,
                            b.value,
                            plain.join(", ")
                        ),
                    ));
                }
            }
        }
        for n in setup.latency_ms.keys() {
            if !known(n) {
                unknown.push(("setup.latency_ms", n.clone(), setup.latency_ms.location(n)));
            }
        }
        for l in &setup.links {
            for n in [&l.from, &l.to] {
                if !endpoint(n) {
                    unknown.push(("setup.links", n.clone(), first));
                }
            }
        }
        for n in &setup.down {
            if !known(&n.value) {
                unknown.push(("setup.down", n.value.clone(), n.referenced));
            }
        }
        for d in &setup.drops {
            for n in d.from.iter().chain(&d.to) {
                if !endpoint(n) {
                    unknown.push(("setup.drops", n.clone(), first));
                }
            }
        }
        for step in steps {
            let at = step.referenced;
            match &step.value {
                Step::Read {
                    preference, expect, ..
                } => {
                    for p in preference.iter().flatten() {
                        if !known(&p.value) {
                            unknown.push(("preference", p.value.clone(), p.referenced));
                        }
                    }
                    if let Some(p) = preference {
                        let distinct: BTreeSet<&NodeId> = p.iter().map(|n| &n.value).collect();
                        if distinct.len() != p.len() || p.len() < setup.r {
                            problems.push((
                                at,
                                format!(
                                    "preference must list distinct nodes, at least r = {}",
                                    setup.r
                                ),
                            ));
                        }
                    }
                    check_names(at, expect.answer.as_deref().unwrap_or(&[]), &mut problems);
                    for (node, names) in expect.repairs.iter().flatten() {
                        if !known(node) {
                            unknown.push(("repairs", node.clone(), at));
                        }
                        check_names(at, names, &mut problems);
                    }
                }
                Step::Replicas { expect, .. } => {
                    for (node, names) in expect.equals.iter().flatten() {
                        if !known(node) {
                            unknown.push(("replicas", node.clone(), at));
                        }
                        check_names(at, names, &mut problems);
                    }
                    if let Some(map) = &expect.equals {
                        for node in &setup.nodes {
                            if !map.contains_key(&node.value) {
                                problems.push((
                                    at,
                                    format!(
                                        "list every node; {} is missing (`[]`: nothing)",
                                        node.value
                                    ),
                                ));
                            }
                        }
                    }
                }
                Step::Trace { .. } => {}
            }
        }
        for (what, n, at) in unknown {
            problems.push((
                at,
                format!("{what} names node {n}, which is not in setup.nodes"),
            ));
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Read { expect, .. } => expect,
            Step::Replicas { expect, .. } => expect,
            Step::Trace { expect } => expect,
        }
    }

    fn label(step: &Step) -> String {
        match step {
            Step::Read {
                key,
                preference: Some(p),
                ..
            } => {
                let p: Vec<&NodeId> = p.iter().map(|n| &n.value).collect();
                format!("read {} from {}", inline(key), inline(&p))
            }
            Step::Read { key, .. } => format!("read {}", inline(key)),
            Step::Replicas { key, .. } => format!("replicas of {}", inline(key)),
            Step::Trace { .. } => "trace".into(),
        }
    }

    fn setup_label(setup: &Setup) -> String {
        let mut parts = vec![format!("setup: nodes {}", names(&setup.nodes))];
        let n = setup.n.unwrap_or(setup.nodes.len());
        parts.push(format!("N={n} R={}", setup.r));
        parts.extend(setup.network().label_parts());
        parts.join("; ")
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        let nodes = ids(&setup.nodes);
        let runtime = paused_runtime()?;
        let base = setup.network().config();
        let config = NetworkConfig {
            timeout_ms: setup.timeout_ms.unwrap_or(base.timeout_ms),
            ..base
        };
        let timeout_ms = config.timeout_ms;
        let network = {
            let _inside = runtime.enter();
            Network::new(config, nodes.clone())
        };
        for (node, keys) in &setup.stored {
            for (key, names) in keys {
                let set = names
                    .iter()
                    .filter_map(|n| setup.versions.get(&n.value).cloned())
                    .collect();
                network.preload(node, key, Siblings(set));
            }
        }
        let ClockImpl { clocks, new_store } =
            implementations::vector_clocks(&selection.get(Stage::VectorClocks));
        let implementation = implementations::read_repair(&selection.get(Stage::ReadRepair));
        Ok(State {
            runtime,
            network,
            ring: LazyRing::new(
                implementations::hash_ring(&selection.get(Stage::HashRing)),
                setup.vnodes.unwrap_or(8),
                nodes.clone(),
            ),
            n: setup.n.unwrap_or(nodes.len()),
            coordinator: (implementation.new)(setup.r),
            stage4: Stage4::new(clocks(), new_store),
            nodes,
            timeout_ms,
            answers: Vec::new(),
        })
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        match step {
            Step::Read {
                key,
                preference,
                expect,
            } => {
                let preference = match preference {
                    Some(p) => p.iter().map(|n| n.value.clone()).collect(),
                    None => {
                        let n = state.n;
                        state.ring.get()?.preference_list(key, n).map_err(|e| {
                            Mismatch::new(
                                format!("hash ring preference_list({key:?}, {n}) to succeed"),
                                show_result::<(), _>(&Err(e)),
                            )
                        })?
                    }
                };
                run_read(state, key, &preference, expect, snapshots)
            }
            Step::Replicas { key, expect } => {
                let held: BTreeMap<NodeId, Vec<Version>> = state
                    .nodes
                    .iter()
                    .map(|n| {
                        let set = state.network.stored(n, key).unwrap_or_default();
                        (n.clone(), set.0)
                    })
                    .collect();
                expect
                    .check(&held, snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
            Step::Trace { expect } => {
                let lines = state.trace_lines();
                expect
                    .check(&Ok(lines.clone()), snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
        }
    }
}

impl ReplicasExpect {
    fn check(
        &self,
        held: &BTreeMap<NodeId, Vec<Version>>,
        snapshots: &mut Snapshots,
    ) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(held) {
            return verdict;
        }
        let held: BTreeMap<NodeId, Vec<String>> = held
            .iter()
            .map(|(n, set)| (n.clone(), self.names.names(set)))
            .collect();
        if let Some(want) = &self.equals {
            let want: BTreeMap<NodeId, Vec<String>> = want
                .iter()
                .map(|(n, names)| (n.clone(), self.names.names(&self.names.set(names))))
                .collect();
            if want != held {
                return Err(Mismatch::new(inline(&want), inline(&held)));
            }
        }
        match &self.snapshot {
            Some(name) => snapshots.check(name, &held),
            None => Ok(()),
        }
    }
}

/// What a read did, as the step reports it.
#[derive(Debug, Serialize, Deserialize)]
struct ReadDone {
    key: String,
    preference: Vec<NodeId>,
    start: u64,
    /// The client's answer, when, and after how many messages.
    answered: Option<(Result<Vec<Version>, ReadError>, u64, usize)>,
    /// The first repair the coordinator sent: its index in the trace and its line.
    first_repair: Option<(usize, String)>,
    repairs: BTreeMap<NodeId, Vec<String>>,
    /// The first repair whose ack the read did not wait for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unawaited: Option<Unawaited>,
}

/// A read that returned before a repair's ack came back (times from the read's start).
#[derive(Debug, Serialize, Deserialize)]
struct Unawaited {
    returned_ms: u64,
    node: NodeId,
    acked_ms: u64,
}

/// Runs one read to its end (repairs landed), then checks the answer and the repairs.
fn run_read(
    state: &mut State,
    key: &str,
    preference: &[NodeId],
    expect: &ReadExpect,
    snapshots: &mut Snapshots,
) -> Result<(), Mismatch> {
    let network = &state.network;
    let before = network.trace().0.len();
    let (answered, start, returned) = state.runtime.block_on(async {
        let start = network.now_ms();
        let (client, answer) = Client::new(network);
        state
            .coordinator
            .read(network, &state.stage4, preference, key, client)
            .await;
        let returned = network.now_ms();
        network.settle().await;
        (answer.await.ok(), start, returned)
    });
    let trace = network.trace();
    let coordinator = network.coordinator();
    let mut repairs: BTreeMap<NodeId, Vec<String>> = BTreeMap::new();
    let mut first_repair = None;
    let mut unawaited = None;
    for (i, e) in trace.0.iter().enumerate().skip(before) {
        if e.kind == MessageKind::Repair && e.from == coordinator {
            first_repair.get_or_insert((i, e.to_string()));
            repairs
                .entry(e.to.clone())
                .or_default()
                .push(e.detail.clone());
            // README step 4: the read returns once each repair was acknowledged or failed. An
            // ack that reached the coordinator before its deadline, after the read returned,
            // was not waited for.
            let ack = trace.0[i + 1..]
                .iter()
                .find(|a| a.kind == MessageKind::Ack && a.from == e.to && a.to == coordinator);
            if let Some(ack) = ack
                && let Fate::Arrives { at_ms } | Fate::ArrivesUnheard { at_ms } = ack.fate
                && at_ms < e.sent_ms + state.timeout_ms
                && at_ms > returned
            {
                unawaited.get_or_insert(Unawaited {
                    returned_ms: returned - start,
                    node: e.to.clone(),
                    acked_ms: at_ms - start,
                });
            }
        }
    }
    if let Some(a) = &answered {
        let what = match &a.answer {
            Ok(set) => format!("{key} = {}", Siblings(set.clone())),
            Err(e) => format!("{key}: error {e}"),
        };
        state.answers.push((
            a.after_messages,
            Answer {
                answer: what,
                at_ms: a.at_ms,
                from: coordinator.clone(),
                request: None,
            },
        ));
    }
    let done = ReadDone {
        key: key.to_string(),
        preference: preference.to_vec(),
        start,
        answered: answered.map(|a| (a.answer, a.at_ms, a.after_messages)),
        first_repair,
        repairs,
        unawaited,
    };
    expect
        .check(&done, snapshots)
        .map_err(|m| m.with_trace(state.trace_items()))
}

impl ReadExpect {
    fn check(&self, done: &ReadDone, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(done) {
            return verdict;
        }
        let ReadDone {
            key,
            preference,
            start,
            answered,
            first_repair,
            repairs,
            unawaited,
        } = done;
        let start = *start;
        let shown_answer = match answered {
            Some((Ok(set), _, _)) => {
                let names = self.names.names(set);
                if names.is_empty() {
                    "[] (not found)".to_string()
                } else {
                    inline(&names)
                }
            }
            Some((Err(e), _, _)) => show_result::<(), _>(&Err(e.clone())),
            None => "no answer: the read returned without answering the client".into(),
        };
        let context = format!(
            " (answered at {} ms, {}, preference list {})",
            answered
                .as_ref()
                .map_or("-".into(), |(_, at_ms, _)| (at_ms - start).to_string()),
            crate::render::count(
                repairs.values().map(Vec::len).sum::<usize>() as u64,
                "repair",
                "repairs"
            ),
            inline(&preference)
        );
        let fail = |expected: String, actual: String| {
            Err(Mismatch::new(expected, format!("{actual}{context}")))
        };
        let Some((answer, at_ms, after_messages)) = answered else {
            return fail("the client to be answered".into(), shown_answer);
        };
        if let Some(want) = &self.error
            && answer.as_ref().err() != Some(want)
        {
            return fail(format!("error {}", inline(want)), shown_answer);
        }
        if let Some(want) = &self.answer {
            let want_set = self.names.set(want);
            let ok =
                matches!(answer, Ok(got) if { let mut g = got.clone(); g.sort(); g == want_set });
            if !ok {
                return fail(
                    format!("answer {}", inline(&self.names.names(&want_set))),
                    shown_answer,
                );
            }
        }
        if let Some(want) = self.latency_ms
            && at_ms - start != want
        {
            return fail(format!("the client answered after {want} ms"), shown_answer);
        }
        if self.answered_first == Some(true)
            && let Some((i, line)) = first_repair
            && i < after_messages
        {
            return fail(
                "the client answered before the first repair was sent".into(),
                format!("a repair was sent first: {line}"),
            );
        }
        if let Some(Unawaited {
            returned_ms,
            node,
            acked_ms,
        }) = unawaited
        {
            return fail(
                "the read to return only once each repair was acknowledged or failed (step 4: await \
                 the repairs, do not only send them)"
                    .into(),
                format!(
                    "it returned at {returned_ms} ms; the repair of {node} was acknowledged at \
                     {acked_ms} ms"
                ),
            );
        }
        if let Some(want) = &self.repairs {
            let want: BTreeMap<NodeId, Vec<String>> = want
                .iter()
                .map(|(n, names)| {
                    (
                        n.clone(),
                        vec![format!("{key} = {}", Siblings(self.names.set(names)))],
                    )
                })
                .collect();
            if want != *repairs {
                return fail(
                    format!("repairs {}", inline(&want)),
                    format!("repairs {}", inline(repairs)),
                );
            }
        }
        Ok(())
    }
}
