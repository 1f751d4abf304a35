//! Shared vocabulary of the Mini-Dynamo course.
//!
//! Every stage speaks about the same things: physical nodes (servers) and the keys and values a
//! client stores. They live here so that stage 2 can hand stage 1's preference list to stage 3
//! without conversions, and so that the grader, the reference and your solution agree on them.
//!
//! # Layout
//! - [`NodeId`]: the name of a physical node, such as `A` or `node-7`.
//! - [`sim`]: the simulated network every networked stage (2, 3, 6) runs on: replicas behind
//!   links with latency, nodes that are down, dropped messages, and a trace of every message.
//! - [`diagram`]: the script that draws a trace as a message sequence diagram in a web page (the
//!   grader's HTML report, the cluster's dashboard).
//! - [`host`]: what a host gives a stage-7 node: the [`host::Envelope`] its messages travel in,
//!   the [`host::Transport`] that moves them, and the [`host::Storage`] that keeps its data.
//! - [`request`]: the id of a client request, which every message it causes carries.
//! - [`BoxFuture`], [`LocalBoxFuture`]: boxed futures, for traits that must stay object-safe.

#![deny(missing_docs)]

pub mod diagram;
pub mod host;
mod node;
pub mod request;
pub mod sim;

pub use node::NodeId;

/// A boxed future that may move between threads (what a host's transport returns).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A boxed future that need not be `Send`: node logic and coordinators run on one thread.
pub type LocalBoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;
