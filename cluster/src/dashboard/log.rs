//! The node's own record of recent client requests and their messages, for the request diagrams.
//!
//! Every event of a client request goes through [`emit_request`] (the request's own) or
//! [`emit_exchange`] (one of its messages'): it is announced on the live stream
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
//!
//! A node sends and receives several messages per client request, so the events are kept as
//! records ([`ClientRequest`], [`Exchange`]) and made JSON only when the live stream or the
//! dashboard reads them: building a JSON object per message, and then per request, showed in
//! profiles under load.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Mutex;

use dynamo_common::NodeId;
use dynamo_common::request::RequestId;
use serde_json::Value;
use store::MessageKind;
use tokio::sync::broadcast;

/// How many request events a node keeps.
pub const KEPT: usize = 20_000;

/// How many client requests `/dash/api/local/requests` lists.
pub const LISTED: usize = 100;

static KEPT_EVENTS: Mutex<VecDeque<Kept>> = Mutex::new(VecDeque::new());

/// One kept event: a client request's or one of its messages'.
enum Kept {
    Request(ClientRequest),
    Exchange(Exchange),
}

impl Kept {
    fn to_json(&self) -> Value {
        match self {
            Kept::Request(r) => r.to_json(),
            Kept::Exchange(e) => e.to_json(),
        }
    }

    fn is_of(&self, id: &str) -> bool {
        let request = match self {
            Kept::Request(r) => Some(&r.request),
            Kept::Exchange(e) => e.request.as_ref(),
        };
        request.is_some_and(|r| r.to_string() == id)
    }
}

/// The event of one client request, once answered (see the module's doc). Kept as it is and
/// made JSON only when read, as [`Exchange`] is.
pub struct ClientRequest {
    /// The coordinating node.
    pub node: NodeId,
    /// When it was answered.
    pub t_ms: u64,
    /// `put`, `get` or `delete`.
    pub kind: &'static str,
    /// The key.
    pub key: String,
    /// Its id.
    pub request: RequestId,
    /// When the node received it.
    pub started_ms: u64,
    /// How it ended: `acknowledged`, `N values`, or the error.
    pub outcome: Cow<'static, str>,
}

impl ClientRequest {
    /// The event as `/events` and the dashboard show it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "node": self.node, "t_ms": self.t_ms, "kind": self.kind, "key": self.key,
            "request": self.request.to_string(), "started_ms": self.started_ms,
            "outcome": self.outcome,
        })
    }
}

/// Announces the client request `event` on the live stream (when anyone listens) and keeps it.
pub fn emit_request(events: &broadcast::Sender<String>, event: ClientRequest) {
    if events.receiver_count() > 0 {
        let _ = events.send(event.to_json().to_string());
    }
    keep(Kept::Request(event));
}

/// The event of one peer exchange (see the module's doc): `direction` `sent` or `received`,
/// `started_ms` when it was sent or received, `t_ms` when it ended.
pub struct Exchange {
    /// The node recording it.
    pub node: NodeId,
    /// When the exchange ended.
    pub t_ms: u64,
    /// The message's kind.
    pub kind: MessageKind,
    /// `sent` or `received`.
    pub direction: &'static str,
    /// The other node.
    pub peer: NodeId,
    /// The message's detail line.
    pub detail: String,
    /// `answered`, or why not.
    pub outcome: Cow<'static, str>,
    /// The client request it belongs to.
    pub request: Option<RequestId>,
    /// The sender's number for the message.
    pub message: Option<u64>,
    /// When it was sent (`sent`) or received (`received`).
    pub started_ms: u64,
}

impl Exchange {
    /// The event as `/events` and the dashboard show it.
    pub fn to_json(&self) -> Value {
        let mut event = serde_json::json!({
            "node": self.node, "t_ms": self.t_ms, "kind": self.kind.to_string(),
            "direction": self.direction, "peer": self.peer, "detail": self.detail,
            "outcome": self.outcome,
        });
        let started = if self.direction == "sent" {
            "sent_ms"
        } else {
            "received_ms"
        };
        event[started] = self.started_ms.into();
        if let Some(request) = &self.request {
            event["request"] = request.to_string().into();
        }
        if let Some(message) = self.message {
            event["message"] = message.into();
        }
        event
    }
}

/// Announces the exchange `event` on the live stream (when anyone listens) and keeps it when it
/// belongs to a client request.
pub fn emit_exchange(events: &broadcast::Sender<String>, event: Exchange) {
    if events.receiver_count() > 0 {
        let _ = events.send(event.to_json().to_string());
    }
    if event.request.is_some() {
        keep(Kept::Exchange(event));
    }
}

fn keep(event: Kept) {
    let mut kept = KEPT_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() == KEPT {
        kept.pop_front();
    }
    kept.push_back(event);
}

/// Whether `event` is a client request's own event (not one of its messages).
pub fn is_client_request(event: &Value) -> bool {
    event.get("direction").is_none() && event.get("started_ms").is_some()
}

/// The kept events of request `id`, in the order they were kept.
pub fn of_request(id: &str) -> Vec<Value> {
    let kept = KEPT_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    kept.iter()
        .filter(|e| e.is_of(id))
        .map(Kept::to_json)
        .collect()
}

/// The last [`LISTED`] client requests this node coordinated, newest first.
pub fn recent_requests() -> Vec<Value> {
    let kept = KEPT_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    kept.iter()
        .rev()
        .filter_map(|e| match e {
            Kept::Request(r) => Some(r.to_json()),
            Kept::Exchange(_) => None,
        })
        .take(LISTED)
        .collect()
}
