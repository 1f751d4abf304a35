//! The node's HTTP API (axum): the client API, peer traffic, introspection and admin.
//!
//! - `GET/PUT/DELETE /kv/{key}`: the context travels in `X-Dynamo-Context` (opaque to clients:
//!   base64url of the merged vector clock). A PUT without it adds a sibling; a DELETE without it
//!   is `428 Precondition Required`, since a blind delete could not say which versions it removes.
//!   GET answers `{"values": [...], "context": "..."}` with tombstones hidden, or 404 with the
//!   context header when only tombstones remain. `?r=` and `?w=` set per-request quorums.
//!   Limits: keys 1 to [`MAX_KEY`] bytes, values at most [`MAX_VALUE`] bytes of UTF-8, `1 <= r, w
//!   <= N`; anything else is a 400 saying which. A quorum out of reach is a 503 naming the acks
//!   or replies received.
//! - `POST /peer`: one peer envelope in, its reply out (JSON).
//! - `GET /ping`, `/cluster` (JSON: members, liveness, ring, keys, hints, stages), `/metrics`
//!   (Prometheus text), `/events` (server-sent events), `/replica/{key}` (this replica's
//!   versions with their clocks).
//! - `POST /admin/partition` and `/admin/heal`: answered only from loopback, or with the
//!   configured token in `X-Dynamo-Token`.
#![expect(
    clippy::result_large_err,
    reason = "validation helpers return the ready error response; boxing it would buy nothing"
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dynamo_common::NodeId;
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use vector_clocks::VectorClock;

use crate::node::{Node, NodeError};
use crate::peer::Envelope;

/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = 256;
/// Largest value accepted, in bytes.
pub const MAX_VALUE: usize = 64 * 1024;
/// The context header.
pub const CONTEXT: &str = "x-dynamo-context";
/// The admin token header.
pub const TOKEN: &str = "x-dynamo-token";

/// Shared state of the handlers.
#[derive(Clone)]
pub struct App {
    /// The node.
    pub node: Arc<Node>,
    /// Admin token, when admin endpoints may be reached from other hosts.
    pub token: Option<String>,
}

/// The router.
pub fn router(app: App) -> Router {
    Router::new()
        .merge(crate::dashboard::routes())
        .route("/kv/{key}", get(kv_get).put(kv_put).delete(kv_delete))
        .route("/peer", post(peer))
        .route("/ping", get(ping))
        .route("/cluster", get(cluster))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        .route("/replica/{key}", get(replica))
        .route("/admin/partition", post(partition))
        .route("/admin/heal", post(heal))
        .with_state(app)
}

/// Encodes a clock as an opaque context.
pub fn encode_context(clock: &VectorClock) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(clock).unwrap_or_default())
}

fn decode_context(text: &str) -> Option<VectorClock> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// Per-request quorums.
#[derive(Deserialize)]
struct Quorums {
    r: Option<usize>,
    w: Option<usize>,
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

fn quorum(value: Option<usize>, default: usize, n: usize, name: &str) -> Result<usize, Response> {
    let q = value.unwrap_or(default);
    if q == 0 || q > n {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("{name} must be between 1 and N={n}; got {q}"),
        ));
    }
    Ok(q)
}

fn context_of(headers: &HeaderMap) -> Result<Option<VectorClock>, Response> {
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

fn node_error(e: NodeError) -> Response {
    match &e {
        NodeError::Quorum {
            what,
            got,
            needed,
            asked,
            answered,
        } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "error": e.to_string(), "what": what, "received": got, "needed": needed,
                "asked": asked, "answered": answered,
                "note": "a failed write may still be stored on the replicas that acked it",
            })),
        )
            .into_response(),
        NodeError::Stage(_) | NodeError::Storage(_) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

fn with_context(mut response: Response, clock: &VectorClock) -> Response {
    if let Ok(v) = HeaderValue::from_str(&encode_context(clock)) {
        response.headers_mut().insert(CONTEXT, v);
    }
    response
}

async fn kv_get(
    State(app): State<App>,
    Path(key): Path<String>,
    Query(q): Query<Quorums>,
) -> Response {
    if let Err(r) = check_key(&key) {
        return r;
    }
    let c = &app.node.config;
    let r = match quorum(q.r, c.r, c.n, "r") {
        Ok(r) => r,
        Err(e) => return e,
    };
    match app.node.get(&key, r).await {
        Ok(read) => {
            let values: Vec<&String> = read
                .versions
                .iter()
                .filter_map(|v| v.value.as_ref())
                .collect();
            let context = encode_context(&read.context);
            let status = if values.is_empty() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            let body = Json(serde_json::json!({ "values": values, "context": context }));
            with_context((status, body).into_response(), &read.context)
        }
        Err(e) => node_error(e),
    }
}

async fn write(
    app: &App,
    key: &str,
    value: Option<String>,
    headers: &HeaderMap,
    w: Option<usize>,
) -> Response {
    if let Err(r) = check_key(key) {
        return r;
    }
    let c = &app.node.config;
    let w = match quorum(w, c.w, c.n, "w") {
        Ok(w) => w,
        Err(e) => return e,
    };
    let context = match context_of(headers) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if value.is_none() && context.is_none() {
        return error(
            StatusCode::PRECONDITION_REQUIRED,
            "DELETE needs the X-Dynamo-Context of a read: it removes the versions that read saw",
        );
    }
    match app.node.put(key, value, context, w).await {
        Ok(clock) => {
            let body = Json(serde_json::json!({ "context": encode_context(&clock) }));
            with_context((StatusCode::OK, body).into_response(), &clock)
        }
        Err(e) => node_error(e),
    }
}

async fn kv_put(
    State(app): State<App>,
    Path(key): Path<String>,
    Query(q): Query<Quorums>,
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
    write(&app, &key, Some(value), &headers, q.w).await
}

async fn kv_delete(
    State(app): State<App>,
    Path(key): Path<String>,
    Query(q): Query<Quorums>,
    headers: HeaderMap,
) -> Response {
    write(&app, &key, None, &headers, q.w).await
}

async fn peer(State(app): State<App>, Json(envelope): Json<Envelope>) -> Response {
    if envelope.to != app.node.config.name {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            format!("this is {}, not {}", app.node.config.name, envelope.to),
        );
    }
    match app.node.handle(envelope).await {
        Ok(reply) => Json(reply).into_response(),
        Err(e) => error(StatusCode::FORBIDDEN, e),
    }
}

async fn ping(State(app): State<App>) -> String {
    format!("pong {}\n", app.node.config.name)
}

async fn cluster(State(app): State<App>) -> Response {
    let node = &app.node;
    let c = &node.config;
    let mut hints: std::collections::BTreeMap<String, usize> = Default::default();
    for (target, _, _) in node.storage.hints().unwrap_or_default() {
        *hints.entry(target.to_string()).or_default() += 1;
    }
    let tokens: Vec<_> = node
        .tokens()
        .into_iter()
        .map(|(n, p)| serde_json::json!({ "node": n, "position": p }))
        .collect();
    Json(serde_json::json!({
        "name": c.name, "addr": c.addr, "n": c.n, "r": c.r, "w": c.w, "mode": c.mode,
        "vnodes": c.vnodes,
        "stages": {
            "hash-ring": node.stages.ring_impl.to_string(),
            "vector-clocks": node.stages.clocks_impl.to_string(),
        },
        "members": node.members(),
        "keys": node.storage.key_count().unwrap_or(0),
        "hints": hints,
        "tokens": tokens,
    }))
    .into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    let m = &app.node.metrics;
    let name = &app.node.config.name;
    let mut out = String::new();
    let mut counter = |metric: &str, help: &str, value: u64| {
        out.push_str(&format!(
            "# HELP {metric} {help}\n# TYPE {metric} counter\n{metric}{{node=\"{name}\"}} {value}\n"
        ));
    };
    counter(
        "dynamo_gets_total",
        "Client reads answered.",
        m.gets.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_puts_total",
        "Client writes and deletes acknowledged.",
        m.puts.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_unavailable_total",
        "Client operations that missed their quorum.",
        m.unavailable.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_peer_messages_total",
        "Peer messages handled.",
        m.peer_messages.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_hints_stored_total",
        "Hints stored for down nodes.",
        m.hints_stored.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_hints_delivered_total",
        "Hints handed back.",
        m.hints_delivered.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_read_repairs_total",
        "Read repairs sent.",
        m.read_repairs.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_sync_rounds_total",
        "Anti-entropy rounds.",
        m.sync_rounds.load(Ordering::Relaxed),
    );
    counter(
        "dynamo_sync_repairs_total",
        "Keys repaired by anti-entropy.",
        m.sync_repairs.load(Ordering::Relaxed),
    );
    let keys = app.node.storage.key_count().unwrap_or(0);
    out.push_str(&format!(
        "# HELP dynamo_keys Keys held by this replica.\n# TYPE dynamo_keys gauge\ndynamo_keys{{node=\"{name}\"}} {keys}\n"
    ));
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}

async fn events(State(app): State<App>) -> Response {
    let stream = BroadcastStream::new(app.node.subscribe())
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
    match app.node.storage.get(&key) {
        Ok(versions) => Json(serde_json::json!({
            "node": app.node.config.name, "key": key, "versions": versions,
            "preference_list": app.node.preference_list(&key).unwrap_or_default(),
        }))
        .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
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
    if !admin_allowed(&app, from, &headers) {
        return error(
            StatusCode::FORBIDDEN,
            "admin endpoints answer loopback or the token only",
        );
    }
    let refuse: BTreeSet<NodeId> = req.refuse.iter().map(NodeId::new).collect();
    app.node.partition(refuse);
    StatusCode::NO_CONTENT.into_response()
}

async fn heal(
    State(app): State<App>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !admin_allowed(&app, from, &headers) {
        return error(
            StatusCode::FORBIDDEN,
            "admin endpoints answer loopback or the token only",
        );
    }
    app.node.heal();
    StatusCode::NO_CONTENT.into_response()
}
