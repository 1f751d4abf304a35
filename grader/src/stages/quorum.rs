//! Stage 2 cases: quorum replication over the simulated network.
//!
//! ```yaml
//! stage: quorum
//! track: write-quorum
//! name: write-returns-at-the-wth-ack
//! setup:
//!   nodes: [A, B, C]
//!   quorum: {n: 3, r: 2, w: 2}
//!   latency_ms: {A: 10, B: 20, C: 30}
//! steps:
//!   - put: {key: k, value: blue, version: 1, expect: {ok: true, latency_ms: 40}}
//! ```
//!
//! Each case gets its own current-thread tokio runtime with paused time, built in `setup` and
//! kept in the state, so in-flight messages carry over from one step to the next exactly as they
//! would in a running system, and every run gives the same trace. The ring (stage 1, learner's or
//! reference as selected) computes each key's preference list; the coordinator (stage 2) gets it.
//! The ring is built on the first put or get, so the configuration cases grade stage 2 alone.

use std::collections::BTreeMap;

use dynamo_common::diagram::{self, Item};
use dynamo_common::sim::{DropRule, Link, MessageKind, NetworkConfig};
use quorum::{ConfigError, Network, NodeId, QuorumConfig, QuorumError, Versioned};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use tokio::runtime::Runtime;

use super::StagePlugin;
use super::cluster::{LazyRing, NetworkSetup, declare_nodes, ids, names, paused_runtime};
use crate::expect::{Expect, Expectation, ListExpect, Mismatch, show_result};
use crate::implementation::Selection;
use crate::implementations::{self, DynCoordinator, QuorumImpl};
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;

/// The stage-2 plugin.
pub struct Plugin;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "QuorumTrack")]
pub enum Track {
    WriteQuorum,
    ReadQuorum,
    TunableConsistency,
}

/// The cluster and network a case starts from.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "QuorumSetup")]
pub struct Setup {
    /// The cluster's nodes, added to a ring in this order.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub nodes: Vec<Spanned<NodeId>>,
    /// Tokens per node on the ring (default 8).
    #[serde(default)]
    pub vnodes: Option<u32>,
    /// The coordinator's N, R, W; without it, steps before the first `configure` cannot run.
    #[serde(default)]
    pub quorum: Option<QuorumConfig>,
    /// One-way latency per node, in simulated ms (default `default_latency_ms`).
    #[serde(default)]
    pub latency_ms: BTreeMap<NodeId, u64>,
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
    /// Messages that are lost.
    #[serde(default)]
    pub drops: Vec<DropRule>,
    /// Every other message is also lost with this probability, drawn from `seed`.
    #[serde(default)]
    pub drop_rate: f64,
    /// Seed of the network's random numbers.
    #[serde(default)]
    pub seed: u64,
    /// How long the coordinator waits for a reply (default 1000 ms).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What replicas hold before the first step: node -> key -> object.
    #[serde(default)]
    pub stored: BTreeMap<NodeId, BTreeMap<String, Versioned>>,
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
#[schemars(rename = "QuorumStep")]
pub enum Step {
    /// Creates a new coordinator with this configuration (replacing the current one).
    Configure {
        n: usize,
        r: usize,
        w: usize,
        expect: ConfigExpect,
    },
    /// Writes `value@version` under `key` through the coordinator.
    Put {
        key: String,
        value: String,
        version: u64,
        expect: OpExpect,
    },
    /// Reads `key` through the coordinator.
    Get { key: String, expect: OpExpect },
    /// What each node of the cluster holds for `key` right now (`null`: nothing). With
    /// `settle: true`, first lets every message in flight arrive.
    Replicas {
        key: String,
        #[serde(default)]
        settle: bool,
        expect: Expect<BTreeMap<NodeId, Option<Versioned>>, QuorumError>,
    },
    /// Every message so far, one line each. With `settle: true`, first lets every message in
    /// flight arrive.
    Trace {
        #[serde(default)]
        settle: bool,
        expect: ListExpect<String, QuorumError>,
    },
}

/// Expectation of a `configure` step.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigExpect {
    /// `true`: the configuration is accepted.
    pub accepted: Option<bool>,
    /// It is refused with exactly this error.
    pub error: Option<ConfigError>,
}

impl Expectation for ConfigExpect {
    fn validate(&self) -> Result<(), String> {
        match (self.accepted, &self.error) {
            (None, None) => Err("`expect` checks nothing; use accepted or error".into()),
            (Some(_), Some(_)) => Err("`expect` has both `accepted` and `error`".into()),
            (Some(false), None) => {
                Err("say which error with `error:` instead of `accepted: false`".into())
            }
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

/// Expectation of a `put` or `get`: its result, and how long and how many requests it took.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpExpect {
    /// `true`: the operation succeeded (a get with any result). Without any of `ok`, `equals`,
    /// `not_found` and `error`, the outcome is not checked, only `latency_ms` and `requests`.
    pub ok: Option<bool>,
    /// A get returned exactly this object.
    pub equals: Option<Versioned>,
    /// `true`: a get succeeded and found nothing.
    pub not_found: Option<bool>,
    /// The operation failed with exactly this error.
    pub error: Option<QuorumError>,
    /// Simulated ms from the call to its return (also for errors: when did it give up?).
    pub latency_ms: Option<u64>,
    /// Requests the coordinator sent during the operation.
    pub requests: Option<usize>,
}

impl Expectation for OpExpect {
    fn validate(&self) -> Result<(), String> {
        let outcome = [
            self.ok.is_some(),
            self.equals.is_some(),
            self.not_found.is_some(),
            self.error.is_some(),
        ];
        let outcomes = outcome.iter().filter(|b| **b).count();
        if outcomes + usize::from(self.latency_ms.is_some()) + usize::from(self.requests.is_some())
            == 0
        {
            return Err(
                "`expect` checks nothing; use ok, equals, not_found, error, latency_ms or requests"
                    .into(),
            );
        }
        if outcomes > 1 {
            return Err("give one of ok, equals, not_found and error".into());
        }
        if self.ok == Some(false) || self.not_found == Some(false) {
            return Err("say which error with `error:` instead of `false`".into());
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

/// A running case: its runtime, network, ring and coordinator.
pub struct State {
    runtime: Runtime,
    network: Network,
    /// Built on the first put or get, so cases about configuration alone do not need stage 1.
    ring: LazyRing,
    implementation: QuorumImpl,
    /// The current coordinator and its N; `None` after a refused `configure`.
    coordinator: Option<(Box<dyn DynCoordinator>, usize)>,
    nodes: Vec<NodeId>,
}

impl State {
    fn trace_lines(&self) -> Vec<String> {
        self.network.trace().lines()
    }

    fn trace_items(&self) -> Vec<Item> {
        diagram::items(&self.network.trace())
    }

    fn configure(&mut self, config: QuorumConfig) -> Result<(), ConfigError> {
        self.coordinator = None;
        let coordinator = (self.implementation.new)(config, self.nodes.len())?;
        self.coordinator = Some((coordinator, config.n));
        Ok(())
    }
}

/// What an operation returned, for checking.
enum Returned {
    Put(Result<(), QuorumError>),
    Get(Result<Option<Versioned>, QuorumError>),
}

fn coordinator_name() -> NodeId {
    NetworkConfig::default().coordinator
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::Quorum;
    const TRACKS: &'static [&'static str] = &["write-quorum", "read-quorum", "tunable-consistency"];
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
        if !(0.0..=1.0).contains(&setup.drop_rate) {
            problems.push((first, "setup.drop_rate must be between 0 and 1".into()));
        }
        let known = |n: &NodeId| declared.contains(n);
        let endpoint = |n: &NodeId| known(n) || *n == coordinator;
        let mut setup_node = |what: &str, n: &NodeId, ok: bool, at: Location| {
            if !ok {
                problems.push((
                    at,
                    format!("{what} names node {n}, which is not in setup.nodes"),
                ));
            }
        };
        for n in setup.latency_ms.keys() {
            setup_node("setup.latency_ms", n, known(n) || *n == coordinator, first);
        }
        for l in &setup.links {
            setup_node("setup.links", &l.from, endpoint(&l.from), first);
            setup_node("setup.links", &l.to, endpoint(&l.to), first);
        }
        for n in &setup.down {
            setup_node("setup.down", &n.value, known(&n.value), n.referenced);
        }
        for d in &setup.drops {
            for n in d.from.iter().chain(&d.to) {
                setup_node("setup.drops", n, endpoint(n), first);
            }
        }
        for n in setup.stored.keys() {
            setup_node("setup.stored", n, known(n), first);
        }
        let mut configured = setup.quorum.is_some();
        for step in steps {
            let at = step.referenced;
            match &step.value {
                Step::Configure { .. } => configured = true,
                Step::Put { expect, .. } | Step::Get { expect, .. } => {
                    if !configured {
                        problems.push((
                            at,
                            "this step needs a coordinator: give setup.quorum, or start with a \
                             `configure` step"
                                .into(),
                        ));
                    }
                    if matches!(step.value, Step::Put { .. })
                        && (expect.equals.is_some() || expect.not_found.is_some())
                    {
                        problems.push((
                            at,
                            "a put returns no value; use ok or error (equals and not_found are \
                             for get)"
                                .into(),
                        ));
                    }
                }
                Step::Replicas { expect, .. } => {
                    for n in expect.equals.iter().flat_map(|m| m.keys()) {
                        if !known(n) {
                            problems
                                .push((at, format!("names node {n}, which is not in setup.nodes")));
                        }
                    }
                }
                Step::Trace { .. } => {}
            }
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Configure { expect, .. } => expect,
            Step::Put { expect, .. } | Step::Get { expect, .. } => expect,
            Step::Replicas { expect, .. } => expect,
            Step::Trace { expect, .. } => expect,
        }
    }

    fn label(step: &Step) -> String {
        let settled = |s: bool| if s { " (settled)" } else { "" };
        match step {
            Step::Configure { n, r, w, .. } => format!("configure N={n} R={r} W={w}"),
            Step::Put {
                key,
                value,
                version,
                ..
            } => format!("put {} = {}", inline(key), Versioned::new(value, *version)),
            Step::Get { key, .. } => format!("get {}", inline(key)),
            Step::Replicas { key, settle, .. } => {
                format!("replicas of {}{}", inline(key), settled(*settle))
            }
            Step::Trace { settle, .. } => format!("trace{}", settled(*settle)),
        }
    }

    fn setup_label(setup: &Setup) -> String {
        let mut parts = vec![format!("setup: nodes {}", names(&setup.nodes))];
        if let Some(q) = setup.quorum {
            parts.push(format!("N={} R={} W={}", q.n, q.r, q.w));
        }
        parts.extend(setup.network().label_parts());
        parts.join("; ")
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        let nodes = ids(&setup.nodes);
        let runtime = paused_runtime()?;
        let base = setup.network().config();
        let config = NetworkConfig {
            drop_rate: setup.drop_rate,
            seed: setup.seed,
            timeout_ms: setup.timeout_ms.unwrap_or(base.timeout_ms),
            ..base
        };
        // The network reads tokio's (paused) clock, so it is created inside the runtime.
        let network = {
            let _inside = runtime.enter();
            Network::new(config, nodes.clone())
        };
        for (node, objects) in &setup.stored {
            for (key, object) in objects {
                network.preload(node, key, object.clone());
            }
        }
        let mut state = State {
            runtime,
            network,
            ring: LazyRing::new(
                implementations::hash_ring(&selection.get(Stage::HashRing)),
                setup.vnodes.unwrap_or(8),
                nodes.clone(),
            ),
            implementation: implementations::quorum(&selection.get(Stage::Quorum)),
            coordinator: None,
            nodes,
        };
        if let Some(config) = setup.quorum {
            state.configure(config).map_err(|e| {
                Mismatch::new(
                    format!("new({}) to succeed", inline(&config)),
                    show_result::<(), _>(&Err(e)),
                )
            })?;
        }
        Ok(state)
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        match step {
            Step::Configure { n, r, w, expect } => {
                let result = state.configure(QuorumConfig {
                    n: *n,
                    r: *r,
                    w: *w,
                });
                check_config(expect, &result)
            }
            Step::Put {
                key,
                value,
                version,
                expect,
            } => {
                let v = Versioned::new(value.clone(), *version);
                run_op(state, key, Some(v), expect)
            }
            Step::Get { key, expect } => run_op(state, key, None, expect),
            Step::Replicas {
                key,
                settle,
                expect,
            } => {
                if *settle {
                    state.runtime.block_on(state.network.settle());
                }
                let held: BTreeMap<NodeId, Option<Versioned>> = state
                    .nodes
                    .iter()
                    .map(|n| (n.clone(), state.network.stored(n, key)))
                    .collect();
                expect
                    .check(&Ok(held), snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
            Step::Trace { settle, expect } => {
                if *settle {
                    state.runtime.block_on(state.network.settle());
                }
                let lines = state.trace_lines();
                expect
                    .check(&Ok(lines.clone()), snapshots)
                    .map_err(|m| m.with_trace(state.trace_items()))
            }
        }
    }
}

fn check_config(expect: &ConfigExpect, result: &Result<(), ConfigError>) -> Result<(), Mismatch> {
    match (&expect.error, result) {
        (Some(want), Err(got)) if want == got => Ok(()),
        (Some(want), _) => Err(Mismatch::new(
            format!("error {}", inline(want)),
            show_result(result),
        )),
        (None, Ok(())) => Ok(()),
        (None, Err(_)) => Err(Mismatch::new(
            "the configuration accepted",
            show_result(result),
        )),
    }
}

/// Runs a put (`Some(object)`) or a get through the coordinator, timing it on the simulated clock.
fn run_op(
    state: &mut State,
    key: &str,
    put: Option<Versioned>,
    expect: &OpExpect,
) -> Result<(), Mismatch> {
    let Some(n) = state.coordinator.as_ref().map(|(_, n)| *n) else {
        return Err(Mismatch::new(
            "a coordinator",
            "none: the last `configure` was refused",
        ));
    };
    let preference = state.ring.get()?.preference_list(key, n).map_err(|e| {
        Mismatch::new(
            format!("hash ring preference_list({key:?}, {n}) to succeed"),
            show_result::<(), _>(&Err(e)),
        )
    })?;
    let Some((coordinator, _)) = &state.coordinator else {
        unreachable!("checked above");
    };
    let network = &state.network;
    let before = network.trace().0.len();
    let (returned, latency_ms) = state.runtime.block_on(async {
        let start = network.now_ms();
        let returned = match put {
            Some(object) => Returned::Put(coordinator.put(network, &preference, key, object).await),
            None => Returned::Get(coordinator.get(network, &preference, key).await),
        };
        (returned, network.now_ms() - start)
    });
    let trace = network.trace();
    // On a failure the report shows every message of the operation, late ones included.
    let full_trace = || {
        state.runtime.block_on(network.settle());
        diagram::items(&network.trace())
    };
    let coordinator_name = network.coordinator();
    let requests = trace.0[before..]
        .iter()
        .filter(|e| {
            e.from == coordinator_name && matches!(e.kind, MessageKind::Put | MessageKind::Get)
        })
        .count();
    let context = format!(
        " (after {latency_ms} ms, {requests} requests, preference list {})",
        inline(&preference)
    );
    let fail = |expected: String, actual: String| {
        Err(Mismatch::new(expected, format!("{actual}{context}")).with_trace(full_trace()))
    };
    let shown = match &returned {
        Returned::Put(r) => show_result(r),
        Returned::Get(Ok(Some(v))) => v.to_string(),
        Returned::Get(Ok(None)) => "not found".to_string(),
        Returned::Get(Err(e)) => show_result::<(), _>(&Err(e.clone())),
    };
    let error = match &returned {
        Returned::Put(Err(e)) | Returned::Get(Err(e)) => Some(e),
        _ => None,
    };
    if let Some(want) = &expect.error
        && error != Some(want)
    {
        return fail(format!("error {}", inline(want)), shown);
    }
    let wants_success =
        expect.ok.is_some() || expect.equals.is_some() || expect.not_found.is_some();
    if wants_success && error.is_some() {
        return fail("success".into(), shown);
    }
    if let Some(want) = &expect.equals
        && !matches!(&returned, Returned::Get(Ok(Some(v))) if v == want)
    {
        return fail(want.to_string(), shown);
    }
    if expect.not_found == Some(true) && !matches!(&returned, Returned::Get(Ok(None))) {
        return fail("not found".into(), shown);
    }
    if let Some(want) = expect.latency_ms
        && want != latency_ms
    {
        return fail(format!("to return after {want} ms"), shown);
    }
    if let Some(want) = expect.requests
        && want != requests
    {
        return fail(format!("{want} requests"), shown);
    }
    Ok(())
}
