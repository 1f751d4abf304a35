//! One client request's sequence diagram, drawn exactly from what the nodes recorded of it.
//!
//! Every message a request causes carries its id (`dynamo_common::request`), and each node keeps
//! the events of the requests it took part in ([`super::log`]): the coordinator's record of the
//! client request, every sender's record of each message (when sent, when its answer came or
//! why none did) and every receiver's (when it arrived, when it was answered). The serving node
//! gathers them from every member and [`items`] joins them, message by message (a sender's record
//! and its receiver's share the sender's message number), into the diagram's items
//! (`dynamo_common::diagram`): one arrow per message and one per answer, in time order, each at
//! its real send and arrival time, in ms since the client's request reached the coordinator.
//!
//! - A message nobody recorded receiving is lost: partitioned, node down, or dropped (timed out),
//!   as its sender's outcome says.
//! - An answer that came after its sender stopped waiting is drawn as unheard; a message that
//!   arrived after the client's answer, as late (the diagram script does that from the answer).
//!
//! All nodes run on one machine's clock when `cargo dynamo up` starts them, so their times
//! compare; across hosts they are as good as the hosts' clocks.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use store::MessageKind;

use super::log;
use crate::http::App;

/// The kind of the envelope answering one of `kind`, as the hosts name them.
/// ([`MessageKind::answer`]; a kind no node writes is answered by an ack).
fn answer_kind(kind: &str) -> String {
    kind.parse::<MessageKind>()
        .map_or(MessageKind::Ack, MessageKind::answer)
        .to_string()
}

/// The fate of a message whose receiver left no record, from the sender's outcome.
fn lost_fate(outcome: &str) -> &'static str {
    if outcome.contains("partition") || outcome.contains("refus") {
        "partitioned"
    } else if outcome.contains("is down") {
        "lost-node-down"
    } else {
        "dropped"
    }
}

fn ms(event: &Value, field: &str) -> Option<i64> {
    event[field].as_i64()
}

/// The diagram items of request `id` from the events every node recorded of it.
pub fn items(id: &str, events: &[Value]) -> Vec<Value> {
    let client = events.iter().find(|e| log::is_client_request(e));
    let sent: Vec<&Value> = events.iter().filter(|e| e["direction"] == "sent").collect();
    let received: BTreeMap<(String, i64), &Value> = events
        .iter()
        .filter(|e| e["direction"] == "received")
        .filter_map(|e| {
            let sender = e["peer"].as_str()?.to_string();
            Some(((sender, e["message"].as_i64()?), e))
        })
        .collect();
    // Time 0: the client's request reached the coordinator (or the first message left).
    let t0 = client
        .and_then(|c| ms(c, "started_ms"))
        .or_else(|| sent.iter().filter_map(|e| ms(e, "sent_ms")).min())
        .or_else(|| received.values().filter_map(|e| ms(e, "received_ms")).min())
        .unwrap_or(0);
    let at = |t: i64| (t - t0).max(0);
    // (time, order within a time, item)
    let mut rows: Vec<(i64, u8, Value)> = Vec::new();
    let message = |sent_ms: i64, from: &Value, to: &Value, kind: &str, detail: &Value, fate| {
        json!({ "sent_ms": at(sent_ms), "from": from, "to": to, "kind": kind,
                "detail": detail.as_str().unwrap_or_default(), "fate": fate, "request": id })
    };
    if let Some(c) = client {
        let start = ms(c, "started_ms").unwrap_or(t0);
        let fate = json!({ "arrives": { "at_ms": at(start) } });
        rows.push((
            at(start),
            0,
            message(
                start,
                &json!("client"),
                &c["node"],
                c["kind"].as_str().unwrap_or("request"),
                &c["key"],
                fate,
            ),
        ));
    }
    let mut matched: Vec<(String, i64)> = Vec::new();
    for s in &sent {
        let (Some(sent_ms), Some(kind)) = (ms(s, "sent_ms"), s["kind"].as_str()) else {
            continue;
        };
        let ended = ms(s, "t_ms").unwrap_or(sent_ms);
        let answered = s["outcome"] == "answered";
        let key = (
            s["node"].as_str().unwrap_or_default().to_string(),
            s["message"].as_i64().unwrap_or(-1),
        );
        let r = received.get(&key);
        let fate = match r.and_then(|r| ms(r, "received_ms")) {
            Some(arrived) => json!({ "arrives": { "at_ms": at(arrived) } }),
            // Answered, yet the receiver's record is gone (restarted, or forgotten): it arrived
            // by the time the answer did.
            None if answered => json!({ "arrives": { "at_ms": at(ended) } }),
            None => json!(lost_fate(s["outcome"].as_str().unwrap_or_default())),
        };
        rows.push((
            at(sent_ms),
            1,
            message(sent_ms, &s["node"], &s["peer"], kind, &s["detail"], fate),
        ));
        let answer_sent = match r {
            Some(r) => {
                matched.push(key);
                ms(r, "t_ms")
            }
            None if answered => Some(ended),
            None => None,
        };
        if let Some(answer_sent) = answer_sent {
            let fate = if answered {
                json!({ "arrives": { "at_ms": at(ended.max(answer_sent)) } })
            } else {
                // The sender had given up: the answer found nobody waiting.
                json!({ "arrives-unheard": { "at_ms": at(answer_sent) } })
            };
            rows.push((
                at(answer_sent),
                1,
                message(
                    answer_sent,
                    &s["peer"],
                    &s["node"],
                    &answer_kind(kind),
                    &json!(""),
                    fate,
                ),
            ));
        }
    }
    // Messages whose sender's record is missing (its node restarted): drawn from the receiver's.
    for ((sender, number), r) in &received {
        if matched.contains(&(sender.clone(), *number)) {
            continue;
        }
        let (Some(arrived), Some(kind)) = (ms(r, "received_ms"), r["kind"].as_str()) else {
            continue;
        };
        let fate = json!({ "arrives": { "at_ms": at(arrived) } });
        rows.push((
            at(arrived),
            1,
            message(arrived, &r["peer"], &r["node"], kind, &r["detail"], fate),
        ));
    }
    if let Some(c) = client {
        let answered = ms(c, "t_ms").unwrap_or(t0);
        let answer = format!(
            "{} {}: {}",
            c["kind"].as_str().unwrap_or_default(),
            c["key"].as_str().unwrap_or_default(),
            c["outcome"].as_str().unwrap_or_default()
        );
        rows.push((
            at(answered),
            2,
            json!({ "answer": answer, "at_ms": at(answered), "from": c["node"], "request": id }),
        ));
    }
    // Stable: equal times keep the order above (a message before its answer).
    rows.sort_by_key(|(t, order, _)| (*t, *order));
    rows.into_iter().map(|(_, _, item)| item).collect()
}

/// `GET /dash/api/local/request/{id}`: this node's events of request `id`.
pub async fn local_request(Path(id): Path<String>) -> Json<Vec<Value>> {
    Json(log::of_request(&id))
}

/// `GET /dash/api/local/requests`: the client requests this node coordinated lately.
pub async fn local_requests() -> Json<Vec<Value>> {
    Json(log::recent_requests())
}

/// Percent-encodes a path segment.
pub fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /dash/api/requests`: the latest client requests of every member, newest first.
pub async fn requests(State(app): State<App>) -> Json<Vec<Value>> {
    let all = super::api::from_all(&app, "/dash/api/local/requests").await;
    let mut list: Vec<Value> = all
        .into_values()
        .flatten()
        .filter_map(|v| v.as_array().cloned())
        .flatten()
        .collect();
    list.sort_by_key(|e| std::cmp::Reverse(e["t_ms"].as_i64().unwrap_or(0)));
    list.truncate(log::LISTED);
    Json(list)
}

/// `GET /dash/api/request/{id}`: request `id`'s diagram items, from every member's record.
pub async fn request(State(app): State<App>, Path(id): Path<String>) -> Response {
    let path = format!("/dash/api/local/request/{}", escape(&id));
    let all = super::api::from_all(&app, &path).await;
    let events: Vec<Value> = all
        .into_values()
        .flatten()
        .filter_map(|v| v.as_array().cloned())
        .flatten()
        .collect();
    let client = events.iter().find(|e| log::is_client_request(e)).cloned();
    Json(
        json!({ "request": id, "client": client, "items": items(&id, &events),
                 "events": events.len() }),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(node: &str, peer: &str, kind: &str, n: i64, at: (i64, i64), outcome: &str) -> Value {
        json!({ "node": node, "direction": "sent", "kind": kind, "peer": peer, "detail": "k",
                "request": "A#1", "message": n, "sent_ms": at.0, "t_ms": at.1,
                "outcome": outcome })
    }

    fn received(node: &str, peer: &str, kind: &str, n: i64, at: (i64, i64)) -> Value {
        json!({ "node": node, "direction": "received", "kind": kind, "peer": peer, "detail": "k",
                "request": "A#1", "message": n, "received_ms": at.0, "t_ms": at.1,
                "outcome": "answered" })
    }

    /// A put through A with W=2: B acks in time, C's ack comes after the client's answer, D's
    /// copy is lost to a partition, and E answers after A gave up. Every arrow sits at the
    /// times the nodes recorded, relative to the client's request, in time order.
    #[test]
    fn a_request_is_drawn_from_the_records_of_every_node_it_touched() {
        let events = vec![
            json!({ "node": "A", "kind": "put", "key": "k", "request": "A#1",
                    "started_ms": 1000, "t_ms": 1030, "outcome": "acknowledged" }),
            sent("A", "B", "put", 7, (1002, 1020), "answered"),
            sent("A", "C", "put", 8, (1002, 1050), "answered"),
            sent(
                "A",
                "D",
                "hint",
                9,
                (1003, 1003),
                "D is on the other side of a partition",
            ),
            sent(
                "A",
                "E",
                "put",
                10,
                (1002, 1102),
                "no reply from E within 100 ms",
            ),
            received("B", "A", "put", 7, (1010, 1011)),
            received("C", "A", "put", 8, (1040, 1041)),
            received("E", "A", "put", 10, (1090, 1150)),
        ];
        let items = items("A#1", &events);
        let row = |i: &Value| {
            format!(
                "{} {}->{} {} {}",
                i["sent_ms"],
                i["from"].as_str().unwrap_or("?"),
                i["to"].as_str().unwrap_or("?"),
                i["kind"].as_str().unwrap_or("answer"),
                i["fate"]
            )
        };
        let rows: Vec<String> = items.iter().map(row).collect();
        assert_eq!(
            rows,
            [
                r#"0 client->A put {"arrives":{"at_ms":0}}"#,
                r#"2 A->B put {"arrives":{"at_ms":10}}"#,
                r#"2 A->C put {"arrives":{"at_ms":40}}"#,
                r#"2 A->E put {"arrives":{"at_ms":90}}"#,
                r#"3 A->D hint "partitioned""#,
                r#"11 B->A ack {"arrives":{"at_ms":20}}"#,
                r#"null A->? answer null"#,
                r#"41 C->A ack {"arrives":{"at_ms":50}}"#,
                r#"150 E->A ack {"arrives-unheard":{"at_ms":150}}"#,
            ]
        );
        assert_eq!(items[6]["answer"], "put k: acknowledged");
        assert_eq!(items[6]["at_ms"], 30);
        assert!(items.iter().all(|i| i["request"] == "A#1"));
    }

    #[test]
    fn a_message_nobody_received_is_lost_as_its_sender_says() {
        assert_eq!(
            lost_fate("B is on the other side of a partition"),
            "partitioned"
        );
        assert_eq!(lost_fate("B is down"), "lost-node-down");
        assert_eq!(lost_fate("no reply from B within 100 ms"), "dropped");
    }
}
