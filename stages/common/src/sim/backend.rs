//! The network handle's second backend: a host that carries one node's requests (stage 7).
//!
//! Stages 2 to 6 run against the simulator in this module, where the replicas are passive stores
//! inside the network. In stage 7 every replica is a node running its own logic, and the
//! coordinator is one of those nodes; the host (the grader's simulated cluster, or `cluster/`'s
//! HTTP) carries its requests to the other nodes and brings their answers back. Wrapping such a
//! host in a [`Network`](super::Network) with [`Network::hosted`](super::Network::hosted) lets
//! stage 3's and stage 6's coordinators run inside a node unchanged: `send_put`, `send_get`,
//! `send_hint`, `send_handoff`, `send_repair`, `hints`, `delete_hint` and `now_ms` all go
//! through the backend.

use std::sync::Arc;

use super::network::{Request, Response};
use super::{MessageKind, Network, NoReply};
use crate::request::RequestId;
use crate::{BoxFuture, NodeId};

/// What a host provides to one node's network handle. Object-safe, `Send + Sync`.
pub trait Backend<O>: Send + Sync + 'static {
    /// The node this handle belongs to: the sender of every request.
    fn me(&self) -> NodeId;

    /// Milliseconds since the host started (simulated in the grader, the wall clock in a real
    /// process): the only clock node logic reads.
    fn now_ms(&self) -> u64;

    /// Sends `request` (traced as `kind` with `detail`) to node `to` and waits for its answer.
    /// The host bounds the wait: it answers [`NoReply`] when `to` is down or silent. `id` is the
    /// client request the message belongs to, if any ([`crate::request`]); the host puts it on
    /// the envelope.
    fn request(
        &self,
        to: &NodeId,
        kind: MessageKind,
        detail: String,
        request: Request<O>,
        id: Option<RequestId>,
    ) -> BoxFuture<'static, Result<Response<O>, NoReply>>;

    /// The hints this node keeps for others, ordered by (primary, key).
    fn hints(&self) -> Vec<super::Hint<O>>;

    /// Deletes the hint this node keeps for `primary` under `key`; `false` when there was none.
    fn delete_hint(&self, primary: &NodeId, key: &str) -> bool;
}

impl<O> Network<O> {
    /// A network handle whose requests go through `backend` (a node's host) instead of the
    /// simulator. Trace, stores and faults of the simulator are not used: the host keeps its own.
    pub fn hosted(backend: Arc<dyn Backend<O>>) -> Self
    where
        O: super::StoredObject,
    {
        let mut network = Network::new(super::NetworkConfig::default(), Vec::new());
        network.backend = Some(backend);
        network
    }
}
