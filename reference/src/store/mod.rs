//! Stage 7: the reference Dynamo node, composed of stages 1-6 through their contracts only.
//!
//! The node is a coordinator and a replica at once. Its state (ring, gossip view, sync
//! bookkeeping) sits in one `RefCell`, borrowed only between `.await`s; its data sits in the
//! host's storage. Everything that waits on the network goes through the host: stage 3's and
//! stage 6's coordinators via [`Host::network`], gossip, anti-entropy and transfers via
//! [`Host::send`].
//!
//! - `mod.rs`: construction, the client operations (eventual and strict), `status`.
//! - `replica.rs`: the replica side, [`StoreNode::handle`].
//! - `tick.rs`: gossip, handoff, anti-entropy, reaping, and membership changes.
//! - `ranges.rs`: the Merkle roots and last syncs per range that `status` reports.
//! - `moves.rs`: what a membership change moves: stage 1's transfers, and handing off (then
//!   dropping) the keys this node no longer replicates.
//! - `index.rs`: what the periodic work needs about the stored keys (their primaries, a Merkle
//!   tree per peer, strays, tombstones), kept up to date as the data changes.

mod index;
mod moves;
mod ranges;
mod replica;
mod tick;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use store::{Client, ReadError};
use store::{
    ConfigError, Context, Envelope, FaultConfig, HashRing, Host, Liveness, Member, Membership,
    Mode, Network, NodeConfig, NodeId, NodeStatus, Payload, QuorumConfig, ReadResult,
    RequestOptions, Siblings, SloppyError, Stages, StoreError, StoreNode, VectorClock, Version,
};

/// The reference node.
pub struct Node {
    config: NodeConfig,
    stages: Stages,
    host: Host,
    network: Network,
    state: RefCell<State>,
    quirks: Quirks,
}

/// Deliberate mistakes, for the grader's mutants only (`grader/src/mutants/store.rs`): the ones a
/// mutant cannot make from outside the node, because they sit in its private bookkeeping. Every
/// one is off in the reference ([`Node::new`]); a mutant switches one on with
/// [`Node::with_quirks`].
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Quirks {
    /// Strict reads answer without their write-back (only stage 6's repair follows, unawaited).
    pub skip_write_back: bool,
    /// Keys handed off to their new primaries are kept, not dropped.
    pub keep_handed_off: bool,
    /// A peer's sync confirmation of a key outlives a change of the key.
    pub stale_confirmations: bool,
    /// Tombstones past their grace are reaped without every primary's confirmation.
    pub reap_unconfirmed: bool,
    /// Tombstones every primary confirmed are reaped at once, before their grace passed.
    pub reap_early: bool,
    /// A member once suspected stays suspected: its fresher heartbeats are not news.
    pub sticky_suspicion: bool,
    /// A read's context covers the live values only, not the tombstones among its siblings.
    pub context_without_tombstones: bool,
    /// A handed-off key is dropped once any one of its primaries acknowledged it.
    pub drop_on_any_ack: bool,
}

/// What the node remembers between requests.
struct State {
    /// Stage 1's ring of the current members.
    ring: Box<dyn HashRing>,
    /// Gossip's view: every member known, with its latest heartbeat.
    view: Membership,
    /// When (this node's clock) each member's heartbeat last advanced.
    fresh_at: BTreeMap<NodeId, u64>,
    /// Round-robin position of anti-entropy among the peers.
    turn: usize,
    /// Per key, the peers whose set was found equal to ours at the last sync (for reaping).
    confirmed: BTreeMap<String, BTreeSet<NodeId>>,
    /// Per range, the last anti-entropy exchange with each peer that covered it (for `status`).
    synced: BTreeMap<store::Range, BTreeMap<NodeId, store::SyncRecord>>,
    /// The last exchange with each peer since the ring last changed, not yet filed per range
    /// (`ranges.rs`).
    synced_now: BTreeMap<NodeId, store::SyncRecord>,
    /// The ring's ranges with their primaries, until the ring changes (`ranges.rs`).
    ranges: Option<Vec<(store::Range, Vec<NodeId>)>>,
    /// `leave()` has begun: the node's periodic work stops, leaving hands off what remains.
    leaving: bool,
    /// The nodes in the ring, in no particular order (gossip checks it at every exchange).
    in_ring: Vec<NodeId>,
    /// What the periodic work needs about the stored keys, until the ring changes (`index.rs`).
    index: Option<index::Index>,
    /// How many changes the node made to its data, and the last one of each key: a sync
    /// confirms only keys unchanged since it compared them (`Node::confirm`).
    changes: u64,
    changed_at: BTreeMap<String, u64>,
}

impl Node {
    fn me(&self) -> NodeId {
        self.host.me()
    }

    /// Every member of the ring, in ring-walk order from `key`.
    fn walk(&self, key: &str) -> Vec<NodeId> {
        index::primaries_in(&self.state.borrow(), key, usize::MAX)
    }

    /// Whether gossip believes `node` is up.
    fn alive(&self, node: &NodeId) -> bool {
        if *node == self.me() {
            return true;
        }
        let state = self.state.borrow();
        let left = state.view.0.get(node).is_some_and(|m| m.left);
        let fresh = state.fresh_at.get(node).copied().unwrap_or(0);
        !left && self.host.now_ms().saturating_sub(fresh) < self.config.suspect_after_ms
    }

    /// Stage 4's reconciliation of two sibling sets.
    fn reconcile(&self, a: Vec<Version>, b: Vec<Version>) -> Vec<Version> {
        let mut store = (self.stages.new_store)(store_threshold());
        store.reconcile(a);
        store.reconcile(b);
        store.get()
    }

    /// Merges `incoming` into what storage holds for `key`; returns whether it changed.
    fn store_merge(&self, key: &str, incoming: Vec<Version>) -> bool {
        let held = self
            .host
            .storage()
            .get(key)
            .map(|s| s.0)
            .unwrap_or_default();
        let merged = self.reconcile(held.clone(), incoming);
        if merged == held || merged.is_empty() {
            return false;
        }
        self.note_stored(key, &merged);
        self.host.storage().put(key, Siblings(merged));
        if !self.quirks.stale_confirmations {
            self.state.borrow_mut().confirmed.remove(key);
        }
        true
    }

    /// The merge of every version's clock: the context a read hands out.
    fn context_of(&self, versions: &[Version]) -> VectorClock {
        let clocks = (self.stages.clocks)();
        versions
            .iter()
            .fold(VectorClock::new(), |acc, v| clocks.merge(&acc, &v.clock))
    }

    fn fault_config(&self, w: usize) -> FaultConfig {
        let QuorumConfig { n, r, .. } = self.config.quorum;
        FaultConfig {
            quorum: QuorumConfig { n, r: r.min(n), w },
            timeout_ms: self.config.timeout_ms,
        }
    }

    /// Stage 3's sloppy write of `versions` over `walk` with `w` acks needed.
    async fn write(
        &self,
        walk: &[NodeId],
        key: &str,
        versions: Vec<Version>,
        w: usize,
    ) -> Result<(), StoreError> {
        let mut config = self.fault_config(w);
        config.quorum.n = config.quorum.n.min(walk.len());
        let not_enough = |got| StoreError::NotEnoughReplicas { needed: w, got };
        let sloppy = (self.stages.sloppy)(config, walk.len()).map_err(|_| not_enough(0))?;
        match sloppy
            .put(&self.network, walk, key, Siblings(versions))
            .await
        {
            Ok(_) => Ok(()),
            Err(SloppyError::NotEnoughReplicas { got, .. }) => Err(not_enough(got)),
        }
    }

    /// Stage 6's read of `key` from `readers`, answering at `r` replies; the repairs go on in
    /// the background after the answer, as stage 6 intends.
    async fn read(
        &self,
        readers: Vec<NodeId>,
        key: &str,
        r: usize,
    ) -> Result<Vec<Version>, StoreError> {
        if readers.len() < r {
            return Err(StoreError::NotEnoughReplicas { needed: r, got: 0 });
        }
        let coordinator = (self.stages.read_repair)(r);
        let stage4 = self.stages.stage4();
        let network = self.network.clone();
        let (client, answered) = Client::new(&network);
        let key = key.to_string();
        tokio::task::spawn_local(async move {
            coordinator
                .read(&network, &stage4, &readers, &key, client)
                .await;
        });
        match answered.await {
            Ok(answered) => answered.answer.map_err(|e| match e {
                ReadError::NotEnoughReplicas { needed, got } => {
                    StoreError::NotEnoughReplicas { needed, got }
                }
            }),
            // The coordinator ended without answering: count it as no replies.
            Err(_) => Err(StoreError::NotEnoughReplicas { needed: r, got: 0 }),
        }
    }

    /// The R and W of one request. The host checked the options; any it did not is a quorum no
    /// replica set can reach.
    fn quorum_for(&self, options: RequestOptions) -> Result<QuorumConfig, StoreError> {
        self.config.quorum_for(options).map_err(|_| {
            let needed = options.r.into_iter().chain(options.w).max().unwrap_or(0);
            StoreError::NotEnoughReplicas { needed, got: 0 }
        })
    }

    /// A put of `payload` (a value or a tombstone) under `key`.
    async fn put_payload(
        &self,
        key: &str,
        payload: Payload,
        context: Option<Context>,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        if key.is_empty() {
            return Err(StoreError::BadKey);
        }
        let quorum = self.quorum_for(options)?;
        let walk = self.walk(key);
        let n = self.config.quorum.n.min(walk.len());
        let mut context = context.map(|c| c.0);
        let (targets, w) = match self.config.mode {
            Mode::Eventual => (walk, quorum.w),
            Mode::Strict => {
                // Read a majority first: the new version descends from everything it saw.
                let primaries = walk[..n].to_vec();
                let m = self.config.majority();
                let seen = self.read(primaries.clone(), key, m).await?;
                let clocks = (self.stages.clocks)();
                let seen = self.context_of(&seen);
                context = Some(match context {
                    Some(c) => clocks.merge(&c, &seen),
                    None => seen,
                });
                (primaries, m)
            }
        };
        // Never reuse a counter: raise this node's entry in the context to the highest counter
        // it ever issued (on any key, before any reaping or restart), so stage 4's increment
        // yields a clock no earlier version of this key can have had.
        let me = self.me();
        let issued = self.host.storage().issued();
        let mut context = context.unwrap_or_default();
        if issued > 0 {
            let entry = context.entries.entry(me.clone()).or_default();
            entry.counter = entry.counter.max(issued);
        }
        let mut store = (self.stages.new_store)(store_threshold());
        let clock = store.put(Some(&context), payload.encode(), &me, self.host.now_ms());
        let counter = clock.entries.get(&me).map_or(0, |e| e.counter);
        self.host.storage().set_issued(counter);
        let version = Version {
            clock: clock.clone(),
            value: payload.encode(),
        };
        self.write(&targets, key, vec![version], w).await?;
        Ok(Context(clock))
    }

    fn status_of(&self, node: &NodeId) -> Liveness {
        let left = self.state.borrow().view.0.get(node).is_some_and(|m| m.left);
        if left {
            Liveness::Left
        } else if self.alive(node) {
            Liveness::Alive
        } else {
            Liveness::Suspected
        }
    }
}

/// Clocks are truncated at the paper's threshold.
fn store_threshold() -> usize {
    store::DEFAULT_THRESHOLD
}

/// Strict mode's one value: the version with the largest counter total (then clock, then
/// value). A version that descends from another has a larger total, so this total order extends
/// causality, and every node picks the same winner from the same set.
fn winner(versions: &[Version]) -> Option<&Version> {
    versions.iter().max_by_key(|v| {
        let total: u64 = v.clock.entries.values().map(|e| e.counter).sum();
        (total, &v.clock, &v.value)
    })
}

impl Node {
    /// The node with deliberate mistakes switched on (the grader's mutants only).
    ///
    /// # Errors
    /// As [`StoreNode::new`].
    #[doc(hidden)]
    pub fn with_quirks(
        config: NodeConfig,
        stages: Stages,
        host: Host,
        quirks: Quirks,
    ) -> Result<Self, ConfigError> {
        let mut node = <Node as StoreNode>::new(config, stages, host)?;
        node.quirks = quirks;
        Ok(node)
    }
}

impl StoreNode for Node {
    fn new(config: NodeConfig, stages: Stages, host: Host) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut ring = (stages.ring)(config.vnodes)?;
        let mut view = Membership::default();
        for member in &config.members {
            ring.add_node(member.clone())?;
            view.0.insert(member.clone(), Member::default());
        }
        let network = host.network();
        let config_members: Vec<NodeId> = config.members.iter().cloned().collect();
        Ok(Node {
            config,
            stages,
            host,
            network,
            state: RefCell::new(State {
                ring,
                view,
                fresh_at: BTreeMap::new(),
                turn: 0,
                confirmed: BTreeMap::new(),
                synced: BTreeMap::new(),
                synced_now: BTreeMap::new(),
                ranges: None,
                leaving: false,
                in_ring: config_members,
                index: None,
                changes: 0,
                changed_at: BTreeMap::new(),
            }),
            quirks: Quirks::default(),
        })
    }

    async fn put(
        &self,
        key: &str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        self.put_payload(key, Payload::Value(value), context, options)
            .await
    }

    async fn get(&self, key: &str, options: RequestOptions) -> Result<ReadResult, StoreError> {
        if key.is_empty() {
            return Err(StoreError::BadKey);
        }
        let quorum = self.quorum_for(options)?;
        let walk = self.walk(key);
        let n = self.config.quorum.n.min(walk.len());
        let versions = match self.config.mode {
            Mode::Eventual => {
                // The first N nodes gossip believes up, primaries first; suspected primaries
                // only when too few are up.
                let mut readers: Vec<NodeId> = walk
                    .iter()
                    .filter(|x| self.alive(x))
                    .take(n)
                    .cloned()
                    .collect();
                for node in &walk[..n] {
                    if readers.len() < n && !readers.contains(node) {
                        readers.push(node.clone());
                    }
                }
                self.read(readers, key, quorum.r).await?
            }
            Mode::Strict => {
                let primaries = walk[..n].to_vec();
                let m = self.config.majority();
                let versions = self.read(primaries.clone(), key, m).await?;
                // Write back before answering: a later read cannot see less than this one.
                if !versions.is_empty() && !self.quirks.skip_write_back {
                    self.write(&primaries, key, versions.clone(), m).await?;
                }
                versions
            }
        };
        let context = if self.quirks.context_without_tombstones {
            let live: Vec<Version> = versions
                .iter()
                .filter(|v| !Payload::is_tombstone(v))
                .cloned()
                .collect();
            Context(self.context_of(&live))
        } else {
            Context(self.context_of(&versions))
        };
        let live: Vec<&Version> = match self.config.mode {
            Mode::Eventual => versions.iter().collect(),
            Mode::Strict => winner(&versions).into_iter().collect(),
        };
        let mut values: Vec<String> = live
            .into_iter()
            .filter_map(|v| match Payload::of(v) {
                Payload::Value(value) => Some(value),
                Payload::Tombstone => None,
            })
            .collect();
        values.sort();
        Ok(ReadResult { values, context })
    }

    async fn delete(
        &self,
        key: &str,
        context: Context,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        self.put_payload(key, Payload::Tombstone, Some(context), options)
            .await
    }

    async fn handle(&self, envelope: Envelope) -> store::Body {
        self.on_message(envelope).await
    }

    async fn tick(&self) {
        self.on_tick().await;
    }

    async fn leave(&self) {
        self.on_leave().await;
    }

    fn status(&self) -> NodeStatus {
        let members: Vec<NodeId> = self.state.borrow().view.0.keys().cloned().collect();
        let members = members
            .into_iter()
            .map(|m| {
                let liveness = self.status_of(&m);
                (m, liveness)
            })
            .collect();
        let ranges = self.range_status();
        let storage = self.host.storage();
        let keys = storage.keys();
        let tombstones = keys
            .iter()
            .filter(|k| {
                storage
                    .get(k)
                    .is_some_and(|s| s.0.iter().all(Payload::is_tombstone))
            })
            .count();
        let mut hints = BTreeMap::new();
        for hint in storage.hints() {
            *hints.entry(hint.primary).or_insert(0) += 1;
        }
        NodeStatus {
            members,
            keys: keys.len(),
            tombstones,
            hints,
            ranges,
        }
    }
}
