//! Stage 3: fault tolerance — failure detection, sloppy quorum and hinted handoff (Dynamo paper,
//! §4.6).
//!
//! This file is the **contract**: the trait your coordinator implements and the types it speaks.
//! Read it, do not edit it. Your code goes in `src/solution.rs`; the assignment is
//! `stages/03-fault-tolerance/README.md`.
//!
//! # The rules, in one place
//! - The grader hands `put` the key's **walk**: every node of the cluster, in the order stage 1's
//!   preference list walks the ring from the key (`preference_list(key, cluster_size)`). The first
//!   `n` are the key's **primaries**; the rest, in order, are the **candidates** for fallbacks.
//! - **Failure detection**: a replica that has not answered within the coordinator's `timeout_ms`
//!   has failed (wrap every send in `tokio::time::timeout`); so has one the network reports
//!   as down ([`NoReply`]). A silent replica costs exactly the timeout, never more.
//! - **Sloppy write** (`put`), in rounds:
//!   1. Send the write to every primary at once (`send_put`); wait until each has acked or failed.
//!   2. Pair the failed primaries, in walk order, with the next unused candidates, in walk order,
//!      and send each candidate a hinted write naming its primary (`send_hint`), all at once;
//!      wait until each has acked or failed. A candidate is used once, acked or not.
//!   3. Repeat step 2 for the primaries still uncovered until all are covered or no candidate
//!      is left.
//!
//!   Acks from fallbacks count toward W. With at least `w` acks the put returns the
//!   [`Placement`]; otherwise [`SloppyError::NotEnoughReplicas`], with the placement so far.
//! - **Hinted handoff** (`handoff`): a node sends each hint it holds to the primary the hint
//!   names (`send_handoff`), all at once in the order [`Network::hints`] lists them, each bounded
//!   by the timeout; it deletes a hint only after that primary acknowledged. The object is sent
//!   exactly as stored: handoff never changes the version. Undelivered hints stay.
//! - Versions are plain `u64`s as in stage 2: higher is newer; replicas keep the highest.
//!
//! # Layout
//! - [`SloppyCoordinator`]: the trait the grader calls.
//! - [`FaultConfig`]: N, R, W (stage 2's [`QuorumConfig`]) and the failure detector's timeout.
//! - [`Placement`], [`SloppyError`]: where a write landed, and why it failed.
//! - `src/solution.rs`: your coordinator, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.

#![deny(missing_docs)]

use std::collections::BTreeMap;

pub use dynamo_common::LocalBoxFuture;
pub use dynamo_common::NodeId;
pub use dynamo_common::sim::{Ack, Hint, NoReply, StoredObject, Versioned};
pub use quorum::{ConfigError, QuorumConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The simulated network of this stage: replicas that store [`Versioned`] values, crash,
/// recover, get partitioned, and keep hints for each other.
///
/// Generic over what replicas store (`Network` alone means `Network<Versioned>`), because stage
/// 7's node writes stage 4's sibling sets through the very same coordinator.
pub type Network<O = Versioned> = dynamo_common::sim::Network<O>;

/// Where a write was stored: each node that acknowledged it, with the primary it stands in for
/// (`None`: it is a primary itself). A `BTreeMap`, so it lists nodes in name order.
pub type Placement = BTreeMap<NodeId, Option<NodeId>>;

/// A coordinator with a sloppy quorum: it writes past failed primaries, and hands hints back.
///
/// Implement every method; none has a default. The grader creates one with
/// [`SloppyCoordinator::new`], then calls [`SloppyCoordinator::put`] for writes and
/// [`SloppyCoordinator::handoff`] for every node holding hints whenever a node recovers or a
/// handoff tick comes. Everything runs on a single-threaded tokio runtime with a paused clock.
#[expect(
    async_fn_in_trait,
    reason = "the grader runs coordinators on a current-thread runtime, so no Send bound is needed"
)]
pub trait SloppyCoordinator {
    /// Checks `config.quorum` against a cluster of `cluster_size` nodes (exactly as stage 2 does)
    /// and keeps the configuration.
    ///
    /// # Errors
    /// The first problem, in stage 2's order: [`ConfigError::ZeroReplicas`],
    /// [`ConfigError::MoreReplicasThanNodes`], [`ConfigError::ReadQuorumOutOfRange`],
    /// [`ConfigError::WriteQuorumOutOfRange`].
    fn new(config: FaultConfig, cluster_size: usize) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// Writes `object` under `key` with a sloppy quorum over `walk` (every node, in ring-walk
    /// order from the key; the first `n` are the primaries), and returns where it was stored.
    ///
    /// Generic over the stored object: the grader's cases write [`Versioned`] values, and stage
    /// 7's node writes sibling sets. Your code only clones `object` and passes it to the network.
    ///
    /// # Errors
    /// [`SloppyError::NotEnoughReplicas`] `{ needed: w, got, stored }` when, after every round,
    /// fewer than `w` nodes acknowledged; `stored` is the placement of those that did.
    async fn put<O: StoredObject>(
        &self,
        network: &Network<O>,
        walk: &[NodeId],
        key: &str,
        object: O,
    ) -> Result<Placement, SloppyError>;

    /// Node `holder` hands each of its hints to the primary it names, deleting a hint once its
    /// primary acknowledged. Returns how many hints were delivered (and deleted).
    async fn handoff<O: StoredObject>(&self, network: &Network<O>, holder: &NodeId) -> usize;
}

/// A [`SloppyCoordinator`] behind a trait object, for one stored object type `O`: the contract's
/// async methods, boxed. Implemented for every coordinator; you never implement it yourself.
/// The grader and stage 7 hold coordinators as `Box<dyn DynSloppy<O>>`, free of generics.
pub trait DynSloppy<O> {
    /// [`SloppyCoordinator::put`], boxed.
    fn put<'a>(
        &'a self,
        network: &'a Network<O>,
        walk: &'a [NodeId],
        key: &'a str,
        object: O,
    ) -> LocalBoxFuture<'a, Result<Placement, SloppyError>>;

    /// [`SloppyCoordinator::handoff`], boxed.
    fn handoff<'a>(
        &'a self,
        network: &'a Network<O>,
        holder: &'a NodeId,
    ) -> LocalBoxFuture<'a, usize>;
}

impl<C: SloppyCoordinator, O: StoredObject> DynSloppy<O> for C {
    fn put<'a>(
        &'a self,
        network: &'a Network<O>,
        walk: &'a [NodeId],
        key: &'a str,
        object: O,
    ) -> LocalBoxFuture<'a, Result<Placement, SloppyError>> {
        Box::pin(SloppyCoordinator::put(self, network, walk, key, object))
    }

    fn handoff<'a>(
        &'a self,
        network: &'a Network<O>,
        holder: &'a NodeId,
    ) -> LocalBoxFuture<'a, usize> {
        Box::pin(SloppyCoordinator::handoff(self, network, holder))
    }
}

/// A coordinator's configuration: stage 2's N, R and W, and the failure detector's timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// N, R and W. R is validated as in stage 2; this stage only writes.
    pub quorum: QuorumConfig,
    /// How long the coordinator waits for any one reply before it counts that replica as failed,
    /// in simulated ms.
    pub timeout_ms: u64,
}

/// Why a put failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum SloppyError {
    /// Fewer than W nodes of the whole ring acknowledged the write.
    #[error("needed {needed} acks but got {got}")]
    NotEnoughReplicas {
        /// W.
        needed: usize,
        /// Acks received, from primaries and fallbacks.
        got: usize,
        /// The nodes that did store the write (a failed write is not undone).
        stored: Placement,
    },
}
