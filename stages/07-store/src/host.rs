//! What the host gives a node: its six stages, a transport, storage and the clock.

use std::sync::{Arc, MutexGuard};

use dynamo_common::host::{SharedStorage, Storage, Transport};
use dynamo_common::request::RequestId;
use dynamo_common::sim::{Backend, Hint, MessageKind, NoReply, Request, Response};
use dynamo_common::{BoxFuture, NodeId};

use crate::{
    Body, DynReadRepair, DynSloppy, Envelope, FaultConfig, HashRing, Network, Replica, RingError,
    SiblingStores, Siblings, Stage4, VectorClocks, VersionStore,
};

/// Stage 3's constructor, writing sibling sets.
pub type NewSloppy =
    fn(FaultConfig, usize) -> Result<Box<dyn DynSloppy<Siblings>>, quorum::ConfigError>;

/// The six stages, as the host's implementation table chose them (yours or the reference's):
/// constructors only, so your node builds what it needs and stays free of generics.
#[derive(Clone, Copy)]
pub struct Stages {
    /// Stage 1: an empty ring with this many tokens per node.
    pub ring: fn(u32) -> Result<Box<dyn HashRing>, RingError>,
    /// Stage 1: the ring position of a key.
    pub position: fn(&str) -> u64,
    /// Stage 3: a sloppy-quorum coordinator writing sibling sets.
    pub sloppy: NewSloppy,
    /// Stage 6: a read-repair coordinator waiting for this many replies.
    pub read_repair: fn(usize) -> Box<dyn DynReadRepair>,
    /// Stage 4: the clock rules.
    pub clocks: fn() -> Box<dyn VectorClocks>,
    /// Stage 4: an empty sibling store truncating clocks to this many entries.
    pub new_store: fn(usize) -> Box<dyn VersionStore>,
    /// Stage 5: an empty Merkle replica of this depth.
    pub replica: fn(u32) -> Box<dyn Replica>,
}

impl Stages {
    /// Stage 4 as stage 6 takes it.
    pub fn stage4(&self) -> Stage4 {
        Stage4::new((self.clocks)(), self.new_store)
    }

    /// Stage 4 as stage 5's sync takes it.
    pub fn sibling_stores(&self) -> SiblingStores {
        SiblingStores::new(self.new_store)
    }
}

impl std::fmt::Debug for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stages")
    }
}

/// One node's host: a transport to the other nodes, the node's storage, and the clock.
/// Cheap to clone.
#[derive(Clone)]
pub struct Host {
    transport: Arc<dyn Transport<Body>>,
    storage: SharedStorage<Siblings>,
}

impl Host {
    /// A host from its transport and storage (the grader and `cluster/` build this).
    pub fn new(transport: Arc<dyn Transport<Body>>, storage: SharedStorage<Siblings>) -> Self {
        Self { transport, storage }
    }

    /// The same transport over another storage (the grader's mutants wrap a node's storage).
    pub fn with_storage(&self, storage: SharedStorage<Siblings>) -> Self {
        Self {
            transport: Arc::clone(&self.transport),
            storage,
        }
    }

    /// The same storage over another transport, made from this one (the grader's mutants wrap a
    /// node's transport).
    pub fn with_transport(
        &self,
        wrap: impl FnOnce(Arc<dyn Transport<Body>>) -> Arc<dyn Transport<Body>>,
    ) -> Self {
        Self {
            transport: wrap(Arc::clone(&self.transport)),
            storage: Arc::clone(&self.storage),
        }
    }

    /// This node's name.
    pub fn me(&self) -> NodeId {
        self.transport.me()
    }

    /// Milliseconds since the host started: the only clock a node reads.
    pub fn now_ms(&self) -> u64 {
        self.transport.now_ms()
    }

    /// How long the transport waits for an answer, in ms.
    pub fn timeout_ms(&self) -> u64 {
        self.transport.timeout_ms()
    }

    /// The node's storage, unlocked and shared.
    pub fn shared_storage(&self) -> SharedStorage<Siblings> {
        Arc::clone(&self.storage)
    }

    /// The node's storage, locked. Do not hold the guard across an `.await`.
    pub fn storage(&self) -> MutexGuard<'_, dyn Storage<Siblings> + 'static> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.storage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The network handle stages 3 and 6 take: their `send_put`, `send_get`, `send_hint`,
    /// `send_handoff`, `send_repair` go through this host, and `hints`/`delete_hint` read this
    /// node's hint store.
    pub fn network(&self) -> Network {
        Network::hosted(Arc::new(PeerBackend { host: self.clone() }))
    }

    /// Sends `body` to node `to` (traced as `kind` with `detail`) and waits for the answer. The
    /// host tags it with the client request being served, if any (`dynamo_common::request`).
    ///
    /// # Errors
    /// [`NoReply`] when `to` is down, cut off, or silent past the timeout.
    pub async fn send(
        &self,
        to: &NodeId,
        kind: MessageKind,
        detail: String,
        body: Body,
    ) -> Result<Body, NoReply> {
        let envelope = Envelope {
            from: self.me(),
            to: to.clone(),
            kind,
            detail,
            body,
            request: dynamo_common::request::current(),
        };
        self.transport.send(envelope).await.map(|e| e.body)
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Host({})", self.me())
    }
}

/// Stages 3 and 6's network requests, carried as [`Body::Request`] envelopes by the host.
struct PeerBackend {
    host: Host,
}

impl Backend<Siblings> for PeerBackend {
    fn me(&self) -> NodeId {
        self.host.me()
    }

    fn now_ms(&self) -> u64 {
        self.host.now_ms()
    }

    fn request(
        &self,
        to: &NodeId,
        kind: MessageKind,
        detail: String,
        request: Request<Siblings>,
        id: Option<RequestId>,
    ) -> BoxFuture<'static, Result<Response<Siblings>, NoReply>> {
        let envelope = Envelope {
            from: self.host.me(),
            to: to.clone(),
            kind,
            detail,
            body: Body::Request(request),
            request: id,
        };
        let transport = Arc::clone(&self.host.transport);
        let (node, timeout_ms) = (to.clone(), self.host.timeout_ms());
        Box::pin(async move {
            match transport.send(envelope).await?.body {
                Body::Response(response) => Ok(response),
                // A node that answers nonsense has, for a coordinator, not answered.
                _ => Err(NoReply::Timeout { node, timeout_ms }),
            }
        })
    }

    fn hints(&self) -> Vec<Hint<Siblings>> {
        self.host.storage().hints()
    }

    fn delete_hint(&self, primary: &NodeId, key: &str) -> bool {
        self.host.storage().delete_hint(primary, key)
    }
}
