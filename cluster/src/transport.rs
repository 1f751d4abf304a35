//! The host's transport: stage-7 envelopes between node processes, the real-process backend of
//! [`Transport<Body>`].
//!
//! `send` hands the envelope to the link for its receiver ([`crate::link`]): one long-lived
//! connection per peer, opened on the peer's ordinary HTTP port and upgraded to the compact peer
//! protocol ([`crate::wire`]: length-prefixed MessagePack frames, numbered, many in flight, as
//! many per write as are queued). The receiver hands it to its node and answers with the node's
//! answering envelope once it is durable ([`crate::peer`]). The wait is bounded by the node's
//! timeout: a refused connection (the process is gone) or a connection that breaks is
//! [`NoReply::Down`], a deadline that passes is [`NoReply::Timeout`]. A failed link is dropped and
//! the next message to that peer opens a fresh one, so a killed and revived peer is reached again.
//! The operator's partitions (`cargo dynamo partition`, the `/admin/*` endpoints) live in
//! [`Peers`], shared by this sending side and the receiving side: a node sends nothing to, and
//! hears nothing from, a node it refuses.
//!
//! What the `POST /peer` route's headers carry travels in the frames and the handshake: the
//! sender's address ([`FROM_ADDR`], in the handshake), its number for the message ([`MESSAGE`])
//! and, on gossip, its address book ([`ADDRS`]), each in the request frame.
//!
//! An envelope a node sends to itself (a coordinator is usually one of the key's replicas) never
//! touches the network: it goes straight to the node's own actor, as the simulator delivers it.
//! Its answer needs no flush of its own: it never leaves the process, and the client's answer
//! that depends on it waits for one ([`crate::storage::Flusher`]).
//!
//! Time is also the host's: [`now_ms`] is wall-clock milliseconds since the Unix epoch, never
//! going backwards within a process, so gossip heartbeats (which are `now_ms` values) keep
//! increasing across restarts.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynamo_common::BoxFuture;
use dynamo_common::NodeId;
use dynamo_common::host::Transport;
use dynamo_common::request::RequestId;
use store::{Body, Envelope, MessageKind, NoReply};
use tokio::sync::broadcast;

use crate::actor::{Command, NodeHandle};
use crate::dashboard::log::Exchange;
use crate::link::{Link, Outcome};
use crate::wire::Answer;

/// The header in which a sender names the address it can be reached at, so receivers learn the
/// addresses of members they were not started with (`--join`).
pub const FROM_ADDR: &str = "x-dynamo-from-addr";

/// The header in which a node opening a peer connection names itself (for the receiver's logs).
pub const FROM: &str = "x-dynamo-from";

/// The header carrying the sender's number for a message, so the receiver's record of it joins
/// the sender's in a request's diagram (`dashboard::requests`).
pub const MESSAGE: &str = "x-dynamo-message";

/// The last message number this process gave out.
static MESSAGES: AtomicU64 = AtomicU64::new(0);

/// The header of gossip envelopes (requests and answers) in which the sender lists every address
/// it knows, `A=ADDR,B=ADDR`: gossip brings news of a member, and whoever hears of a new member
/// must be able to reach it at once (a joining node's ranges are transferred to it the moment
/// an old owner hears of it).
pub const ADDRS: &str = "x-dynamo-addrs";

/// The largest `now_ms` handed out so far in this process.
static LAST_MS: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the Unix epoch, never smaller than a value returned before.
pub fn now_ms() -> u64 {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    LAST_MS.fetch_max(wall, Ordering::Relaxed).max(wall)
}

/// Who the node can reach: members' addresses and the partition the operator set.
#[derive(Default)]
pub struct Peers {
    addrs: RwLock<BTreeMap<NodeId, String>>,
    refused: RwLock<BTreeSet<NodeId>>,
}

impl Peers {
    /// The address book `members` (name to address).
    pub fn new(members: BTreeMap<NodeId, String>) -> Self {
        Self {
            addrs: RwLock::new(members),
            refused: RwLock::default(),
        }
    }

    /// Every member's address.
    pub fn addrs(&self) -> BTreeMap<NodeId, String> {
        self.addrs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `node`'s address, if known.
    pub fn addr(&self, node: &NodeId) -> Option<String> {
        self.addrs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(node)
            .cloned()
    }

    /// Records (or updates) `node`'s address.
    pub fn learn(&self, node: &NodeId, addr: &str) {
        // Every peer message names its sender's address: a shared lock answers the usual case.
        let known = self
            .addrs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(node)
            .map(String::as_str)
            == Some(addr);
        if known {
            return;
        }
        let mut addrs = self.addrs.write().unwrap_or_else(|e| e.into_inner());
        if addrs.get(node).map(String::as_str) != Some(addr) {
            addrs.insert(node.clone(), addr.to_string());
        }
    }

    /// Every known address as the [`ADDRS`] header says it.
    pub fn book(&self) -> String {
        self.addrs()
            .iter()
            .map(|(node, addr)| format!("{node}={addr}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Learns the addresses an [`ADDRS`] header lists, except `me`'s own.
    pub fn learn_book(&self, me: &NodeId, book: &str) {
        for pair in book.split(',') {
            if let Some((node, addr)) = pair.split_once('=') {
                let node = NodeId::new(node);
                if node != *me && !addr.is_empty() {
                    self.learn(&node, addr);
                }
            }
        }
    }

    /// Whether the operator cut this node off from `node`.
    pub fn refuses(&self, node: &NodeId) -> bool {
        self.refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(node)
    }

    /// The nodes this one refuses.
    pub fn refused(&self) -> BTreeSet<NodeId> {
        self.refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Refuses exactly `nodes` from now on (an empty set heals).
    pub fn set_refused(&self, nodes: BTreeSet<NodeId>) {
        *self.refused.write().unwrap_or_else(|e| e.into_inner()) = nodes;
    }
}

/// The backend of [`Transport<Body>`] between node processes: peer connections, self-sends in
/// process.
pub struct HttpTransport {
    me: NodeId,
    my_addr: String,
    timeout: Duration,
    peers: Arc<Peers>,
    /// The open link to each peer (replaced when it fails or the peer's address changes).
    links: Mutex<HashMap<NodeId, Arc<Link>>>,
    events: broadcast::Sender<String>,
    runtime: tokio::runtime::Handle,
    /// The node's own actor, for envelopes to itself (set once the node is built).
    local: OnceLock<NodeHandle>,
}

impl HttpTransport {
    /// A transport for `me` (reachable at `my_addr`) whose requests give up after `timeout`;
    /// every exchange is announced on `events` (one JSON line each).
    ///
    /// Call it inside the process's runtime: links and exchanges run there.
    pub fn new(
        me: NodeId,
        my_addr: String,
        timeout: Duration,
        peers: Arc<Peers>,
        events: broadcast::Sender<String>,
    ) -> Self {
        Self {
            me,
            my_addr,
            timeout,
            peers,
            links: Mutex::default(),
            events,
            runtime: tokio::runtime::Handle::current(),
            local: OnceLock::new(),
        }
    }

    /// Delivers envelopes addressed to this node to `node` directly from now on.
    pub fn set_local(&self, node: NodeHandle) {
        let _ = self.local.set(node);
    }

    /// The open link to `to` at `addr`, or a fresh one when there is none, it failed, or the
    /// peer's address changed.
    fn link(&self, to: &NodeId, addr: &str) -> Arc<Link> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(link) = links.get(to).filter(|l| l.addr == addr && !l.is_closed()) {
            return link.clone();
        }
        let _enter = self.runtime.enter();
        let link = Link::open(&self.me, &self.my_addr, to, addr, self.timeout);
        links.insert(to.clone(), link.clone());
        link
    }
}

/// One event of `/events` for a peer exchange, as `dashboard::log` describes it: `direction`
/// `sent` (with `sent_ms`) or `received` (with `received_ms`); `t_ms` is when it ended.
#[expect(
    clippy::too_many_arguments,
    reason = "one field each, named at every call"
)]
pub fn exchange_event(
    node: &NodeId,
    direction: &'static str,
    kind: MessageKind,
    peer: &NodeId,
    detail: String,
    outcome: Cow<'static, str>,
    request: Option<&RequestId>,
    message: Option<u64>,
    started_ms: u64,
) -> Exchange {
    Exchange {
        node: node.clone(),
        t_ms: now_ms(),
        kind,
        direction,
        peer: peer.clone(),
        detail,
        outcome,
        request: request.cloned(),
        message,
        started_ms,
    }
}

impl Transport<Body> for HttpTransport {
    fn me(&self) -> NodeId {
        self.me.clone()
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn timeout_ms(&self) -> u64 {
        self.timeout.as_millis() as u64
    }

    fn send(&self, envelope: Envelope) -> BoxFuture<'static, Result<Envelope, NoReply>> {
        if envelope.to == self.me
            && let Some(node) = self.local.get()
        {
            return self.send_local(node.clone(), envelope);
        }
        let to = envelope.to.clone();
        let down = NoReply::Down { node: to.clone() };
        let timeout = NoReply::Timeout {
            node: to.clone(),
            timeout_ms: self.timeout.as_millis() as u64,
        };
        let message = MESSAGES.fetch_add(1, Ordering::Relaxed) + 1;
        let sent_ms = now_ms();
        let kind = envelope.kind;
        let detail = envelope.detail.clone();
        let request = envelope.request.clone();
        // Queued now, not when first polled: the message leaves even if the sender stops waiting
        // (a coordinator done at its W-th ack), as on any network.
        let refused = self.peers.refuses(&to);
        let sent = match self.peers.addr(&to) {
            Some(addr) if !refused => {
                let book = (kind == MessageKind::Gossip).then(|| self.peers.book());
                let link = self.link(&to, &addr);
                let (id, answer) = link.send(message, book, envelope);
                Some((link, id, answer))
            }
            _ => None,
        };
        let peers = self.peers.clone();
        let events = self.events.clone();
        let me = self.me.clone();
        let deadline = self.timeout;
        let lost = down.clone();
        // The wait runs as a task of its own, so the exchange's event is recorded (and a late
        // answer noted) even when the sender stopped waiting.
        let exchange = self.runtime.spawn(async move {
            // Why no answer came, when the reason is a partition (the error alone says "down").
            let mut partitioned = None;
            let outcome = match sent {
                None => {
                    if refused {
                        partitioned = Some("partitioned: this node refuses it");
                    }
                    Err(down)
                }
                Some((link, id, answer)) => match tokio::time::timeout(deadline, answer).await {
                    Ok(Ok(Outcome::Answer(Answer::Answered { envelope, book }))) => {
                        if let Some(book) = book {
                            peers.learn_book(&me, &book);
                        }
                        Ok(envelope)
                    }
                    Ok(Ok(Outcome::Answer(Answer::Refused(_)))) => {
                        partitioned = Some("partitioned: refused by the receiver");
                        Err(down)
                    }
                    Ok(Ok(Outcome::Answer(Answer::Failed(_)) | Outcome::Lost)) | Ok(Err(_)) => {
                        Err(down)
                    }
                    Err(_) => {
                        link.forget(id);
                        Err(timeout)
                    }
                },
            };
            if events.receiver_count() > 0 || request.is_some() {
                let result = match (&outcome, partitioned) {
                    (Ok(_), _) => Cow::Borrowed("answered"),
                    (Err(_), Some(why)) => Cow::Borrowed(why),
                    (Err(e), None) => Cow::Owned(e.to_string()),
                };
                let event = exchange_event(
                    &me,
                    "sent",
                    kind,
                    &to,
                    detail,
                    result,
                    request.as_ref(),
                    Some(message),
                    sent_ms,
                );
                crate::dashboard::log::emit_exchange(&events, event);
            }
            outcome
        });
        Box::pin(async move { exchange.await.unwrap_or(Err(lost)) })
    }
}

impl HttpTransport {
    /// An envelope to this node itself: handed to its actor, announced like any exchange.
    fn send_local(
        &self,
        node: NodeHandle,
        envelope: Envelope,
    ) -> BoxFuture<'static, Result<Envelope, NoReply>> {
        let me = self.me.clone();
        let events = self.events.clone();
        let (kind, detail) = (envelope.kind, envelope.detail.clone());
        let request = envelope.request.clone();
        // Numbered like a message on the wire, so the request's diagram draws it too.
        let message = MESSAGES.fetch_add(1, Ordering::Relaxed) + 1;
        let sent_ms = now_ms();
        // Handed over now, not when first polled: like a message on the wire, it is delivered
        // even if the sender stops waiting (a coordinator done at its W-th ack).
        let answer = node.tell(|reply| Command::Handle { envelope, reply });
        Box::pin(async move {
            let answer = answer.await;
            let outcome = answer
                .map(|body| Envelope {
                    from: me.clone(),
                    to: me.clone(),
                    kind: kind.answer(),
                    detail: String::new(),
                    body,
                    request: request.clone(),
                })
                .map_err(|_| NoReply::Down { node: me.clone() });
            if events.receiver_count() > 0 || request.is_some() {
                let result = match &outcome {
                    Ok(_) => Cow::Borrowed("answered"),
                    Err(e) => Cow::Owned(e.to_string()),
                };
                let received = exchange_event(
                    &me,
                    "received",
                    kind,
                    &me,
                    detail.clone(),
                    Cow::Borrowed("answered"),
                    request.as_ref(),
                    Some(message),
                    sent_ms,
                );
                crate::dashboard::log::emit_exchange(&events, received);
                let sent = exchange_event(
                    &me,
                    "sent",
                    kind,
                    &me,
                    detail,
                    result,
                    request.as_ref(),
                    Some(message),
                    sent_ms,
                );
                crate::dashboard::log::emit_exchange(&events, sent);
            }
            outcome
        })
    }
}
