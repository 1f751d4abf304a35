//! Peer traffic: the messages nodes exchange, and the HTTP transport that carries them.
//!
//! A message crosses the wire as an [`Envelope`] (from, to, body) in JSON, POSTed to the
//! receiver's `/peer`; the answer comes back in the response body. The transport refuses to send
//! to, and the receiver refuses to hear from, nodes on the other side of a partition the operator
//! made (`cargo dynamo partition`), which is how faults reach real processes.

use std::collections::BTreeMap;
use std::time::Duration;

use dynamo_common::NodeId;
use serde::{Deserialize, Serialize};

use crate::versions::Stored;

/// One peer message with its addressing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The sender's address, so receivers learn of members by hearing from them.
    pub from_addr: String,
    /// The receiver.
    pub to: NodeId,
    /// What is asked.
    pub body: Msg,
}

/// A request from one node to another.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Msg {
    /// Heartbeat carrying the sender's member list (gossip).
    Ping {
        /// Name to address of every member the sender knows.
        members: BTreeMap<NodeId, String>,
    },
    /// Store versions of a key; `hint_for` names the down primary this copy stands in for.
    Store {
        /// The key.
        key: String,
        /// The versions to add.
        versions: Vec<Stored>,
        /// The primary this copy is kept for, when the receiver is a fallback.
        hint_for: Option<NodeId>,
    },
    /// Read a key's versions.
    Read {
        /// The key.
        key: String,
    },
    /// Anti-entropy: the sender's digest of every key both replicate.
    Sync {
        /// Key to the digest of the sender's siblings.
        digests: BTreeMap<String, u64>,
    },
}

/// An answer to a [`Msg`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reply {
    /// Answer to a ping: the receiver's member list.
    Pong {
        /// Name to address of every member the receiver knows.
        members: BTreeMap<NodeId, String>,
    },
    /// A store is durable.
    Ack,
    /// A read's answer.
    Versions {
        /// The receiver's siblings of the key, tombstones included.
        versions: Vec<Stored>,
    },
    /// Anti-entropy's answer: versions the sender lacks, and the keys whose versions it should
    /// send back.
    Synced {
        /// Key to the receiver's versions where digests differ or the sender had none.
        push: BTreeMap<String, Vec<Stored>>,
        /// Keys the receiver wants the sender's versions of.
        want: Vec<String>,
    },
}

/// Why a peer request failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The operator's partition forbids talking to this node.
    #[error("{0} is on the other side of a partition")]
    Partitioned(NodeId),
    /// No address is known for the node.
    #[error("no address known for {0}")]
    UnknownNode(NodeId),
    /// The request failed or timed out.
    #[error("{node}: {message}")]
    Http {
        /// The peer.
        node: NodeId,
        /// What failed.
        message: String,
    },
}

/// The HTTP client side of the transport.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    /// A pooled client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .expect("a plain HTTP client builds");
        Self { client }
    }

    /// Sends `envelope` to `addr` and returns the answer.
    pub async fn call(&self, addr: &str, envelope: &Envelope) -> Result<Reply, PeerError> {
        let fail = |message: String| PeerError::Http {
            node: envelope.to.clone(),
            message,
        };
        let body = serde_json::to_vec(envelope).map_err(|e| fail(e.to_string()))?;
        let response = self
            .client
            .post(format!("http://{addr}/peer"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("bad reply: {e}")))
    }
}
