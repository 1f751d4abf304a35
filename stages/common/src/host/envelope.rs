//! The envelope a message travels in, and the transport that moves envelopes between nodes.

use serde::{Deserialize, Serialize};

use crate::request::RequestId;
use crate::sim::{MessageKind, NoReply};
use crate::{BoxFuture, NodeId};

/// One message between two nodes: who, to whom, what kind, a one-line detail for traces, and a
/// body only the node logic interprets (`B`, serializable: JSON on a real host's wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<B> {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The kind, as traces show it and drop rules select it.
    pub kind: MessageKind,
    /// One line for traces and logs, such as `cart-1 = [=book {A: 1@0}]`.
    pub detail: String,
    /// The content.
    pub body: B,
    /// The client request this message belongs to (its answer carries the same), when it was
    /// sent while one was being served: see [`crate::request`]. Set by the host, never by node
    /// code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestId>,
}

/// Moves envelopes for one node: request and response. Object-safe, `Send + Sync`.
///
/// `send` delivers `envelope` to `envelope.to`, whose node handles it, and resolves to the
/// answering envelope (its kind and detail chosen by the answering node). It gives up with
/// [`NoReply`] when the receiver is down, unreachable, or silent past the host's timeout, so
/// a caller never hangs. Whether a request was applied when no answer came is unknown, as on a
/// real network.
pub trait Transport<B>: Send + Sync + 'static {
    /// The node this transport sends for.
    fn me(&self) -> crate::NodeId;

    /// Milliseconds since the host started: simulated in the grader, wall clock in a process.
    fn now_ms(&self) -> u64;

    /// How long `send` waits for an answer before [`NoReply::Timeout`], in ms.
    fn timeout_ms(&self) -> u64;

    /// Sends a request and waits for the answer (or gives up).
    fn send(&self, envelope: Envelope<B>) -> BoxFuture<'static, Result<Envelope<B>, NoReply>>;
}
