//! What nodes say to each other: the envelope's body.

use std::collections::BTreeMap;

use dynamo_common::NodeId;
use dynamo_common::sim::{Request, Response};
use serde::{Deserialize, Serialize};

use crate::{Hash, Siblings};

/// A message between two nodes of the store. The host moves it; only nodes look inside.
pub type Envelope = dynamo_common::host::Envelope<Body>;

/// Every message body of the store, requests and answers alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Body {
    /// Stages 3 and 6 talking to a replica: a put, handoff or repair (`Request::Put`, the
    /// envelope's kind tells which), a hint, or a get.
    Request(Request<Siblings>),
    /// A replica's answer to a [`Body::Request`].
    Response(Response<Siblings>),
    /// Gossip: the sender's view of the membership. Answered with the receiver's view, merged.
    Gossip(Membership),
    /// Anti-entropy, opening: the root of the sender's Merkle tree (stage 5) over the keys both
    /// nodes replicate. Answered with [`Body::InSync`] when the receiver's root is the same,
    /// with [`Body::Entries`] (the receiver's side of those keys) otherwise.
    SyncRoot(Hash),
    /// Anti-entropy, opening, for trees that can differ in a few places while writes are in
    /// flight: the hashes of one level of the sender's Merkle tree (stage 5's `node(level, i)`
    /// for every `i`, in order) over the keys both nodes replicate. Answered with
    /// [`Body::InSync`] when every one matches the receiver's, with [`Body::Differing`]
    /// otherwise.
    SyncLevel {
        /// The level, `0` (the root) to the tree's depth (the leaves).
        level: u32,
        /// `2^level` hashes.
        hashes: Vec<Hash>,
    },
    /// Anti-entropy: the receiver's answer to a [`Body::SyncLevel`] that did not match.
    Differing {
        /// The level compared.
        level: u32,
        /// The nodes of that level whose hashes differ, in order.
        nodes: Vec<u64>,
        /// The receiver's side of the keys under those nodes.
        entries: Vec<(String, Siblings)>,
    },
    /// Anti-entropy: the receiver's root (or level) matched; nothing to do.
    InSync,
    /// Keys with their sibling sets: an anti-entropy side, a transfer on join or leave, or the
    /// keys a sync sends back. Answered with [`Body::Ack`] once merged and stored.
    Entries(Vec<(String, Siblings)>),
    /// Stored.
    Ack,
    /// The receiver could not make sense of the request (it says why).
    Refused(String),
}

/// One member as gossip knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's own counter, raised by it at every tick: a higher one is fresher news.
    pub heartbeat: u64,
    /// The member left the cluster for good (sticky: gossip never forgets it).
    pub left: bool,
}

/// A node's view of the membership: each member with its latest heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Membership(pub BTreeMap<NodeId, Member>);

impl Membership {
    /// Merges `other` into this view: per member the higher heartbeat, and `left` once either
    /// says so. Returns the members whose heartbeat advanced (fresh news of them).
    pub fn merge(&mut self, other: &Membership) -> Vec<NodeId> {
        let mut fresher = Vec::new();
        for (node, theirs) in &other.0 {
            // Every gossip answer comes here: look the member up before cloning its id.
            let mine = match self.0.get_mut(node) {
                Some(mine) => mine,
                None => self.0.entry(node.clone()).or_default(),
            };
            if theirs.heartbeat > mine.heartbeat {
                mine.heartbeat = theirs.heartbeat;
                fresher.push(node.clone());
            }
            mine.left |= theirs.left;
        }
        fresher
    }
}
