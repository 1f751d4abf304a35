//! The simulated host of stage 7: a cluster of nodes in one process, on tokio's paused clock.
//!
//! Every node gets a [`Transport`] whose `send` hands the envelope to one dispatcher task that
//! owns the nodes (they need not be `Send`). The dispatcher decides each message's fate when it
//! is sent (sender or receiver down, a partition between them, seeded loss), delays it by a
//! seeded latency within the case's bounds, lets the receiving node handle it, and carries the
//! answer back the same way. Every message is traced. A crash stops a node (its storage stays);
//! a recovery starts a *new* node object on the same storage, as a restarted process would.
//! Each message is traced with the client request it belongs to (the envelope's `request`, see
//! `dynamo_common::request`); one that arrives after its sender stopped waiting is traced as
//! unheard.
//! Ticks run per node every `tick_ms`, staggered by a seeded offset.
//!
//! Everything random comes from one SplitMix64 seeded by the case (or the sweep's) seed, and the
//! runtime is single-threaded and paused, so a seed gives the same history on every machine.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use dynamo_common::host::{MemStorage, Storage, Transport};
use dynamo_common::sim::{Fate, MessageKind, NoReply, TraceEntry};
use dynamo_common::{BoxFuture, NodeId};
use store::{Body, DynStoreNode, Envelope, Host, NewNode, NodeConfig, Siblings, Stages};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Duration, Instant, sleep, sleep_until, timeout};

/// The only randomness of a run: SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// How the network behaves, changed by the fault schedule.
#[derive(Clone, Debug)]
pub struct NetState {
    pub down: BTreeSet<NodeId>,
    /// Each node's partition group; nodes in different groups cannot talk. Empty: no partition.
    pub groups: BTreeMap<NodeId, usize>,
    pub latency: (u64, u64),
    pub loss: f64,
}

impl NetState {
    fn cut(&self, a: &NodeId, b: &NodeId) -> bool {
        !self.groups.is_empty() && self.groups.get(a) != self.groups.get(b)
    }
}

type Job = (Envelope, oneshot::Sender<Result<Envelope, NoReply>>);

/// One node's transport: a handle to the dispatcher.
struct SimTransport {
    me: NodeId,
    start: Instant,
    timeout_ms: u64,
    jobs: mpsc::UnboundedSender<Job>,
}

impl Transport<Body> for SimTransport {
    fn me(&self) -> NodeId {
        self.me.clone()
    }
    fn now_ms(&self) -> u64 {
        u64::try_from(Instant::now().duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }
    fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }
    fn send(&self, envelope: Envelope) -> BoxFuture<'static, Result<Envelope, NoReply>> {
        let (tx, rx) = oneshot::channel();
        let to = envelope.to.clone();
        let timeout_ms = self.timeout_ms;
        let sent = self.jobs.send((envelope, tx)).is_ok();
        Box::pin(async move {
            let lost = NoReply::Timeout {
                node: to,
                timeout_ms,
            };
            if !sent {
                return Err(lost);
            }
            let deadline = Instant::now() + Duration::from_millis(timeout_ms);
            match timeout(Duration::from_millis(timeout_ms), rx).await {
                Ok(Ok(answer)) => answer,
                // A lost message is silence: the sender learns nothing before its timeout.
                Ok(Err(_)) => {
                    sleep_until(deadline).await;
                    Err(lost)
                }
                Err(_) => Err(lost),
            }
        })
    }
}

/// The cluster: nodes, their storages, the network state and the trace.
pub struct Cluster {
    pub start: Instant,
    pub configs: RefCell<BTreeMap<NodeId, NodeConfig>>,
    pub nodes: RefCell<BTreeMap<NodeId, Rc<dyn DynStoreNode>>>,
    pub storages: RefCell<BTreeMap<NodeId, Arc<std::sync::Mutex<MemStorage<Siblings>>>>>,
    pub net: RefCell<NetState>,
    pub rng: RefCell<Rng>,
    /// Every message, as the reports draw it.
    pub trace: RefCell<Vec<TraceEntry>>,
    /// Whether messages are traced (a sweep's runs are not; see `Seeds::traced`).
    pub tracing: Cell<bool>,
    /// Members that left the cluster for good.
    pub left: RefCell<BTreeSet<NodeId>>,
    pub stages: Stages,
    pub new_node: NewNode,
    jobs: mpsc::UnboundedSender<Job>,
}

impl Cluster {
    /// Starts the dispatcher; nodes are added with [`Cluster::start_node`].
    pub fn new(stages: Stages, new_node: NewNode, net: NetState, seed: u64) -> Rc<Self> {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        let cluster = Rc::new(Cluster {
            start: Instant::now(),
            configs: RefCell::default(),
            nodes: RefCell::default(),
            storages: RefCell::default(),
            net: RefCell::new(net),
            rng: RefCell::new(Rng::new(seed)),
            trace: RefCell::default(),
            tracing: Cell::new(true),
            left: RefCell::default(),
            stages,
            new_node,
            jobs,
        });
        let weak = Rc::downgrade(&cluster);
        tokio::task::spawn_local(async move {
            while let Some((envelope, reply)) = rx.recv().await {
                let Some(cluster) = weak.upgrade() else { break };
                tokio::task::spawn_local(async move { cluster.deliver(envelope, reply).await });
            }
        });
        cluster
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(Instant::now().duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Creates (or re-creates, after a crash) node `config.name` on its storage.
    pub fn start_node(&self, config: NodeConfig) -> Result<(), String> {
        let name = config.name.clone();
        let storage = self
            .storages
            .borrow_mut()
            .entry(name.clone())
            .or_insert_with(|| Arc::new(std::sync::Mutex::new(MemStorage::default())))
            .clone();
        let transport = Arc::new(SimTransport {
            me: name.clone(),
            start: self.start,
            timeout_ms: config.timeout_ms,
            jobs: self.jobs.clone(),
        });
        let host = Host::new(transport, storage);
        let node = (self.new_node)(config.clone(), self.stages, host)
            .map_err(|e| format!("node {name}: {e}"))?;
        self.nodes.borrow_mut().insert(name.clone(), Rc::from(node));
        self.configs.borrow_mut().insert(name, config);
        Ok(())
    }

    pub fn node(&self, name: &NodeId) -> Option<Rc<dyn DynStoreNode>> {
        self.nodes.borrow().get(name).cloned()
    }

    pub fn is_down(&self, name: &NodeId) -> bool {
        self.net.borrow().down.contains(name)
    }

    /// Runs `name`'s tick every `tick_ms` (after a seeded offset) while the runtime runs.
    pub fn spawn_ticker(self: &Rc<Self>, name: NodeId, tick_ms: u64) {
        let offset = self.rng.borrow_mut().between(0, tick_ms.saturating_sub(1));
        let weak = Rc::downgrade(self);
        tokio::task::spawn_local(async move {
            sleep(Duration::from_millis(offset + 1)).await;
            loop {
                let Some(cluster) = weak.upgrade() else { break };
                let node = (!cluster.is_down(&name))
                    .then(|| cluster.node(&name))
                    .flatten();
                drop(cluster);
                if let Some(node) = node {
                    node.tick().await;
                }
                sleep(Duration::from_millis(tick_ms)).await;
            }
        });
    }

    /// The fate of a message sent now, and its latency.
    fn fate(&self, from: &NodeId, to: &NodeId) -> (Option<&'static str>, u64) {
        let net = self.net.borrow();
        let mut rng = self.rng.borrow_mut();
        let latency = if from == to {
            0
        } else {
            rng.between(net.latency.0, net.latency.1)
        };
        let lost = from != to && rng.chance(net.loss);
        let fate = if net.down.contains(from) {
            Some("lost: sender is down")
        } else if net.down.contains(to) {
            Some("lost: receiver is down")
        } else if net.cut(from, to) {
            Some("lost: partitioned")
        } else if lost {
            Some("lost: dropped")
        } else {
            None
        };
        (fate, latency)
    }

    /// Traces a message sent now; returns its index in the trace (`usize::MAX` when not
    /// tracing).
    fn record(&self, envelope: &Envelope, fate: Option<&str>, arrive_ms: u64) -> usize {
        if !self.tracing.get() {
            return usize::MAX;
        }
        let fate = match fate {
            None => Fate::Arrives { at_ms: arrive_ms },
            Some("lost: partitioned") => Fate::Partitioned,
            Some("lost: dropped") => Fate::Dropped,
            Some(_) => Fate::LostNodeDown,
        };
        let mut trace = self.trace.borrow_mut();
        trace.push(TraceEntry {
            sent_ms: self.now_ms(),
            from: envelope.from.clone(),
            to: envelope.to.clone(),
            kind: envelope.kind,
            detail: envelope.detail.clone(),
            fate,
            request: envelope.request.clone(),
        });
        trace.len() - 1
    }

    /// A traced message arrived when its sender had already stopped waiting (timed out).
    fn unheard(&self, index: usize) {
        if let Some(entry) = self.trace.borrow_mut().get_mut(index)
            && let Fate::Arrives { at_ms } = entry.fate
        {
            entry.fate = Fate::ArrivesUnheard { at_ms };
        }
    }

    async fn deliver(
        self: Rc<Self>,
        envelope: Envelope,
        reply: oneshot::Sender<Result<Envelope, NoReply>>,
    ) {
        let (fate, latency) = self.fate(&envelope.from, &envelope.to);
        let sent = self.record(&envelope, fate, self.now_ms() + latency);
        if fate.is_some() {
            // Silence: the sender's transport times out.
            return;
        }
        sleep(Duration::from_millis(latency)).await;
        if reply.is_closed() {
            self.unheard(sent);
        }
        let to = envelope.to.clone();
        let Some(node) = (!self.is_down(&to)).then(|| self.node(&to)).flatten() else {
            return;
        };
        let (from, kind, request) = (
            envelope.from.clone(),
            envelope.kind,
            envelope.request.clone(),
        );
        // What the receiver sends while handling belongs to the same client request.
        let body = dynamo_common::request::scope(request.clone(), node.handle(envelope)).await;
        let kind = match kind {
            MessageKind::Get => MessageKind::Reply,
            MessageKind::Gossip | MessageKind::Sync => kind,
            _ => MessageKind::Ack,
        };
        let answer = Envelope {
            from: to,
            to: from,
            kind,
            detail: String::new(),
            body,
            request,
        };
        let (fate, latency) = self.fate(&answer.from, &answer.to);
        let answered = self.record(&answer, fate, self.now_ms() + latency);
        if fate.is_some() {
            return;
        }
        sleep(Duration::from_millis(latency)).await;
        if reply.send(Ok(answer)).is_err() {
            self.unheard(answered);
        }
    }

    /// Waits until simulated time `at_ms`.
    pub async fn until(&self, at_ms: u64) {
        sleep_until(self.start + Duration::from_millis(at_ms)).await;
    }

    /// Every node's stored object per key: node -> key -> siblings.
    pub fn stored(&self) -> BTreeMap<NodeId, BTreeMap<String, Siblings>> {
        self.storages
            .borrow()
            .iter()
            .map(|(node, storage)| {
                let s = storage.lock().unwrap_or_else(|e| e.into_inner());
                let keys = s.keys();
                let held = keys
                    .into_iter()
                    .filter_map(|k| s.get(&k).map(|v| (k, v)))
                    .collect();
                (node.clone(), held)
            })
            .collect()
    }

    /// Hints left anywhere: (holder, primary, key).
    pub fn hints_left(&self) -> Vec<(NodeId, NodeId, String)> {
        let mut out = Vec::new();
        for (node, storage) in self.storages.borrow().iter() {
            let s = storage.lock().unwrap_or_else(|e| e.into_inner());
            for h in s.hints() {
                out.push((node.clone(), h.primary, h.key));
            }
        }
        out
    }
}
