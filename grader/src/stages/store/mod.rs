//! Stage 7, the store: cases that start a simulated cluster of nodes and check Dynamo's promises.
//!
//! A case's `setup` describes the cluster (nodes, N/R/W, mode, timers, latency bounds, loss, a
//! seed). Its steps are either hand-worked (a put through X, a crash, a get through Y, what each
//! node stores, how one node's gossip sees another) and run on one cluster in order, or a
//! `workload`: a seeded set of concurrent clients and a fault schedule, on a fresh cluster, after
//! which the cluster quiesces and the checkers of `dynamo-checkers` judge the recorded history.
//!
//! `cargo grade store --seeds N` reruns every workload under seeds 1..N (`--seed S`: only S);
//! the grader passes them to the case process inside its `Start` message ([`Seeds`]).
//!
//! # Acting and judging
//! The case process only acts: a hand-worked step reports what the cluster answered or stores,
//! and a workload step reports, for every seed it ran, what was recorded ([`SeedRun`]: the
//! history, each key's primaries and their reconciliation, the hints left, the message trace).
//! The grader runs the checkers on that report and compares what they find with `holds` and
//! `violated` ([`CheckExpect::check`]), so no expectation is needed to run a case. A failing
//! seed's report names the command that reruns it alone.
//!
//! - `sim.rs`: the simulated host (transport, dispatcher, faults, ticks).
//! - `workload.rs`: clients, schedule, quiescence, final state, the checkers.

#[cfg(test)]
mod index_tests;
mod panics;
#[cfg(test)]
mod quiesce_tests;
mod sim;
#[cfg(test)]
mod status_tests;
mod workload;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use dynamo_common::NodeId;
use dynamo_common::diagram::{Answer, Item as TraceItem};
use dynamo_common::request::{RequestId, scope};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use store::{
    Context, Liveness, Mode, NewNode, NodeConfig, Payload, QuorumConfig, RequestOptions, Stages,
    StoreError,
};
use tokio::runtime::Runtime;
use tokio::task::LocalSet;
use tokio::time::{Duration, sleep};

use super::cluster::paused_runtime;
use super::{RunOptions, StagePlugin};
use crate::expect::{Expect, Expectation, Happens, Mismatch, NoError, Observed, judge_as};
use crate::implementation::Selection;
use crate::implementations;
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;
use sim::{Cluster, NetState};

/// Which seeds every workload of a run uses: the case's own (`setup.seed`), a sweep 1..=N
/// (`--seeds N`), or one (`--seed S`, to reproduce a failing seed alone).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seeds {
    #[default]
    Case,
    Sweep(u64),
    One(u64),
    /// Seeds `first..=last`: one part of a sweep, which the grader splits over several case
    /// processes so that a long sweep uses every core and no report grows without bound.
    Range {
        first: u64,
        last: u64,
    },
}

impl Seeds {
    /// From `--seeds N` and `--seed S` (`--seed` wins: it reproduces one).
    pub fn from_args(seeds: Option<u64>, seed: Option<u64>) -> Self {
        match (seeds, seed) {
            (_, Some(s)) => Seeds::One(s),
            (Some(n), None) if n > 0 => Seeds::Sweep(n),
            _ => Seeds::Case,
        }
    }

    /// How many runs each workload makes (the deadline grows with it).
    pub fn count(self) -> u64 {
        match self {
            Seeds::Sweep(n) => n,
            Seeds::Range { first, last } => last.saturating_sub(first) + 1,
            Seeds::Case | Seeds::One(_) => 1,
        }
    }

    /// A sweep split into parts of at most [`Seeds::PART`] seeds, in seed order, each run by a
    /// case process of its own; anything else is one part.
    pub fn parts(self) -> Vec<Seeds> {
        let Seeds::Sweep(n) = self else {
            return vec![self];
        };
        let parts = n.div_ceil(Self::PART).max(1);
        // Even parts: a sweep of 120 runs as 3 x 40, not 50 + 50 + 20.
        let size = n.div_ceil(parts);
        (0..parts)
            .map(|i| Seeds::Range {
                first: i * size + 1,
                last: ((i + 1) * size).min(n),
            })
            .collect()
    }

    /// Whether runs record their message traces. A sweep's do not: recording and reporting
    /// every message of every seed was a third of a sweep's cost, and a trace only explains a
    /// failure. The grader reruns a sweep's failing seed alone ([`Seeds::One`]), traced, to
    /// draw its messages (`crate::runner::run_one`); a seed gives the same history every time.
    pub fn traced(self) -> bool {
        matches!(self, Seeds::Case | Seeds::One(_))
    }

    /// The most seeds one case process runs in a sweep.
    pub const PART: u64 = 25;

    /// The seeds a workload runs under, given the case's own.
    fn list(self, case_seed: u64) -> Vec<u64> {
        match self {
            Seeds::Case => vec![case_seed],
            Seeds::Sweep(n) => (1..=n).collect(),
            Seeds::Range { first, last } => (first..=last).collect(),
            Seeds::One(s) => vec![s],
        }
    }
}

/// What a workload step reports for one seed.
#[derive(Debug, Serialize, Deserialize)]
pub struct SeedRun {
    pub seed: u64,
    pub observed: workload::Observed,
}

/// The stage-7 plugin.
pub struct Plugin;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "StoreTrack")]
pub enum Track {
    Requests,
    Failures,
    Partitions,
    Deletes,
    Convergence,
    Membership,
    Consistency,
}

/// Inclusive bounds, in ms: `[5, 20]`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bounds(pub u64, pub u64);

/// The cluster a case starts from.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StoreSetup")]
pub struct Setup {
    /// The nodes at start.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub nodes: Vec<Spanned<NodeId>>,
    /// N, R, W (default 3, 2, 2).
    #[serde(default)]
    pub quorum: Option<QuorumConfig>,
    /// `eventual` (default) or `strict`.
    #[serde(default)]
    pub mode: Mode,
    /// Tokens per node (default 8).
    #[serde(default)]
    pub vnodes: Option<u32>,
    /// A coordinator's timeout per reply, in ms (default 100).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Tick period, in ms (default 100).
    #[serde(default)]
    pub tick_ms: Option<u64>,
    /// Gossip's suspicion timeout, in ms (default 400).
    #[serde(default)]
    pub suspect_after_ms: Option<u64>,
    /// Tombstone grace period, in ms (default 1000).
    #[serde(default)]
    pub tombstone_grace_ms: Option<u64>,
    /// Merkle depth (default 4).
    #[serde(default)]
    pub merkle_depth: Option<u32>,
    /// One-way latency bounds, drawn per message from the seed (default [5, 5]).
    #[serde(default)]
    pub latency_ms: Option<Bounds>,
    /// Probability that a message is lost (default 0).
    #[serde(default)]
    pub loss: Option<f64>,
    /// The seed of every random draw (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// Something that happens to the cluster.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreEvent {
    /// The node's process dies; its storage stays.
    Crash(NodeId),
    /// The node restarts on its storage.
    Recover(NodeId),
    /// The cluster splits into these groups (nodes in none form one more group).
    Partition(Vec<BTreeSet<NodeId>>),
    /// Every node can reach every other again.
    Heal,
    /// Message latency is drawn within these bounds from now on.
    Latency { min: u64, max: u64 },
    /// Messages are lost with this probability from now on.
    Loss(f64),
    /// A new node joins (configured like the others).
    Join(NodeId),
    /// The node leaves for good (it hands its ranges over first).
    Leave(NodeId),
}

/// A fault at a time drawn from the seed within `at_ms`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheduled {
    pub at_ms: Bounds,
    pub event: StoreEvent,
}

/// How often each operation is picked.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    pub put: u64,
    pub get: u64,
    pub delete: u64,
}

/// A guarantee the checkers judge.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Every acknowledged write is in the final state or superseded.
    LostWrites,
    /// Concurrent acknowledged writes both survive until a covering write.
    Siblings,
    /// No version an acknowledged delete covered comes back.
    NoResurrection,
    /// Every primary of every key holds the same set.
    Convergence,
    /// No hint is left anywhere.
    NoHints,
    /// Every key's history is linearizable.
    Linearizable,
    /// No node outside a key's primaries still stores it (nodes that left included): every
    /// key a membership change moved was handed off and dropped.
    NoStrays,
}

/// What the checkers must find.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckExpect {
    /// Guarantees that must hold.
    #[serde(default)]
    pub holds: BTreeSet<Check>,
    /// Guarantees the checkers must find violated (a counterexample the course shows).
    #[serde(default)]
    pub violated: BTreeSet<Check>,
    /// The case's name, for the command that reruns a failing seed (set by `prepare`, in the
    /// grader only).
    #[serde(skip)]
    #[schemars(skip)]
    pub case: String,
    /// The case's own seed (`setup.seed`), for the seeds a run without `--seeds` must report
    /// (set by `prepare`, in the grader only).
    #[serde(skip)]
    #[schemars(skip)]
    pub case_seed: u64,
}

impl CheckExpect {
    /// Judges every seed's run: the checkers run here, on what the case process recorded.
    pub fn check(&self, runs: &Vec<SeedRun>, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(runs) {
            return verdict;
        }
        if runs.is_empty() {
            return Err(Mismatch::new("a run for every seed", "no run"));
        }
        // Judging a case process: it must report exactly the seeds it was given, in order, so a
        // seed that fails cannot be left out.
        if let Some(options) = snapshots.judging() {
            let want = options.seeds.list(self.case_seed);
            let got: Vec<u64> = runs.iter().map(|r| r.seed).collect();
            if got != want {
                return Err(Mismatch::new(
                    format!("a run for each of the {} seeds given", want.len()),
                    format!("runs for {} seeds, not those given", got.len()),
                ));
            }
        }
        for run in runs {
            judge(&run.observed, self).map_err(|mut m| {
                m.actual = format!(
                    "with seed {seed}: {}\n(reproduce with: cargo grade store --seed {seed} \
                     --filter {})",
                    m.actual.trim_end(),
                    self.case,
                    seed = run.seed,
                );
                m.seed = std::num::NonZeroU64::new(run.seed);
                m
            })?;
        }
        Ok(())
    }
}

impl Expectation for CheckExpect {
    fn validate(&self) -> Result<(), String> {
        if self.holds.is_empty() && self.violated.is_empty() {
            return Err("`expect` checks nothing; name checks under `holds` or `violated`".into());
        }
        if let Some(c) = self.holds.intersection(&self.violated).next() {
            return Err(format!("{} cannot both hold and be violated", inline(c)));
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
        judge_as(observed, |runs| self.check(runs, snapshots))
    }
}

/// A seeded workload on a fresh cluster built from the setup.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Concurrent clients.
    pub clients: usize,
    /// Operations per client.
    pub ops: usize,
    /// Keys `k0`..`k{keys-1}`.
    pub keys: usize,
    pub mix: Mix,
    /// Probability that a put reads first and passes the read's context (default 1: a blind
    /// put through a coordinator that already wrote the key reuses its counter).
    #[serde(default = "one")]
    pub rmw: f64,
    /// The shopping cart: every put reads first and writes the union of the siblings' items plus one.
    #[serde(default)]
    pub cart: bool,
    /// A client waits up to this long between operations, in ms (default 20).
    #[serde(default = "twenty")]
    pub think_ms: u64,
    /// Every operation goes to a random node (default: each client to its own home node,
    /// `nodes[client % nodes]`, so no two clients share a coordinator when there are at least
    /// as many nodes as clients: stage 4's coordinator-keyed clocks would give two concurrent
    /// writes through one coordinator from one context the same clock).
    #[serde(default)]
    pub roam: bool,
    /// The fault schedule.
    #[serde(default)]
    pub faults: Vec<Scheduled>,
    /// How long, at most, the cluster runs after the clients finish, healed and recovered
    /// (default 20 ticks plus the tombstone grace period). It stops earlier once it has settled:
    /// every key's primaries hold the same set, no hint and no stray key is left, and that state
    /// has not changed for as many ticks as there are members.
    #[serde(default)]
    pub quiesce_ms: Option<u64>,
    pub expect: CheckExpect,
}

fn one() -> f64 {
    1.0
}
fn twenty() -> u64 {
    20
}

/// Which context a put or delete passes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ContextChoice {
    /// A blind write (a put only).
    #[default]
    None,
    /// The context of this case's last get of the key.
    LastRead,
}

/// What a put or delete returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Written {
    /// Acknowledged by the quorum.
    Ok,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutStep {
    pub via: NodeId,
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub context: ContextChoice,
    /// The client's own W for this put (`RequestOptions::w`); the configured W when absent.
    #[serde(default)]
    pub w: Option<usize>,
    pub expect: Expect<Written, StoreError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteStep {
    pub via: NodeId,
    pub key: String,
    /// The client's own W for this delete (`RequestOptions::w`); the configured W when absent.
    #[serde(default)]
    pub w: Option<usize>,
    pub expect: Expect<Written, StoreError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetStep {
    pub via: NodeId,
    pub key: String,
    /// The client's own R for this get (`RequestOptions::r`); the configured R when absent.
    #[serde(default)]
    pub r: Option<usize>,
    /// The live values, sorted.
    pub expect: Expect<Vec<String>, StoreError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoredStep {
    pub key: String,
    /// Node -> the values it stores for the key, sorted (`~` stands for a tombstone); nodes that
    /// store nothing are left out.
    pub expect: Expect<BTreeMap<NodeId, Vec<String>>, NoError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysStep {
    /// Node -> every key it stores, sorted (tombstone-only keys included); nodes that store
    /// nothing are left out. Nodes that left are listed too: they must hand everything over.
    pub expect: Expect<BTreeMap<NodeId, Vec<String>>, NoError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeesStep {
    /// The node whose gossip is asked.
    pub node: NodeId,
    /// The member asked about.
    pub of: NodeId,
    pub expect: Expect<Liveness, NoError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HintsStep {
    /// Hints left anywhere in the cluster.
    pub expect: Expect<usize, NoError>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagesStep {
    /// Messages of this kind sent so far (`put`, `hint`, `repair`, `sync`, `transfer`, ...).
    pub kind: String,
    pub expect: Expect<usize, NoError>,
}

/// One step. Fault and `wait` steps act and check nothing; every other step has an `expect`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "StoreStep")]
pub enum Step {
    Put(PutStep),
    Get(GetStep),
    Delete(DeleteStep),
    /// What every node stores for a key (tombstones as `~`).
    Stored(StoredStep),
    /// Which keys every node stores.
    Keys(KeysStep),
    /// How one node's gossip sees another.
    Sees(SeesStep),
    Hints(HintsStep),
    Messages(MessagesStep),
    /// A fault, now.
    Fault(StoreEvent),
    /// Let simulated time pass (ticks run), in ms.
    Wait(u64),
    /// A seeded workload with its fault schedule on a fresh cluster, then the checkers.
    Workload(Workload),
}

/// Raises the first panic of a node's code since the last step, if any (see `panics.rs`), before
/// the step reports what it saw.
fn raise_node_panic(cluster: &sim::Cluster) {
    if let Some(panicked) = cluster.panics.take() {
        panicked.resume("");
    }
}

/// How many client operations the workload steps of the store case `text` run per seed (clients
/// times operations per client, summed over its workloads): the benchmarks' counter.
pub fn client_operations(text: &str) -> Result<u64, String> {
    #[derive(Deserialize)]
    struct Steps {
        steps: Vec<Step>,
    }
    let case: Steps = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    Ok(case
        .steps
        .iter()
        .map(|step| match step {
            Step::Workload(w) => (w.clients * w.ops) as u64,
            _ => 0,
        })
        .sum())
}

/// Everything needed to start a cluster of the case.
#[derive(Clone)]
pub struct ClusterSpec {
    pub stages: Stages,
    pub new_node: NewNode,
    pub nodes: Vec<NodeId>,
    pub quorum: QuorumConfig,
    pub mode: Mode,
    pub vnodes: u32,
    pub timeout_ms: u64,
    pub tick_ms: u64,
    pub suspect_after_ms: u64,
    pub tombstone_grace_ms: u64,
    pub merkle_depth: u32,
    pub latency: Bounds,
    pub loss: f64,
    pub seed: u64,
}

/// The cluster the unit tests start from: reference stages and nodes, N=3 R=2 W=2, eventual,
/// 4 vnodes, the grader's default timers, a 5 ms network, seed 1.
#[cfg(test)]
fn reference_spec(nodes: &[&str]) -> ClusterSpec {
    let r = crate::implementation::Implementation::Reference;
    ClusterSpec {
        stages: dynamo_select::store::stages(
            implementations::hash_ring(&r),
            implementations::fault_tolerance(&r),
            implementations::vector_clocks(&r),
            implementations::anti_entropy(&r),
            implementations::read_repair(&r),
        ),
        new_node: implementations::store(&r),
        nodes: nodes.iter().map(NodeId::new).collect(),
        quorum: QuorumConfig { n: 3, r: 2, w: 2 },
        mode: Mode::Eventual,
        vnodes: 4,
        timeout_ms: 100,
        tick_ms: 100,
        suspect_after_ms: 400,
        tombstone_grace_ms: 1000,
        merkle_depth: 4,
        latency: Bounds(5, 5),
        loss: 0.0,
        seed: 1,
    }
}

impl ClusterSpec {
    pub fn configs(&self) -> Vec<NodeConfig> {
        let members: BTreeSet<NodeId> = self.nodes.iter().cloned().collect();
        self.nodes
            .iter()
            .map(|name| NodeConfig {
                name: name.clone(),
                members: members.clone(),
                quorum: self.quorum,
                mode: self.mode,
                vnodes: self.vnodes,
                timeout_ms: self.timeout_ms,
                tick_ms: self.tick_ms,
                suspect_after_ms: self.suspect_after_ms,
                tombstone_grace_ms: self.tombstone_grace_ms,
                merkle_depth: self.merkle_depth,
            })
            .collect()
    }

    pub fn net(&self) -> NetState {
        NetState {
            down: BTreeSet::new(),
            groups: BTreeMap::new(),
            latency: (self.latency.0, self.latency.1),
            loss: self.loss,
        }
    }

    pub fn default_quiesce_ms(&self) -> u64 {
        20 * self.tick_ms + self.tombstone_grace_ms
    }
}

/// The running case: a runtime, the local task set, the hand-worked cluster, last contexts.
pub struct State {
    runtime: Runtime,
    local: LocalSet,
    spec: ClusterSpec,
    cluster: Option<Rc<Cluster>>,
    contexts: BTreeMap<String, Context>,
    seeds: Seeds,
    /// Client requests the steps made so far (their request ids, through the step's node).
    requests: u64,
}

impl State {
    fn cluster(&mut self) -> Result<Rc<Cluster>, Mismatch> {
        if self.cluster.is_none() {
            let spec = self.spec.clone();
            let started = self
                .local
                .block_on(&self.runtime, async { workload::start(&spec, spec.seed) });
            self.cluster = Some(started.map_err(|e| Mismatch::new("the cluster to start", e))?);
        }
        self.cluster
            .clone()
            .ok_or_else(|| Mismatch::new("a cluster", "none"))
    }
}

/// Judges one seed's observations against the expectation.
fn judge(observed: &workload::Observed, expect: &CheckExpect) -> Result<(), Mismatch> {
    let all: BTreeSet<Check> = expect.holds.union(&expect.violated).copied().collect();
    let found = workload::findings(observed, &all);
    for check in &expect.holds {
        if let Some(v) = found.get(check).and_then(|v| v.first()) {
            let (text, trace) = workload::explain(observed, v);
            return Err(Mismatch::new(format!("{} holds", inline(check)), text).with_trace(trace));
        }
    }
    for check in &expect.violated {
        if found.get(check).is_some_and(Vec::is_empty) {
            return Err(Mismatch::new(
                format!("the checker to find {} violated", inline(check)),
                format!(
                    "no violation in {} operations",
                    observed.history.events.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Keeps, of a run's trace, only the messages a violation's explanation can show (those of a
/// client request, and those about a key the clients used, see `workload::explain`): gossip and
/// anti-entropy are most of a trace, and a sweep reports every seed's run.
///
/// A message is kept when it belongs to a client request, or when its line (`TraceEntry`'s
/// `Display`) contains ` KEY` for a key of the history, as `explain` looks for it. Writing every
/// line out is most of a run's cost, so the line is written only for a message that can contain
/// the key: one whose detail, sender, receiver or kind contains it, or any message when the key
/// could come from the line's fixed words, separators or numbers ([`LINE_WORDS`]).
fn about_keys(mut observed: workload::Observed) -> workload::Observed {
    let keys: BTreeSet<&str> = observed
        .history
        .events
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    let needles: Vec<Needle> = keys.into_iter().map(Needle::new).collect();
    let mut kind = String::new();
    observed
        .trace
        .retain(|entry| entry.request.is_some() || mentions_any(entry, &needles, &mut kind));
    observed
}

/// ` KEY`, as `workload::explain` looks for it in a trace line, and whether the key could come
/// from anywhere in a line.
struct Needle {
    text: String,
    anywhere: bool,
}

impl Needle {
    fn new(key: &str) -> Self {
        Needle {
            text: format!(" {key}"),
            anywhere: key.is_empty()
                || key.contains(char::is_whitespace)
                || key.bytes().all(|b| b.is_ascii_digit())
                || LINE_WORDS.contains(key),
        }
    }
}

/// Whether `entry`'s line contains one of `needles` (`kind` is a reusable buffer).
fn mentions_any(
    entry: &dynamo_common::sim::TraceEntry,
    needles: &[Needle],
    kind: &mut String,
) -> bool {
    use std::fmt::Write as _;
    kind.clear();
    let _ = write!(kind, "{}", entry.kind);
    let mut line: Option<String> = None;
    needles.iter().any(|needle| {
        let key = &needle.text[1..];
        let may = needle.anywhere
            || entry.detail.contains(key)
            || entry.from.as_str().contains(key)
            || entry.to.as_str().contains(key)
            || kind.contains(key);
        may && line
            .get_or_insert_with(|| entry.to_string())
            .contains(needle.text.as_str())
    })
}

/// Every word and separator a trace line holds besides its times, nodes, kind and detail (see
/// `TraceEntry`'s `Display`): a key found in none of those can come into a line only from here.
const LINE_WORDS: &str = " ms -> arrives nobody waiting, lost: is down dropped partitioned ";

/// A write's answer as the client saw it.
/// A step's label suffix for a client's own R or W (`, w=3`); nothing when it chose none.
fn chosen(what: &str, k: Option<usize>) -> String {
    k.map(|k| format!(", {what}={k}")).unwrap_or_default()
}

fn written(actual: &Result<Written, StoreError>) -> String {
    match actual {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

fn shown(set: &store::Siblings) -> Vec<String> {
    let mut out: Vec<String> = set
        .0
        .iter()
        .map(|v| match Payload::of(v) {
            Payload::Value(x) => x,
            Payload::Tombstone => "~".to_string(),
        })
        .collect();
    out.sort();
    out
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::Store;
    const TRACKS: &'static [&'static str] = &[
        "requests",
        "failures",
        "partitions",
        "deletes",
        "convergence",
        "membership",
        "consistency",
    ];
    type Track = Track;
    type Setup = Setup;
    type Step = Step;
    type State = State;

    fn validate(setup: &Setup, steps: &[Spanned<Step>]) -> Vec<(Location, String)> {
        let mut problems = Vec::new();
        let first = steps.first().map_or(Location::UNKNOWN, |s| s.referenced);
        let declared =
            super::cluster::declare_nodes(&setup.nodes, setup.vnodes, &[], first, &mut problems);
        let q = setup.quorum.unwrap_or(QuorumConfig { n: 3, r: 2, w: 2 });
        if q.n == 0 || q.n > declared.len() || q.r == 0 || q.r > q.n || q.w == 0 || q.w > q.n {
            problems.push((
                first,
                format!(
                    "setup.quorum {} does not fit {} nodes",
                    inline(&q),
                    declared.len()
                ),
            ));
        }
        if let Some(Bounds(lo, hi)) = setup.latency_ms
            && lo > hi
        {
            problems.push((first, "setup.latency_ms: min is larger than max".into()));
        }
        if let Some(p) = setup.loss
            && !(0.0..=1.0).contains(&p)
        {
            problems.push((first, "setup.loss must be between 0 and 1".into()));
        }
        let mut known: BTreeSet<NodeId> = declared.into_iter().cloned().collect();
        for step in steps {
            let at = step.referenced;
            // A host checks a client's own R or W against N before it calls the node (the
            // cluster answers 400), so a case cannot ask for one out of range.
            let unfit = match &step.value {
                Step::Put(s) => s.w.map(|k| ("put's w", k)),
                Step::Get(s) => s.r.map(|k| ("get's r", k)),
                Step::Delete(s) => s.w.map(|k| ("delete's w", k)),
                _ => None,
            }
            .filter(|&(_, k)| k == 0 || k > q.n);
            if let Some((what, k)) = unfit {
                problems.push((at, format!("{what}: {k} is not between 1 and N={}", q.n)));
            }
            let mut need = |n: &NodeId, known: &BTreeSet<NodeId>| {
                if !known.contains(n) {
                    problems.push((at, format!("node {n} is not in setup.nodes (or joined)")));
                }
            };
            match &step.value {
                Step::Put(s) => need(&s.via, &known),
                Step::Get(s) => need(&s.via, &known),
                Step::Delete(s) => need(&s.via, &known),
                Step::Sees(s) => {
                    need(&s.node, &known);
                    need(&s.of, &known);
                }
                Step::Fault(StoreEvent::Join(n)) => {
                    known.insert(n.clone());
                }
                Step::Workload(w) => {
                    if w.clients == 0 || w.keys == 0 || w.mix.put + w.mix.get + w.mix.delete == 0 {
                        problems.push((at, "a workload needs clients, keys and a mix".into()));
                    }
                    for f in &w.faults {
                        if f.at_ms.0 > f.at_ms.1 {
                            problems.push((at, "a fault's at_ms: min is larger than max".into()));
                        }
                    }
                }
                _ => {}
            }
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Put(s) => &s.expect,
            Step::Get(s) => &s.expect,
            Step::Delete(s) => &s.expect,
            Step::Stored(s) => &s.expect,
            Step::Keys(s) => &s.expect,
            Step::Sees(s) => &s.expect,
            Step::Hints(s) => &s.expect,
            Step::Messages(s) => &s.expect,
            Step::Workload(w) => &w.expect,
            Step::Fault(_) | Step::Wait(_) => &Happens,
        }
    }

    fn label(step: &Step) -> String {
        match step {
            Step::Put(s) => format!(
                "put {} = {} via {} ({}){}",
                s.key,
                s.value,
                s.via,
                inline(&s.context),
                chosen("w", s.w)
            ),
            Step::Get(s) => format!("get {} via {}{}", s.key, s.via, chosen("r", s.r)),
            Step::Delete(s) => format!("delete {} via {}{}", s.key, s.via, chosen("w", s.w)),
            Step::Stored(s) => format!("stored {}", s.key),
            Step::Keys(_) => "keys each node stores".into(),
            Step::Sees(s) => format!("how {} sees {}", s.node, s.of),
            Step::Hints(_) => "hints left".into(),
            Step::Messages(s) => format!("{} messages so far", s.kind),
            Step::Fault(e) => format!("fault {}", inline(e)),
            Step::Wait(ms) => format!("wait {ms} ms"),
            Step::Workload(w) => format!(
                "workload: {} clients x {} ops on {} keys, {} faults",
                w.clients,
                w.ops,
                w.keys,
                w.faults.len()
            ),
        }
    }

    fn setup_label(setup: &Setup) -> String {
        let q = setup.quorum.unwrap_or(QuorumConfig { n: 3, r: 2, w: 2 });
        format!(
            "setup: {} nodes {}, N={} R={} W={}, {}",
            setup.nodes.len(),
            super::cluster::names(&setup.nodes),
            q.n,
            q.r,
            q.w,
            inline(&setup.mode)
        )
    }

    fn seeded(step: &Step) -> bool {
        matches!(step, Step::Workload(_))
    }

    fn prepare(name: &str, setup: &Setup, steps: &mut [Spanned<Step>]) {
        for step in steps {
            if let Step::Workload(w) = &mut step.value {
                w.expect.case = name.to_string();
                w.expect.case_seed = setup.seed.unwrap_or(1);
            }
        }
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        Self::setup_with(setup, selection, &RunOptions::default())
    }

    fn setup_with(
        setup: &Setup,
        selection: &Selection,
        options: &RunOptions,
    ) -> Result<State, Mismatch> {
        let ring = implementations::hash_ring(&selection.get(Stage::HashRing));
        let sloppy = implementations::fault_tolerance(&selection.get(Stage::FaultTolerance));
        let clocks = implementations::vector_clocks(&selection.get(Stage::VectorClocks));
        let replica = implementations::anti_entropy(&selection.get(Stage::AntiEntropy));
        let read_repair = implementations::read_repair(&selection.get(Stage::ReadRepair));
        let stages = dynamo_select::store::stages(ring, sloppy, clocks, replica, read_repair);
        let new_node = implementations::store(&selection.get(Stage::Store));
        let spec = ClusterSpec {
            stages,
            new_node,
            nodes: super::cluster::ids(&setup.nodes),
            quorum: setup.quorum.unwrap_or(QuorumConfig { n: 3, r: 2, w: 2 }),
            mode: setup.mode,
            vnodes: setup.vnodes.unwrap_or(8),
            timeout_ms: setup.timeout_ms.unwrap_or(100),
            tick_ms: setup.tick_ms.unwrap_or(100),
            suspect_after_ms: setup.suspect_after_ms.unwrap_or(400),
            tombstone_grace_ms: setup.tombstone_grace_ms.unwrap_or(1000),
            merkle_depth: setup.merkle_depth.unwrap_or(4),
            latency: setup.latency_ms.unwrap_or(Bounds(5, 5)),
            loss: setup.loss.unwrap_or(0.0),
            seed: setup.seed.unwrap_or(1),
        };
        Ok(State {
            runtime: paused_runtime()?,
            local: LocalSet::new(),
            spec,
            cluster: None,
            contexts: BTreeMap::new(),
            seeds: options.seeds,
            requests: 0,
        })
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Step::Workload(w) = step {
            // A workload runs on fresh clusters, one per seed; it observes here, and the grader
            // judges every seed's run.
            let mut runs = Vec::new();
            let traced = state.seeds.traced();
            for seed in state.seeds.list(state.spec.seed) {
                let spec = state.spec.clone();
                let local = LocalSet::new();
                let observed = local
                    .block_on(&state.runtime, async {
                        workload::run(&spec, w, seed, traced).await
                    })
                    .map_err(|e| {
                        Mismatch::new("the workload to run", format!("with seed {seed}: {e}"))
                    })?;
                if let Some(panicked) = observed.panicked {
                    // The case process does not know the case's name; the report gives it.
                    panicked.resume(&format!(
                        "; with seed {seed}: add --seed {seed} to rerun this seed alone"
                    ));
                }
                runs.push(SeedRun {
                    seed,
                    observed: about_keys(observed),
                });
            }
            return w.expect.check(&runs, snapshots);
        }
        let cluster = state.cluster()?;
        // A client step is one request: its messages carry its id, and a failure draws them.
        let request = match step {
            Step::Put(s) => Some(&s.via),
            Step::Delete(s) => Some(&s.via),
            Step::Get(s) => Some(&s.via),
            _ => None,
        }
        .map(|via| {
            state.requests += 1;
            RequestId::new(via.clone(), state.requests)
        });
        // What the client was told, for the diagram's last arrow.
        let mut told = String::new();
        let result = match step {
            Step::Put(s) => {
                let context = match s.context {
                    ContextChoice::None => None,
                    ContextChoice::LastRead => state.contexts.get(&s.key).cloned(),
                };
                let node = cluster.node(&s.via);
                let actual: Result<Written, StoreError> = match node {
                    Some(node) if !cluster.is_down(&s.via) => state
                        .local
                        .block_on(
                            &state.runtime,
                            scope(
                                request.clone(),
                                node.put(
                                    &s.key,
                                    s.value.clone(),
                                    context,
                                    RequestOptions { r: None, w: s.w },
                                ),
                            ),
                        )
                        .map(|_| Written::Ok),
                    _ => Err(StoreError::NotEnoughReplicas { needed: 1, got: 0 }),
                };
                told = format!("put {} = {}: {}", s.key, s.value, written(&actual));
                raise_node_panic(&cluster);
                s.expect.check(&actual, snapshots)
            }
            Step::Delete(s) => {
                let context = state.contexts.get(&s.key).cloned().unwrap_or_default();
                let actual: Result<Written, StoreError> = match cluster.node(&s.via) {
                    Some(node) if !cluster.is_down(&s.via) => state
                        .local
                        .block_on(
                            &state.runtime,
                            scope(
                                request.clone(),
                                node.delete(&s.key, context, RequestOptions { r: None, w: s.w }),
                            ),
                        )
                        .map(|_| Written::Ok),
                    _ => Err(StoreError::NotEnoughReplicas { needed: 1, got: 0 }),
                };
                told = format!("delete {}: {}", s.key, written(&actual));
                raise_node_panic(&cluster);
                s.expect.check(&actual, snapshots)
            }
            Step::Get(s) => {
                let actual = match cluster.node(&s.via) {
                    Some(node) if !cluster.is_down(&s.via) => state.local.block_on(
                        &state.runtime,
                        scope(
                            request.clone(),
                            node.get(&s.key, RequestOptions { r: s.r, w: None }),
                        ),
                    ),
                    _ => Err(StoreError::NotEnoughReplicas { needed: 1, got: 0 }),
                };
                told = match &actual {
                    Ok(read) => format!("get {} = {:?}", s.key, read.values),
                    Err(e) => format!("get {}: {e}", s.key),
                };
                if let Ok(read) = &actual {
                    state.contexts.insert(s.key.clone(), read.context.clone());
                }
                raise_node_panic(&cluster);
                s.expect.check(&actual.map(|r| r.values), snapshots)
            }
            Step::Stored(s) => {
                let held: BTreeMap<NodeId, Vec<String>> = cluster
                    .stored()
                    .into_iter()
                    .filter(|(n, _)| !cluster.left.borrow().contains(n))
                    .filter_map(|(n, m)| m.get(&s.key).map(|set| (n, shown(set))))
                    .collect();
                s.expect.check(&Ok(held), snapshots)
            }
            Step::Keys(s) => {
                let held: BTreeMap<NodeId, Vec<String>> = cluster
                    .stored()
                    .into_iter()
                    .filter(|(_, m)| !m.is_empty())
                    .map(|(n, m)| (n, m.into_keys().collect()))
                    .collect();
                s.expect.check(&Ok(held), snapshots)
            }
            Step::Sees(s) => {
                // Inside the runtime: the node reads the paused clock.
                let status = cluster.node(&s.node).map(|n| {
                    state
                        .local
                        .block_on(&state.runtime, async move { n.status() })
                });
                let liveness = status
                    .and_then(|st| st.members.get(&s.of).copied())
                    .unwrap_or(Liveness::Suspected);
                s.expect.check(&Ok(liveness), snapshots)
            }
            Step::Hints(s) => s.expect.check(&Ok(cluster.hints_left().len()), snapshots),
            Step::Messages(s) => {
                let count = cluster
                    .trace
                    .borrow()
                    .iter()
                    .filter(|e| e.kind.to_string() == s.kind)
                    .count();
                s.expect.check(&Ok(count), snapshots)
            }
            Step::Fault(event) => state
                .local
                .block_on(&state.runtime, workload::apply(&cluster, event))
                .map_err(|e| Mismatch::new(format!("fault {}", inline(event)), e))
                .and_then(|()| {
                    raise_node_panic(&cluster);
                    Happens.check(snapshots)
                }),
            Step::Wait(ms) => {
                state.local.block_on(&state.runtime, async {
                    sleep(Duration::from_millis(*ms)).await
                });
                raise_node_panic(&cluster);
                Happens.check(snapshots)
            }
            Step::Workload(_) => Err(Mismatch::new("a workload", "a workload run as a step")),
        };
        let answered_ms = cluster.now_ms();
        result.map_err(|m| {
            let trace = cluster.trace.borrow();
            let items = match &request {
                // The request's own messages, then the answer the step judged.
                Some(id) => {
                    let mut items: Vec<TraceItem> = trace
                        .iter()
                        .filter(|e| e.request.as_ref() == Some(id))
                        .cloned()
                        .map(TraceItem::Message)
                        .collect();
                    items.push(TraceItem::Answer(Answer {
                        answer: format!("{id}: {told}"),
                        at_ms: answered_ms,
                        from: id.coordinator.clone(),
                        request: Some(id.clone()),
                    }));
                    items
                }
                None => {
                    let from = trace.len().saturating_sub(80);
                    trace[from..]
                        .iter()
                        .cloned()
                        .map(TraceItem::Message)
                        .collect()
                }
            };
            m.with_trace(items)
        })
    }
}

#[cfg(test)]
mod tests {
    use dynamo_common::NodeId;
    use dynamo_common::sim::{Fate, MessageKind, TraceEntry};

    use super::{Needle, mentions_any};

    /// The quick filter keeps exactly the messages whose line contains ` KEY`, for keys that
    /// look like a workload's and for keys made to collide with names, kinds, words and times.
    #[test]
    fn the_trace_filter_matches_the_lines() {
        let nodes = ["A", "k1", "node k1", "ack"];
        let kinds = [MessageKind::Put, MessageKind::Ack, MessageKind::Gossip];
        let details = ["", "k1 = c0-1@2", "k10", "x k1", "k1k"];
        let fates = [
            Fate::Arrives { at_ms: 15 },
            Fate::ArrivesUnheard { at_ms: 7 },
            Fate::LostNodeDown,
            Fate::Dropped,
            Fate::Partitioned,
        ];
        let keys = [
            "k1", "k", "1", "15", "ms", "ck", "-", "down", "k1 =", "", "A",
        ];
        let mut kind = String::new();
        for from in nodes {
            for kind_of in kinds {
                for detail in details {
                    for fate in &fates {
                        let entry = TraceEntry {
                            sent_ms: 15,
                            from: NodeId::from(from),
                            to: NodeId::from("B"),
                            kind: kind_of,
                            detail: detail.to_string(),
                            fate: fate.clone(),
                            request: None,
                        };
                        let line = entry.to_string();
                        for key in keys {
                            let needle = [Needle::new(key)];
                            assert_eq!(
                                mentions_any(&entry, &needle, &mut kind),
                                line.contains(&format!(" {key}")),
                                "key {key:?} in {line:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
