//! Stage 2: quorum replication (Dynamo paper, §4.5).
//!
//! This file is the **contract**: the trait your coordinator implements and the types it speaks.
//! Read it, do not edit it. Your code goes in `src/solution.rs`; the assignment is
//! `stages/02-quorum/README.md`.
//!
//! # The rules, in one place
//! - A key is stored on the `n` nodes of its **preference list** (stage 1 computes it; the
//!   grader hands it to you, owner first).
//! - **Configuration**: `1 <= r <= n`, `1 <= w <= n`, and `n` no larger than the cluster.
//!   Checked in this order: `n == 0`, `n` larger than the cluster, `r`, `w`; the first problem
//!   found is the error.
//! - **Write** (`put`): send the write to all `n` nodes *at once*; succeed as soon as `w` have
//!   acknowledged. Fail as soon as `n - w + 1` have failed (then `w` acks can no longer come),
//!   with [`QuorumError::NotEnoughReplicas`] counting the acks received *by then*.
//! - **Read** (`get`): ask all `n` nodes at once; as soon as `r` have replied, return the
//!   highest version among those replies (`None` if none of them holds the key). Fail as soon as
//!   `n - r + 1` have failed.
//! - Never wait for more replies than you need: replies that arrive after you returned are
//!   ignored. Versions are plain numbers in this stage: higher is newer.
//!
//! # Time and the network
//! Your coordinator runs on tokio's paused clock over [`Network`], a simulated network (see
//! [`dynamo_common::sim`]): use `tokio::task::JoinSet` (or a `tokio::sync::mpsc` channel) to
//! wait for replies in the order they arrive. Never use `std::thread::sleep` or the wall clock.
//!
//! # Layout
//! - [`Coordinator`]: the trait the grader calls.
//! - [`QuorumConfig`]: N, R and W.
//! - [`ConfigError`], [`QuorumError`]: everything that can go wrong, with the data to say why.
//! - `src/solution.rs`: your coordinator, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.

#![deny(missing_docs)]

pub use dynamo_common::NodeId;
pub use dynamo_common::sim::{Ack, NoReply, Versioned};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The simulated network of this stage: replicas that store [`Versioned`] values.
pub type Network = dynamo_common::sim::Network<Versioned>;

/// A quorum coordinator: validates its configuration once, then serves puts and gets.
///
/// Implement every method; none has a default. The grader creates one with
/// [`Coordinator::new`] and calls [`Coordinator::put`] and [`Coordinator::get`] one at a time,
/// each on a fresh preference list. The methods are `async`: they run on a single-threaded tokio
/// runtime whose clock is paused, so awaiting replies costs no real time.
#[expect(
    async_fn_in_trait,
    reason = "the grader runs coordinators on a current-thread runtime, so no Send bound is needed"
)]
pub trait Coordinator {
    /// Checks `config` against a cluster of `cluster_size` nodes and keeps it.
    ///
    /// # Errors
    /// The first problem, in this order: [`ConfigError::ZeroReplicas`],
    /// [`ConfigError::MoreReplicasThanNodes`], [`ConfigError::ReadQuorumOutOfRange`],
    /// [`ConfigError::WriteQuorumOutOfRange`].
    fn new(config: QuorumConfig, cluster_size: usize) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// Writes `versioned` under `key` to every node of `preference` (its length is `n`) in
    /// parallel, and returns once `w` have acknowledged.
    ///
    /// # Errors
    /// [`QuorumError::NotEnoughReplicas`] `{ needed: w, got }` as soon as `n - w + 1` sends have
    /// failed, `got` being the acks received by then.
    async fn put(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
        versioned: Versioned,
    ) -> Result<(), QuorumError>;

    /// Reads `key` from every node of `preference` in parallel, and once `r` have replied returns
    /// the highest version among their replies (`None` when none of them holds the key).
    ///
    /// # Errors
    /// [`QuorumError::NotEnoughReplicas`] `{ needed: r, got }` as soon as `n - r + 1` sends have
    /// failed, `got` being the replies received by then.
    async fn get(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
    ) -> Result<Option<Versioned>, QuorumError>;
}

/// Dynamo's three knobs (§4.5): replicas per key, replies a read waits for, acks a write waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuorumConfig {
    /// N: how many nodes store each key.
    pub n: usize,
    /// R: how many replies a read waits for.
    pub r: usize,
    /// W: how many acknowledgements a write waits for.
    pub w: usize,
}

/// A configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConfigError {
    /// `n == 0`: the key would be stored nowhere.
    #[error("n is 0: every key needs at least one replica")]
    ZeroReplicas,
    /// `n` is larger than the cluster: there are not `n` distinct nodes to hold a key.
    #[error("n is {n} but the cluster has only {nodes} nodes")]
    MoreReplicasThanNodes {
        /// The configured N.
        n: usize,
        /// Nodes in the cluster.
        nodes: usize,
    },
    /// `r` is 0 (a read that waits for nobody) or larger than `n` (it could never finish).
    #[error("r is {r}; it must be between 1 and n = {n}")]
    ReadQuorumOutOfRange {
        /// The configured R.
        r: usize,
        /// The configured N.
        n: usize,
    },
    /// `w` is 0 (a write nobody stored) or larger than `n` (it could never succeed).
    #[error("w is {w}; it must be between 1 and n = {n}")]
    WriteQuorumOutOfRange {
        /// The configured W.
        w: usize,
        /// The configured N.
        n: usize,
    },
}

/// Why a put or a get failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum QuorumError {
    /// Too many replicas failed for the quorum to be reached.
    #[error("needed {needed} replicas but got {got}")]
    NotEnoughReplicas {
        /// W for a put, R for a get.
        needed: usize,
        /// Acks (put) or replies (get) received when the coordinator gave up.
        got: usize,
    },
}
