//! Quiescence ends early only once the cluster has settled (every key's primaries agree, no hint,
//! no stray key, unchanged for a whole anti-entropy round), and runs its whole period otherwise.
//!
//! Deterministic: the paused clock of the grader's simulated host and a fixed seed.

use dynamo_common::NodeId;
use dynamo_common::request::{RequestId, scope};
use store::RequestOptions;
use tokio::task::LocalSet;
use tokio::time::{Duration, sleep};

use super::sim::Cluster;
use super::{ClusterSpec, StoreEvent, workload};

const NODES: [&str; 5] = ["A", "B", "C", "D", "E"];

/// Writes `k` through `via`.
async fn put(cluster: &Cluster, via: &str, seq: u64) {
    let via = NodeId::new(via);
    let node = cluster.node(&via).expect("the node");
    scope(
        Some(RequestId::new(via.clone(), seq)),
        node.put("k", "v".to_string(), None, RequestOptions::default()),
    )
    .await
    .expect("the write reaches W");
}

/// `k`'s primaries by the reference ring over every node.
fn primaries(spec: &ClusterSpec) -> Vec<NodeId> {
    let mut ring = (dynamo_select::hash_ring::reference().new)(spec.vnodes).expect("a ring");
    for n in NODES {
        ring.add_node(NodeId::new(n)).expect("a new node");
    }
    ring.preference_list("k", 3).expect("3 of 5 nodes")
}

#[test]
fn a_settled_cluster_ends_quiescence_after_a_whole_round_unchanged() {
    let spec = super::reference_spec(&NODES);
    let runtime = super::super::cluster::paused_runtime().expect("a runtime");
    LocalSet::new().block_on(&runtime, async {
        let cluster = workload::start(&spec, spec.seed).expect("the cluster");
        sleep(Duration::from_millis(500)).await;
        put(&cluster, "A", 1).await;
        let start = cluster.now_ms();
        workload::quiesce(&cluster, &spec, 10_000)
            .await
            .expect("quiescence");
        let ran = cluster.now_ms() - start;
        // Settled within a few ticks of the write, then unchanged for five more (five members).
        assert!(
            ran >= 5 * spec.tick_ms,
            "stopped after {ran} ms, before a whole round"
        );
        assert!(ran < 2_000, "ran {ran} ms of the 10 s although settled");
        let observed = workload::final_state(&cluster, &spec);
        assert!(observed.hints_left.is_empty());
        assert!(observed.strays.is_empty());
        assert!(dynamo_checkers::convergence(&observed.replicas).is_empty());
        assert_eq!(observed.replicas["k"].len(), 3, "{:?}", observed.replicas);
    });
}

#[test]
fn a_cluster_that_has_not_settled_runs_the_whole_period() {
    let spec = super::reference_spec(&NODES);
    let down = primaries(&spec)[0].clone();
    let via = NODES
        .into_iter()
        .find(|n| NodeId::new(n) != down)
        .expect("another node");
    let runtime = super::super::cluster::paused_runtime().expect("a runtime");
    LocalSet::new().block_on(&runtime, async {
        let cluster = workload::start(&spec, spec.seed).expect("the cluster");
        workload::apply(&cluster, &StoreEvent::Crash(down.clone()))
            .await
            .expect("crash");
        // Every member suspects it, so the write goes to a fallback with a hint.
        sleep(Duration::from_millis(1000)).await;
        put(&cluster, via, 1).await;
        assert!(!cluster.hints_left().is_empty(), "a hint for {down}");
        // So slow a network that the recovered node cannot be heard within the period: the hint
        // stays, the cluster never settles, and quiescence must not stop before its end.
        workload::apply(
            &cluster,
            &StoreEvent::Latency {
                min: 3_000,
                max: 3_000,
            },
        )
        .await
        .expect("latency");
        let start = cluster.now_ms();
        workload::quiesce(&cluster, &spec, 1_500)
            .await
            .expect("quiescence");
        assert_eq!(cluster.now_ms() - start, 1_500);
        let observed = workload::final_state(&cluster, &spec);
        assert!(
            observed
                .hints_left
                .iter()
                .any(|(_, primary, key)| *primary == down && key == "k"),
            "the hint is still there: {:?}",
            observed.hints_left
        );
    });
}
