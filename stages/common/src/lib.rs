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

#![deny(missing_docs)]

pub mod diagram;
mod node;
pub mod sim;

pub use node::NodeId;
