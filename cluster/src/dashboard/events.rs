//! `GET /dash/api/events`: every member's `/events`, merged into one server-sent stream.
//!
//! A page can only open streams to the node that served it, so that node subscribes to each
//! member's stream (reconnecting every second while a member is down) and forwards every event
//! unchanged. When the page goes away the forwarders notice at their next event or keep-alive
//! and stop.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::http::App;
use crate::http_client::{Config, HttpClient};

async fn forward(addr: String, tx: mpsc::Sender<String>) {
    let client = HttpClient::new(Config {
        connect_timeout: Some(Duration::from_millis(500)),
        ..Config::default()
    });
    while !tx.is_closed() {
        if let Ok(mut response) = client.get(format!("http://{addr}/events")).stream().await {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                if tx.is_closed() {
                    return;
                }
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    for line in block.lines() {
                        if let Some(data) = line.strip_prefix("data:")
                            && tx.send(data.trim_start().to_string()).await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `GET /dash/api/events`.
pub async fn events(State(app): State<App>) -> Response {
    let (tx, rx) = mpsc::channel(1024);
    for addr in app.info.peers.addrs().into_values() {
        tokio::spawn(forward(addr, tx.clone()));
    }
    let stream =
        ReceiverStream::new(rx).map(|line| Ok::<_, Infallible>(Event::default().data(line)));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
