//! Your Dynamo node. This is the only file you edit in stage 7.
//!
//! Replace each `todo!()` with your code, then run `cargo grade store` (or `cargo grade store
//! --reference-deps` to compose the reference's stages 1-6). The rules are in
//! `stages/07-store/README.md`; every method's contract is on [`StoreNode`] in `src/lib.rs`.
//!
//! A good order: `new` and the replica side of `handle` (track `requests`), `put`/`get`, then
//! `delete` (`deletes`), `tick`'s gossip and handoff (`failures`), anti-entropy (`convergence`),
//! `leave` (`membership`), strict mode (`consistency`).

use crate::{
    Body, ConfigError, Context, Envelope, Host, NodeConfig, NodeStatus, ReadResult, RequestOptions,
    Stages, StoreError, StoreNode,
};

/// Your node. What does it need to remember between requests?
pub struct Node {
    // TODO(README.md § "Your task"): the fields your node needs (config, stages, host, ring,
    // gossip state), behind RefCell or Mutex where requests change them.
}

impl StoreNode for Node {
    fn new(config: NodeConfig, stages: Stages, host: Host) -> Result<Self, ConfigError> {
        // TODO(README.md § "Your task"): validate, build the ring of config.members.
        let _ = (stages, host);
        todo!("a node from {config:?}")
    }

    async fn put(
        &self,
        key: &str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        // TODO(README.md § "Writes"): a new version from the context, stage 3's put over the walk
        // with the W of `options` (README.md § "Per-request quorums").
        todo!("put {key} = {value} with {context:?}, {options:?}")
    }

    async fn get(&self, key: &str, options: RequestOptions) -> Result<ReadResult, StoreError> {
        // TODO(README.md § "Reads"): stage 6's read over the first N live nodes of the walk.
        todo!("get {key} with {options:?}")
    }

    async fn delete(
        &self,
        key: &str,
        context: Context,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        // TODO(README.md § "Deletes are tombstones"): a put of Payload::Tombstone.
        todo!("delete {key} with {context}, {options:?}")
    }

    async fn handle(&self, envelope: Envelope) -> Body {
        // TODO(README.md § "The replica side"): merge puts, keep hints, answer gets, gossip.
        todo!("handle {:?} from {}", envelope.kind, envelope.from)
    }

    async fn tick(&self) {
        // TODO(README.md § "The tick"): gossip, handoff, anti-entropy, reaping.
        todo!("tick")
    }

    async fn leave(&self) {
        // TODO(README.md § "Joins and leaves"): hand your ranges over, then gossip `left`.
        todo!("leave")
    }

    fn status(&self) -> NodeStatus {
        // TODO(README.md § "Your task"): members and liveness, keys, tombstones, hints.
        todo!("status")
    }
}
