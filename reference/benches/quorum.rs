//! Simulated puts and gets per second of wall time, N=3, R=2, W=2, on the reference coordinator.
//!
//! Each iteration runs one operation (plus `settle`, so the late replies are paid for too) on a
//! network kept across iterations, in a current-thread runtime with paused time, exactly as the
//! grader runs a case. Simulated latencies cost nothing here; what is measured is the
//! coordinator's and the simulator's own work.

use divan::Bencher;
use divan::counter::ItemsCount;
use dynamo_common::NodeId;
use dynamo_common::sim::{NetworkConfig, Versioned};
use quorum::{Coordinator, Network, QuorumConfig};
use reference::quorum::Quorum;
use tokio::runtime::{Builder, Runtime};

fn main() {
    divan::main();
}

fn world() -> (Runtime, Network, Quorum, Vec<NodeId>) {
    let rt = Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let nodes: Vec<NodeId> = ["A", "B", "C"].into_iter().map(NodeId::from).collect();
    let mut config = NetworkConfig::default();
    for (node, ms) in nodes.iter().zip([10, 20, 30]) {
        config.latency_ms.insert(node.clone(), ms);
    }
    let network = rt.block_on(async { Network::new(config, nodes.clone()) });
    let quorum = Quorum::new(QuorumConfig { n: 3, r: 2, w: 2 }, 3).expect("valid");
    (rt, network, quorum, nodes)
}

#[divan::bench]
fn put(bencher: Bencher) {
    let (rt, network, quorum, nodes) = world();
    let mut version = 0;
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        version += 1;
        rt.block_on(async {
            let r = quorum
                .put(&network, &nodes, "k", Versioned::new("v", version))
                .await;
            network.settle().await;
            r
        })
    });
}

#[divan::bench]
fn get(bencher: Bencher) {
    let (rt, network, quorum, nodes) = world();
    for node in &nodes {
        network.preload(node, "k", Versioned::new("v", 1));
    }
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        rt.block_on(async {
            let r = quorum.get(&network, &nodes, "k").await;
            network.settle().await;
            r
        })
    });
}
