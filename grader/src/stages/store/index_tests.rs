//! The reference node keeps an index of its stored keys (their primaries, a Merkle tree per peer,
//! the keys it no longer replicates, the tombstones) up to date change by change instead of
//! rebuilding it at every tick (`reference/src/store/index.rs`). A change it missed would make
//! anti-entropy trust a stale tree and hand-off or reaping skip a key, silently. So these tests
//! run seeded workloads with every kind of fault (crashes, partitions, loss, joins, leaves,
//! deletes and reaping) on reference nodes that compare their index with one rebuilt from
//! storage after every tick and every message, and fail at the first difference.

use std::cell::RefCell;

use reference::store::Node as Reference;
use store::{
    Body, ConfigError, Context, Envelope, Host, NodeConfig, NodeStatus, ReadResult, RequestOptions,
    Stages, StoreError, StoreNode,
};
use tokio::task::LocalSet;

use super::{Bounds, ClusterSpec, Workload, workload};

thread_local! {
    /// The first difference any node found.
    static FOUND: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The reference node, checking its index after each tick and each message it handles.
struct Checked(Reference);

impl Checked {
    fn check(&self) {
        if let Err(e) = self.0.check_index() {
            FOUND.with(|f| f.borrow_mut().get_or_insert(e).clone());
        }
    }
}

impl StoreNode for Checked {
    fn new(config: NodeConfig, stages: Stages, host: Host) -> Result<Self, ConfigError> {
        Ok(Checked(Reference::new(config, stages, host)?))
    }
    async fn put(
        &self,
        key: &str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        self.0.put(key, value, context, options).await
    }
    async fn get(&self, key: &str, options: RequestOptions) -> Result<ReadResult, StoreError> {
        self.0.get(key, options).await
    }
    async fn delete(
        &self,
        key: &str,
        context: Context,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        self.0.delete(key, context, options).await
    }
    async fn handle(&self, envelope: Envelope) -> Body {
        let answer = self.0.handle(envelope).await;
        self.check();
        answer
    }
    async fn tick(&self) {
        self.0.tick().await;
        self.check();
    }
    async fn leave(&self) {
        self.0.leave().await;
    }
    fn status(&self) -> NodeStatus {
        self.0.status()
    }
}

/// The unit tests' cluster of `nodes`, on checking nodes, with a tombstone grace short enough to
/// reap within a run and a latency spread that reorders messages.
fn spec(nodes: &[&str]) -> ClusterSpec {
    ClusterSpec {
        new_node: store::new_node::<Checked>(),
        vnodes: 8,
        tombstone_grace_ms: 300,
        latency: Bounds(2, 15),
        ..super::reference_spec(nodes)
    }
}

/// Runs `yaml` (a workload step's body) under seeds 1..=`seeds`; panics at the first index that
/// differs from storage.
fn run(nodes: &[&str], yaml: &str, seeds: u64) {
    let spec = spec(nodes);
    let workload: Workload = serde_saphyr::from_str(yaml).expect("the workload");
    let runtime = super::super::cluster::paused_runtime().expect("a runtime");
    for seed in 1..=seeds {
        FOUND.with(|f| f.borrow_mut().take());
        let observed = LocalSet::new()
            .block_on(&runtime, workload::run(&spec, &workload, seed, true))
            .expect("the workload runs");
        assert!(
            !observed.history.events.is_empty(),
            "seed {seed}: the workload ran no operation"
        );
        if let Some(found) = FOUND.with(|f| f.borrow_mut().take()) {
            panic!("seed {seed}: the index differs from storage on {found}");
        }
    }
}

#[test]
fn the_index_follows_crashes_partitions_loss_and_deletes() {
    run(
        &["A", "B", "C", "D", "E"],
        r#"
clients: 4
ops: 25
keys: 8
mix: {put: 5, get: 3, delete: 2}
faults:
  - {at_ms: [50, 150], event: {crash: B}}
  - {at_ms: [150, 250], event: {partition: [[A, C], [D, E]]}}
  - {at_ms: [250, 300], event: {loss: 0.2}}
  - {at_ms: [300, 400], event: heal}
  - {at_ms: [400, 500], event: {recover: B}}
expect: {holds: [convergence]}
"#,
        6,
    );
}

#[test]
fn the_index_follows_joins_and_leaves() {
    run(
        &["A", "B", "C", "D"],
        r#"
clients: 3
ops: 25
keys: 10
mix: {put: 6, get: 3, delete: 1}
faults:
  - {at_ms: [100, 200], event: {join: E}}
  - {at_ms: [300, 450], event: {leave: B}}
  - {at_ms: [350, 400], event: {crash: C}}
  - {at_ms: [500, 600], event: {recover: C}}
expect: {holds: [convergence]}
"#,
        6,
    );
}
