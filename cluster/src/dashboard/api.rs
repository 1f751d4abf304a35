//! The dashboard's read-only JSON: one node's inside (`/dash/api/node`), the whole cluster as
//! this node can see it (`/dash/api/overview`), and one key across every replica
//! (`/dash/api/key/{key}`).
//!
//! The serving node gathers the others' views over HTTP (their `/dash/api/node` and
//! `/replica/{key}`), because a page may only talk to the origin it came from. Liveness joins
//! two sources: the supervisor's process table (`cluster.json` next to the node's data
//! directory, when the cluster was started with `cargo dynamo up`) says killed or paused; the
//! nodes' gossip says suspected. Merkle state is the nodes' own: each reports, per ring range it
//! replicates (the arc ending at a token), the root of its stage-5 tree over the keys it holds
//! there and its last sync with each other replica (`NodeStatus::ranges`); the overview lines
//! the replicas' roots up per range, so equal roots mean the replicas agree.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use dynamo_common::NodeId;
use store::{Liveness, RangeStatus, Siblings, SyncOutcome, SyncRecord};

use crate::http::App;
use crate::http_client::HttpClient;
use crate::supervisor;
use crate::transport::now_ms;

/// How many keys a node lists by name (the count is always exact).
const KEYS_LISTED: usize = 200;

/// Every member this node knows, by name, with its address.
fn members(app: &App) -> BTreeMap<NodeId, String> {
    app.info.peers.addrs()
}

/// The ring's tokens as (node, position), built by the node's own ring stage.
fn tokens(app: &App) -> Vec<(String, u64)> {
    app.info
        .stages
        .ring(app.info.vnodes, members(app).into_keys())
        .map(|ring| {
            ring.tokens()
                .into_iter()
                .map(|t| (t.node.to_string(), t.position))
                .collect()
        })
        .unwrap_or_default()
}

async fn local(app: &App) -> Value {
    let info = &app.info;
    let (all, hints) = {
        let storage = info.storage.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: BTreeMap<String, Siblings> = BTreeMap::new();
        for key in storage.keys() {
            if let Some(held) = storage.get(&key) {
                all.insert(key, held);
            }
        }
        (all, storage.hints())
    };
    let hints: Vec<Value> = hints
        .into_iter()
        .map(|h| json!({ "for": h.primary, "key": h.key }))
        .collect();
    let status = app.status().await.unwrap_or_default();
    let ranges: Vec<Value> = status.ranges.iter().map(range_json).collect();
    // Per peer, the latest sync over any range.
    let mut syncs: BTreeMap<String, Value> = BTreeMap::new();
    for range in &status.ranges {
        for (peer, record) in &range.synced {
            let newer = syncs
                .get(peer.as_str())
                .is_none_or(|s| s["at_ms"].as_u64() < Some(record.at_ms));
            if newer {
                syncs.insert(peer.to_string(), sync_json(record));
            }
        }
    }
    let refused = info.peers.refused();
    let view: Vec<Value> = members(app)
        .into_keys()
        .map(|name| {
            let state = if refused.contains(&name) {
                "refused"
            } else if name == info.name {
                "up"
            } else {
                match status.members.get(&name) {
                    Some(Liveness::Alive) => "up",
                    Some(Liveness::Suspected) => "suspected",
                    Some(Liveness::Left) => "left",
                    None => "unknown",
                }
            };
            json!({ "name": name, "state": state })
        })
        .collect();
    json!({
        "name": info.name, "addr": info.addr, "t_ms": now_ms(),
        "keys": all.len(), "key_list": all.keys().take(KEYS_LISTED).collect::<Vec<_>>(),
        "tombstones": status.tombstones,
        "hints": hints, "members": view, "syncs": syncs, "ranges": ranges,
        "reports_ranges": !status.ranges.is_empty(),
    })
}

/// One last sync as JSON: `{at_ms, outcome}`, the outcome in words.
fn sync_json(record: &SyncRecord) -> Value {
    let outcome = match record.outcome {
        SyncOutcome::InSync => "in sync".to_string(),
        SyncOutcome::Repaired { sent, received } => {
            format!("repaired: sent {sent}, received {received}")
        }
        SyncOutcome::Answered => "answered a differing root".to_string(),
        SyncOutcome::NoAnswer => "no answer".to_string(),
    };
    json!({ "at_ms": record.at_ms, "outcome": outcome })
}

/// One range as a node reports it.
fn range_json(range: &RangeStatus) -> Value {
    let synced: BTreeMap<String, Value> = range
        .synced
        .iter()
        .map(|(peer, record)| (peer.to_string(), sync_json(record)))
        .collect();
    // Positions as text: a browser's numbers cannot hold every u64.
    json!({ "start": range.range.start.to_string(), "end": range.range.end.to_string(),
            "replicas": range.replicas,
            "keys": range.keys, "root": range.root.to_string(), "synced": synced })
}

/// `GET /dash/api/node`: this node's keys, hints, gossip view, Merkle roots and syncs.
pub async fn node(State(app): State<App>) -> Json<Value> {
    Json(local(&app).await)
}

fn client() -> HttpClient {
    HttpClient::with_timeout(Duration::from_millis(800))
}

async fn fetch_json(client: &HttpClient, url: String) -> Option<Value> {
    let response = client.get(url).send().await.ok()?;
    serde_json::from_slice(&response.body).ok()
}

/// Fetches `path` from every member at once; `None` for those that did not answer.
pub(crate) async fn from_all(app: &App, path: &str) -> BTreeMap<String, Option<Value>> {
    let client = client();
    let mut tasks = Vec::new();
    for (name, addr) in members(app) {
        let name = name.to_string();
        if name == app.info.name.as_str() && path == "/dash/api/node" {
            tasks.push((name, None, Some(local(app).await)));
            continue;
        }
        let url = format!("http://{addr}{path}");
        let task = tokio::spawn({
            let client = client.clone();
            async move { fetch_json(&client, url).await }
        });
        tasks.push((name, Some(task), None));
    }
    let mut out = BTreeMap::new();
    for (name, task, ready) in tasks {
        let value = match task {
            Some(t) => t.await.ok().flatten(),
            None => ready,
        };
        out.insert(name, value);
    }
    out
}

/// The supervisor's view of each process (`running`, `paused`, `killed`, `dead`), when this
/// node belongs to a cluster started by `cargo dynamo up`.
fn processes(app: &App) -> BTreeMap<String, &'static str> {
    let Some(dir) = app.info.data.parent() else {
        return BTreeMap::new();
    };
    match supervisor::load(dir) {
        Ok(state) => state
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.process()))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// Each member's liveness: `down`, `paused`, `suspected` or `up`.
fn liveness(
    details: &BTreeMap<String, Option<Value>>,
    processes: &BTreeMap<String, &'static str>,
) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for (name, detail) in details {
        let process = processes.get(name).copied();
        let suspected = details.values().flatten().any(|d| {
            d["members"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["name"] == name.as_str() && m["state"] == "suspected")
            })
        });
        let state = match (process, detail) {
            (Some("killed" | "dead"), _) => "down",
            (Some("paused"), _) => "paused",
            (_, None) => "down",
            _ if suspected => "suspected",
            _ => "up",
        };
        out.insert(name.clone(), state);
    }
    out
}

/// `GET /dash/api/overview`: configuration, ring, every node's liveness and inside, and the
/// Merkle comparison of every range that holds keys.
pub async fn overview(State(app): State<App>) -> Json<Value> {
    let details = from_all(&app, "/dash/api/node").await;
    let processes = processes(&app);
    let live = liveness(&details, &processes);
    let c = &app.info;
    let tokens = tokens(&app);
    // Each range as its replicas report it: their roots side by side, and their last syncs.
    let mut ranges: BTreeMap<u64, Value> = BTreeMap::new();
    for (name, d) in &details {
        for r in d.iter().flat_map(|d| d["ranges"].as_array()).flatten() {
            let Some(end) = r["end"].as_str().and_then(|e| e.parse::<u64>().ok()) else {
                continue;
            };
            let entry = ranges.entry(end).or_insert_with(|| {
                json!({ "start": r["start"], "end": r["end"], "replicas": r["replicas"],
                        "roots": {}, "keys": {}, "synced": {} })
            });
            entry["roots"][name] = r["root"].clone();
            entry["keys"][name] = r["keys"].clone();
            entry["synced"][name] = r["synced"].clone();
        }
    }
    let ranges: Vec<Value> = ranges
        .into_values()
        .enumerate()
        .map(|(i, mut r)| {
            let replicas: Vec<String> = r["replicas"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            // A replica that did not answer has no root here (null on the page).
            for x in &replicas {
                if r["roots"].get(x).is_none() {
                    r["roots"][x] = Value::Null;
                }
            }
            let known: Vec<&Value> = replicas
                .iter()
                .filter_map(|x| r["roots"].get(x))
                .filter(|v| !v.is_null())
                .collect();
            let (equal, complete) = (
                known.windows(2).all(|w| w[0] == w[1]),
                known.len() == replicas.len(),
            );
            r["equal"] = equal.into();
            r["complete"] = complete.into();
            r["range"] = i.into();
            r
        })
        .collect();
    let nodes: Vec<Value> = details
        .iter()
        .map(|(name, d)| {
            json!({ "name": name, "liveness": live.get(name), "process": processes.get(name),
                    "detail": d })
        })
        .collect();
    Json(json!({
        "serving": c.name, "n": c.n, "r": c.r, "w": c.w, "mode": c.mode, "vnodes": c.vnodes,
        "stages": {
            "hash-ring": c.stages.implementation("hash-ring").to_string(),
            "vector-clocks": c.stages.implementation("vector-clocks").to_string(),
            "store": c.stages.implementation("store").to_string(),
        },
        "supervised": !processes.is_empty(),
        "tokens": tokens.iter().map(|(n, p)| json!({ "node": n, "position": p })).collect::<Vec<_>>(),
        "nodes": nodes, "ranges": ranges,
    }))
}

fn version_json(v: &Value) -> Value {
    let clock = serde_json::from_value::<store::VectorClock>(v["clock"].clone())
        .map(|c| c.to_string())
        .unwrap_or_else(|_| v["clock"].to_string());
    json!({ "clock": clock, "value": v["value"], "tombstone": v["value"].is_null() })
}

/// `GET /dash/api/key/{key}`: the key's position, preference list, the nodes a request through
/// this node would use now (fallbacks standing in for primaries that are down or that this node
/// cannot reach), and every node's versions and hints.
pub async fn key(State(app): State<App>, Path(key): Path<String>) -> Response {
    if key.is_empty() || key.len() > crate::http::MAX_KEY {
        let message = format!("a key is 1 to {} bytes", crate::http::MAX_KEY);
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response();
    }
    let names: Vec<NodeId> = members(&app).into_keys().collect();
    let list = app
        .info
        .stages
        .ring(app.info.vnodes, names.clone())
        .and_then(|ring| {
            app.info
                .stages
                .preference_list(ring.as_ref(), &key, names.len())
        });
    let list = match list {
        Ok(list) => list.into_iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response();
        }
    };
    let details = from_all(&app, "/dash/api/node").await;
    let live = liveness(&details, &processes(&app));
    let escaped: String = key
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let replicas = from_all(&app, &format!("/replica/{escaped}")).await;
    let n = app.info.n.min(list.len());
    // A request goes where the serving node can reach: up, and not refused or suspected in
    // its own view (a partition is per node).
    let serving = app.info.name.to_string();
    let own_view: BTreeMap<String, String> = details
        .get(&serving)
        .cloned()
        .flatten()
        .and_then(|d| d["members"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let name = m["name"].as_str().unwrap_or_default().to_string();
            (name, m["state"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    let healthy = |x: &String| {
        *x == serving
            || (live.get(x).copied() == Some("up")
                && own_view.get(x).map(String::as_str) == Some("up"))
    };
    let mut targets: Vec<Value> = Vec::new();
    let mut down: Vec<&String> = Vec::new();
    for p in &list[..n] {
        if healthy(p) {
            targets.push(json!({ "node": p, "for": null }));
        } else {
            down.push(p);
        }
    }
    let mut fallbacks = list[n..].iter().filter(|f| healthy(f));
    for p in down {
        match fallbacks.next() {
            Some(f) => targets.push(json!({ "node": f, "for": p })),
            None => targets.push(json!({ "node": p, "for": null, "unreachable": true })),
        }
    }
    let mut sets: Vec<Vec<Value>> = Vec::new();
    let mut nodes = Vec::new();
    for (name, answer) in &replicas {
        let versions: Option<Vec<Value>> = answer.as_ref().map(|a| {
            a["versions"]
                .as_array()
                .map(|vs| vs.iter().map(version_json).collect())
                .unwrap_or_default()
        });
        if let Some(v) = &versions
            && !v.is_empty()
        {
            sets.push(v.clone());
        }
        let hints: Vec<Value> = details
            .get(name)
            .cloned()
            .flatten()
            .and_then(|d| d["hints"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|h| h["key"] == key.as_str())
            .map(|h| h["for"].clone())
            .collect();
        nodes.push(json!({
            "node": name, "liveness": live.get(name), "primary": list[..n].contains(name),
            "versions": versions, "hints_for": hints,
        }));
    }
    let agree = sets.windows(2).all(|w| w[0] == w[1]);
    Json(json!({
        "key": key, "position": (dynamo_select::hash_ring::reference().position)(&key), "preference_list": list,
        "n": n, "targets": targets, "replicas": nodes, "agree": agree,
        "holders": sets.len(),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_joins_the_process_table_and_the_gossip() {
        let view = |suspect: &str| {
            Some(json!({ "members": [
                { "name": suspect, "state": "suspected" },
                { "name": "A", "state": "up" },
            ] }))
        };
        let details: BTreeMap<String, Option<Value>> = [
            ("A".to_string(), view("B")),
            ("B".to_string(), Some(json!({ "members": [] }))),
            ("C".to_string(), None),
            ("D".to_string(), Some(json!({ "members": [] }))),
            ("E".to_string(), Some(json!({ "members": [] }))),
        ]
        .into_iter()
        .collect();
        let processes: BTreeMap<String, &'static str> =
            [("D".to_string(), "paused"), ("E".to_string(), "killed")]
                .into_iter()
                .collect();
        let live = liveness(&details, &processes);
        assert_eq!(live["A"], "up");
        assert_eq!(live["B"], "suspected");
        assert_eq!(live["C"], "down", "not answering");
        assert_eq!(live["D"], "paused");
        assert_eq!(live["E"], "down", "killed");
    }
}
