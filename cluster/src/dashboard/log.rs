//! The node's own record of recent client requests and their messages, for the request diagrams.
//!
//! Every event the node emits goes through [`emit`]: it is announced on the live stream
//! (`/events`) when someone listens, and, when it belongs to a client request (it carries a
//! `request` id), it is also kept here, whether or not anyone listens, so a diagram can be drawn
//! for any recent request, not only for those a page saw live. One node runs per process, so the
//! record is a process-wide ring of the last [`KEPT`] such events; the dashboard reads it at
//! `/dash/api/local/...` and merges every member's ([`super::requests`]).
//!
//! # The events of a request (one JSON object each; times are ms since the Unix epoch)
//! - the client's request, at the coordinator, once answered: `{"node", "kind": "put" | "get" |
//!   "delete", "key", "request", "started_ms", "t_ms" (answered), "outcome"}`;
//! - each message the node sent for it, once its exchange ended: `{"node", "direction": "sent",
//!   "kind", "peer", "detail", "request", "message" (the sender's number for it), "sent_ms",
//!   "t_ms" (answer received, or given up), "outcome" ("answered" or why not)}`;
//! - each message the node received for it, once answered: `{"node", "direction": "received",
//!   "kind", "peer" (the sender), "detail", "request", "message", "received_ms", "t_ms"
//!   (answered), "outcome"}`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::broadcast;

/// How many request events a node keeps.
pub const KEPT: usize = 20_000;

/// How many client requests `/dash/api/local/requests` lists.
pub const LISTED: usize = 100;

static KEPT_EVENTS: Mutex<VecDeque<Value>> = Mutex::new(VecDeque::new());

/// Announces `event` on the live stream (when anyone listens) and keeps it when it belongs to
/// a client request.
pub fn emit(events: &broadcast::Sender<String>, event: Value) {
    if events.receiver_count() > 0 {
        let _ = events.send(event.to_string());
    }
    if event.get("request").is_some_and(|r| r.is_string()) {
        let mut kept = KEPT_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(event);
    }
}

/// Whether `event` is a client request's own event (not one of its messages).
pub fn is_client_request(event: &Value) -> bool {
    event.get("direction").is_none() && event.get("started_ms").is_some()
}

/// The kept events of request `id`, in the order they were kept.
pub fn of_request(id: &str) -> Vec<Value> {
    let kept = KEPT_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    kept.iter()
        .filter(|e| e["request"] == id)
        .cloned()
        .collect()
}

/// The last [`LISTED`] client requests this node coordinated, newest first.
pub fn recent_requests() -> Vec<Value> {
    let kept = KEPT_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    kept.iter()
        .rev()
        .filter(|e| is_client_request(e))
        .take(LISTED)
        .cloned()
        .collect()
}
