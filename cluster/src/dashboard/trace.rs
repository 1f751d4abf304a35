//! What the node tells the dashboard beyond its event log: each client request's messages (for
//! the sequence diagrams) and when anti-entropy last ran with each peer.
//!
//! The coordinator calls [`request`] when a put, delete or get starts, [`message`] when each
//! replica's answer (or its absence) is known, and [`done`] when the client is answered. They
//! become events of kind `message` and `done` on the node's ordinary event stream (`/events`),
//! carrying the request's id, so the page can group them into one diagram per request and tell a
//! reply that came after the answer (late, nobody waiting) from one that counted. Nothing is
//! stored: with no one listening, the events cost nothing. Anti-entropy rounds are counted per
//! peer in [`Syncs`], which `/dash/api/node` reports as the Merkle panel's "last sync".

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use dynamo_common::NodeId;
use serde::Serialize;

use crate::node::{Node, NodeError};
use crate::peer::Reply;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A new request id, unique within this node process.
pub fn request() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// How one peer message of a request ended, in the diagram's terms.
fn fate(result: &Result<Reply, NodeError>) -> &'static str {
    match result {
        Ok(_) => "arrives",
        // The transport says why in words only; a refused peer is the operator's partition.
        Err(e) if e.to_string().contains("partition") => "partitioned",
        Err(_) => "lost-node-down",
    }
}

/// Reports one message of request `req`: sent to `to` at `sent_ms` as `kind` (`put`, `hint`,
/// `get`, `repair`), its outcome known now.
pub fn message(
    node: &Node,
    req: u64,
    to: &NodeId,
    kind: &str,
    detail: &str,
    sent_ms: u64,
    result: &Result<Reply, NodeError>,
) {
    node.emit(
        "message",
        serde_json::json!({
            "req": req, "to": to, "msg": kind, "detail": detail, "sent_ms": sent_ms,
            "at_ms": node.now_ms(), "fate": fate(result),
        }),
    );
}

/// Reports that request `req` (`put`, `delete` or `get` of `key`) answered its client.
pub fn done(node: &Node, req: u64, op: &str, key: &str, started_ms: u64, answer: &str) {
    node.emit(
        "done",
        serde_json::json!({
            "req": req, "op": op, "key": key, "started_ms": started_ms, "answer": answer,
        }),
    );
}

/// One peer's anti-entropy record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncRecord {
    /// When the last round with this peer finished (node ms).
    pub last_ms: u64,
    /// Rounds run.
    pub rounds: u64,
    /// Whether the last round found every shared key equal.
    pub equal: bool,
}

/// Anti-entropy rounds per peer (one node per process, so one table per process).
pub struct Syncs;

static SYNCS: Mutex<BTreeMap<String, SyncRecord>> = Mutex::new(BTreeMap::new());

impl Syncs {
    /// Records a finished round with `peer`; `equal` when nothing had to move.
    pub fn record(node: &Node, peer: &NodeId, equal: bool) {
        let mut syncs = SYNCS.lock().unwrap_or_else(|e| e.into_inner());
        let entry = syncs.entry(peer.to_string()).or_default();
        entry.last_ms = node.now_ms();
        entry.rounds += 1;
        entry.equal = equal;
    }

    /// Every peer's record.
    pub fn all() -> BTreeMap<String, SyncRecord> {
        SYNCS.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
