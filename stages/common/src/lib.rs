//! Shared vocabulary of the Mini-Dynamo course.
//!
//! Every stage speaks about the same things: physical nodes (servers) and the keys and values a
//! client stores. They live here so that stage 2 can hand stage 1's preference list to stage 3
//! without conversions, and so that the grader, the reference and your solution agree on them.
//!
//! # Layout
//! - [`NodeId`]: the name of a physical node, such as `A` or `node-7`.
//!
//! Later stages add the simulated network here, in its own module.

#![deny(missing_docs)]

mod node;

pub use node::NodeId;
