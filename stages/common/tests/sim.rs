//! The simulated network's rules, checked on tokio's paused clock in current-thread runtimes
//! (so simulated seconds cost microseconds and nothing depends on the machine), with randomness
//! only from the configured seed.

use std::collections::BTreeMap;

use dynamo_common::NodeId;
use dynamo_common::sim::{DropRule, MessageKind, Network, NetworkConfig, NoReply, Versioned};
use tokio::runtime::{Builder, Runtime};

fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

fn nodes() -> Vec<NodeId> {
    ["A", "B", "C", "D"].into_iter().map(NodeId::from).collect()
}

fn config(seed: u64, drop_rate: f64) -> NetworkConfig {
    let latency: BTreeMap<NodeId, u64> = nodes().into_iter().zip([10, 20, 30, 40]).collect();
    NetworkConfig {
        latency_ms: latency,
        down: [NodeId::from("D")].into(),
        drop_rate,
        seed,
        timeout_ms: 200,
        ..NetworkConfig::default()
    }
}

/// A scenario with parallel sends, a down node and seeded drops; returns its full trace.
fn scenario(seed: u64) -> Vec<String> {
    let rt = runtime();
    rt.block_on(async {
        let net: Network<Versioned> = Network::new(config(seed, 0.3), nodes());
        for version in 1..=5 {
            let mut tasks = tokio::task::JoinSet::new();
            for node in nodes() {
                let net = net.clone();
                tasks.spawn(
                    async move { net.send_put(&node, "k", Versioned::new("v", version)).await },
                );
            }
            // Return after the first answer of any kind, leaving the rest in flight.
            let _ = tasks.join_next().await;
            let _ = net.send_get(&NodeId::from("B"), "k").await;
        }
        net.settle().await;
        net.trace().lines()
    })
}

/// Determinism (DESIGN.md, "Time"): the same seed and case give the same trace, byte for byte,
/// even with random drops; another seed drops other messages.
#[test]
fn same_seed_same_trace() {
    let first = scenario(7);
    assert_eq!(first, scenario(7));
    assert!(first.iter().any(|l| l.contains("lost: dropped")));
    assert!(first.iter().any(|l| l.contains("lost: D is down")));
    assert_ne!(first, scenario(8));
}

/// A round trip to a node with latency L takes 2L (the coordinator adds 0), and the replica
/// applies the write when the request arrives.
#[test]
fn round_trip_is_twice_the_node_latency() {
    runtime().block_on(async {
        let net: Network<Versioned> = Network::new(config(0, 0.0), nodes());
        let b = NodeId::from("B");
        let ack = net.send_put(&b, "k", Versioned::new("x", 1)).await;
        assert_eq!(ack.map(|a| a.from), Ok(b.clone()));
        assert_eq!(net.now_ms(), 40);
        assert_eq!(net.stored(&b, "k"), Some(Versioned::new("x", 1)));
        assert_eq!(
            net.send_get(&b, "k").await,
            Ok(Some(Versioned::new("x", 1)))
        );
        assert_eq!(net.now_ms(), 80);
    });
}

/// A down node is reported when its reply would have come back; a dropped reply costs the
/// timeout, though the replica stored the write.
#[test]
fn down_is_reported_after_a_round_trip_and_silence_after_the_timeout() {
    runtime().block_on(async {
        let mut cfg = config(0, 0.0);
        cfg.drops.push(DropRule {
            from: Some(NodeId::from("A")),
            kind: Some(MessageKind::Ack),
            ..DropRule::default()
        });
        let net: Network<Versioned> = Network::new(cfg, nodes());
        let d = NodeId::from("D");
        assert_eq!(
            net.send_put(&d, "k", Versioned::new("x", 1)).await,
            Err(NoReply::Down { node: d.clone() })
        );
        assert_eq!(net.now_ms(), 80);
        let a = NodeId::from("A");
        assert_eq!(
            net.send_put(&a, "k", Versioned::new("x", 1)).await,
            Err(NoReply::Timeout {
                node: a.clone(),
                timeout_ms: 200
            })
        );
        assert_eq!(net.now_ms(), 280);
        assert_eq!(net.stored(&a, "k"), Some(Versioned::new("x", 1)));
    });
}

/// Replicas keep the highest version: an older write arriving late does not overwrite a newer one.
#[test]
fn replicas_keep_the_highest_version() {
    runtime().block_on(async {
        let net: Network<Versioned> = Network::new(config(0, 0.0), nodes());
        let a = NodeId::from("A");
        net.preload(&a, "k", Versioned::new("new", 5));
        let _ = net.send_put(&a, "k", Versioned::new("old", 2)).await;
        assert_eq!(net.stored(&a, "k"), Some(Versioned::new("new", 5)));
    });
}
