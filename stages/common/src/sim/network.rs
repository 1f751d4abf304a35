//! The network handle and the life of one request.
//!
//! Every request is delivered by a task of its own, spawned on the runtime, so a message keeps
//! travelling after the coordinator stops waiting for it: dropping a `send_*` future abandons the
//! reply, never the delivery. The sender's side only awaits a oneshot channel that the delivery
//! task fills (or not) at a time computed from the configuration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;
use tokio::sync::{oneshot, watch};
use tokio::time::{Duration, Instant, sleep_until};

use super::backend::Backend;
use super::hints::HintStore;
use super::rng::Rng;
use super::{Fate, MessageKind, NetworkConfig, StoredObject, Trace, TraceEntry};
use crate::NodeId;
use crate::request::RequestId;

/// A replica's acknowledgement of a write: it stored the object (or already held a newer one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The replica that acknowledged.
    pub from: NodeId,
}

/// Why no reply came.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NoReply {
    /// The replica is down; the transport noticed when the reply would have come back.
    #[error("{node} is down")]
    Down {
        /// The replica.
        node: NodeId,
    },
    /// No reply arrived before the timeout: the request or the reply was lost, or was too slow.
    #[error("no reply from {node} within {timeout_ms} ms")]
    Timeout {
        /// The replica.
        node: NodeId,
        /// The timeout that ran out.
        timeout_ms: u64,
    },
}

/// The handle through which a coordinator talks to the replicas.
///
/// Cheap to clone (`Arc` inside) and `Send + 'static`, so you can move a clone into each task of a
/// `tokio::task::JoinSet`. Must be created and used inside a tokio runtime with paused time.
pub struct Network<O> {
    /// A real host's backend (stage 7): when set, requests go through it instead of the
    /// simulated replicas below, which then stay empty.
    pub(super) backend: Option<Arc<dyn Backend<O>>>,
    /// The client request this handle's messages belong to (stage 7, see [`crate::request`]):
    /// a clone made while a request is current keeps it, so tasks a coordinator spawns send
    /// under the request that spawned them.
    request: Option<RequestId>,
    shared: Arc<Mutex<Shared<O>>>,
    in_flight: watch::Sender<usize>,
    /// Simulated time 0, kept outside the lock so waiting never holds it.
    start: Instant,
}

impl<O> Clone for Network<O> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            request: self.request.clone().or_else(crate::request::current),
            shared: Arc::clone(&self.shared),
            in_flight: self.in_flight.clone(),
            start: self.start,
        }
    }
}

pub(super) struct Shared<O> {
    pub(super) config: NetworkConfig,
    start: Instant,
    rng: Rng,
    /// Replica name -> key -> stored object.
    pub(super) stores: BTreeMap<NodeId, BTreeMap<String, O>>,
    trace: Trace,
    /// Hints held by fallback nodes (stage 3), apart from their own stores.
    pub(super) hints: HintStore<O>,
}

impl<O> Shared<O> {
    fn now_ms(&self) -> u64 {
        u64::try_from(Instant::now().duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    fn dropped(&mut self, from: &NodeId, to: &NodeId, kind: MessageKind) -> bool {
        let by_rule = self.config.drops.iter().any(|r| r.matches(from, to, kind));
        // Draw even when a rule already drops it, so one rule does not shift every later draw.
        let by_chance = self.rng.chance(self.config.drop_rate);
        by_rule || by_chance
    }

    /// Records a message and decides its fate; returns its trace index and arrival time.
    fn send(&mut self, from: &NodeId, to: &NodeId, kind: MessageKind, detail: String) -> Sent {
        let sent_ms = self.now_ms();
        let arrive_ms = sent_ms + self.config.delay(from, to);
        let fate = if self.dropped(from, to, kind) {
            Fate::Dropped
        } else if self.config.cut(from, to) {
            Fate::Partitioned
        } else if self.config.down.contains(to) {
            Fate::LostNodeDown
        } else {
            Fate::Arrives { at_ms: arrive_ms }
        };
        let index = self.trace.0.len();
        let arrives = matches!(fate, Fate::Arrives { .. });
        self.trace.0.push(TraceEntry {
            sent_ms,
            from: from.clone(),
            to: to.clone(),
            kind,
            detail,
            fate,
            request: None,
        });
        Sent {
            index,
            arrive_ms,
            arrives,
        }
    }

    fn mark_unheard(&mut self, index: usize) {
        if let Some(entry) = self.trace.0.get_mut(index)
            && let Fate::Arrives { at_ms } = entry.fate
        {
            entry.fate = Fate::ArrivesUnheard { at_ms };
        }
    }
}

struct Sent {
    index: usize,
    arrive_ms: u64,
    arrives: bool,
}

/// What a request asks a replica to do. The message's [`MessageKind`] tells a put from a
/// handoff or a repair, which all carry [`Request::Put`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Request<O> {
    /// Merge `object` into what is stored under `key` (a put, a handoff, a repair).
    Put {
        /// The key.
        key: String,
        /// What to merge.
        object: O,
    },
    /// What do you hold for `key`?
    Get {
        /// The key.
        key: String,
    },
    /// Keep `object` as a hint for `primary` (stage 3).
    Hint {
        /// The down primary the hint is for.
        primary: NodeId,
        /// The key.
        key: String,
        /// The object, kept exactly as sent.
        object: O,
    },
}

/// What a replica answers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response<O> {
    /// Stored (a put, a handoff, a repair, a hint).
    Ack,
    /// The object held for the key asked about (`None`: nothing).
    Value(Option<O>),
}

impl<O: StoredObject> Network<O> {
    /// A network of `replicas` shaped by `config`, starting now at simulated time 0.
    ///
    /// Call it inside the runtime (with time paused) that will run the case.
    pub fn new(config: NetworkConfig, replicas: impl IntoIterator<Item = NodeId>) -> Self {
        let stores = replicas.into_iter().map(|n| (n, BTreeMap::new())).collect();
        let (in_flight, _) = watch::channel(0);
        let start = Instant::now();
        Self {
            backend: None,
            request: None,
            start,
            shared: Arc::new(Mutex::new(Shared {
                rng: Rng::new(config.seed),
                config,
                start,
                stores,
                trace: Trace::default(),
                hints: HintStore::default(),
            })),
            in_flight,
        }
    }

    pub(super) fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Shared<O>> {
        // A panic while holding the lock can only come from this module; the data is still sound.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a write of `object` under `key` to replica `to`, and waits for its ack.
    ///
    /// # Errors
    /// [`NoReply`] when `to` is down, or no ack arrives before the timeout.
    pub async fn send_put(&self, to: &NodeId, key: &str, object: O) -> Result<Ack, NoReply> {
        let detail = format!("{key} = {object}");
        let request = Request::Put {
            key: key.to_string(),
            object,
        };
        match self.request(to, MessageKind::Put, detail, request).await? {
            Response::Ack => Ok(Ack { from: to.clone() }),
            Response::Value(_) => unreachable!("a put is answered with an ack"),
        }
    }

    /// Asks replica `to` what it holds for `key`, and waits for the reply (`None`: nothing).
    ///
    /// # Errors
    /// [`NoReply`] when `to` is down, or no reply arrives before the timeout.
    pub async fn send_get(&self, to: &NodeId, key: &str) -> Result<Option<O>, NoReply> {
        let request = Request::Get {
            key: key.to_string(),
        };
        match self
            .request(to, MessageKind::Get, key.to_string(), request)
            .await?
        {
            Response::Value(v) => Ok(v),
            Response::Ack => unreachable!("a get is answered with a value"),
        }
    }

    pub(super) async fn request(
        &self,
        to: &NodeId,
        kind: MessageKind,
        detail: String,
        request: Request<O>,
    ) -> Result<Response<O>, NoReply> {
        let coordinator = self.coordinator();
        self.request_from(&coordinator, to, kind, detail, request)
            .await
    }

    /// Like `request`, sent by `from` (a replica handing off a hint, in stage 3).
    pub(super) async fn request_from(
        &self,
        from: &NodeId,
        to: &NodeId,
        kind: MessageKind,
        detail: String,
        request: Request<O>,
    ) -> Result<Response<O>, NoReply> {
        if let Some(backend) = &self.backend {
            let id = self.request.clone().or_else(crate::request::current);
            return backend.request(to, kind, detail, request, id).await;
        }
        let (deadline, coordinator, sent, timeout_ms) = {
            let mut s = self.lock();
            let coordinator = from.clone();
            let sent = s.send(&coordinator, to, kind, detail);
            let timeout_ms = s.config.timeout_ms;
            let deadline = s.now_ms() + timeout_ms;
            (deadline, coordinator, sent, timeout_ms)
        };
        let (tx, rx) = oneshot::channel();
        self.in_flight.send_modify(|n| *n += 1);
        let net = self.clone();
        let to_owned = to.clone();
        tokio::spawn(async move {
            net.deliver(coordinator, to_owned, sent, deadline, request, tx)
                .await;
            net.in_flight.send_modify(|n| *n -= 1);
        });
        match rx.await {
            Ok(outcome) => outcome,
            // The delivery task always answers; if it cannot, treat it as silence.
            Err(_) => Err(NoReply::Timeout {
                node: to.clone(),
                timeout_ms,
            }),
        }
    }

    /// The life of one request: travel, the replica's work, the reply's travel.
    async fn deliver(
        &self,
        coordinator: NodeId,
        to: NodeId,
        sent: Sent,
        deadline: u64,
        request: Request<O>,
        tx: oneshot::Sender<Result<Response<O>, NoReply>>,
    ) {
        let deadline_at = self.at(deadline);
        let (timeout_ms, down) = {
            let s = self.lock();
            let cut = s.config.cut(&coordinator, &to);
            (s.config.timeout_ms, s.config.down.contains(&to) && !cut)
        };
        let timeout = NoReply::Timeout {
            node: to.clone(),
            timeout_ms,
        };
        if !sent.arrives {
            let refused_ms = {
                let s = self.lock();
                sent.arrive_ms + s.config.delay(&to, &coordinator)
            };
            if down && refused_ms < deadline {
                sleep_until(self.at(refused_ms)).await;
                let _ = tx.send(Err(NoReply::Down { node: to }));
            } else {
                sleep_until(deadline_at).await;
                let _ = tx.send(Err(timeout));
            }
            return;
        }
        sleep_until(self.at(sent.arrive_ms)).await;
        let (response, reply_kind, detail) = {
            let mut guard = self.lock();
            // Reborrow through the guard once, so the store and the hints can be borrowed apart.
            let s = &mut *guard;
            let store = s.stores.entry(to.clone()).or_default();
            match request {
                Request::Put { key, object } => {
                    let old = store.remove(&key);
                    store.insert(key.clone(), O::merge(old, object));
                    (Response::Ack, MessageKind::Ack, key)
                }
                Request::Hint {
                    primary,
                    key,
                    object,
                } => {
                    s.hints.keep(&to, &primary, &key, object);
                    (Response::Ack, MessageKind::Ack, key)
                }
                Request::Get { key } => {
                    let held = store.get(&key).cloned();
                    let detail = match &held {
                        Some(o) => format!("{key} = {o}"),
                        None => format!("{key} not found"),
                    };
                    (Response::Value(held), MessageKind::Reply, detail)
                }
            }
        };
        let reply = self.lock().send(&to, &coordinator, reply_kind, detail);
        if !reply.arrives || reply.arrive_ms >= deadline {
            // The sender gives up at its deadline; a slow reply still travels and is traced.
            let late = reply.arrives;
            sleep_until(deadline_at).await;
            let _ = tx.send(Err(timeout));
            if late {
                sleep_until(self.at(reply.arrive_ms)).await;
                self.lock().mark_unheard(reply.index);
            }
            return;
        }
        sleep_until(self.at(reply.arrive_ms)).await;
        if tx.send(Ok(response)).is_err() {
            self.lock().mark_unheard(reply.index);
        }
    }

    /// Waits (in simulated time) until every message in flight has arrived or been given up on.
    pub async fn settle(&self) {
        let mut rx = self.in_flight.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Simulated milliseconds since the network was created.
    pub fn now_ms(&self) -> u64 {
        if let Some(backend) = &self.backend {
            return backend.now_ms();
        }
        self.lock().now_ms()
    }

    /// Every message so far.
    pub fn trace(&self) -> Trace {
        self.lock().trace.clone()
    }

    /// What `node` holds for `key` right now (for checking, not for coordinators).
    pub fn stored(&self, node: &NodeId, key: &str) -> Option<O> {
        self.lock().stores.get(node)?.get(key).cloned()
    }

    /// Puts `object` straight into `node`'s store, without a message: a case's starting data.
    pub fn preload(&self, node: &NodeId, key: &str, object: O) {
        let mut s = self.lock();
        let store = s.stores.entry(node.clone()).or_default();
        let old = store.remove(key);
        store.insert(key.to_string(), O::merge(old, object));
    }

    /// The coordinator's name.
    pub fn coordinator(&self) -> NodeId {
        if let Some(backend) = &self.backend {
            return backend.me();
        }
        self.lock().config.coordinator.clone()
    }
}
