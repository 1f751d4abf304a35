//! One node process: parse its configuration, start the node, serve HTTP, tick.
//!
//! A node on unfinished stages does not start: [`Node::start`] probes the chosen stages and the
//! process exits with a message naming each stage that panicked (a `todo!()` stub) and how to
//! run on the reference instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use dynamo_common::NodeId;

use crate::cli::NodeOptions;
use crate::http::{App, router};
use crate::node::{Config, Node};
use crate::peer::{Envelope, Msg, Reply, Transport};
use crate::stages::Selection;

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let mut members = parse_peers(&args.peers)?;
        let name = NodeId::new(&args.name);
        if let Some(seed) = &args.join {
            let transport = Transport::new(Duration::from_secs(2));
            let hello = Envelope {
                from: name.clone(),
                from_addr: args.advertise.clone(),
                to: NodeId::new("?"),
                body: Msg::Ping {
                    members: BTreeMap::from([(name.clone(), args.advertise.clone())]),
                },
            };
            // The seed's name is unknown until it answers; ask its /cluster first.
            let seed_name = seed_name(seed).await?;
            let hello = Envelope {
                to: seed_name,
                ..hello
            };
            match transport.call(seed, &hello).await {
                Ok(Reply::Pong { members: theirs }) => members.extend(theirs),
                Ok(other) => return Err(format!("--join {seed}: unexpected answer {other:?}")),
                Err(e) => return Err(format!("--join {seed}: {e}")),
            }
        }
        members.insert(name.clone(), args.advertise.clone());
        let config = Config {
            name,
            addr: args.advertise.clone(),
            members,
            n: o.n,
            r: o.r,
            w: o.w,
            mode: o.mode,
            vnodes: o.vnodes,
            data: args.data.clone(),
            selection,
            request_timeout: Duration::from_millis(1000),
            tick: Duration::from_millis(500),
        };
        let node = Node::start(config).map_err(|errors| {
            let mut message = format!("node {} cannot start:", args.name);
            for e in errors {
                message.push_str(&format!("\n  - {e}"));
            }
            message.push_str(
                "\nImplement those stages (cargo grade shows what is missing), or run on the \
                 reference with --reference all (or --reference STAGE,...).",
            );
            message
        })?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("listen on {listen}: {e}"))?;
        println!("node {} listening on http://{}", args.name, args.advertise);
        let ticker = node.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(ticker.config.tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                ticker.tick().await;
            }
        });
        let app = App {
            node,
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

async fn seed_name(seed: &str) -> Result<NodeId, String> {
    let url = format!("http://{seed}/cluster");
    let body: serde_json::Value = reqwest::get(&url)
        .await
        .map_err(|e| format!("--join {seed}: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("--join {seed}: {e}"))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("--join {seed}: {e}")))?;
    body["name"]
        .as_str()
        .map(NodeId::new)
        .ok_or_else(|| format!("--join {seed}: its /cluster names no node"))
}
