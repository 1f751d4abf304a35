//! Stage 7, the capstone: the six stages become one Dynamo node (Dynamo paper, §4 and §6).
//!
//! This file is the **contract**: the trait your node implements and the types it speaks. Read
//! it, do not edit it. Your code goes in `src/solution.rs`; the assignment, with
//! every rule worked through on a timeline, is `stages/07-store/README.md`.
//!
//! # What a node is
//! A node is one server of the store. It is a *replica* (it keeps some keys and hints for other
//! nodes) and a *coordinator* (any client may send it a `put`, `get` or `delete` for any key).
//! You compose your six stages into one, through their contracts, handed to you as [`Stages`]:
//! the ring (stage 1) places keys; the sloppy quorum (stage 3) writes, with hints; stage 4's
//! clocks and sibling sets version every write; read repair (stage 6) reads; Merkle replicas
//! (stage 5) find what two replicas disagree on. You write the Dynamo logic only: the [`Host`]
//! moves messages, keeps your data and tells the time, whether it is the grader's simulated
//! cluster or `cluster/`'s real processes. Your node never opens a socket or a file and never
//! reads the wall clock.
//!
//! # The rules, in one place
//! - **Values and tombstones**: what replicas store under a key is a [`Siblings`] set of stage 4
//!   [`Version`]s whose `value` field holds an encoded [`Payload`]: a client value, or a
//!   tombstone (a delete). Encoding escapes every client value, so no client write can ever look
//!   like a tombstone. Clients never see tombstones: a key whose siblings are all tombstones
//!   reads as not found.
//! - **Put** `(key, value, context)` on any node: the coordinator builds the new version with a
//!   stage-4 store (the context, or nothing, incremented by the coordinator itself, at
//!   `now_ms`), and writes it with stage 3's sloppy quorum over the key's walk (the ring's
//!   preference list of every member). **Delete** `(key, context)` is a put of a tombstone.
//! - **Get** reads through stage 6 over the key's first N *live* nodes in walk order (primaries,
//!   then fallbacks standing in for primaries that gossip suspects), answers with every live
//!   sibling and one [`Context`] covering them all, and repairs the replicas that are behind.
//! - **Per-request quorums**: every client operation carries [`RequestOptions`]; a client's own
//!   `r` or `w` replaces the configured R or W for that request ([`NodeConfig::quorum_for`]).
//! - **Replica side** ([`StoreNode::handle`]): a put, handoff or repair is merged into storage by
//!   stage 4's rule, and acknowledged only after storage returned; a hint goes to the hint
//!   store; a get answers what storage holds (tombstones included: the coordinator needs them).
//! - **Tick** (the host calls it every `tick_ms`): gossip heartbeats to every member; hand each
//!   hint to its primary when gossip sees the primary alive (stage 3's handoff); one anti-entropy
//!   round with the next replica peer (stage 5); hand every key it stores but no longer
//!   replicates (after a join or leave) to the key's primaries, dropping it once all of them
//!   acknowledged; reap tombstones every primary holds and whose grace period has passed.
//! - **Failure detection** by gossip: a member whose heartbeat has not advanced for
//!   `suspect_after_ms` is suspected; a fresh heartbeat clears the suspicion.
//! - **Modes**: [`Mode::Eventual`] is Dynamo. [`Mode::Strict`] uses no fallbacks, reads a
//!   majority before each write and writes the read result back before each read returns, so
//!   each key is linearizable; it fails when a majority of the key's replicas is unreachable.
//!
//! # Layout
//! - [`StoreNode`]: the trait hosts call; [`DynStoreNode`], its boxed twin.
//! - [`NodeConfig`], [`Mode`], [`ConfigError`]: how a node is set up; [`RequestOptions`]: a
//!   client's own R or W for one request.
//! - [`Payload`], [`Context`], [`ReadResult`], [`StoreError`]: what clients see.
//! - [`Body`], [`Envelope`], [`Membership`], [`Member`]: what nodes say to each other.
//! - [`Host`], [`Stages`]: what the host gives your node.
//! - [`NodeStatus`], [`RangeStatus`], [`SyncRecord`]: what a node shows of itself (dashboards,
//!   checkers), its Merkle roots and last syncs per range included.
//! - `src/solution.rs`: your node, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.

#![deny(missing_docs)]

mod config;
mod host;
mod message;
mod payload;
mod status;

pub use anti_entropy::{Hash, Replica, SiblingStores};
pub use config::{ConfigError, Mode, NodeConfig, RequestOptions};
pub use dynamo_common::host::{MemStorage, SharedStorage, Storage, Transport};
pub use dynamo_common::sim::{Hint, MessageKind, NoReply, Request, Response};
pub use dynamo_common::{LocalBoxFuture, NodeId};
pub use fault_tolerance::{DynSloppy, FaultConfig, Placement, SloppyError};
pub use hash_ring::{HashRing, Range, RingError, Transfer};
pub use host::{Host, NewSloppy, Stages};
pub use message::{Body, Envelope, Member, Membership};
pub use payload::{Context, Payload, ReadResult, StoreError};
pub use quorum::QuorumConfig;
pub use read_repair::{Client, DynReadRepair, ReadError, Siblings, Stage4};
pub use status::{Liveness, NodeStatus, RangeStatus, SyncOutcome, SyncRecord};
pub use vector_clocks::{
    ClockOrder, DEFAULT_THRESHOLD, VectorClock, VectorClocks, Version, VersionStore,
};

/// The stored object of stage 7: a sibling set (stage 6's), as every replica keeps it.
pub type Network = dynamo_common::sim::Network<Siblings>;

/// One Dynamo node. Implement every method; none has a default.
///
/// A host creates the node with [`StoreNode::new`], hands it every envelope that arrives for it
/// ([`StoreNode::handle`]), calls [`StoreNode::tick`] every `tick_ms`, and forwards client
/// requests ([`put`](StoreNode::put), [`get`](StoreNode::get), [`delete`](StoreNode::delete)).
/// These calls run concurrently on one thread (a current-thread runtime): a node serving a get
/// still answers the puts of others. Keep shared state in `RefCell`s or `Mutex`es and never
/// hold a borrow across an `.await`.
#[expect(
    async_fn_in_trait,
    reason = "hosts run nodes on a current-thread runtime, so no Send bound is needed"
)]
pub trait StoreNode {
    /// A node named `config.name`, built from `stages`, living on `host`.
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration cannot work (see [`NodeConfig::validate`]).
    fn new(config: NodeConfig, stages: Stages, host: Host) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// Coordinates a client's write of `value` under `key`. `context` is the one a get returned
    /// (`None`: a blind write, which becomes a sibling of whatever is there). Returns the new
    /// version's clock as a context. The write needs W acks: the client's `options.w` when it
    /// chose one, the configured W otherwise ([`NodeConfig::quorum_for`]); strict mode always
    /// needs a majority.
    ///
    /// # Errors
    /// [`StoreError::NotEnoughReplicas`] when fewer than W nodes acknowledged (a majority in
    /// strict mode); [`StoreError::BadKey`] for an empty key.
    async fn put(
        &self,
        key: &str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> Result<Context, StoreError>;

    /// Coordinates a client's read of `key`: every live sibling and one context covering them.
    /// The read waits for R replies: `options.r` when the client chose one, the configured R
    /// otherwise (a majority in strict mode).
    ///
    /// # Errors
    /// [`StoreError::NotEnoughReplicas`] when fewer than R replicas replied (a majority in strict
    /// mode).
    async fn get(&self, key: &str, options: RequestOptions) -> Result<ReadResult, StoreError>;

    /// Coordinates a client's delete of `key`: writes a tombstone that descends from `context`,
    /// with W as for [`put`](StoreNode::put).
    ///
    /// # Errors
    /// As [`put`](StoreNode::put).
    async fn delete(
        &self,
        key: &str,
        context: Context,
        options: RequestOptions,
    ) -> Result<Context, StoreError>;

    /// Handles one envelope from another node and returns the body of the answer.
    async fn handle(&self, envelope: Envelope) -> Body;

    /// The periodic work: gossip, hinted handoff, one anti-entropy round, handing off the keys
    /// it no longer replicates, tombstone reaping.
    async fn tick(&self);

    /// This node leaves the cluster for good: it tells every member, hands the ranges stage 1
    /// says it gives up to their new owners, then hands every key it still holds to the key's
    /// new primaries and drops what they all acknowledged. Returns when that is done.
    async fn leave(&self);

    /// What the node shows of itself: its view of the members, its keys, its hints.
    fn status(&self) -> NodeStatus;
}

/// A [`StoreNode`] behind a trait object: the contract's async methods, boxed. Implemented for
/// every node; you never implement it yourself.
pub trait DynStoreNode {
    /// [`StoreNode::put`], boxed.
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> LocalBoxFuture<'a, Result<Context, StoreError>>;
    /// [`StoreNode::get`], boxed.
    fn get<'a>(
        &'a self,
        key: &'a str,
        options: RequestOptions,
    ) -> LocalBoxFuture<'a, Result<ReadResult, StoreError>>;
    /// [`StoreNode::delete`], boxed.
    fn delete<'a>(
        &'a self,
        key: &'a str,
        context: Context,
        options: RequestOptions,
    ) -> LocalBoxFuture<'a, Result<Context, StoreError>>;
    /// [`StoreNode::handle`], boxed.
    fn handle(&self, envelope: Envelope) -> LocalBoxFuture<'_, Body>;
    /// [`StoreNode::tick`], boxed.
    fn tick(&self) -> LocalBoxFuture<'_, ()>;
    /// [`StoreNode::leave`], boxed.
    fn leave(&self) -> LocalBoxFuture<'_, ()>;
    /// [`StoreNode::status`].
    fn status(&self) -> NodeStatus;
}

impl<N: StoreNode> DynStoreNode for N {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> LocalBoxFuture<'a, Result<Context, StoreError>> {
        Box::pin(StoreNode::put(self, key, value, context, options))
    }
    fn get<'a>(
        &'a self,
        key: &'a str,
        options: RequestOptions,
    ) -> LocalBoxFuture<'a, Result<ReadResult, StoreError>> {
        Box::pin(StoreNode::get(self, key, options))
    }
    fn delete<'a>(
        &'a self,
        key: &'a str,
        context: Context,
        options: RequestOptions,
    ) -> LocalBoxFuture<'a, Result<Context, StoreError>> {
        Box::pin(StoreNode::delete(self, key, context, options))
    }
    fn handle(&self, envelope: Envelope) -> LocalBoxFuture<'_, Body> {
        Box::pin(StoreNode::handle(self, envelope))
    }
    fn tick(&self) -> LocalBoxFuture<'_, ()> {
        Box::pin(StoreNode::tick(self))
    }
    fn leave(&self) -> LocalBoxFuture<'_, ()> {
        Box::pin(StoreNode::leave(self))
    }
    fn status(&self) -> NodeStatus {
        StoreNode::status(self)
    }
}

/// A node implementation as a constructor: what the implementation table hands a host.
pub type NewNode = fn(NodeConfig, Stages, Host) -> Result<Box<dyn DynStoreNode>, ConfigError>;

/// The constructor of node type `N`, boxed.
pub fn new_node<N: StoreNode + 'static>() -> NewNode {
    |config, stages, host| {
        N::new(config, stages, host).map(|n| Box::new(n) as Box<dyn DynStoreNode>)
    }
}
