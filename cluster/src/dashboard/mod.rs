//! The dashboard every node serves at `/`: one page, its script and style, compiled into the
//! binary (`include_str!`), no framework, no build step, nothing fetched from elsewhere, so it
//! works offline.
//!
//! The page draws the ring (every node's tokens in its colour, liveness), looks a key up (its
//! position, preference list, fallbacks standing in, each replica's siblings with their vector
//! clocks, tombstones, agreement), shows each node's keys, hints, Merkle roots per range and
//! gossip view, has fault buttons and a put/get/delete console that shows the context it carries,
//! a live event log, and one sequence diagram per request (drawn by the grader's own renderer,
//! [`dynamo_common::diagram`], from the messages that carry the request's id). The Merkle roots
//! and last syncs are the nodes' own (`NodeStatus::ranges`). Everything user-supplied is set as
//! text, never as markup.
//!
//! Modules: [`api`] (read-only JSON), [`admin`] (the buttons), [`events`] (the merged live
//! stream), [`log`] (the node's record of recent requests and their messages), [`requests`]
//! (one request's sequence diagram, joined from every node's record).

pub mod admin;
pub mod api;
pub mod events;
pub mod log;
pub mod requests;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::http::App;

/// The page.
const PAGE: &str = include_str!("page.html");
/// The page's script.
const SCRIPT: &str = include_str!("app.js");
/// The page's style.
const STYLE: &str = include_str!("app.css");

/// The dashboard's routes.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/dash/app.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route("/dash/app.css", get(|| async { asset("text/css", STYLE) }))
        .route(
            "/dash/sequence.js",
            get(|| async { asset("text/javascript", dynamo_common::diagram::SCRIPT) }),
        )
        .route(
            "/dash/sequence.css",
            get(|| async { asset("text/css", dynamo_common::diagram::STYLE) }),
        )
        .route("/dash/api/node", get(api::node))
        .route("/dash/api/overview", get(api::overview))
        .route("/dash/api/key/{key}", get(api::key))
        .route("/dash/api/events", get(events::events))
        .route("/dash/api/admin", post(admin::admin))
        .route("/dash/api/requests", get(requests::requests))
        .route("/dash/api/request/{id}", get(requests::request))
        .route("/dash/api/local/requests", get(requests::local_requests))
        .route("/dash/api/local/request/{id}", get(requests::local_request))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
