//! One node process: parse its configuration, host the stage-7 node, serve HTTP.
//!
//! The process gives the node (built from the stages `--reference` chooses, through the same
//! table as the grader's) its three host duties: the HTTP transport ([`crate::transport`]), the
//! redb storage ([`crate::storage`]) and the clock, runs it as an actor ([`crate::actor`], which
//! also ticks it), and serves the HTTP API ([`crate::http`]), all on one thread (a current-thread
//! runtime and a `LocalSet`); only the storage's flusher has a thread of its own. `--n --r --w --mode --vnodes` become the node's
//! [`NodeConfig`]; the timers are the host's, chosen for loopback ([`TIMERS`]).
//!
//! A node on unfinished stages does not start: the chosen stages are probed and the node built
//! first, and the process exits with a message naming each stage that panicked (a `todo!()` stub)
//! and how to run on the reference instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dynamo_common::NodeId;
use store::{NodeConfig, QuorumConfig, SharedStorage, Siblings};

use crate::actor::{self, Launch};
use crate::cli::NodeOptions;
use crate::http::{App, Info, Metrics, router};
use crate::http_client::{Config, HttpClient};
use crate::stages::{Selection, Stages};
use crate::storage::RedbStorage;
use crate::transport::{HttpTransport, Peers};

/// The node's timers on a real network, in ms: (peer timeout, tick, suspect after, tombstone
/// grace, Merkle depth). A killed process refuses connections at once; the timeout bounds a
/// paused one. Suspicion follows stage 7's rule, `suspect_after > tick + 4 * timeout + L`: a
/// tick waits up to four timeouts on a paused peer (gossip, handoff and the two sync messages)
/// and the next tick starts `tick` after it, so a live node's heartbeats may be 2.5 s apart
/// while a peer is paused, and suspicion at 2.5 s would suspect live nodes too. Tombstones are
/// kept ten minutes, far longer than any test's outage.
pub const TIMERS: (u64, u64, u64, u64, u32) = (500, 500, 3_000, 600_000, 6);

/// A node process's arguments.
pub struct NodeArgs {
    /// Name.
    pub name: String,
    /// Listen address.
    pub listen: String,
    /// Address peers use.
    pub advertise: String,
    /// `NAME=ADDR,...`.
    pub peers: String,
    /// A node to join.
    pub join: Option<String>,
    /// Data directory.
    pub data: PathBuf,
    /// Configuration.
    pub options: NodeOptions,
}

/// Parses `NAME=ADDR,...`.
pub fn parse_peers(text: &str) -> Result<BTreeMap<NodeId, String>, String> {
    let mut peers = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, addr) = pair
            .split_once('=')
            .ok_or_else(|| format!("--peers: expected NAME=ADDR, got `{pair}`"))?;
        peers.insert(NodeId::new(name), addr.to_string());
    }
    Ok(peers)
}

/// Runs the node until the process is stopped.
pub fn run(args: NodeArgs) -> Result<(), String> {
    let o = &args.options;
    if o.n == 0 || o.r == 0 || o.w == 0 || o.r > o.n || o.w > o.n {
        return Err(format!(
            "need 1 <= R, W <= N; got N={} R={} W={}",
            o.n, o.r, o.w
        ));
    }
    let selection = Selection::parse(&o.reference_list())?;
    let listen: SocketAddr = args
        .listen
        .parse()
        .map_err(|e| format!("--listen {}: {e}", args.listen))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let name = NodeId::new(&args.name);
        let mut members = parse_peers(&args.peers)?;
        if let Some(seed) = &args.join {
            members.extend(seed_members(seed).await?);
        }
        members.insert(name.clone(), args.advertise.clone());
        let stages = Stages::select(&selection);
        stages
            .probe()
            .map_err(|errors| cannot_start(&args.name, errors))?;
        let (timeout_ms, tick_ms, suspect_after_ms, tombstone_grace_ms, merkle_depth) = TIMERS;
        let config = NodeConfig {
            name: name.clone(),
            members: members.keys().cloned().collect(),
            quorum: QuorumConfig {
                n: o.n,
                r: o.r,
                w: o.w,
            },
            mode: o.mode.into(),
            vnodes: o.vnodes,
            timeout_ms,
            tick_ms,
            suspect_after_ms,
            tombstone_grace_ms,
            merkle_depth,
        };
        config.validate().map_err(|e| {
            let mut message = format!("node {}: {e}", args.name);
            if config.members.len() < o.n {
                message.push_str(
                    "\n(a cluster starts with at least N members that name each other in \
                     --peers; later nodes join it with --join, or start a lone node with --n 1)",
                );
            }
            message
        })?;
        let redb = RedbStorage::open(&args.data).map_err(|e| e.to_string())?;
        let flusher = redb.flusher();
        let storage: SharedStorage<Siblings> = Arc::new(Mutex::new(redb));
        let peers = Arc::new(Peers::new(members));
        let (events, _) = tokio::sync::broadcast::channel(1024);
        let transport = Arc::new(HttpTransport::new(
            name.clone(),
            args.advertise.clone(),
            Duration::from_millis(timeout_ms),
            peers.clone(),
            events.clone(),
        ));
        let node = actor::start(Launch {
            config: config.clone(),
            stages,
            transport: transport.clone(),
            storage: storage.clone(),
            events: events.clone(),
        })
        .map_err(|e| cannot_start(&args.name, vec![e]))?;
        transport.set_local(node.clone());
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("listen on {listen}: {e}"))?;
        println!(
            "node {} listening on http://{} (N={} R={} W={}, {:?}, store: {})",
            args.name,
            args.advertise,
            o.n,
            o.r,
            o.w,
            o.mode,
            stages.implementation("store")
        );
        let info = Info {
            name,
            addr: args.advertise.clone(),
            n: o.n,
            r: o.r,
            w: o.w,
            mode: config.mode,
            config: config.clone(),
            vnodes: o.vnodes,
            stages,
            peers,
            storage,
            flusher,
            metrics: Metrics::default(),
            events,
            data: args.data.clone(),
            // Request ids of a restarted node must not repeat those the others still keep.
            requests: std::sync::atomic::AtomicU64::new(
                crate::transport::now_ms() % 1_000_000_000 * 1000,
            ),
        };
        let app = App {
            node,
            info: Arc::new(info),
            token: o.token.clone(),
        };
        axum::serve(
            listener,
            router(app).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .map_err(|e| e.to_string())
    })
}

fn cannot_start(name: &str, errors: Vec<crate::stages::StageError>) -> String {
    let mut message = format!("node {name} cannot start:");
    for e in errors {
        message.push_str(&format!("\n  - {e}"));
    }
    message.push_str(
        "\nImplement those stages (cargo grade shows what is missing), or run on the \
         reference with --reference all (or --reference STAGE,...).",
    );
    message
}

/// The members a running node knows, with their addresses (its `/cluster`).
async fn seed_members(seed: &str) -> Result<BTreeMap<NodeId, String>, String> {
    let url = format!("http://{seed}/cluster");
    let response = HttpClient::new(Config::default())
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("--join {seed}: {e}"))?;
    let body: serde_json::Value =
        serde_json::from_slice(&response.body).map_err(|e| format!("--join {seed}: {e}"))?;
    let members: BTreeMap<NodeId, String> = body["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some((
                NodeId::new(m["name"].as_str()?),
                m["addr"].as_str()?.to_string(),
            ))
        })
        .collect();
    if members.is_empty() {
        return Err(format!("--join {seed}: its /cluster names no member"));
    }
    Ok(members)
}
