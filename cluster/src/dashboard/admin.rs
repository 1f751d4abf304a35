//! The dashboard's fault buttons: `POST /dash/api/admin` with `{"action": "kill" | "revive" |
//! "pause" | "resume", "node": NAME}`, `{"action": "partition", "groups": [[NAME, ...], ...]}`
//! or `{"action": "heal"}`.
//!
//! They do exactly what the `cargo dynamo` commands do, through the same supervisor functions
//! and the cluster's state file next to this node's data directory (so they work for a cluster
//! started with `cargo dynamo up`), and answer only loopback callers, or callers with the
//! node's admin token, like the nodes' own admin endpoints.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::http::{App, TOKEN};
use crate::supervisor;

/// A button press.
#[derive(Deserialize)]
pub struct Action {
    action: String,
    #[serde(default)]
    node: String,
    #[serde(default)]
    groups: Vec<Vec<String>>,
}

fn answer(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// `POST /dash/api/admin`.
pub async fn admin(
    State(app): State<App>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(action): Json<Action>,
) -> Response {
    let allowed = match &app.token {
        Some(token) => headers.get(TOKEN).and_then(|v| v.to_str().ok()) == Some(token.as_str()),
        None => from.ip().is_loopback(),
    };
    if !allowed {
        let message = "fault buttons answer loopback or the admin token only".to_string();
        return answer(StatusCode::FORBIDDEN, message);
    }
    let Some(dir) = app.info.data.parent().map(PathBuf::from) else {
        return answer(
            StatusCode::CONFLICT,
            "this node has no cluster directory".into(),
        );
    };
    let Action {
        action,
        node,
        groups,
    } = action;
    let done = tokio::task::spawn_blocking(move || match action.as_str() {
        "kill" => supervisor::kill(&dir, &node).map(|()| format!("{node} killed")),
        "revive" => supervisor::revive(&dir, &node).map(|()| format!("{node} revived")),
        "pause" => {
            supervisor::signal(&dir, &node, "STOP", "paused").map(|()| format!("{node} paused"))
        }
        "resume" => {
            supervisor::signal(&dir, &node, "CONT", "resumed").map(|()| format!("{node} resumed"))
        }
        "partition" => {
            let groups: Vec<String> = groups.iter().map(|g| g.join(",")).collect();
            supervisor::partition(&dir, &groups).map(|()| format!("partitioned {groups:?}"))
        }
        "heal" => supervisor::heal(&dir).map(|()| "healed".to_string()),
        other => Err(format!(
            "unknown action `{other}` (kill, revive, pause, resume, partition, heal)"
        )),
    })
    .await;
    match done {
        Ok(Ok(message)) => answer(StatusCode::OK, message),
        Ok(Err(message)) => answer(StatusCode::CONFLICT, message),
        Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
