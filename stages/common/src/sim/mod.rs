//! A deterministic simulated network of replicas.
//!
//! A coordinator (your code) sends requests to replicas and awaits their replies. Everything runs
//! on tokio's *paused* clock in a current-thread runtime: time only moves when every task is
//! waiting, and then it jumps straight to the next timer. A 30 s timeout therefore costs
//! microseconds, and the same case gives the same result, and the same [`Trace`], on every machine.
//!
//! # The rules
//! - **Latency**: every node has a one-way latency; a message between two endpoints takes the
//!   sum of theirs, unless a [`Link`] sets that direction explicitly. The coordinator's own
//!   latency is 0 unless configured, so a round trip to a node with latency 10 ms takes 20 ms.
//! - **Down nodes** never answer: a request to one is lost, and the sender's transport reports
//!   [`NoReply::Down`] when the reply would have come back (a refused connection).
//! - **Dropped messages** ([`DropRule`], or the seeded `drop_rate`) vanish. A replica still
//!   applies a request whose *reply* is dropped. The sender gets [`NoReply::Timeout`].
//! - **Timeout**: a reply must arrive strictly before `timeout_ms` after its request was sent;
//!   otherwise the sender gets [`NoReply::Timeout`] at that moment, and the late reply is still
//!   delivered (and traced) but nobody is waiting for it.
//! - **Crashes and partitions** (stage 3): a node can crash (it is down from then on, keeping
//!   its data) and recover; a partition cuts a set of nodes off from everyone else
//!   ([`Fate::Partitioned`]: the sender hears nothing and times out). Whether a message is lost
//!   is decided when it is sent.
//! - Messages keep travelling after the coordinator stops waiting: a write sent to a slow
//!   replica lands there later. [`Network::settle`] waits until nothing is in flight.
//!
//! # Layout
//! - [`Network`]: the handle a coordinator sends through (cheap to clone, `Send`).
//! - [`NetworkConfig`], [`Link`], [`DropRule`], [`MessageKind`]: how a case shapes the network.
//! - [`StoredObject`], [`Versioned`]: what replicas store; later stages store richer objects.
//! - [`Trace`], [`TraceEntry`]: every message, in time order.
//! - [`FaultEvent`]: crashes, recoveries, partitions and heals, now or at a simulated time
//!   (stage 3).
//! - [`Hint`]: a write a fallback keeps for a down primary, and its handoff (stage 3).
//! - [`Backend`]: the network handle's second backend (stage 7): a node of a real or simulated
//!   cluster sends its requests ([`Request`], answered by a [`Response`]) through its host, so
//!   stage 3's and stage 6's coordinators run unchanged inside a node.

mod backend;
mod config;
mod faults;
mod hints;
mod network;
mod object;
mod repair;
mod rng;
mod trace;

pub use backend::Backend;
pub use config::{DropRule, Link, MessageKind, NetworkConfig};
pub use faults::FaultEvent;
pub use hints::Hint;
pub use network::{Ack, Network, NoReply, Request, Response};
pub use object::{StoredObject, Versioned};
pub use trace::{Fate, Trace, TraceEntry};
