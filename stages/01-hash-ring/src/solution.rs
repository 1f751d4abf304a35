//! Your consistent hash ring. This is the only file you edit in stage 1.
//!
//! Replace each `todo!()` with your code, then run `cargo grade hash-ring` and watch the tracks
//! turn green. The rules are in `stages/01-hash-ring/README.md`; every method's contract is on the
//! [`HashRing`] trait in `src/lib.rs`.
//!
//! A good order: `position` (track `ring-placement`), `new`, `add_node` and `tokens`
//! (`virtual-nodes`), `owner`, `preference_list` (`preference-list`), then the transfers that
//! `add_node` and `remove_node` return (`membership-changes`).

use crate::{HashRing, NodeId, RingError, Token, Transfer};

/// Your ring. Choose its fields: what does `owner` need to find a token quickly?
pub struct Ring {
    // TODO(README.md § "Your task"): add the fields your ring needs.
}

impl HashRing for Ring {
    fn new(vnodes_per_node: u32) -> Result<Self, RingError> {
        // TODO(README.md § "Tokens and virtual nodes")
        todo!("create a ring with vnodes_per_node = {vnodes_per_node}")
    }

    fn position(s: &str) -> u64 {
        // TODO(README.md § "Positions"): SHA-256 from the `sha2` crate, first 8 bytes, big-endian.
        todo!("the ring position of {s:?}")
    }

    fn add_node(&mut self, node: NodeId) -> Result<Vec<Transfer>, RingError> {
        // TODO(README.md § "Membership changes")
        todo!("add node {node}")
    }

    fn add_node_at(&mut self, node: NodeId, positions: &[u64]) -> Result<Vec<Transfer>, RingError> {
        // TODO(README.md § "Tokens placed by hand"): like add_node, with these positions.
        todo!("add node {node} with tokens at {positions:?}")
    }

    fn remove_node(&mut self, node: &NodeId) -> Result<Vec<Transfer>, RingError> {
        // TODO(README.md § "Membership changes")
        todo!("remove node {node}")
    }

    fn tokens(&self) -> Vec<Token> {
        // TODO(README.md § "Tokens and virtual nodes")
        todo!("list the ring's tokens")
    }

    fn owner(&self, key: &str) -> Result<NodeId, RingError> {
        // TODO(README.md § "Ownership")
        todo!("find the owner of {key:?}")
    }

    fn preference_list(&self, key: &str, n: usize) -> Result<Vec<NodeId>, RingError> {
        // TODO(README.md § "Preference lists")
        todo!("the first {n} distinct nodes for {key:?}")
    }
}
