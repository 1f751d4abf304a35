//! Checkers for Dynamo's guarantees on a recorded history of client operations.
//!
//! Stage 7 runs a whole Dynamo cluster under a seeded schedule of faults (crashes, partitions,
//! message loss) while clients put, get and delete. Afterwards the cluster is left to quiesce and
//! the history of what every client asked and was told is judged here. The same checkers serve
//! the grader's deterministic simulator and the real cluster's tests, so this crate knows nothing
//! about either: it takes plain data ([`History`], final reads, [`ReplicaState`]) and returns
//! [`Violation`]s. It does no I/O, reads no clock and uses no randomness; every output is sorted,
//! so a report is the same on every run.
//!
//! What each checker holds Dynamo to, with the paper section it comes from (DeCandia et al.,
//! "Dynamo: Amazon's Highly Available Key-value Store", SOSP 2007):
//!
//! | checker | guarantee | paper |
//! |---|---|---|
//! | [`lost_writes()`] | an acknowledged write is never lost while at most N−W replicas are down | §4.5, §4.6 |
//! | [`siblings_surface`] | concurrent writes both survive as siblings until a client reconciles them | §4.4 |
//! | [`no_resurrection`] | what an acknowledged delete covered never comes back | §4.4 |
//! | [`convergence()`] | after quiescence every replica holds the same sibling set | §4.7, §5 |
//! | [`linearizable()`] | (strict mode only) each key behaves like one register | §2.3, §4.5 |
//!
//! Dynamo promises the first four. The fifth it does *not* promise: it is an eventually
//! consistent store, and a partition lets a sloppy quorum accept a write that a later read
//! misses. The linearizability checker is there to show exactly that history in `eventual` mode,
//! and to hold a `strict` configuration to the stronger promise.
//!
//! # Layout
//! - [`clock`]: vector clocks as plain counters, and their partial order.
//! - [`history`]: the recorded history (events, operations, results) and its rendering.
//! - [`violation`]: what a checker reports.
//! - [`lost_writes`](mod@lost_writes), [`siblings`], [`resurrection`], [`convergence`](mod@convergence),
//!   [`linearizability`]: one checker per file.
//! - [`generate`]: seeded random register histories, for tests and benchmarks.

#![deny(missing_docs)]

pub mod clock;
pub mod convergence;
pub mod generate;
pub mod history;
pub mod linearizability;
pub mod lost_writes;
pub mod resurrection;
pub mod siblings;
pub mod violation;

pub use clock::{Clock, Order, compare, descends, format_clock};
pub use convergence::convergence;
pub use history::{Event, History, Item, Op, OpResult, ReplicaState};
pub use linearizability::linearizable;
pub use lost_writes::lost_writes;
pub use resurrection::no_resurrection;
pub use siblings::siblings_surface;
pub use violation::Violation;
