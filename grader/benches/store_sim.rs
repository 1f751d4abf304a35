//! Simulated store operations per second of wall time: a 5-node cluster of reference stage-7
//! nodes (N=3, R=2, W=2), the way the grader's store cases run one.
//!
//! Each iteration starts a fresh cluster on a current-thread runtime with tokio's paused clock,
//! lets 5 clients (one per node) run 40 operations each (a put with the context of a get, then
//! the get's twin: 20 read-modify-writes per client over 8 keys), and waits for every client.
//! Every node ticks every 100 ms of simulated time meanwhile (gossip, handoff, anti-entropy), and
//! every message takes 5 ms of simulated latency, so the figure includes the background work a
//! real cluster does; simulated time itself costs nothing. The counter is client operations, so
//! divan reports operations per second of wall time.
//!
//! The host here is a minimal twin of the grader's simulator (`grader/src/stages/store/sim.rs`):
//! one dispatcher task owns the nodes (they are not `Send`), each transport hands it envelopes,
//! no faults. Run it with `cargo bench -p grader --bench store_sim`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use divan::Bencher;
use divan::counter::ItemsCount;
use dynamo_common::host::{MemStorage, Transport};
use dynamo_common::sim::NoReply;
use dynamo_common::{BoxFuture, NodeId};
use store::{
    Body, DynStoreNode, Envelope, Host, Mode, NodeConfig, QuorumConfig, RequestOptions, Stages,
};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::LocalSet;
use tokio::time::{Duration, Instant, sleep, timeout};

const NODES: [&str; 5] = ["A", "B", "C", "D", "E"];
const OPS_PER_CLIENT: usize = 40;
const LATENCY_MS: u64 = 5;

fn main() {
    divan::main();
}

type Job = (Envelope, oneshot::Sender<Envelope>);
type Nodes = Rc<RefCell<BTreeMap<NodeId, Rc<dyn DynStoreNode>>>>;

struct Net {
    me: NodeId,
    start: Instant,
    jobs: mpsc::UnboundedSender<Job>,
}

impl Transport<Body> for Net {
    fn me(&self) -> NodeId {
        self.me.clone()
    }
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn timeout_ms(&self) -> u64 {
        100
    }
    fn send(&self, envelope: Envelope) -> BoxFuture<'static, Result<Envelope, NoReply>> {
        let (tx, rx) = oneshot::channel();
        let node = envelope.to.clone();
        let sent = self.jobs.send((envelope, tx)).is_ok();
        Box::pin(async move {
            let silent = NoReply::Timeout {
                node,
                timeout_ms: 100,
            };
            if !sent {
                return Err(silent);
            }
            match timeout(Duration::from_millis(100), rx).await {
                Ok(Ok(answer)) => Ok(answer),
                _ => Err(silent),
            }
        })
    }
}

fn stages() -> Stages {
    dynamo_select::store::stages(
        dynamo_select::hash_ring::reference(),
        dynamo_select::fault_tolerance::reference(),
        dynamo_select::vector_clocks::reference(),
        dynamo_select::anti_entropy::reference(),
        dynamo_select::read_repair::reference(),
    )
}

/// Starts the cluster: the dispatcher, the nodes, their tickers.
fn start() -> Nodes {
    let nodes: Nodes = Rc::default();
    let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
    let dispatch = Rc::clone(&nodes);
    tokio::task::spawn_local(async move {
        while let Some((envelope, reply)) = rx.recv().await {
            let nodes = Rc::clone(&dispatch);
            tokio::task::spawn_local(async move {
                let latency = if envelope.from == envelope.to {
                    0
                } else {
                    LATENCY_MS
                };
                sleep(Duration::from_millis(latency)).await;
                let Some(node) = nodes.borrow().get(&envelope.to).cloned() else {
                    return;
                };
                let (from, to, kind) = (envelope.from.clone(), envelope.to.clone(), envelope.kind);
                let request = envelope.request.clone();
                let body = node.handle(envelope).await;
                sleep(Duration::from_millis(latency)).await;
                let _ = reply.send(Envelope {
                    from: to,
                    to: from,
                    kind,
                    detail: String::new(),
                    body,
                    request,
                });
            });
        }
    });
    let members: BTreeSet<NodeId> = NODES.iter().map(|n| NodeId::new(*n)).collect();
    let start = Instant::now();
    let new_node = dynamo_select::store::reference();
    for name in &members {
        let config = NodeConfig {
            name: name.clone(),
            members: members.clone(),
            quorum: QuorumConfig { n: 3, r: 2, w: 2 },
            mode: Mode::Eventual,
            vnodes: 8,
            timeout_ms: 100,
            tick_ms: 100,
            suspect_after_ms: 400,
            tombstone_grace_ms: 1000,
            merkle_depth: 4,
        };
        let transport = Arc::new(Net {
            me: name.clone(),
            start,
            jobs: jobs.clone(),
        });
        let storage = Arc::new(Mutex::new(MemStorage::default()));
        let node = new_node(config, stages(), Host::new(transport, storage)).expect("a node");
        let node: Rc<dyn DynStoreNode> = Rc::from(node);
        nodes.borrow_mut().insert(name.clone(), Rc::clone(&node));
        let weak = Rc::downgrade(&node);
        tokio::task::spawn_local(async move {
            while let Some(node) = weak.upgrade() {
                node.tick().await;
                drop(node);
                sleep(Duration::from_millis(100)).await;
            }
        });
    }
    nodes
}

/// One client's read-modify-writes through its home node.
async fn client(node: Rc<dyn DynStoreNode>, c: usize) {
    for i in 0..OPS_PER_CLIENT / 2 {
        let key = format!("k{}", (c * 3 + i) % 8);
        let context = node
            .get(&key, RequestOptions::default())
            .await
            .ok()
            .map(|r| r.context);
        let _ = node
            .put(
                &key,
                format!("c{c}-{i}"),
                context,
                RequestOptions::default(),
            )
            .await;
    }
}

fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

/// 200 client operations (5 clients x 40) on a fresh 5-node cluster.
#[divan::bench(sample_count = 20)]
fn five_nodes(bencher: Bencher) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(NODES.len() * OPS_PER_CLIENT))
        .bench_local(|| {
            let local = LocalSet::new();
            local.block_on(&rt, async {
                let nodes = start();
                let homes: Vec<Rc<dyn DynStoreNode>> = nodes.borrow().values().cloned().collect();
                let clients: Vec<_> = homes
                    .into_iter()
                    .enumerate()
                    .map(|(c, node)| tokio::task::spawn_local(client(node, c)))
                    .collect();
                for c in clients {
                    let _ = c.await;
                }
                // Drop the nodes: the tickers and the dispatcher end with them.
                nodes.borrow_mut().clear();
            });
        });
}
