//! Stage 1: the consistent hash ring (Dynamo paper, §4.2).
//!
//! This file is the **contract**: the trait your ring implements and the types it speaks. Read it,
//! do not edit it. Your code goes in `src/solution.rs`; the assignment, with every
//! rule worked through by hand, is `stages/01-hash-ring/README.md`.
//!
//! # The rules, in one place
//! - **Position** of a string `s`: the first 8 bytes of SHA-256(`s`), read as a big-endian `u64`.
//! - **Tokens**: virtual node `i` (0-based) of node `X` sits at the position of the string `"X#i"`.
//!   Tokens are ordered by `(position, node, vnode)`; that order breaks ties between equal
//!   positions.
//! - **Ownership**: a key belongs to the first token at or after its position; past the largest
//!   token it wraps around to the smallest. A token therefore owns the range
//!   `(previous token, token]`.
//! - **Preference list**: walk clockwise from the owning token and collect *distinct physical*
//!   nodes until there are `n` (fewer if the ring has fewer nodes).
//! - **Transfers**: a membership change moves one range per token of the node that joins or
//!   leaves; see [`HashRing::add_node`].
//!
//! # Layout
//! - [`HashRing`]: the trait the grader calls.
//! - [`Token`], [`Range`], [`Transfer`]: what the ring reports.
//! - [`RingError`]: everything that can go wrong, with the data needed to say why.
//! - `src/solution.rs`: your ring, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.
//!
//! The types derive `Serialize`, `Deserialize` and `JsonSchema` so that case files can name them
//! and editors can check those files; you never need these derives yourself.

#![deny(missing_docs)]

use std::fmt;

pub use dynamo_common::NodeId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A consistent hash ring with virtual nodes.
///
/// Implement every method; none has a default. The grader builds a ring with [`HashRing::new`],
/// adds the case's nodes with [`HashRing::add_node`], then runs the case's steps against it.
pub trait HashRing {
    /// Creates an empty ring in which every node will get `vnodes_per_node` tokens.
    ///
    /// # Errors
    /// [`RingError::ZeroVnodes`] when `vnodes_per_node` is 0: such a node could own nothing.
    fn new(vnodes_per_node: u32) -> Result<Self, RingError>
    where
        Self: Sized;

    /// The ring position of a string: the first 8 bytes of SHA-256(`s`) as a big-endian `u64`.
    ///
    /// Used both for keys (`position("user-42")`) and for tokens (`position("A#0")`).
    fn position(s: &str) -> u64
    where
        Self: Sized;

    /// Adds a physical node with its tokens and returns the ranges it takes over.
    ///
    /// One [`Transfer`] per token of the new node, in token order: the token's range
    /// `(previous token, token]` in the new ring, `from` the node that owned that token's position
    /// before the join, `to` the new node. Joining an empty ring transfers nothing.
    ///
    /// # Errors
    /// [`RingError::DuplicateNode`] when the node is already in the ring.
    fn add_node(&mut self, node: NodeId) -> Result<Vec<Transfer>, RingError>;

    /// Adds a physical node whose tokens sit at the given positions instead of hashed ones:
    /// virtual node `i` at `positions[i]` (so the node has `positions.len()` tokens, whatever
    /// the ring's `vnodes_per_node`). Everything else is [`HashRing::add_node`]'s rule, transfers
    /// included; the node leaves with [`HashRing::remove_node`] like any other. Cases use it to
    /// place tokens by hand (`tokens: {A: [100, 900], B: [500]}`).
    ///
    /// # Errors
    /// [`RingError::DuplicateNode`] when the node is already in the ring;
    /// [`RingError::ZeroVnodes`] when `positions` is empty.
    fn add_node_at(&mut self, node: NodeId, positions: &[u64]) -> Result<Vec<Transfer>, RingError>;

    /// Removes a physical node and its tokens and returns the ranges others take over.
    ///
    /// One [`Transfer`] per token of the leaving node, in token order: the token's range
    /// `(previous token, token]` in the ring before the leave, `from` the leaving node, `to` the
    /// node that owns that position after it. Removing the last node transfers nothing.
    ///
    /// # Errors
    /// [`RingError::UnknownNode`] when the node is not in the ring.
    fn remove_node(&mut self, node: &NodeId) -> Result<Vec<Transfer>, RingError>;

    /// Every token on the ring, in ring order (by position, then node, then vnode index).
    fn tokens(&self) -> Vec<Token>;

    /// The node that owns `key`: the node of the first token at or after the key's position,
    /// wrapping around past the largest token.
    ///
    /// # Errors
    /// [`RingError::EmptyRing`] when the ring has no nodes.
    fn owner(&self, key: &str) -> Result<NodeId, RingError>;

    /// The first `n` distinct physical nodes met walking clockwise from the key's owning token,
    /// the owner first. Shorter than `n` when the ring has fewer than `n` nodes; empty for `n = 0`.
    ///
    /// # Errors
    /// [`RingError::EmptyRing`] when the ring has no nodes.
    fn preference_list(&self, key: &str, n: usize) -> Result<Vec<NodeId>, RingError>;
}

/// One virtual node: a point on the ring owned by a physical node.
///
/// The derived order is the ring order the course uses: position, then node, then vnode index.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Where the token sits: `position("{node}#{vnode}")`.
    pub position: u64,
    /// The physical node this token belongs to.
    pub node: NodeId,
    /// The token's index among its node's tokens, from 0.
    pub vnode: u32,
}

/// An arc of the ring: the positions `p` with `start < p <= end`, going clockwise.
///
/// When `start >= end` the arc wraps past the top of the ring: it holds the positions greater than
/// `start` and those at most `end`. (`start == end` is the whole ring.)
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Exclusive lower end: the previous token's position.
    pub start: u64,
    /// Inclusive upper end: the token's position.
    pub end: u64,
}

impl Range {
    /// Whether `position` lies on this arc.
    pub fn contains(&self, position: u64) -> bool {
        if self.start < self.end {
            self.start < position && position <= self.end
        } else {
            position > self.start || position <= self.end
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}]", self.start, self.end)
    }
}

/// A range of keys that changes hands when a node joins or leaves.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The keys that move.
    pub range: Range,
    /// The node that owned them before the change.
    pub from: NodeId,
    /// The node that owns them after the change.
    pub to: NodeId,
}

/// What can go wrong on a ring.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RingError {
    /// A lookup on a ring with no nodes.
    #[error("the ring has no nodes")]
    EmptyRing,
    /// `add_node` for a node that is already in the ring.
    #[error("node {0} is already in the ring")]
    DuplicateNode(NodeId),
    /// `remove_node` for a node that is not in the ring.
    #[error("node {0} is not in the ring")]
    UnknownNode(NodeId),
    /// `new(0)`: a node without tokens could own nothing.
    #[error("a node needs at least one virtual node")]
    ZeroVnodes,
}
