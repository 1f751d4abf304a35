//! What a host gives a stage-7 node: transport, receiving side, storage (and time).
//!
//! One node logic runs on two hosts: the grader's simulated cluster (many nodes in one process,
//! a paused tokio clock, seeded faults) and `cluster/`'s real one (one OS process per node,
//! HTTP, `redb` on disk). Node logic never opens a socket or a file and never reads the wall
//! clock; it reaches the world only through these three things:
//!
//! - [`Transport`]: sends an [`Envelope`] to another node and waits for the answering envelope.
//!   The host decides latency, loss, partitions and timeouts; it never looks inside the body.
//! - The receiving side: the host hands every arriving envelope to its node
//!   (`store::StoreNode::handle`), which answers with a body; the host sends it back.
//! - [`Storage`]: the node's local data, keys with their stored object and hints for other
//!   nodes. [`MemStorage`] keeps them in memory (the simulator); a real node keeps them on disk
//!   and returns from a write only once it is durable.
//!
//! Time is [`Transport::now_ms`]; the host also calls the node's periodic `tick`.

mod envelope;
mod storage;

pub use envelope::{Envelope, Transport};
pub use storage::{MemStorage, SharedStorage, Storage};
