//! A seeded workload against a fresh simulated cluster, the fault schedule, quiescence, and the
//! checkers of `dynamo-checkers` on what was recorded.
//!
//! Observation and judgement are kept apart, in two processes: [`run`] only observes, in the case
//! process (it returns the history, the final replica state and the trace, which the case process
//! reports); [`findings`] runs the checkers and [`explain`] words a violation, in the grader,
//! where the plugin's `judge` compares what they found with the case's expectation.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use dynamo_checkers::{self as checkers, Clock, Event, History, Item, Op, OpResult, Violation};
use dynamo_common::NodeId;
use dynamo_common::diagram::{Answer, Item as TraceItem};
use dynamo_common::request::{RequestId, scope};
use dynamo_common::sim::{StoredObject, TraceEntry};
use serde::{Deserialize, Serialize};
use store::{Context, Payload, RequestOptions, Siblings, VectorClock};
use tokio::time::{Duration, sleep};

use super::panics::{NodePanic, guard};

use super::sim::{Cluster, Rng};
use super::{Check, ClusterSpec, Scheduled, StoreEvent, Workload};

/// What a run recorded: what the case process reports for one seed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Observed {
    pub history: History,
    /// key -> primary -> the set it stores, tombstones included.
    pub replicas: checkers::ReplicaState,
    /// key -> the reconciliation of its primaries' sets.
    pub final_reads: BTreeMap<String, Vec<Item>>,
    pub hints_left: Vec<(NodeId, NodeId, String)>,
    /// (node, key): a key stored by a node outside its primaries (nodes that left included).
    #[serde(default)]
    pub strays: Vec<(NodeId, String)>,
    pub trace: Vec<TraceEntry>,
    /// The first panic of a node's code during the run (raised again by the step).
    #[serde(skip)]
    pub panicked: Option<NodePanic>,
}

pub fn clock_of(clock: &VectorClock) -> Clock {
    clock
        .entries
        .iter()
        .map(|(actor, e)| (actor.to_string(), e.counter))
        .collect()
}

fn items(set: &Siblings) -> Vec<Item> {
    let mut out: Vec<Item> = set
        .0
        .iter()
        .map(|v| Item {
            value: match Payload::of(v) {
                Payload::Value(x) => Some(x),
                Payload::Tombstone => None,
            },
            clock: clock_of(&v.clock),
        })
        .collect();
    out.sort();
    out
}

/// Applies a fault event to the cluster now.
pub async fn apply(cluster: &Rc<Cluster>, event: &StoreEvent) -> Result<(), String> {
    match event {
        StoreEvent::Crash(n) => cluster.crash(n),
        StoreEvent::Recover(n) => {
            let was_down = cluster.net.borrow_mut().down.remove(n);
            let config = cluster.configs.borrow().get(n).cloned();
            if was_down && let Some(config) = config {
                // A restarted process: a new node object on the same storage.
                cluster.start_node(config)?;
            }
        }
        StoreEvent::Partition(groups) => {
            let mut net = cluster.net.borrow_mut();
            net.groups.clear();
            for (i, group) in groups.iter().enumerate() {
                for n in group {
                    net.groups.insert(n.clone(), i + 1);
                }
            }
            // Nodes in no group form one more side.
            let all: Vec<NodeId> = cluster.configs.borrow().keys().cloned().collect();
            for n in all {
                net.groups.entry(n).or_insert(0);
            }
        }
        StoreEvent::Heal => cluster.net.borrow_mut().groups.clear(),
        StoreEvent::Latency { min, max } => cluster.net.borrow_mut().latency = (*min, *max),
        StoreEvent::Loss(p) => cluster.net.borrow_mut().loss = *p,
        StoreEvent::Join(n) => {
            let members: BTreeSet<NodeId> = live_members(cluster).into_iter().collect();
            let template = cluster.configs.borrow().values().next().cloned();
            let Some(mut config) = template else {
                return Err("no node to copy the configuration from".into());
            };
            config.name = n.clone();
            config.members = members;
            config.members.insert(n.clone());
            let tick = config.tick_ms;
            cluster.start_node(config)?;
            cluster.spawn_ticker(n.clone(), tick);
        }
        StoreEvent::Leave(n) => {
            if let Some(node) = cluster.node(n) {
                guard(
                    &cluster.panics,
                    || format!("node {n}, in leave()"),
                    node.leave(),
                )
                .await;
            }
            cluster.nodes.borrow_mut().remove(n);
            cluster.left.borrow_mut().insert(n.clone());
        }
    }
    Ok(())
}

/// Members that have not left.
pub fn live_members(cluster: &Cluster) -> Vec<NodeId> {
    let left = cluster.left.borrow();
    cluster
        .configs
        .borrow()
        .keys()
        .filter(|n| !left.contains(*n))
        .cloned()
        .collect()
}

/// Starts a cluster from the spec with `seed`.
pub fn start(spec: &ClusterSpec, seed: u64) -> Result<Rc<Cluster>, String> {
    let cluster = Cluster::new(spec.stages, spec.new_node, spec.net(), seed);
    for config in spec.configs() {
        let tick = config.tick_ms;
        let name = config.name.clone();
        cluster.start_node(config)?;
        cluster.spawn_ticker(name, tick);
    }
    Ok(cluster)
}

/// Heals everything, recovers every crashed member, and lets the cluster run at most
/// `quiesce_ms`. The period ends early once the cluster has *settled* and stayed so: every key's
/// primaries hold the same set, no hint is left and no key is stored outside its primaries, and
/// that state has not changed for as many ticks as there are members (a whole anti-entropy round:
/// each node has compared trees with every peer since). Nothing a correct node does afterwards
/// changes what the checkers see, except reaping tombstones, which reads cannot tell apart; a
/// cluster that has not settled runs the whole period, so a slow or wrong one is judged at its end.
pub async fn quiesce(
    cluster: &Rc<Cluster>,
    spec: &ClusterSpec,
    quiesce_ms: u64,
) -> Result<(), String> {
    let down: Vec<NodeId> = cluster.net.borrow().down.iter().cloned().collect();
    apply(cluster, &StoreEvent::Heal).await?;
    cluster.net.borrow_mut().loss = 0.0;
    for n in down {
        apply(cluster, &StoreEvent::Recover(n)).await?;
    }
    let end = cluster.now_ms() + quiesce_ms;
    let members = live_members(cluster);
    let placement = Placement::new(spec, &members);
    let mut last: Option<Replicas> = None;
    let mut unchanged = 0usize;
    while cluster.now_ms() < end {
        cluster
            .until((cluster.now_ms() + spec.tick_ms.max(1)).min(end))
            .await;
        let now = placement.observe(cluster, &cluster.stored());
        if !now.settled() {
            last = None;
            unchanged = 0;
            continue;
        }
        if last.as_ref() == Some(&now) {
            unchanged += 1;
            if unchanged >= members.len() {
                break;
            }
        } else {
            unchanged = 0;
            last = Some(now);
        }
    }
    Ok(())
}

/// Each key's primaries by the reference ring over the members that have not left: where the
/// checkers look.
struct Placement {
    ring: Option<Box<dyn hash_ring::HashRing>>,
    n: usize,
}

/// What the hosts' storages hold at one instant, seen through the reference ring: what quiescence
/// compares from tick to tick, and the checkers judge at its end.
#[derive(PartialEq)]
struct Replicas {
    replicas: checkers::ReplicaState,
    hints_left: Vec<(NodeId, NodeId, String)>,
    strays: Vec<(NodeId, String)>,
}

/// Every node's stored sets: node -> key -> siblings.
type Stored = BTreeMap<NodeId, BTreeMap<String, Siblings>>;

impl Replicas {
    /// Every key's primaries agree, no hint is left, no key is stored elsewhere.
    fn settled(&self) -> bool {
        self.hints_left.is_empty()
            && self.strays.is_empty()
            && checkers::convergence(&self.replicas).is_empty()
    }
}

impl Placement {
    fn new(spec: &ClusterSpec, members: &[NodeId]) -> Self {
        let ring_impl = dynamo_select::hash_ring::reference();
        let ring = (ring_impl.new)(spec.vnodes).ok().map(|mut ring| {
            for m in members {
                let _ = ring.add_node(m.clone());
            }
            ring
        });
        Placement {
            ring,
            n: spec.quorum.n.min(members.len()),
        }
    }

    /// `key`'s primaries (none when the reference ring could not be built).
    fn primaries(&self, key: &str) -> Vec<NodeId> {
        self.ring
            .as_ref()
            .and_then(|ring| ring.preference_list(key, self.n).ok())
            .unwrap_or_default()
    }

    fn observe(&self, cluster: &Cluster, stored: &Stored) -> Replicas {
        let mut out = Replicas {
            replicas: checkers::ReplicaState::new(),
            hints_left: cluster.hints_left(),
            strays: Vec::new(),
        };
        if self.ring.is_none() {
            return out;
        }
        let keys: BTreeSet<&String> = stored.values().flat_map(|m| m.keys()).collect();
        for key in keys {
            let primaries = self.primaries(key);
            for (node, held) in stored {
                if held.contains_key(key) && !primaries.contains(node) {
                    out.strays.push((node.clone(), key.clone()));
                }
            }
            let per = primaries
                .iter()
                .map(|p| {
                    let set = stored.get(p).and_then(|m| m.get(key));
                    (p.to_string(), set.map(items).unwrap_or_default())
                })
                .collect();
            out.replicas.insert(key.clone(), per);
        }
        out
    }

    /// Each key's reconciliation of its primaries' sets: what a read of every primary returns.
    fn final_reads(&self, stored: &Stored) -> BTreeMap<String, Vec<Item>> {
        if self.ring.is_none() {
            return BTreeMap::new();
        }
        let keys: BTreeSet<&String> = stored.values().flat_map(|m| m.keys()).collect();
        keys.into_iter()
            .map(|key| {
                let merged = self
                    .primaries(key)
                    .iter()
                    .filter_map(|p| stored.get(p).and_then(|m| m.get(key)))
                    .fold(None, |merged, s| Some(Siblings::merge(merged, s.clone())));
                (key.clone(), merged.map(|s| items(&s)).unwrap_or_default())
            })
            .collect()
    }
}

/// The final state: each key's primaries (by the reference ring over the live members) and what
/// they store; the reconciliation of those sets; the hints left.
pub fn final_state(cluster: &Cluster, spec: &ClusterSpec) -> Observed {
    let placement = Placement::new(spec, &live_members(cluster));
    let stored = cluster.stored();
    let Replicas {
        replicas,
        hints_left,
        strays,
    } = placement.observe(cluster, &stored);
    Observed {
        history: History::default(),
        replicas,
        final_reads: placement.final_reads(&stored),
        hints_left,
        strays,
        trace: cluster.trace.borrow().clone(),
        panicked: None,
    }
}

/// Runs the workload on a fresh cluster with `seed`, then quiesces; returns what it observed.
pub async fn run(
    spec: &ClusterSpec,
    workload: &Workload,
    seed: u64,
    traced: bool,
) -> Result<Observed, String> {
    let cluster = start(spec, seed)?;
    cluster.tracing.set(traced);
    let mut rng = Rng::new(seed ^ 0x5EED);
    // The fault schedule, with times drawn within each event's bounds.
    let mut schedule: Vec<(u64, StoreEvent)> = workload
        .faults
        .iter()
        .map(|Scheduled { at_ms, event }| (rng.between(at_ms.0, at_ms.1), event.clone()))
        .collect();
    schedule.sort_by_key(|(at, _)| *at);
    let faults = {
        let cluster = Rc::clone(&cluster);
        tokio::task::spawn_local(async move {
            for (at, event) in schedule {
                cluster.until(at).await;
                apply(&cluster, &event).await?;
            }
            Ok(())
        })
    };
    let events = Rc::new(RefCell::new(Vec::<Event>::new()));
    let nodes: Vec<NodeId> = spec.nodes.clone();
    let mut clients = Vec::new();
    for c in 0..workload.clients {
        let (cluster, events, nodes) = (Rc::clone(&cluster), Rc::clone(&events), nodes.clone());
        let mut rng = Rng::new(rng.next_u64());
        let workload = workload.clone();
        clients.push(tokio::task::spawn_local(async move {
            client(c, &cluster, &events, &nodes, &workload, &mut rng).await;
        }));
    }
    for c in clients {
        if let Err(e) = c.await
            && e.is_panic()
        {
            let doing = || "a client's request".to_string();
            cluster.panics.note(doing, e.into_panic().as_ref());
        }
    }
    match faults.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        // A node started by a recovery or a join panicked in `new`.
        Err(e) if e.is_panic() => {
            let doing = || "the fault schedule (a recovery or a join starting a node)".to_string();
            cluster.panics.note(doing, e.into_panic().as_ref());
        }
        Err(e) => return Err(format!("the fault schedule stopped: {e}")),
    }
    quiesce(
        &cluster,
        spec,
        workload.quiesce_ms.unwrap_or(spec.default_quiesce_ms()),
    )
    .await?;
    let mut observed = final_state(&cluster, spec);
    let mut history: Vec<Event> = events.borrow().clone();
    history.sort_by_key(|e| e.id);
    observed.history = History { events: history };
    observed.panicked = cluster.panics.take();
    Ok(observed)
}

/// Records an invocation; returns its id.
fn invoke(
    events: &RefCell<Vec<Event>>,
    client: usize,
    node: &NodeId,
    key: &str,
    op: Op,
    now: u64,
) -> usize {
    let mut events = events.borrow_mut();
    let id = events.len();
    events.push(Event {
        id,
        client,
        node: node.to_string(),
        key: key.to_string(),
        op,
        invoke_ms: now,
        complete_ms: None,
        result: OpResult::Pending,
    });
    id
}

/// The request id of history event `id` through `via`: every message the operation causes is
/// traced with it, so its diagram is exactly its own messages.
pub fn request(via: &NodeId, id: usize) -> Option<RequestId> {
    Some(RequestId::new(via.clone(), id as u64))
}

fn complete(events: &RefCell<Vec<Event>>, id: usize, result: OpResult, now: u64) {
    if let Some(e) = events.borrow_mut().get_mut(id) {
        e.complete_ms = Some(now);
        e.result = result;
    }
}

/// One client: `ops` operations one after another, each through a random node.
async fn client(
    c: usize,
    cluster: &Rc<Cluster>,
    events: &RefCell<Vec<Event>>,
    nodes: &[NodeId],
    workload: &Workload,
    rng: &mut Rng,
) {
    let total = workload.mix.put + workload.mix.get + workload.mix.delete;
    for i in 0..workload.ops {
        sleep(Duration::from_millis(rng.between(0, workload.think_ms))).await;
        let key = format!(
            "k{}",
            rng.between(0, workload.keys.saturating_sub(1) as u64)
        );
        // A client sends to its home node unless the case lets it roam: stage 4's clocks are
        // keyed by coordinator, so two concurrent writes through one coordinator from one
        // context get equal clocks (the limit stage 4's README states), which is not the
        // node's fault.
        let pick_node = if workload.roam {
            rng.between(0, nodes.len() as u64 - 1) as usize
        } else {
            c % nodes.len()
        };
        let via = nodes[pick_node].clone();
        let pick = rng.between(0, total.max(1) - 1);
        let value = format!("c{c}-{i}");
        if pick < workload.mix.get {
            get(c, cluster, events, &via, &key).await;
        } else if pick < workload.mix.get + workload.mix.put {
            let read_first = workload.cart || rng.chance(workload.rmw);
            let (context, values) = if read_first {
                match get(c, cluster, events, &via, &key).await {
                    Some((ctx, values)) => (Some(ctx), values),
                    None => continue,
                }
            } else {
                (None, Vec::new())
            };
            let value = if workload.cart {
                // The shopping cart: the union of every sibling's items, plus one more.
                let mut cart: BTreeSet<String> = values
                    .iter()
                    .flat_map(|v| v.split('+').filter(|s| !s.is_empty()).map(str::to_string))
                    .collect();
                cart.insert(value);
                cart.into_iter().collect::<Vec<_>>().join("+")
            } else {
                value
            };
            put(c, cluster, events, &via, &key, value, context).await;
        } else if let Some((context, values)) = get(c, cluster, events, &via, &key).await
            && !values.is_empty()
        {
            delete(c, cluster, events, &via, &key, context).await;
        }
    }
}

async fn get(
    c: usize,
    cluster: &Rc<Cluster>,
    events: &RefCell<Vec<Event>>,
    via: &NodeId,
    key: &str,
) -> Option<(Context, Vec<String>)> {
    let id = invoke(events, c, via, key, Op::Get, cluster.now_ms());
    let node = (!cluster.is_down(via)).then(|| cluster.node(via)).flatten();
    let Some(node) = node else {
        complete(events, id, OpResult::Failed, cluster.now_ms());
        return None;
    };
    let doing = || format!("node {via}, in get({key:?})");
    let asked = scope(request(via, id), node.get(key, RequestOptions::default()));
    // A request whose node panicked never completes well: the panic fails the step.
    match guard(&cluster.panics, doing, asked).await {
        Some(Ok(read)) => {
            let values = read
                .values
                .iter()
                .map(|v| Item {
                    value: Some(v.clone()),
                    clock: Clock::new(),
                })
                .collect();
            let result = OpResult::Read {
                values,
                context: clock_of(&read.context.0),
            };
            complete(events, id, result, cluster.now_ms());
            Some((read.context, read.values))
        }
        _ => {
            complete(events, id, OpResult::Failed, cluster.now_ms());
            None
        }
    }
}

async fn put(
    c: usize,
    cluster: &Rc<Cluster>,
    events: &RefCell<Vec<Event>>,
    via: &NodeId,
    key: &str,
    value: String,
    context: Option<Context>,
) {
    let op = Op::Put {
        value: value.clone(),
        context: context.as_ref().map(|c| clock_of(&c.0)),
    };
    let id = invoke(events, c, via, key, op, cluster.now_ms());
    let node = (!cluster.is_down(via)).then(|| cluster.node(via)).flatten();
    let result = match node {
        Some(node) => {
            let doing = || format!("node {via}, in put({key:?})");
            let asked = scope(
                request(via, id),
                node.put(key, value, context, RequestOptions::default()),
            );
            match guard(&cluster.panics, doing, asked).await {
                Some(Ok(ctx)) => OpResult::Written {
                    clock: clock_of(&ctx.0),
                },
                _ => OpResult::Failed,
            }
        }
        None => OpResult::Failed,
    };
    complete(events, id, result, cluster.now_ms());
}

async fn delete(
    c: usize,
    cluster: &Rc<Cluster>,
    events: &RefCell<Vec<Event>>,
    via: &NodeId,
    key: &str,
    context: Context,
) {
    let op = Op::Delete {
        context: clock_of(&context.0),
    };
    let id = invoke(events, c, via, key, op, cluster.now_ms());
    let node = (!cluster.is_down(via)).then(|| cluster.node(via)).flatten();
    let result = match node {
        Some(node) => {
            let doing = || format!("node {via}, in delete({key:?})");
            let asked = scope(
                request(via, id),
                node.delete(key, context, RequestOptions::default()),
            );
            match guard(&cluster.panics, doing, asked).await {
                Some(Ok(ctx)) => OpResult::Written {
                    clock: clock_of(&ctx.0),
                },
                _ => OpResult::Failed,
            }
        }
        None => OpResult::Failed,
    };
    complete(events, id, result, cluster.now_ms());
}

/// Whether `event`'s write is legitimately gone from the final state because a delete covered
/// it: the tombstone superseded it, and a tombstone may be reaped (after which the key can be
/// written afresh, so the final state need not be empty).
///
/// - A put is covered when some delete of the key descends from it: an acknowledged delete
///   whose tombstone's clock descends from the put's, or a delete that failed or never answered
///   whose *context* does. A failed operation is indeterminate (its coordinator may crash after
///   sending, and the replicas that got the tombstone keep it), and a tombstone written from a
///   context descends from that context.
/// - A delete is covered (it did its job) when no final version is strictly older than its
///   tombstone: nothing it removed is visible. Its tombstone may have been reaped, and what
///   reads see is judged by `no-resurrection`.
fn covered_by_delete(observed: &Observed, event: &Event) -> bool {
    let OpResult::Written { clock } = &event.result else {
        return false;
    };
    if matches!(event.op, Op::Delete { .. }) {
        let finals = observed
            .final_reads
            .get(&event.key)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        return !finals
            .iter()
            .any(|item| checkers::compare(&item.clock, clock) == checkers::Order::Before);
    }
    observed.history.events.iter().any(|d| {
        d.key == event.key
            && match (&d.op, &d.result) {
                (Op::Delete { .. }, OpResult::Written { clock: tomb }) => {
                    checkers::descends(tomb, clock)
                }
                (Op::Delete { context }, OpResult::Failed | OpResult::Pending) => {
                    checkers::descends(context, clock)
                }
                _ => false,
            }
    })
}

/// Runs every checker the case names on what was observed: check -> violations.
pub fn findings(observed: &Observed, checks: &BTreeSet<Check>) -> BTreeMap<Check, Vec<Violation>> {
    let mut out = BTreeMap::new();
    for check in checks {
        let found = match check {
            Check::LostWrites => {
                checkers::lost_writes(&observed.history, &observed.final_reads, &|e| {
                    covered_by_delete(observed, e)
                })
            }
            Check::Siblings => checkers::siblings_surface(&observed.history, &observed.final_reads),
            Check::NoResurrection => {
                checkers::no_resurrection(&observed.history, &observed.final_reads)
            }
            Check::Convergence => checkers::convergence(&observed.replicas),
            Check::NoHints => observed
                .hints_left
                .iter()
                .map(|(holder, primary, key)| Violation {
                    checker: "convergence",
                    key: key.clone(),
                    explanation: format!(
                        "{holder} still keeps a hint for {primary} after quiescence: handoff \
                         never delivered it"
                    ),
                    events: Vec::new(),
                })
                .collect(),
            Check::Linearizable => checkers::linearizable(&observed.history),
            Check::NoStrays => observed
                .strays
                .iter()
                .map(|(node, key)| Violation {
                    checker: "convergence",
                    key: key.clone(),
                    explanation: format!(
                        "{node} still stores {key} after quiescence, but is not among its \
                         primaries: it never handed the key off, or never dropped it"
                    ),
                    events: Vec::new(),
                })
                .collect(),
        };
        out.insert(*check, found);
    }
    out
}

/// A violation as a report shows it: the checker's words, the shortest history that shows it,
/// and the messages sent while it happened.
pub fn explain(observed: &Observed, violation: &Violation) -> (String, Vec<TraceItem>) {
    let mut text = violation.to_string();
    if !violation.events.is_empty() {
        text.push('\n');
        text.push_str(&observed.history.render(&violation.events));
    }
    // The operations' own messages, found by their request ids, and each one's answer; a
    // violation with no operation (convergence, hints left) shows the key's traffic instead.
    let ids: BTreeMap<RequestId, &Event> = violation
        .events
        .iter()
        .filter_map(|id| observed.history.event(*id))
        .filter_map(|e| request(&NodeId::new(&e.node), e.id).map(|r| (r, e)))
        .collect();
    let needle = format!(" {}", violation.key);
    let mut trace: Vec<TraceItem> = observed
        .trace
        .iter()
        .filter(|entry| match &entry.request {
            _ if ids.is_empty() => entry.to_string().contains(&needle),
            Some(id) => ids.contains_key(id),
            None => false,
        })
        .take(60)
        .cloned()
        .map(TraceItem::Message)
        .collect();
    for (id, event) in &ids {
        if let Some(at_ms) = event.complete_ms {
            trace.push(TraceItem::Answer(Answer {
                answer: format!("{id}: {}", checkers::history::render_event(event)),
                at_ms,
                from: NodeId::new(&event.node),
                request: Some(id.clone()),
            }));
        }
    }
    // In time order; an answer after the messages sent at the same time.
    trace.sort_by_key(|item| match item {
        TraceItem::Message(m) => (m.sent_ms, 0),
        TraceItem::Answer(a) => (a.at_ms, 1),
    });
    (text, trace)
}
