//! When anti-entropy last ran with each peer, for the Merkle panel's "last sync".
//!
//! The hosted node reports every peer exchange on the event stream (the transport's `sent`
//! events, kind `sync` for anti-entropy). The first dashboard request starts a listener that
//! keeps, per peer, the time and outcome of the last sync exchange and how many there were; the
//! request diagrams need nothing stored here, since the page builds them from the same stream.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use crate::http::App;

/// One peer's anti-entropy record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncRecord {
    /// When the last sync exchange with this peer ended (ms since the Unix epoch).
    pub last_ms: u64,
    /// Sync exchanges seen since the dashboard first looked.
    pub rounds: u64,
    /// How the last one ended: `answered`, or why not.
    pub outcome: String,
}

type Table = Arc<Mutex<BTreeMap<String, SyncRecord>>>;

/// Anti-entropy exchanges per peer (one node per process, so one table per process).
pub struct Syncs;

static SYNCS: OnceLock<Table> = OnceLock::new();

impl Syncs {
    /// Every peer's record; the first call starts listening.
    pub fn all(app: &App) -> BTreeMap<String, SyncRecord> {
        let table = SYNCS.get_or_init(|| {
            let table: Table = Arc::default();
            let mut events = app.info.events.subscribe();
            let writer = table.clone();
            tokio::spawn(async move {
                loop {
                    let line = match events.recv().await {
                        Ok(line) => line,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    };
                    let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                        continue;
                    };
                    if event["kind"] != "sync" || event["direction"] != "sent" {
                        continue;
                    }
                    let peer = event["peer"].as_str().unwrap_or_default().to_string();
                    let mut table = writer.lock().unwrap_or_else(|e| e.into_inner());
                    let record = table.entry(peer).or_default();
                    record.last_ms = event["t_ms"].as_u64().unwrap_or_default();
                    record.rounds += 1;
                    record.outcome = event["outcome"].as_str().unwrap_or_default().to_string();
                }
            });
            table
        });
        table.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
