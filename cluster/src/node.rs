//! The node: coordinator and replica in one, built from the chosen stages 1 and 4.
//!
//! Any node coordinates any key. A write goes to the first N healthy nodes of the key's
//! preference list (stage 1), standing in for down primaries with hints in `eventual` mode (the
//! sloppy quorum), and succeeds after W durable acks; a read asks the same nodes, answers after R
//! replies with every sibling (stage 4's rule), and repairs the replicas that answered stale.
//! Periodic ticks gossip member lists with heartbeats (a node that stops answering is suspected),
//! hand hints back to recovered primaries, and run anti-entropy: each pair of replicas compares
//! digests of the keys they share and exchanges the versions that differ, so replicas converge
//! without any read.
//!
//! This is the cluster's own composition of the stages, written before the stage-7 node contract
//! existed; the host (HTTP, storage, supervisor) only calls [`Node`]'s client operations,
//! [`Node::handle`] and [`Node::tick`], the shape that contract takes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use dynamo_common::NodeId;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use vector_clocks::VectorClock;

use crate::dashboard::trace;
use crate::peer::{Envelope, Msg, PeerError, Reply, Transport};
use crate::stages::{Selection, StageError, Stages};
use crate::storage::{Storage, StorageError};
use crate::versions::{self, Stored};

/// The paper's clock truncation threshold.
const CLOCK_THRESHOLD: usize = 10;

/// Consistency mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Dynamo: sloppy quorum with hinted handoff, always writeable.
    Eventual,
    /// Primaries only: no fallbacks, so a quorum out of reach fails instead of being sloppy.
    Strict,
}

/// A node's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node's name.
    pub name: NodeId,
    /// The address peers and clients reach it at.
    pub addr: String,
    /// Known members (name to address), this node included.
    pub members: BTreeMap<NodeId, String>,
    /// Replicas per key.
    pub n: usize,
    /// Default read quorum.
    pub r: usize,
    /// Default write quorum.
    pub w: usize,
    /// Consistency mode.
    pub mode: Mode,
    /// Tokens per node on the ring.
    pub vnodes: u32,
    /// The data directory.
    pub data: PathBuf,
    /// Which stages are the reference's.
    pub selection: Selection,
    /// How long a coordinator waits for replicas.
    pub request_timeout: Duration,
    /// Period of heartbeats, handoff and anti-entropy.
    pub tick: Duration,
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Fewer than the quorum answered.
    #[error(
        "quorum not reached: {got} of {needed} {what} from {asked:?} (a failed write may still be stored on the replicas that acked)"
    )]
    Quorum {
        /// `acks` or `replies`.
        what: &'static str,
        /// How many answered.
        got: usize,
        /// How many were needed.
        needed: usize,
        /// Who was asked.
        asked: Vec<NodeId>,
        /// Who answered.
        answered: Vec<NodeId>,
    },
    /// A stage's code failed.
    #[error(transparent)]
    Stage(#[from] StageError),
    /// Local storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A read's answer: siblings (tombstones included) and their merged clock.
pub struct ReadResult {
    /// Every sibling, tombstones included.
    pub versions: Vec<Stored>,
    /// The merge of every sibling's clock.
    pub context: VectorClock,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Client gets answered.
    pub gets: AtomicU64,
    /// Client puts and deletes acknowledged.
    pub puts: AtomicU64,
    /// Client operations that missed their quorum.
    pub unavailable: AtomicU64,
    /// Peer messages handled.
    pub peer_messages: AtomicU64,
    /// Hints stored for down nodes.
    pub hints_stored: AtomicU64,
    /// Hints handed back.
    pub hints_delivered: AtomicU64,
    /// Read repairs sent.
    pub read_repairs: AtomicU64,
    /// Anti-entropy rounds run.
    pub sync_rounds: AtomicU64,
    /// Keys repaired by anti-entropy.
    pub sync_repairs: AtomicU64,
}

/// A running node.
pub struct Node {
    /// Configuration.
    pub config: Config,
    /// The stage implementations.
    pub stages: Stages,
    /// Local data.
    pub storage: Storage,
    transport: Transport,
    members: RwLock<BTreeMap<NodeId, String>>,
    /// Bumped on every membership change, so each thread rebuilds its copy of the ring.
    generation: AtomicU64,
    /// Peers that failed to answer last time, with when.
    suspects: Mutex<BTreeMap<NodeId, Instant>>,
    /// Peers this node refuses to talk to (an operator's partition).
    refused: RwLock<BTreeSet<NodeId>>,
    /// Counters.
    pub metrics: Metrics,
    events: broadcast::Sender<String>,
    started: Instant,
    blind: AtomicU64,
}

/// What the node reports about a member.
#[derive(Serialize)]
pub struct MemberView {
    /// Name.
    pub name: NodeId,
    /// Address.
    pub addr: String,
    /// `up`, `suspected` or `refused`.
    pub state: &'static str,
}

impl Node {
    /// Starts a node: probes the stages, opens storage, builds the ring.
    pub fn start(config: Config) -> Result<Arc<Self>, Vec<String>> {
        let stages = Stages::select(&config.selection);
        stages
            .probe()
            .map_err(|es| es.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        let storage = Storage::open(&config.data, stages).map_err(|e| vec![e.to_string()])?;
        let mut members = config.members.clone();
        members.insert(config.name.clone(), config.addr.clone());
        stages
            .ring(config.vnodes, members.keys().cloned())
            .map_err(|e| vec![e.to_string()])?;
        // Blind writes get a fresh actor each (see `put`); seeding the sequence with the start
        // time keeps actors unique across restarts without storing a counter.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let (events, _) = broadcast::channel(1024);
        Ok(Arc::new(Self {
            transport: Transport::new(config.request_timeout),
            members: RwLock::new(members),
            generation: AtomicU64::new(0),
            suspects: Mutex::new(BTreeMap::new()),
            refused: RwLock::new(BTreeSet::new()),
            metrics: Metrics::default(),
            events,
            started: Instant::now(),
            blind: AtomicU64::new(seed),
            stages,
            storage,
            config,
        }))
    }

    /// Milliseconds since this process started.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Subscribes to the node's event stream (JSON lines).
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// Sends an event with structured fields (the dashboard's traces) to the event stream.
    pub fn emit(&self, kind: &str, mut fields: serde_json::Value) {
        if self.events.receiver_count() > 0 {
            fields["node"] = serde_json::json!(self.config.name);
            fields["t_ms"] = serde_json::json!(self.now_ms());
            fields["kind"] = serde_json::json!(kind);
            let _ = self.events.send(fields.to_string());
        }
    }

    fn event(&self, kind: &str, detail: String) {
        if self.events.receiver_count() > 0 {
            let line = serde_json::json!({
                "node": self.config.name, "t_ms": self.now_ms(), "kind": kind, "detail": detail
            });
            let _ = self.events.send(line.to_string());
        }
    }

    /// Every member as this node sees it.
    pub fn members(&self) -> Vec<MemberView> {
        let members = self.members.read().expect("members lock").clone();
        let refused = self.refused.read().expect("refused lock").clone();
        let suspects = self.suspects.lock().expect("suspects lock").clone();
        members
            .into_iter()
            .map(|(name, addr)| {
                let state = if refused.contains(&name) {
                    "refused"
                } else if suspects.contains_key(&name) {
                    "suspected"
                } else {
                    "up"
                };
                MemberView { name, addr, state }
            })
            .collect()
    }

    /// The ring's tokens as (node, position).
    pub fn tokens(&self) -> Vec<(NodeId, u64)> {
        self.with_ring(|ring| ring.tokens())
            .map(|ts| ts.into_iter().map(|t| (t.node, t.position)).collect())
            .unwrap_or_default()
    }

    fn healthy(&self, node: &NodeId) -> bool {
        node == &self.config.name
            || (!self
                .suspects
                .lock()
                .expect("suspects lock")
                .contains_key(node)
                && !self.refused.read().expect("refused lock").contains(node))
    }

    /// Runs `f` on this thread's copy of the current ring.
    fn with_ring<T>(&self, f: impl FnOnce(&dyn hash_ring::HashRing) -> T) -> Result<T, StageError> {
        let generation = self.generation.load(Ordering::Acquire);
        let members = || {
            self.members
                .read()
                .expect("members lock")
                .keys()
                .cloned()
                .collect()
        };
        self.stages
            .with_ring(generation, self.config.vnodes, members, f)
    }

    /// The key's preference list over every member (primaries first).
    pub fn preference_list(&self, key: &str) -> Result<Vec<NodeId>, StageError> {
        let len = self.members.read().expect("members lock").len();
        let stages = self.stages;
        self.with_ring(|ring| stages.preference_list(ring, key, len))?
    }

    /// The nodes a request for `key` goes to, each with the primary it stands in for: the first
    /// N healthy nodes of the preference list (`eventual`), or the N primaries (`strict`).
    fn targets(&self, key: &str) -> Result<Vec<(NodeId, Option<NodeId>)>, StageError> {
        let list = self.preference_list(key)?;
        let n = self.config.n.min(list.len());
        let (primaries, rest) = list.split_at(n);
        if self.config.mode == Mode::Strict {
            return Ok(primaries.iter().map(|p| (p.clone(), None)).collect());
        }
        let mut down: Vec<NodeId> = Vec::new();
        let mut targets = Vec::new();
        for p in primaries {
            if self.healthy(p) {
                targets.push((p.clone(), None));
            } else {
                down.push(p.clone());
            }
        }
        let mut fallbacks = rest.iter().filter(|f| self.healthy(f));
        for p in down {
            match fallbacks.next() {
                Some(f) => targets.push((f.clone(), Some(p))),
                None => targets.push((p, None)),
            }
        }
        Ok(targets)
    }

    fn envelope(&self, to: &NodeId, body: Msg) -> Envelope {
        Envelope {
            from: self.config.name.clone(),
            from_addr: self.config.addr.clone(),
            to: to.clone(),
            body,
        }
    }

    /// Sends `body` to `to` (or handles it locally), tracking liveness.
    pub async fn send(self: &Arc<Self>, to: &NodeId, body: Msg) -> Result<Reply, NodeError> {
        if to == &self.config.name {
            return self.handle_local(body).await;
        }
        let result = self.send_remote(to, body).await;
        let mut suspects = self.suspects.lock().expect("suspects lock");
        match &result {
            Ok(_) => {
                if suspects.remove(to).is_some() {
                    self.event("alive", format!("{to} answers again"));
                }
            }
            Err(PeerError::Http { .. }) => {
                if !suspects.contains_key(to) {
                    suspects.insert(to.clone(), Instant::now());
                    self.event("suspect", format!("{to} did not answer"));
                }
            }
            Err(_) => {}
        }
        result.map_err(|e| {
            NodeError::Storage(StorageError::Corrupt {
                key: String::new(),
                message: e.to_string(),
            })
        })
    }

    async fn send_remote(&self, to: &NodeId, body: Msg) -> Result<Reply, PeerError> {
        if self.refused.read().expect("refused lock").contains(to) {
            return Err(PeerError::Partitioned(to.clone()));
        }
        let addr = self
            .members
            .read()
            .expect("members lock")
            .get(to)
            .cloned()
            .ok_or_else(|| PeerError::UnknownNode(to.clone()))?;
        self.transport.call(&addr, &self.envelope(to, body)).await
    }

    /// Handles a peer's envelope. Refuses partitioned senders.
    pub async fn handle(self: &Arc<Self>, envelope: Envelope) -> Result<Reply, String> {
        if self
            .refused
            .read()
            .expect("refused lock")
            .contains(&envelope.from)
        {
            return Err(format!(
                "{} refuses {} (partition)",
                self.config.name, envelope.from
            ));
        }
        self.metrics.peer_messages.fetch_add(1, Ordering::Relaxed);
        self.learn(&envelope.from, &envelope.from_addr);
        if self
            .suspects
            .lock()
            .expect("suspects lock")
            .remove(&envelope.from)
            .is_some()
        {
            self.event("alive", format!("heard from {}", envelope.from));
        }
        self.handle_local(envelope.body)
            .await
            .map_err(|e| e.to_string())
    }

    fn learn(&self, name: &NodeId, addr: &str) {
        // Every message teaches its sender's address; a shared read settles the common case
        // (already known) without serializing the node's handlers on the write lock.
        let known = |m: &BTreeMap<NodeId, String>| m.get(name).map(String::as_str) == Some(addr);
        if known(&self.members.read().expect("members lock")) {
            return;
        }
        let mut members = self.members.write().expect("members lock");
        if known(&members) {
            return;
        }
        members.insert(name.clone(), addr.to_string());
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.event("join", format!("{name} at {addr}"));
    }

    async fn handle_local(self: &Arc<Self>, body: Msg) -> Result<Reply, NodeError> {
        match body {
            Msg::Ping { members } => {
                for (name, addr) in &members {
                    self.learn(name, addr);
                }
                Ok(Reply::Pong {
                    members: self.members.read().expect("members lock").clone(),
                })
            }
            Msg::Store {
                key,
                versions,
                hint_for,
            } => {
                match hint_for {
                    Some(target) => {
                        self.storage.put_hint(&target, &key, versions).await?;
                        self.metrics.hints_stored.fetch_add(1, Ordering::Relaxed);
                        self.event("hint-stored", format!("{key} for {target}"));
                    }
                    None => {
                        self.storage.merge(&key, versions).await?;
                    }
                }
                Ok(Reply::Ack)
            }
            Msg::Read { key } => Ok(Reply::Versions {
                versions: self.storage.get(&key)?,
            }),
            Msg::Sync { digests } => {
                let mut push = BTreeMap::new();
                let mut want = Vec::new();
                let held = self.storage.get_many(digests.keys())?;
                for ((key, digest), mine) in digests.iter().zip(held) {
                    if mine.is_empty() {
                        want.push(key.clone());
                    } else if versions::digest(&mine) != *digest {
                        push.insert(key.clone(), mine);
                        want.push(key.clone());
                    }
                }
                Ok(Reply::Synced { push, want })
            }
        }
    }

    /// Coordinates a write: `value` (or a tombstone for `None`) after `context`.
    /// Returns the new version's clock.
    pub async fn put(
        self: &Arc<Self>,
        key: &str,
        value: Option<String>,
        context: Option<VectorClock>,
        w: usize,
    ) -> Result<VectorClock, NodeError> {
        let rules = self.stages.clocks();
        let now = self.now_ms();
        let clock = match context {
            Some(ctx) => rules.increment(&ctx, &self.config.name, now)?,
            // A write without a context must not supersede anything, not even an earlier blind
            // write through this node: it gets an actor of its own, so its clock is concurrent
            // with every other version.
            None => {
                let actor = NodeId::new(format!(
                    "{}.{}",
                    self.config.name,
                    self.blind.fetch_add(1, Ordering::Relaxed)
                ));
                rules.increment(&VectorClock::new(), &actor, now)?
            }
        };
        let clock = rules.truncate(&clock, CLOCK_THRESHOLD)?;
        let version = Stored {
            clock: clock.clone(),
            value,
        };
        let targets = self.targets(key)?;
        let asked: Vec<NodeId> = targets.iter().map(|(t, _)| t.clone()).collect();
        let (tx, mut rx) = mpsc::channel(targets.len().max(1));
        let req = trace::request();
        let op = if version.value.is_some() {
            "put"
        } else {
            "delete"
        };
        for (target, hint_for) in targets {
            let node = self.clone();
            let tx = tx.clone();
            let (kind, detail) = match &hint_for {
                Some(p) => ("hint", format!("{key} {clock} (hint for {p})")),
                None => ("put", format!("{key} {clock}")),
            };
            let msg = Msg::Store {
                key: key.to_string(),
                versions: vec![version.clone()],
                hint_for,
            };
            tokio::spawn(async move {
                let sent = node.now_ms();
                let result = node.send(&target, msg).await;
                trace::message(&node, req, &target, kind, &detail, sent, &result);
                let ok = matches!(result, Ok(Reply::Ack));
                let _ = tx.send((target, ok)).await;
            });
        }
        drop(tx);
        let mut answered = Vec::new();
        while let Some((target, ok)) = rx.recv().await {
            if ok {
                answered.push(target);
                if answered.len() >= w {
                    self.metrics.puts.fetch_add(1, Ordering::Relaxed);
                    self.event("put", format!("{key} {clock} acked by {answered:?}"));
                    trace::done(self, req, op, key, now, &format!("ok {clock}"));
                    return Ok(clock);
                }
            }
        }
        self.metrics.unavailable.fetch_add(1, Ordering::Relaxed);
        trace::done(
            self,
            req,
            op,
            key,
            now,
            &format!("503: {} of {w} acks", answered.len()),
        );
        Err(NodeError::Quorum {
            what: "acks",
            got: answered.len(),
            needed: w,
            asked,
            answered,
        })
    }

    /// Coordinates a read: every sibling from R replies; stale replicas are repaired.
    pub async fn get(self: &Arc<Self>, key: &str, r: usize) -> Result<ReadResult, NodeError> {
        let targets = self.targets(key)?;
        let asked: Vec<NodeId> = targets.iter().map(|(t, _)| t.clone()).collect();
        let (tx, mut rx) = mpsc::channel(targets.len().max(1));
        let req = trace::request();
        let started = self.now_ms();
        for (target, _) in targets {
            let node = self.clone();
            let tx = tx.clone();
            let key = key.to_string();
            tokio::spawn(async move {
                let sent = node.now_ms();
                let result = node.send(&target, Msg::Read { key: key.clone() }).await;
                trace::message(&node, req, &target, "get", &key, sent, &result);
                let reply = match result {
                    Ok(Reply::Versions { versions }) => Some(versions),
                    _ => None,
                };
                let _ = tx.send((target, reply)).await;
            });
        }
        drop(tx);
        let mut replies: Vec<(NodeId, Vec<Stored>)> = Vec::new();
        while replies.len() < r {
            match rx.recv().await {
                Some((target, Some(versions))) => replies.push((target, versions)),
                Some((_, None)) => {}
                None => break,
            }
        }
        if replies.len() < r {
            self.metrics.unavailable.fetch_add(1, Ordering::Relaxed);
            let answer = format!("503: {} of {r} replies", replies.len());
            trace::done(self, req, "get", key, started, &answer);
            return Err(NodeError::Quorum {
                what: "replies",
                got: replies.len(),
                needed: r,
                asked,
                answered: replies.into_iter().map(|(t, _)| t).collect(),
            });
        }
        let mut merged = Vec::new();
        for (_, versions) in &replies {
            versions::add_all(&self.stages, &mut merged, versions.iter().cloned())?;
        }
        let context = versions::context(&self.stages, &merged)?;
        self.metrics.gets.fetch_add(1, Ordering::Relaxed);
        self.event(
            "get",
            format!("{key}: {} versions from {}", merged.len(), replies.len()),
        );
        let answer = format!("{} versions, context {context}", merged.len());
        trace::done(self, req, "get", key, started, &answer);
        // Read repair: the replicas that answered stale now, and the late ones when they answer.
        let node = self.clone();
        let key = key.to_string();
        let result = merged.clone();
        tokio::spawn(async move {
            let mut all = replies;
            while let Some((target, reply)) = rx.recv().await {
                if let Some(v) = reply {
                    all.push((target, v));
                }
            }
            for (target, versions) in all {
                if versions != merged {
                    node.metrics.read_repairs.fetch_add(1, Ordering::Relaxed);
                    node.event("read-repair", format!("{key} on {target}"));
                    let msg = Msg::Store {
                        key: key.clone(),
                        versions: merged.clone(),
                        hint_for: None,
                    };
                    let sent = node.now_ms();
                    let result = node.send(&target, msg).await;
                    trace::message(&node, req, &target, "repair", &key, sent, &result);
                }
            }
        });
        Ok(ReadResult {
            versions: result,
            context,
        })
    }

    /// One round of background work: heartbeats, hinted handoff, anti-entropy.
    pub async fn tick(self: &Arc<Self>) {
        let peers: Vec<NodeId> = self
            .members
            .read()
            .expect("members lock")
            .keys()
            .filter(|p| *p != &self.config.name)
            .cloned()
            .collect();
        let members = self.members.read().expect("members lock").clone();
        let pings = peers.iter().map(|p| {
            let node = self.clone();
            let members = members.clone();
            let p = p.clone();
            async move {
                if let Ok(Reply::Pong { members }) = node.send(&p, Msg::Ping { members }).await {
                    for (name, addr) in &members {
                        node.learn(name, addr);
                    }
                }
            }
        });
        for ping in pings {
            tokio::spawn(ping);
        }
        self.handoff().await;
        self.anti_entropy(&peers).await;
    }

    async fn handoff(self: &Arc<Self>) {
        let Ok(hints) = self.storage.hints() else {
            return;
        };
        for (target, key, versions) in hints {
            if !self.healthy(&target) {
                continue;
            }
            let msg = Msg::Store {
                key: key.clone(),
                versions,
                hint_for: None,
            };
            if let Ok(Reply::Ack) = self.send(&target, msg).await
                && self.storage.delete_hint(&target, &key).await.is_ok()
            {
                self.metrics.hints_delivered.fetch_add(1, Ordering::Relaxed);
                self.event("hint-delivered", format!("{key} to {target}"));
            }
        }
    }

    async fn anti_entropy(self: &Arc<Self>, peers: &[NodeId]) {
        let Ok(all) = self.storage.all() else {
            return;
        };
        let n = self.config.n;
        let mut shared: BTreeMap<NodeId, BTreeMap<String, u64>> = BTreeMap::new();
        for (key, held) in &all {
            let Ok(list) = self.preference_list(key) else {
                return;
            };
            let primaries = &list[..n.min(list.len())];
            if !primaries.contains(&self.config.name) {
                continue;
            }
            for p in primaries.iter().filter(|p| *p != &self.config.name) {
                shared
                    .entry(p.clone())
                    .or_default()
                    .insert(key.clone(), versions::digest(held));
            }
        }
        for peer in peers {
            if !self.healthy(peer) {
                continue;
            }
            let digests = shared.remove(peer).unwrap_or_default();
            if digests.is_empty() {
                continue;
            }
            self.metrics.sync_rounds.fetch_add(1, Ordering::Relaxed);
            let Ok(Reply::Synced { push, want }) = self.send(peer, Msg::Sync { digests }).await
            else {
                continue;
            };
            trace::Syncs::record(self, peer, push.is_empty() && want.is_empty());
            if !push.is_empty() || !want.is_empty() {
                self.event(
                    "anti-entropy",
                    format!(
                        "with {peer}: {} keys in, {} keys out",
                        push.len(),
                        want.len()
                    ),
                );
            }
            for (key, versions) in push {
                if let Ok((_, true)) = self.storage.merge(&key, versions).await {
                    self.metrics.sync_repairs.fetch_add(1, Ordering::Relaxed);
                }
            }
            for key in want {
                let Ok(versions) = self.storage.get(&key) else {
                    continue;
                };
                let msg = Msg::Store {
                    key,
                    versions,
                    hint_for: None,
                };
                let _ = self.send(peer, msg).await;
            }
        }
    }

    /// Refuses peer traffic with `nodes` (replacing any earlier partition).
    pub fn partition(&self, nodes: BTreeSet<NodeId>) {
        self.event("partition", format!("refusing {nodes:?}"));
        *self.refused.write().expect("refused lock") = nodes;
    }

    /// Talks to everyone again.
    pub fn heal(&self) {
        self.event("heal", "talking to everyone".into());
        self.refused.write().expect("refused lock").clear();
    }
}
