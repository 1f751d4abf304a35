//! Stage 6: read repair (Dynamo paper, §4.6 and §5).
//!
//! This file is the **contract**: the trait your read coordinator implements and the types it
//! speaks. Read it, do not edit it. Your code goes in `src/solution.rs`; the
//! assignment is `stages/06-read-repair/README.md`.
//!
//! # The rules, in one place
//! - Replicas hold, per key, a [`Siblings`] set: stage 4's versions, none `Equal` to or `Before`
//!   another. A replica that holds nothing replies "not found", which counts as the empty set.
//! - **Read**: ask every node of the preference list at once. As soon as `r` have replied,
//!   reconcile their sets with stage 4's rule (add every version to one empty
//!   [`VersionStore`]) and [`Client::answer`] with the store's
//!   `get()`: the latest versions, all concurrent ones kept. Fail fast with
//!   [`ReadError::NotEnoughReplicas`] once `n - r + 1` replicas have failed.
//! - **After answering**, keep listening until every queried replica has replied or failed.
//!   Reconcile *every* reply (also those that came after the client was served) into the
//!   **result**.
//! - **Repair**: a replica that replied is *behind* when its set, reconciled with the result,
//!   differs from its own set; because the result already contains everything it sent, that is
//!   exactly when its set is not the result. Each replica that is behind (one that had nothing
//!   included) receives the result with [`Network::send_repair`], once. A replica whose set is
//!   already the result (one holding all the concurrent versions, say) receives nothing. A
//!   replica that never replied (down, timed out) receives nothing either: you do not know what
//!   it holds. Nodes you did not query never hear from you.
//! - Return from [`ReadRepair::read`] when every repair has been acknowledged or has failed.
//!
//! # Time and the network
//! The coordinator runs on tokio's paused clock over [`Network`] (see [`dynamo_common::sim`]),
//! as in stage 2. Repairs happen after the answer, so they never add to the client's latency.
//!
//! # Layout
//! - [`ReadRepair`]: the trait the grader calls.
//! - [`Stage4`]: stage 4 (yours or the reference's), handed to you to reconcile versions.
//! - [`Client`]: where the answer goes, once.
//! - [`Siblings`]: what replicas store and what repairs carry.
//! - [`ReadError`]: a read that could not reach its quorum.
//! - `src/solution.rs`: your coordinator, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.

#![deny(missing_docs)]

use std::fmt;

pub use dynamo_common::LocalBoxFuture;
pub use dynamo_common::NodeId;
pub use dynamo_common::sim::{Ack, NoReply};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
pub use vector_clocks::{ClockOrder, VectorClock, VectorClocks, Version, VersionStore};

/// The simulated network of this stage: replicas that store [`Siblings`].
pub type Network = dynamo_common::sim::Network<Siblings>;

/// A read coordinator that repairs the replicas it read from. Implement every method.
///
/// The grader creates one with [`ReadRepair::new`] and calls [`ReadRepair::read`] once per read
/// step, on a single-threaded tokio runtime whose clock is paused.
#[expect(
    async_fn_in_trait,
    reason = "the grader runs coordinators on a current-thread runtime, so no Send bound is needed"
)]
pub trait ReadRepair {
    /// A coordinator whose reads wait for `r` replies before answering (`1 <= r <= n`, checked
    /// by the grader).
    fn new(r: usize) -> Self
    where
        Self: Sized;

    /// Reads `key` from every node of `preference`, answers `client` once `r` have replied (or
    /// the quorum is out of reach), then waits for the remaining replies and repairs every
    /// replica that replied and is behind the reconciled result. Returns once the repairs are
    /// acknowledged or have failed.
    async fn read(
        &self,
        network: &Network,
        stage4: &Stage4,
        preference: &[NodeId],
        key: &str,
        client: Client,
    );
}

/// A [`ReadRepair`] coordinator behind a trait object: the contract's async method, boxed.
/// Implemented for every coordinator; you never implement it yourself. The grader and stage 7
/// hold coordinators as `Box<dyn DynReadRepair>`, free of generics.
pub trait DynReadRepair {
    /// The contract's `read`, boxed.
    fn read<'a>(
        &'a self,
        network: &'a Network,
        stage4: &'a Stage4,
        preference: &'a [NodeId],
        key: &'a str,
        client: Client,
    ) -> LocalBoxFuture<'a, ()>;
}

impl<C: ReadRepair> DynReadRepair for C {
    fn read<'a>(
        &'a self,
        network: &'a Network,
        stage4: &'a Stage4,
        preference: &'a [NodeId],
        key: &'a str,
        client: Client,
    ) -> LocalBoxFuture<'a, ()> {
        Box::pin(ReadRepair::read(
            self, network, stage4, preference, key, client,
        ))
    }
}

/// Stage 4, as the grader hands it to you: your clocks and store, or the reference's.
///
/// Reconcile with a fresh store: `let mut store = stage4.new_store(); store.reconcile(versions);`.
pub struct Stage4 {
    clocks: Box<dyn VectorClocks>,
    new_store: fn(usize) -> Box<dyn VersionStore>,
}

impl Stage4 {
    /// Stage 4 from its clock rules and its store's constructor (the grader calls this).
    pub fn new(
        clocks: Box<dyn VectorClocks>,
        new_store: fn(usize) -> Box<dyn VersionStore>,
    ) -> Self {
        Self { clocks, new_store }
    }

    /// The vector-clock rules: compare, merge, …
    pub fn clocks(&self) -> &dyn VectorClocks {
        self.clocks.as_ref()
    }

    /// An empty sibling store (with the paper's truncation threshold, which reconcile never
    /// applies anyway).
    pub fn new_store(&self) -> Box<dyn VersionStore> {
        (self.new_store)(vector_clocks::DEFAULT_THRESHOLD)
    }
}

/// What a read tells its client: the latest versions (empty when no replica holds the key).
pub type Answer = Result<Vec<Version>, ReadError>;

/// Where a read's answer goes. Answering consumes it, so a client is answered at most once.
pub struct Client {
    tx: oneshot::Sender<Answered>,
    network: Network,
}

/// An answer as the grader receives it: what, when, and how many messages had been sent by then.
#[derive(Debug)]
pub struct Answered {
    /// The answer.
    pub answer: Answer,
    /// Simulated ms (the network's clock) when the client was answered.
    pub at_ms: u64,
    /// How many messages the trace held at that moment.
    pub after_messages: usize,
}

impl Client {
    /// A client of `network` and the receiving end the grader waits on.
    pub fn new(network: &Network) -> (Self, oneshot::Receiver<Answered>) {
        let (tx, rx) = oneshot::channel();
        let network = network.clone();
        (Self { tx, network }, rx)
    }

    /// Answers the client, now. Call it as soon as the answer is known, before any repair.
    pub fn answer(self, answer: Answer) {
        let answered = Answered {
            answer,
            at_ms: self.network.now_ms(),
            after_messages: self.network.trace().0.len(),
        };
        // A grader that stopped listening has nothing left to check.
        let _ = self.tx.send(answered);
    }
}

/// Why a read failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ReadError {
    /// Too many replicas failed for `r` replies to come.
    #[error("needed {needed} replies but got {got}")]
    NotEnoughReplicas {
        /// R.
        needed: usize,
        /// Replies received when the coordinator gave up.
        got: usize,
    },
}

/// One replica's versions of one key: a set of siblings, as stage 4's store keeps them.
///
/// Shown sorted, as `[v1 {A: 1@0}, v2 {B: 1@0}]`, whatever order it was built in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Siblings(pub Vec<Version>);

impl fmt::Display for Siblings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sorted: Vec<&Version> = self.0.iter().collect();
        sorted.sort();
        f.write_str("[")?;
        for (i, v) in sorted.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {}", v.value, v.clock)?;
        }
        f.write_str("]")
    }
}

/// A simulated replica applies a put or a repair by stage 4's sibling rule, with its own copy
/// of the counter comparison: the replicas are part of the test bench, so their state never
/// depends on your stage 4.
impl dynamo_common::sim::StoredObject for Siblings {
    fn merge(stored: Option<Self>, incoming: Self) -> Self {
        let mut held = stored.map(|s| s.0).unwrap_or_default();
        for v in incoming.0 {
            if held.iter().any(|h| descends(&h.clock, &v.clock)) {
                continue;
            }
            held.retain(|h| !descends(&v.clock, &h.clock));
            held.push(v);
        }
        held.sort();
        Siblings(held)
    }
}

/// Whether `a` is `Equal` to or `After` `b`: no actor's counter in `a` is smaller.
fn descends(a: &VectorClock, b: &VectorClock) -> bool {
    b.entries
        .iter()
        .all(|(actor, e)| a.entries.get(actor).is_some_and(|x| x.counter >= e.counter))
}
