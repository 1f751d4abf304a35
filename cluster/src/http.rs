//! The node's HTTP API (axum): the client API, peer traffic, introspection and admin.
//!
//! Every handler is a thin translation onto the hosted stage-7 node ([`NodeHandle`]): client
//! operations become the node's `put`/`get`/`delete`, `/peer` becomes its `handle`, `/cluster` and
//! `/metrics` show its `status()`. The HTTP rules (sizes, headers, status codes) are the host's.
//!
//! - `GET/PUT/DELETE /kv/{key}`: the context travels in `X-Dynamo-Context` (opaque to clients:
//!   base64url of the node's context, a vector clock). A PUT without it adds a sibling; a DELETE without it
//!   is `428 Precondition Required`, since a blind delete could not say which versions it removes.
//!   GET answers `{"values": [...], "context": "..."}` with tombstones hidden, or 404 with the
//!   context header when only tombstones remain. `GET ?r=` and `PUT/DELETE ?w=` set the request's
//!   own quorum, handed to the node as its [`RequestOptions`]. Limits: keys 1 to [`MAX_KEY`]
//!   bytes, values at most [`MAX_VALUE`] bytes of UTF-8, `1 <= r, w <= N`; anything else is a 400
//!   whose JSON `error` says which. A quorum out of reach is a 503 naming the acks or replies
//!   received and needed, and saying that a failed write may still be stored.
//! - `GET /peer` with `Upgrade: dynamo-peer/1`: a long-lived peer connection, the route nodes
//!   use ([`crate::wire`], served by [`crate::peer`]).
//! - `POST /peer`: one stage-7 envelope in, the node's answering envelope out (JSON); refused
//!   (403) when the operator's partition cuts the sender off. Kept for tools and tests; nodes
//!   talk over peer connections.
//! - `GET /ping`, `/cluster` (JSON: members, liveness, ring, keys, hints, stages), `/metrics`
//!   (Prometheus text), `/events` (server-sent events: client requests, peer exchanges, liveness
//!   changes), `/replica/{key}` (this replica's versions with their clocks, tombstones as a
//!   `null` value, and the key's preference list).
//! - `POST /admin/partition`, `/admin/heal` and `/admin/leave`: answered only from loopback, or
//!   with the configured token in `X-Dynamo-Token`. A leave runs the node's `leave()` (its ranges
//!   go to their new owners, every member hears it left), again every half second while the node
//!   still holds keys (a hand-over no new owner acknowledged), answers once it holds none and
//!   every change is durable, then ends the process; after 30 s it answers 503 and stays.
#![expect(
    clippy::result_large_err,
    reason = "validation helpers return the ready error response; boxing it would buy nothing"
)]

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dynamo_common::NodeId;
use dynamo_common::request::RequestId;
use serde::Deserialize;
use store::{
    Context, Envelope, Liveness, Mode, NodeConfig, NodeStatus, Payload, RequestOptions,
    SharedStorage, Siblings, StoreError,
};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::actor::{ActorError, Command, NodeHandle};
use crate::peer::Received;
use crate::stages::Stages;
use crate::storage::Flusher;
use crate::transport::{ADDRS, FROM, FROM_ADDR, MESSAGE, Peers, now_ms};

/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = 256;
/// Largest value accepted, in bytes.
pub const MAX_VALUE: usize = 64 * 1024;
/// The context header.
pub const CONTEXT: &str = "x-dynamo-context";
/// The admin token header.
pub const TOKEN: &str = "x-dynamo-token";
/// The header naming a client request's id in its answer.
pub const REQUEST: &str = "x-dynamo-request";

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Client gets answered.
    pub gets: AtomicU64,
    /// Client puts acknowledged.
    pub puts: AtomicU64,
    /// Client deletes acknowledged.
    pub deletes: AtomicU64,
    /// Client operations that missed their quorum.
    pub unavailable: AtomicU64,
    /// Client operations the node failed (a panic in node code).
    pub failed: AtomicU64,
    /// Peer envelopes handled, by kind (named only when `/metrics` is read).
    pub peer: std::sync::Mutex<BTreeMap<store::MessageKind, u64>>,
}

/// What the handlers know besides the node: configuration, introspection, partitions.
pub struct Info {
    /// This node's name.
    pub name: NodeId,
    /// The address peers and clients reach it at.
    pub addr: String,
    /// Replicas per key, and the default quorums.
    pub n: usize,
    /// Read quorum.
    pub r: usize,
    /// Write quorum.
    pub w: usize,
    /// Consistency mode.
    pub mode: Mode,
    /// The node's whole configuration (per-request quorums are checked against it).
    pub config: NodeConfig,
    /// Tokens per node.
    pub vnodes: u32,
    /// The stages the node is built from (for `/cluster` and the ring `/replica` shows).
    pub stages: Stages,
    /// Addresses and the operator's partition.
    pub peers: Arc<Peers>,
    /// The node's storage (read by `/replica`).
    pub storage: SharedStorage<Siblings>,
    /// Awaited before any answer leaves: what the answer depends on is then on disk.
    pub flusher: Arc<Flusher>,
    /// Counters.
    pub metrics: Metrics,
    /// The event stream.
    pub events: broadcast::Sender<String>,
    /// The node's data directory (its parent holds `cluster.json` when `up` started it).
    pub data: std::path::PathBuf,
    /// Client requests coordinated so far (their ids' numbers).
    pub requests: AtomicU64,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct App {
    /// The node.
    pub node: NodeHandle,
    /// Everything else.
    pub info: Arc<Info>,
    /// Admin token, when admin endpoints may be reached from other hosts.
    pub token: Option<String>,
}

impl App {
    fn event(&self, kind: &str, key: &str, outcome: &str) {
        if self.info.events.receiver_count() > 0 {
            let line = serde_json::json!({
                "node": self.info.name, "t_ms": now_ms(), "kind": kind, "key": key,
                "outcome": outcome,
            });
            let _ = self.info.events.send(line.to_string());
        }
    }

    /// A fresh id for a client request this node coordinates.
    fn next_request(&self) -> RequestId {
        RequestId::new(
            self.info.name.clone(),
            self.info.requests.fetch_add(1, Ordering::Relaxed) + 1,
        )
    }

    /// The event of a client request, once answered (kept for its diagram, see
    /// `dashboard::log`).
    fn request_event(
        &self,
        kind: &'static str,
        key: &str,
        request: &RequestId,
        started_ms: u64,
        outcome: Cow<'static, str>,
    ) {
        let event = crate::dashboard::log::ClientRequest {
            node: self.info.name.clone(),
            t_ms: now_ms(),
            kind,
            key: key.to_string(),
            request: request.clone(),
            started_ms,
            outcome,
        };
        crate::dashboard::log::emit_request(&self.info.events, event);
    }

    /// What the node shows of itself (None when the node failed to answer).
    pub(crate) async fn status(&self) -> Option<NodeStatus> {
        self.node.ask(|reply| Command::Status { reply }).await.ok()
    }
}

/// The router.
pub fn router(app: App) -> Router {
    Router::new()
        .merge(crate::dashboard::routes())
        .route("/kv/{key}", get(kv_get).put(kv_put).delete(kv_delete))
        .route("/peer", post(peer).get(peer_upgrade))
        .route("/ping", get(ping))
        .route("/cluster", get(cluster))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        .route("/replica/{key}", get(replica))
        .route("/admin/partition", post(partition))
        .route("/admin/heal", post(heal))
        .route("/admin/leave", post(leave))
        .with_state(app)
}

/// Encodes a context as an opaque header value.
pub fn encode_context(context: &Context) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(context).unwrap_or_default())
}

fn decode_context(text: &str) -> Option<Context> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn check_key(key: &str) -> Result<(), Response> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("a key is 1 to {MAX_KEY} bytes; got {}", key.len()),
        ));
    }
    Ok(())
}

/// The request's own quorum from its query string: `r` on a GET, `w` on a PUT or DELETE (`which`),
/// each checked against N by the contract's [`NodeConfig::quorum_for`].
fn options(app: &App, query: Option<&str>, which: &str) -> Result<RequestOptions, Response> {
    let bad = |message: String| Err(error(StatusCode::BAD_REQUEST, message));
    let mut options = RequestOptions::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != which {
            return bad(format!(
                "query parameter `{name}`: this request takes only `{which}` (r on GET, w on PUT \
                 and DELETE)"
            ));
        }
        let Ok(q) = value.parse::<usize>() else {
            return bad(format!(
                "query parameter `{which}`: `{value}` is not a number between 1 and N={}",
                app.info.n
            ));
        };
        match which {
            "r" => options.r = Some(q),
            _ => options.w = Some(q),
        }
    }
    match app.info.config.quorum_for(options) {
        Ok(_) => Ok(options),
        Err(e) => bad(format!("query parameter `{which}`: {e}")),
    }
}

fn context_of(headers: &HeaderMap) -> Result<Option<Context>, Response> {
    match headers.get(CONTEXT) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(decode_context)
            .map(Some)
            .ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    "X-Dynamo-Context is not a context this cluster handed out",
                )
            }),
    }
}

fn store_error(app: &App, what: &'static str, e: StoreError) -> Response {
    match e {
        StoreError::NotEnoughReplicas { needed, got } => {
            app.info.metrics.unavailable.fetch_add(1, Ordering::Relaxed);
            let note = if what == "acks" {
                "the write failed, but it may still be stored on the replicas that acked it (a \
                 later read may show it); retry with the same context to be sure"
            } else {
                "too few replicas answered in time; nothing was changed by this read"
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({
                    "error": format!("quorum not reached: {got} of {needed} {what}"),
                    "what": what, "received": got, "needed": needed, "note": note,
                })),
            )
                .into_response()
        }
        StoreError::BadKey => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

fn actor_error(app: &App, e: ActorError) -> Response {
    app.info.metrics.failed.fetch_add(1, Ordering::Relaxed);
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Names the request's id, so a client can find its diagram (`/dash/api/request/{id}`).
fn with_request(mut response: Response, request: &RequestId) -> Response {
    if let Ok(v) = HeaderValue::from_str(&request.to_string()) {
        response.headers_mut().insert(REQUEST, v);
    }
    response
}

/// Adds the context header, `encoded` by [`encode_context`] (once per answer: the body carries it
/// too).
fn with_context(mut response: Response, encoded: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(encoded) {
        response.headers_mut().insert(CONTEXT, v);
    }
    response
}

/// A read's answer body, serialized straight from the node's result.
#[derive(serde::Serialize)]
struct ReadAnswer<'a> {
    // In the order the answer always had (serde_json's sorted maps).
    context: &'a str,
    values: &'a [String],
}

/// A write's answer body.
#[derive(serde::Serialize)]
struct WriteAnswer<'a> {
    context: &'a str,
}

async fn kv_get(
    State(app): State<App>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = check_key(&key) {
        return r;
    }
    let options = match options(&app, query.as_deref(), "r") {
        Ok(o) => o,
        Err(e) => return e,
    };
    let k = key.clone();
    let (request, started_ms) = (app.next_request(), now_ms());
    let r = request.clone();
    let answer = app
        .node
        .ask(|reply| Command::Get {
            request: r,
            key: k,
            options,
            reply,
        })
        .await;
    // The answer shows this key's state: nothing of it leaves before it is durable here (the
    // node's own reply came without a flush; the other replicas flushed before replying).
    app.info.flusher.flush_key(&key).await;
    match answer {
        Ok(Ok(read)) => {
            app.info.metrics.gets.fetch_add(1, Ordering::Relaxed);
            let outcome = format!("{} values", read.values.len());
            app.request_event("get", &key, &request, started_ms, Cow::Owned(outcome));
            let context = encode_context(&read.context);
            let status = if read.values.is_empty() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            let body = Json(ReadAnswer {
                context: &context,
                values: &read.values,
            });
            with_request(
                with_context((status, body).into_response(), &context),
                &request,
            )
        }
        Ok(Err(e)) => {
            let outcome = Cow::Owned(e.to_string());
            app.request_event("get", &key, &request, started_ms, outcome);
            with_request(store_error(&app, "replies", e), &request)
        }
        Err(e) => actor_error(&app, e),
    }
}

async fn write(
    app: &App,
    key: String,
    value: Option<String>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    if let Err(r) = check_key(&key) {
        return r;
    }
    let options = match options(app, query, "w") {
        Ok(o) => o,
        Err(e) => return e,
    };
    let context = match context_of(headers) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let k = key.clone();
    let deleting = value.is_none();
    let (request, started_ms) = (app.next_request(), now_ms());
    let r = request.clone();
    let answer = match (value, context) {
        (None, None) => {
            return error(
                StatusCode::PRECONDITION_REQUIRED,
                "DELETE needs the X-Dynamo-Context of a read: it removes the versions that read saw",
            );
        }
        (None, Some(context)) => {
            app.node
                .ask(|reply| Command::Delete {
                    request: r,
                    key: k,
                    context,
                    options,
                    reply,
                })
                .await
        }
        (Some(value), context) => {
            app.node
                .ask(|reply| Command::Put {
                    request: r,
                    key: k,
                    value,
                    context,
                    options,
                    reply,
                })
                .await
        }
    };
    let kind = if deleting { "delete" } else { "put" };
    // The client's ack waits until every local change to the key (this node's replica, hints)
    // is durable.
    app.info.flusher.flush_key(&key).await;
    match answer {
        Ok(Ok(context)) => {
            let counter = if deleting {
                &app.info.metrics.deletes
            } else {
                &app.info.metrics.puts
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let outcome = Cow::Borrowed("acknowledged");
            app.request_event(kind, &key, &request, started_ms, outcome);
            let context = encode_context(&context);
            let body = Json(WriteAnswer { context: &context });
            with_request(
                with_context((StatusCode::OK, body).into_response(), &context),
                &request,
            )
        }
        Ok(Err(e)) => {
            let outcome = Cow::Owned(e.to_string());
            app.request_event(kind, &key, &request, started_ms, outcome);
            with_request(store_error(app, "acks", e), &request)
        }
        Err(e) => actor_error(app, e),
    }
}

async fn kv_put(
    State(app): State<App>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_VALUE {
        return error(
            StatusCode::BAD_REQUEST,
            format!("a value is at most {MAX_VALUE} bytes; got {}", body.len()),
        );
    }
    let Ok(value) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "a value must be UTF-8 text");
    };
    write(&app, key, Some(value), &headers, query.as_deref()).await
}

async fn kv_delete(
    State(app): State<App>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    write(&app, key, None, &headers, query.as_deref()).await
}

async fn peer(
    State(app): State<App>,
    headers: HeaderMap,
    Json(envelope): Json<Envelope>,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let message = header(MESSAGE).and_then(|v| v.parse::<u64>().ok());
    match crate::peer::receive(&app, envelope, header(FROM_ADDR), header(ADDRS), message).await {
        Received::Answered { envelope, book } => {
            let mut response = Json(envelope).into_response();
            if let Some(book) = book.and_then(|b| HeaderValue::from_str(&b).ok()) {
                response.headers_mut().insert(ADDRS, book);
            }
            response
        }
        Received::Misdirected(why) => error(StatusCode::MISDIRECTED_REQUEST, why),
        Received::Refused(why) => error(StatusCode::FORBIDDEN, why),
        Received::Failed(e) => actor_error(&app, e),
    }
}

/// `GET /peer` with `Upgrade: dynamo-peer/1`: switches the connection to the peer protocol
/// ([`crate::wire`]) and serves it ([`crate::peer::serve_connection`]). The opener names itself
/// in `X-Dynamo-From` and its address in `X-Dynamo-From-Addr`.
async fn peer_upgrade(State(app): State<App>, mut request: axum::extract::Request) -> Response {
    let headers = request.headers();
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if !header(axum::http::header::UPGRADE.as_str())
        .is_some_and(|p| p.eq_ignore_ascii_case(crate::wire::PROTOCOL))
    {
        return error(
            StatusCode::UPGRADE_REQUIRED,
            format!(
                "GET /peer opens a peer connection: send `Connection: upgrade` and `Upgrade: {}`",
                crate::wire::PROTOCOL
            ),
        );
    }
    let peer = header(FROM).unwrap_or("an unnamed peer").to_string();
    let from_addr = header(FROM_ADDR).map(str::to_string);
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let io = hyper_util::rt::TokioIo::new(upgraded);
                crate::peer::serve_connection(app, io, peer, from_addr).await;
            }
            Err(e) => eprintln!(
                "node {}: peer connection from {peer}: upgrade failed: {e}",
                app.info.name
            ),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(axum::http::header::CONNECTION, "upgrade")
        .header(axum::http::header::UPGRADE, crate::wire::PROTOCOL)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn ping(State(app): State<App>) -> String {
    format!("pong {}\n", app.info.name)
}

fn liveness_name(l: Liveness) -> &'static str {
    match l {
        Liveness::Alive => "alive",
        Liveness::Suspected => "suspected",
        Liveness::Left => "left",
    }
}

async fn cluster(State(app): State<App>) -> Response {
    let info = &app.info;
    let status = app.status().await.unwrap_or_default();
    let addrs = info.peers.addrs();
    let refused = info.peers.refused();
    let mut names: BTreeSet<NodeId> = addrs.keys().cloned().collect();
    names.extend(status.members.keys().cloned());
    let members: Vec<_> = names
        .iter()
        .map(|name| {
            let state = if refused.contains(name) {
                "refused"
            } else if name == &info.name {
                "alive"
            } else {
                status
                    .members
                    .get(name)
                    .map_or("unknown", |l| liveness_name(*l))
            };
            serde_json::json!({ "name": name, "addr": addrs.get(name), "state": state })
        })
        .collect();
    let tokens: Vec<_> = info
        .stages
        .ring(info.vnodes, names.iter().cloned())
        .map(|ring| {
            ring.tokens()
                .into_iter()
                .map(|t| serde_json::json!({ "node": t.node, "position": t.position }))
                .collect()
        })
        .unwrap_or_default();
    let stages: BTreeMap<&str, String> = info
        .stages
        .who
        .iter()
        .map(|(stage, who)| (*stage, who.to_string()))
        .collect();
    Json(serde_json::json!({
        "name": info.name, "addr": info.addr, "n": info.n, "r": info.r, "w": info.w,
        "mode": info.mode, "vnodes": info.vnodes, "stages": stages, "members": members,
        "keys": status.keys, "tombstones": status.tombstones, "hints": status.hints,
        "tokens": tokens,
    }))
    .into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    let m = &app.info.metrics;
    let name = &app.info.name;
    let mut out = String::new();
    let mut metric = |metric: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
        out.push_str(&format!("# HELP {metric} {help}\n# TYPE {metric} {kind}\n"));
        for (labels, value) in samples {
            out.push_str(&format!("{metric}{{node=\"{name}\"{labels}}} {value}\n"));
        }
    };
    let one = |v: &AtomicU64| vec![(String::new(), v.load(Ordering::Relaxed))];
    metric(
        "dynamo_gets_total",
        "counter",
        "Client reads answered.",
        &one(&m.gets),
    );
    metric(
        "dynamo_puts_total",
        "counter",
        "Client writes acknowledged.",
        &one(&m.puts),
    );
    metric(
        "dynamo_deletes_total",
        "counter",
        "Client deletes acknowledged.",
        &one(&m.deletes),
    );
    metric(
        "dynamo_unavailable_total",
        "counter",
        "Client operations that missed their quorum.",
        &one(&m.unavailable),
    );
    metric(
        "dynamo_failed_total",
        "counter",
        "Client operations the node's code failed (a panic).",
        &one(&m.failed),
    );
    let mut peer: Vec<(String, u64)> = m
        .peer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(kind, n)| (format!(",kind=\"{kind}\""), *n))
        .collect();
    peer.sort();
    metric(
        "dynamo_peer_messages_total",
        "counter",
        "Peer envelopes handled, by kind.",
        &peer,
    );
    let status = app.status().await.unwrap_or_default();
    metric(
        "dynamo_keys",
        "gauge",
        "Keys held by this replica.",
        &[(String::new(), status.keys as u64)],
    );
    metric(
        "dynamo_tombstones",
        "gauge",
        "Keys whose siblings are all tombstones.",
        &[(String::new(), status.tombstones as u64)],
    );
    let hints: Vec<(String, u64)> = status
        .hints
        .iter()
        .map(|(primary, n)| (format!(",primary=\"{primary}\""), *n as u64))
        .collect();
    metric(
        "dynamo_hints",
        "gauge",
        "Hints waiting, by the primary they are kept for.",
        &hints,
    );
    let members: Vec<(String, u64)> = status
        .members
        .iter()
        .map(|(member, l)| {
            (
                format!(",member=\"{member}\",state=\"{}\"", liveness_name(*l)),
                1,
            )
        })
        .collect();
    metric(
        "dynamo_member",
        "gauge",
        "Members and their liveness as this node's gossip sees them.",
        &members,
    );
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}

async fn events(State(app): State<App>) -> Response {
    let stream = BroadcastStream::new(app.info.events.subscribe())
        .filter_map(|line| line.ok())
        .map(|line| Ok::<_, std::convert::Infallible>(Event::default().data(line)));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn replica(State(app): State<App>, Path(key): Path<String>) -> Response {
    if let Err(r) = check_key(&key) {
        return r;
    }
    let info = &app.info;
    let held = info
        .storage
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .unwrap_or_default();
    let versions: Vec<_> = held
        .0
        .iter()
        .map(|v| {
            let value = match Payload::of(v) {
                Payload::Value(s) => Some(s),
                Payload::Tombstone => None,
            };
            serde_json::json!({ "value": value, "clock": v.clock })
        })
        .collect();
    let members: Vec<NodeId> = info.peers.addrs().into_keys().collect();
    let preference_list = info
        .stages
        .ring(info.vnodes, members.clone())
        .and_then(|ring| {
            info.stages
                .preference_list(ring.as_ref(), &key, members.len())
        })
        .unwrap_or_default();
    Json(serde_json::json!({
        "node": info.name, "key": key, "versions": versions,
        "preference_list": preference_list,
    }))
    .into_response()
}

/// The 403 an administrative request gets when it comes neither from loopback nor with the token.
fn admin_refusal(app: &App, from: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    (!admin_allowed(app, from, headers)).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "admin endpoints answer loopback or the token only",
        )
    })
}

fn admin_allowed(app: &App, from: SocketAddr, headers: &HeaderMap) -> bool {
    match &app.token {
        Some(token) => headers.get(TOKEN).and_then(|v| v.to_str().ok()) == Some(token.as_str()),
        None => from.ip().is_loopback(),
    }
}

#[derive(Deserialize)]
struct PartitionRequest {
    refuse: Vec<String>,
}

async fn partition(
    State(app): State<App>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<PartitionRequest>,
) -> Response {
    if let Some(refusal) = admin_refusal(&app, from, &headers) {
        return refusal;
    }
    let refuse: BTreeSet<NodeId> = req.refuse.iter().map(NodeId::new).collect();
    app.event("partition", "", &format!("refusing {refuse:?}"));
    app.info.peers.set_refused(refuse);
    StatusCode::NO_CONTENT.into_response()
}

async fn heal(
    State(app): State<App>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = admin_refusal(&app, from, &headers) {
        return refusal;
    }
    app.event("heal", "", "refusing nobody");
    app.info.peers.set_refused(BTreeSet::new());
    StatusCode::NO_CONTENT.into_response()
}

/// How long a leaving process keeps running after its answer, so the answer reaches the client.
const EXIT_AFTER_LEAVE: std::time::Duration = std::time::Duration::from_millis(300);

/// How long a leave keeps handing keys over before it gives up (and the process stays).
const LEAVE_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// The pause between two rounds of a leave, long enough for the members to hear it by gossip.
const LEAVE_ROUND_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// How many client keys (tombstones included) the node still stores.
fn keys_held(app: &App) -> usize {
    app.info
        .storage
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .len()
}

async fn leave(
    State(app): State<App>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = admin_refusal(&app, from, &headers) {
        return refusal;
    }
    let keys = app.status().await.map(|s| s.keys).unwrap_or_default();
    app.event("leave", "", "handing this node's ranges to the others");
    // The contract's leave() drops each key once all its new primaries acknowledged it, so a key
    // still stored afterwards is one whose hand-over is not confirmed: a transfer that timed out
    // (a loaded machine), or a primary whose ring did not yet know of the leave (it refuses
    // keys it does not replicate). Ending the process then would lose it: leave() runs again
    // (its gossip and hand-off again; nothing else repeats) until nothing is left, or gives up.
    let deadline = tokio::time::Instant::now() + LEAVE_WITHIN;
    let mut rounds = 0;
    let remaining = loop {
        rounds += 1;
        if let Err(e) = app.node.ask(|reply| Command::Leave { reply }).await {
            return actor_error(&app, e);
        }
        let remaining = keys_held(&app);
        if remaining == 0 || tokio::time::Instant::now() >= deadline {
            break remaining;
        }
        tokio::time::sleep(LEAVE_ROUND_EVERY).await;
    };
    // Whatever the hand-over stored here is durable before anyone hears the leave is done.
    app.info.flusher.flush().await;
    if remaining > 0 {
        app.event("leave", "", "incomplete: keys not handed over");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the leave is incomplete: after {rounds} rounds in {} s, {remaining} keys are not \
                 acknowledged by their new owners (are they up?); this node keeps them and keeps \
                 running (it refuses writes now); retry the leave",
                LEAVE_WITHIN.as_secs()
            ),
        );
    }
    app.event("leave", "", "left");
    tokio::spawn(async {
        tokio::time::sleep(EXIT_AFTER_LEAVE).await;
        std::process::exit(0);
    });
    Json(serde_json::json!({
        "left": app.info.name, "keys_held": keys, "rounds": rounds,
        "note": "the node handed its ranges to their new owners and told every member; its \
                 process ends now",
    }))
    .into_response()
}
