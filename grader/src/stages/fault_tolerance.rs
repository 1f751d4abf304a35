//! Stage 3 cases: failure detection, sloppy quorum and hinted handoff.
//!
//! ```yaml
//! stage: fault-tolerance
//! track: sloppy-quorum
//! name: one-primary-down
//! setup:
//!   nodes: [A, B, C, D, E]
//!   quorum: {n: 3, r: 2, w: 2}
//!   down: [B]
//! steps:
//!   - put: {key: k, value: v, version: 1, expect: {ok: {A: null, C: null, D: B}}}
//! ```
//!
//! As in stage 2, each case gets its own current-thread tokio runtime with paused time, kept in
//! the state, so messages and scheduled faults carry over from one step to the next. The ring
//! (stage 1, as selected) gives each key's walk; the coordinator (stage 3) gets it. Recovery and
//! healing are the simulation's events that trigger handoff: after `recover` or `heal`, and on a
//! `handoff` tick, every node holding hints runs the coordinator's `handoff`, in name order.

use std::collections::BTreeMap;

use dynamo_common::diagram::{self, Item};
use dynamo_common::sim::{DropRule, FaultEvent, Hint, Link, NetworkConfig};
use fault_tolerance::{
    FaultConfig, Network, NodeId, Placement, QuorumConfig, SloppyError, Versioned,
};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use tokio::runtime::Runtime;

use super::StagePlugin;
use super::cluster::{LazyRing, NetworkSetup, declare_nodes, ids, names, paused_runtime};
use crate::expect::{Expect, Expectation, ListExpect, Mismatch, show_result};
use crate::implementation::Selection;
use crate::implementations::{self, DynSloppy};
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;

/// The stage-3 plugin.
pub struct Plugin;

/// How long the transport itself waits for a reply: a minute, far beyond any coordinator's
/// timeout, so only a coordinator that does its own failure detection stays fast.
pub const TRANSPORT_TIMEOUT_MS: u64 = 60_000;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "FaultToleranceTrack")]
pub enum Track {
    FailureDetection,
    SloppyQuorum,
    HintedHandoff,
    Recovery,
}

/// A hint a node holds before the first step.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FaultToleranceHint")]
pub struct SetupHint {
    /// The primary the hint is for.
    pub primary: NodeId,
    pub key: String,
    pub value: String,
    pub version: u64,
}

/// A fault that happens at a simulated time.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheduled {
    /// Simulated ms since the case started.
    pub at_ms: u64,
    pub event: FaultEvent,
}

/// The cluster and network a case starts from.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FaultToleranceSetup")]
pub struct Setup {
    /// The cluster's nodes, added to a ring in this order.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub nodes: Vec<Spanned<NodeId>>,
    /// Tokens per node on the ring (default 8).
    #[serde(default)]
    pub vnodes: Option<u32>,
    /// The coordinator's N, R, W (required).
    #[serde(default)]
    pub quorum: Option<QuorumConfig>,
    /// The coordinator's failure-detection timeout, in simulated ms (default 300).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// One-way latency per node, in simulated ms (default `default_latency_ms`).
    #[serde(default)]
    pub latency_ms: BTreeMap<NodeId, u64>,
    /// Latency of nodes not in `latency_ms` (default 10).
    #[serde(default)]
    pub default_latency_ms: Option<u64>,
    /// One-way links with their own latency; `coordinator` names the coordinator.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Nodes that are down from the start (until a `recover`).
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub down: Vec<Spanned<NodeId>>,
    /// Nodes cut off by a partition from the start (until a `heal`).
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub partitioned: Vec<Spanned<NodeId>>,
    /// Messages that are lost.
    #[serde(default)]
    pub drops: Vec<DropRule>,
    /// What replicas hold before the first step: node -> key -> object.
    #[serde(default)]
    pub stored: BTreeMap<NodeId, BTreeMap<String, Versioned>>,
    /// Hints nodes hold before the first step: holder -> hints.
    #[serde(default)]
    pub hints: BTreeMap<NodeId, Vec<SetupHint>>,
    /// Faults that happen at given simulated times.
    #[serde(default)]
    pub schedule: Vec<Scheduled>,
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
#[schemars(rename = "FaultToleranceStep")]
pub enum Step {
    /// The key's walk: every node, in preference-list order (the first N are its primaries).
    Walk {
        key: String,
        expect: ListExpect<NodeId, SloppyError>,
    },
    /// Writes `value@version` under `key` through the coordinator.
    Put {
        key: String,
        value: String,
        version: u64,
        expect: PutExpect,
    },
    /// The node crashes now (it keeps its data and hints).
    Crash { node: NodeId },
    /// The node recovers now; then every node holding hints runs handoff.
    Recover {
        node: NodeId,
        #[serde(default)]
        expect: Option<HandoffExpect>,
    },
    /// These nodes are cut off from everyone else now.
    Partition { nodes: Vec<NodeId> },
    /// The partition heals now; then every node holding hints runs handoff.
    Heal {
        #[serde(default)]
        expect: Option<HandoffExpect>,
    },
    /// A handoff tick: every node holding hints runs handoff, in name order.
    Handoff { expect: HandoffExpect },
    /// Simulated time passes (messages travel, scheduled faults happen).
    Wait { ms: u64 },
    /// What each node's own store holds for `key` (`null`: nothing; hints are not included).
    /// With `settle: true`, first lets every message in flight arrive.
    Replicas {
        key: String,
        #[serde(default)]
        settle: bool,
        expect: Expect<BTreeMap<NodeId, Option<Versioned>>, SloppyError>,
    },
    /// Every hint held, one line each: `D for B: k = v@1`, by holder, then primary and key.
    Hints {
        #[serde(default)]
        settle: bool,
        expect: ListExpect<String, SloppyError>,
    },
    /// Every message so far, one line each.
    Trace {
        #[serde(default)]
        settle: bool,
        expect: ListExpect<String, SloppyError>,
    },
}

/// Expectation of a `put`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FaultTolerancePutExpect")]
pub struct PutExpect {
    /// It succeeded with exactly this placement: node -> the primary it stands in for (`null`:
    /// a primary itself).
    pub ok: Option<Placement>,
    /// It failed with exactly this error.
    pub error: Option<SloppyError>,
    /// Simulated ms from the call to its return.
    pub latency_ms: Option<u64>,
}

impl Expectation for PutExpect {
    fn validate(&self) -> Result<(), String> {
        match (&self.ok, &self.error, self.latency_ms) {
            (None, None, None) => {
                Err("`expect` checks nothing; use ok, error or latency_ms".into())
            }
            (Some(_), Some(_), _) => Err("give one of ok and error".into()),
            _ => Ok(()),
        }
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        inline(self)
    }
}

/// Expectation of a handoff: how many hints were delivered, and how long it took.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffExpect {
    /// Hints delivered (and deleted), over every holder.
    pub delivered: Option<usize>,
    /// Simulated ms the handoff took.
    pub latency_ms: Option<u64>,
}

impl Expectation for HandoffExpect {
    fn validate(&self) -> Result<(), String> {
        if self.delivered.is_none() && self.latency_ms.is_none() {
            return Err("`expect` checks nothing; use delivered or latency_ms".into());
        }
        Ok(())
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        inline(self)
    }
}

/// The expectation of a step that only makes something happen.
struct Happens;

impl Expectation for Happens {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        "(an event; nothing to check)".into()
    }
}

/// A running case.
pub struct State {
    runtime: Runtime,
    network: Network,
    ring: LazyRing,
    coordinator: Box<dyn DynSloppy<Versioned>>,
    nodes: Vec<NodeId>,
}

impl State {
    /// The key's walk: stage 1's preference list over the whole cluster.
    fn walk(&mut self, key: &str) -> Result<Vec<NodeId>, Mismatch> {
        let all = self.nodes.len();
        self.ring.get()?.preference_list(key, all).map_err(|e| {
            Mismatch::new(
                format!("hash ring preference_list({key:?}, {all}) to succeed"),
                show_result::<(), _>(&Err(e)),
            )
        })
    }

    fn trace_lines(&self) -> Vec<String> {
        self.network.trace().lines()
    }

    fn trace_items(&self) -> Vec<Item> {
        diagram::items(&self.network.trace())
    }

    fn settle(&self, settle: bool) {
        if settle {
            self.runtime.block_on(self.network.settle());
        }
    }

    fn hint_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for holder in self.network.hint_holders() {
            for Hint {
                primary,
                key,
                object,
            } in self.network.hints(&holder)
            {
                lines.push(format!("{holder} for {primary}: {key} = {object}"));
            }
        }
        lines
    }

    /// Every node holding hints runs handoff, in name order; returns (delivered, ms taken).
    fn handoff_tick(&self) -> (usize, u64) {
        let (network, coordinator) = (&self.network, &self.coordinator);
        self.runtime.block_on(async {
            let start = network.now_ms();
            let mut delivered = 0;
            for holder in network.hint_holders() {
                delivered += coordinator.handoff(network, &holder).await;
            }
            (delivered, network.now_ms() - start)
        })
    }

    fn check_handoff(&self, expect: Option<&HandoffExpect>) -> Result<(), Mismatch> {
        let (delivered, ms) = self.handoff_tick();
        let Some(expect) = expect else { return Ok(()) };
        let actual = format!("{delivered} hints delivered in {ms} ms");
        let fail =
            |want: String| Err(Mismatch::new(want, actual.clone()).with_trace(self.trace_items()));
        if let Some(want) = expect.delivered
            && want != delivered
        {
            return fail(format!("{want} hints delivered"));
        }
        if let Some(want) = expect.latency_ms
            && want != ms
        {
            return fail(format!("handoff to take {want} ms"));
        }
        Ok(())
    }
}

fn coordinator_name() -> NodeId {
    NetworkConfig::default().coordinator
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::FaultTolerance;
    const TRACKS: &'static [&'static str] = &[
        "failure-detection",
        "sloppy-quorum",
        "hinted-handoff",
        "recovery",
    ];
    type Track = Track;
    type Setup = Setup;
    type Step = Step;
    type State = State;

    fn validate(setup: &Setup, steps: &[Spanned<Step>]) -> Vec<(Location, String)> {
        let mut problems = Vec::new();
        let first = steps.first().map_or(Location::UNKNOWN, |s| s.referenced);
        let coordinator = coordinator_name();
        let declared = declare_nodes(
            &setup.nodes,
            setup.vnodes,
            std::slice::from_ref(&coordinator),
            first,
            &mut problems,
        );
        if setup.quorum.is_none() {
            problems.push((first, "setup.quorum is required: {n, r, w}".into()));
        }
        let known = |n: &NodeId| declared.contains(n);
        let endpoint = |n: &NodeId| known(n) || *n == coordinator;
        let mut check = |what: &str, n: &NodeId, ok: bool, at: Location| {
            if !ok {
                problems.push((
                    at,
                    format!("{what} names node {n}, which is not in setup.nodes"),
                ));
            }
        };
        for n in setup.latency_ms.keys() {
            check("setup.latency_ms", n, endpoint(n), first);
        }
        for l in &setup.links {
            check("setup.links", &l.from, endpoint(&l.from), first);
            check("setup.links", &l.to, endpoint(&l.to), first);
        }
        for n in setup.down.iter().chain(&setup.partitioned) {
            check("setup", &n.value, known(&n.value), n.referenced);
        }
        for d in &setup.drops {
            for n in d.from.iter().chain(&d.to) {
                check("setup.drops", n, endpoint(n), first);
            }
        }
        for n in setup.stored.keys() {
            check("setup.stored", n, known(n), first);
        }
        for (holder, hints) in &setup.hints {
            check("setup.hints", holder, known(holder), first);
            for h in hints {
                check("setup.hints", &h.primary, known(&h.primary), first);
            }
        }
        for s in &setup.schedule {
            let named: Vec<&NodeId> = match &s.event {
                FaultEvent::Crash(n) | FaultEvent::Recover(n) => vec![n],
                FaultEvent::Partition(ns) => ns.iter().collect(),
                FaultEvent::Heal => vec![],
            };
            for n in named {
                check("setup.schedule", n, known(n), first);
            }
        }
        for step in steps {
            let at = step.referenced;
            let named: Vec<&NodeId> = match &step.value {
                Step::Crash { node } | Step::Recover { node, .. } => vec![node],
                Step::Partition { nodes } => nodes.iter().collect(),
                Step::Walk { expect, .. } => expect.named_items().collect(),
                Step::Put { expect, .. } => expect
                    .ok
                    .iter()
                    .flat_map(|p| p.iter().flat_map(|(k, v)| std::iter::once(k).chain(v)))
                    .collect(),
                Step::Replicas { expect, .. } => {
                    expect.equals.iter().flat_map(|m| m.keys()).collect()
                }
                _ => vec![],
            };
            for n in named {
                check("this step", n, known(n), at);
            }
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Walk { expect, .. } => expect,
            Step::Put { expect, .. } => expect,
            Step::Recover {
                expect: Some(expect),
                ..
            }
            | Step::Heal {
                expect: Some(expect),
            }
            | Step::Handoff { expect } => expect,
            Step::Crash { .. }
            | Step::Recover { .. }
            | Step::Partition { .. }
            | Step::Heal { .. }
            | Step::Wait { .. } => &Happens,
            Step::Replicas { expect, .. } => expect,
            Step::Hints { expect, .. } | Step::Trace { expect, .. } => expect,
        }
    }

    fn label(step: &Step) -> String {
        let settled = |s: bool| if s { " (settled)" } else { "" };
        match step {
            Step::Walk { key, .. } => format!("walk of {}", inline(key)),
            Step::Put {
                key,
                value,
                version,
                ..
            } => format!("put {} = {}", inline(key), Versioned::new(value, *version)),
            Step::Crash { node } => format!("crash {node}"),
            Step::Recover { node, .. } => format!("recover {node}, then handoff"),
            Step::Partition { nodes } => format!("partition {}", inline(nodes)),
            Step::Heal { .. } => "heal, then handoff".into(),
            Step::Handoff { .. } => "handoff tick".into(),
            Step::Wait { ms } => format!("wait {ms} ms"),
            Step::Replicas { key, settle, .. } => {
                format!("replicas of {}{}", inline(key), settled(*settle))
            }
            Step::Hints { settle, .. } => format!("hints{}", settled(*settle)),
            Step::Trace { settle, .. } => format!("trace{}", settled(*settle)),
        }
    }

    fn setup_label(setup: &Setup) -> String {
        let mut parts = vec![format!("setup: nodes {}", names(&setup.nodes))];
        if let Some(q) = setup.quorum {
            parts.push(format!("N={} R={} W={}", q.n, q.r, q.w));
        }
        parts.push(format!("timeout {} ms", setup.timeout_ms.unwrap_or(300)));
        if !setup.down.is_empty() {
            parts.push(format!("down {}", names(&setup.down)));
        }
        if !setup.partitioned.is_empty() {
            parts.push(format!("partitioned {}", names(&setup.partitioned)));
        }
        if !setup.drops.is_empty() {
            parts.push(format!("drops {}", inline(&setup.drops)));
        }
        parts.join("; ")
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        let nodes = ids(&setup.nodes);
        let runtime = paused_runtime()?;
        let config = NetworkConfig {
            partitioned: ids(&setup.partitioned).into_iter().collect(),
            timeout_ms: TRANSPORT_TIMEOUT_MS,
            ..setup.network().config()
        };
        let network = {
            let _inside = runtime.enter();
            let network = Network::new(config, nodes.clone());
            for s in &setup.schedule {
                network.schedule(s.at_ms, s.event.clone());
            }
            network
        };
        for (node, objects) in &setup.stored {
            for (key, object) in objects {
                network.preload(node, key, object.clone());
            }
        }
        for (holder, hints) in &setup.hints {
            for h in hints {
                network.preload_hint(
                    holder,
                    Hint {
                        primary: h.primary.clone(),
                        key: h.key.clone(),
                        object: Versioned::new(h.value.clone(), h.version),
                    },
                );
            }
        }
        let quorum = setup.quorum.unwrap_or(QuorumConfig { n: 3, r: 2, w: 2 });
        let config = FaultConfig {
            quorum,
            timeout_ms: setup.timeout_ms.unwrap_or(300),
        };
        let implementation =
            implementations::fault_tolerance(&selection.get(Stage::FaultTolerance));
        let coordinator = (implementation.new)(config, nodes.len()).map_err(|e| {
            Mismatch::new(
                format!("new({}) to succeed", inline(&config)),
                show_result::<(), _>(&Err(e)),
            )
        })?;
        Ok(State {
            runtime,
            network,
            ring: LazyRing::new(
                implementations::hash_ring(&selection.get(Stage::HashRing)),
                setup.vnodes.unwrap_or(8),
                nodes.clone(),
            ),
            coordinator,
            nodes,
        })
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        match step {
            Step::Walk { key, expect } => {
                let walk = state.walk(key)?;
                expect.check(&Ok(walk), snapshots)
            }
            Step::Put {
                key,
                value,
                version,
                expect,
            } => run_put(state, key, Versioned::new(value.clone(), *version), expect),
            Step::Crash { node } => {
                state.network.apply(&FaultEvent::Crash(node.clone()));
                Ok(())
            }
            Step::Recover { node, expect } => {
                state.network.apply(&FaultEvent::Recover(node.clone()));
                state.check_handoff(expect.as_ref())
            }
            Step::Partition { nodes } => {
                let nodes = nodes.iter().cloned().collect();
                state.network.apply(&FaultEvent::Partition(nodes));
                Ok(())
            }
            Step::Heal { expect } => {
                state.network.apply(&FaultEvent::Heal);
                state.check_handoff(expect.as_ref())
            }
            Step::Handoff { expect } => state.check_handoff(Some(expect)),
            Step::Wait { ms } => {
                let ms = *ms;
                // The sleep is created inside the runtime: its timer belongs to the paused clock.
                state.runtime.block_on(async move {
                    tokio::time::sleep(tokio::time::Duration::from_millis(ms)).await;
                });
                Ok(())
            }
            Step::Replicas {
                key,
                settle,
                expect,
            } => {
                state.settle(*settle);
                let held: BTreeMap<NodeId, Option<Versioned>> = state
                    .nodes
                    .iter()
                    .map(|n| (n.clone(), state.network.stored(n, key)))
                    .collect();
                expect
                    .check(&Ok(held), snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
            Step::Hints { settle, expect } => {
                state.settle(*settle);
                expect
                    .check(&Ok(state.hint_lines()), snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
            Step::Trace { settle, expect } => {
                state.settle(*settle);
                let lines = state.trace_lines();
                expect
                    .check(&Ok(lines.clone()), snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
        }
    }
}

/// Runs a put through the coordinator, timing it on the simulated clock.
fn run_put(
    state: &mut State,
    key: &str,
    object: Versioned,
    expect: &PutExpect,
) -> Result<(), Mismatch> {
    let walk = state.walk(key)?;
    let network = &state.network;
    let (returned, latency_ms) = state.runtime.block_on(async {
        let start = network.now_ms();
        let returned = state.coordinator.put(network, &walk, key, object).await;
        (returned, network.now_ms() - start)
    });
    let full_trace = || {
        state.runtime.block_on(network.settle());
        diagram::items(&network.trace())
    };
    let shown = format!(
        "{} (after {latency_ms} ms, walk {})",
        show_result(&returned),
        inline(&walk)
    );
    let fail =
        |expected: String| Err(Mismatch::new(expected, shown.clone()).with_trace(full_trace()));
    if let Some(want) = &expect.error
        && returned.as_ref().err() != Some(want)
    {
        return fail(format!("error {}", inline(want)));
    }
    if let Some(want) = &expect.ok
        && returned.as_ref().ok() != Some(want)
    {
        return fail(inline(want));
    }
    if let Some(want) = expect.latency_ms
        && want != latency_ms
    {
        return fail(format!("to return after {want} ms"));
    }
    Ok(())
}
