//! The hosted stage-7 node, run as an actor on the process's one thread.
//!
//! Node logic (the learner's or the reference's) need not be `Send`: it is created and driven on
//! a current-thread runtime inside a `LocalSet`, as the contract requires. The HTTP server and
//! the peer transport run on that same thread, so a request reaches the node and the node's
//! messages reach the network without waking another thread (three node processes share two
//! cores on a laptop; cross-thread hand-offs were a large share of each request's cost).
//! Everything else talks to the node through [`NodeHandle`]: send a [`Command`] over a channel,
//! await the oneshot reply. Each command runs in its own local task, so the node serves many
//! requests at once, and a panic in node code (a `todo!()` in a learner's method) fails only the
//! request that hit it: the reply channel is dropped and the handler answers 500 naming the
//! node's implementation.
//!
//! The actor also calls `tick()` every `tick_ms` after the previous tick returned, and announces
//! every change of liveness the node's gossip reports (suspicions and recoveries) on the event
//! stream.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use dynamo_common::NodeId;
use dynamo_common::request::{RequestId, scope};
use store::{Body, Context, DynStoreNode, Envelope, Host, NodeConfig, NodeStatus, ReadResult};
use store::{Liveness, RequestOptions, SharedStorage, Siblings, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::stages::{StageError, Stages, guard};
use crate::transport::{HttpTransport, now_ms};

/// What the node is asked to do.
pub enum Command {
    /// A client write.
    Put {
        /// The id its messages carry (`dynamo_common::request`).
        request: RequestId,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The context of the read this write follows, if any.
        context: Option<Context>,
        /// The client's own W, if any.
        options: RequestOptions,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Context, StoreError>>,
    },
    /// A client read.
    Get {
        /// The id its messages carry.
        request: RequestId,
        /// The key.
        key: String,
        /// The client's own R, if any.
        options: RequestOptions,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<ReadResult, StoreError>>,
    },
    /// A client delete.
    Delete {
        /// The id its messages carry.
        request: RequestId,
        /// The key.
        key: String,
        /// The context of the read this delete follows.
        context: Context,
        /// The client's own W, if any.
        options: RequestOptions,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Context, StoreError>>,
    },
    /// A peer's envelope.
    Handle {
        /// The envelope.
        envelope: Envelope,
        /// Where the node's answer goes.
        reply: oneshot::Sender<Body>,
    },
    /// Leave the cluster for good: hand this node's ranges to their new owners, tell everyone.
    Leave {
        /// Answered once the node's `leave()` returned.
        reply: oneshot::Sender<()>,
    },
    /// What the node shows of itself.
    Status {
        /// Where the answer goes.
        reply: oneshot::Sender<NodeStatus>,
    },
}

/// Why a command got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    /// The node's code panicked while serving it.
    #[error("the node ({who}) failed serving this request (a panic; see the node's log)")]
    Panicked {
        /// Who implements the node: `learner` or `reference`.
        who: String,
    },
}

/// The handlers' side of the actor. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct NodeHandle {
    commands: mpsc::UnboundedSender<Command>,
    who: String,
}

impl NodeHandle {
    /// Sends the command `make` builds around a fresh reply channel at once, and returns the
    /// channel the answer comes on (closed when the node panicked or is gone).
    pub fn tell<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> oneshot::Receiver<T> {
        let (reply, answer) = oneshot::channel();
        let _ = self.commands.send(make(reply));
        answer
    }

    /// Sends the command `make` builds around a fresh reply channel and waits for the answer.
    pub async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ActorError> {
        let (reply, answer) = oneshot::channel();
        let panicked = || ActorError::Panicked {
            who: self.who.clone(),
        };
        self.commands.send(make(reply)).map_err(|_| panicked())?;
        answer.await.map_err(|_| panicked())
    }
}

/// Everything the node thread needs.
pub struct Launch {
    /// The node's configuration.
    pub config: NodeConfig,
    /// The stages and the node constructor.
    pub stages: Stages,
    /// The transport to the other nodes.
    pub transport: Arc<HttpTransport>,
    /// The node's storage.
    pub storage: SharedStorage<Siblings>,
    /// Where events go.
    pub events: broadcast::Sender<String>,
}

/// Builds the node and starts serving it on the current thread's `LocalSet` (call it inside
/// `LocalSet::run_until` or `block_on`). Returns the reason it could not be built: a
/// configuration error, or a panicking constructor.
pub fn start(launch: Launch) -> Result<NodeHandle, StageError> {
    let Launch {
        config,
        stages,
        transport,
        storage,
        events,
    } = launch;
    let who = stages.implementation("store");
    let host = Host::new(transport, storage);
    let tick = Duration::from_millis(config.tick_ms);
    let me = config.name.clone();
    let new_node = stages.new_node;
    // As in the stage probe: the error names the stage; the default hook's backtrace would only
    // bury it. Nothing else runs yet (the process is starting).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let made = guard("store", who, || new_node(config, stages.stages, host));
    std::panic::set_hook(hook);
    let node: Rc<Box<dyn DynStoreNode>> = match made {
        Ok(Ok(node)) => Rc::new(node),
        Ok(Err(e)) => {
            return Err(StageError {
                stage: "store",
                implementation: who,
                problem: format!("refused its configuration: {e}"),
            });
        }
        Err(e) => return Err(e),
    };
    let (commands, inbox) = mpsc::unbounded_channel();
    tokio::task::spawn_local(ticks(node.clone(), tick, me, events));
    tokio::task::spawn_local(serve(node, inbox));
    Ok(NodeHandle {
        commands,
        who: who.to_string(),
    })
}

/// Calls `tick()` every `tick` after the previous one returned; announces liveness changes.
async fn ticks(
    node: Rc<Box<dyn DynStoreNode>>,
    tick: Duration,
    me: NodeId,
    events: broadcast::Sender<String>,
) {
    let mut seen: BTreeMap<NodeId, Liveness> = BTreeMap::new();
    loop {
        tokio::time::sleep(tick).await;
        // A panicking tick (a learner's todo!()) must not stop the ticks: run it as a task.
        let ticker = node.clone();
        let _ = tokio::task::spawn_local(async move { ticker.tick().await }).await;
        // The status (with its Merkle roots per range) costs a pass over the keys: ask for it
        // only while someone watches the liveness events.
        if events.receiver_count() == 0 {
            seen.clear();
            continue;
        }
        let ticker = node.clone();
        let Ok(status) = tokio::task::spawn_local(async move { ticker.status() }).await else {
            continue;
        };
        for (member, liveness) in &status.members {
            if seen.get(member) != Some(liveness) && events.receiver_count() > 0 {
                let line = serde_json::json!({
                    "node": me, "t_ms": now_ms(), "kind": "liveness",
                    "peer": member, "detail": liveness,
                });
                let _ = events.send(line.to_string());
            }
        }
        seen = status.members;
    }
}

/// Runs each command in its own local task, so a panic costs only that command.
async fn serve(node: Rc<Box<dyn DynStoreNode>>, mut inbox: mpsc::UnboundedReceiver<Command>) {
    while let Some(command) = inbox.recv().await {
        let node = node.clone();
        tokio::task::spawn_local(async move {
            // Each client request, and each envelope that belongs to one, runs with its id
            // current, so every message it causes carries the id.
            match command {
                Command::Put {
                    request,
                    key,
                    value,
                    context,
                    options,
                    reply,
                } => {
                    let put = node.put(&key, value, context, options);
                    let _ = reply.send(scope(Some(request), put).await);
                }
                Command::Get {
                    request,
                    key,
                    options,
                    reply,
                } => {
                    let get = node.get(&key, options);
                    let _ = reply.send(scope(Some(request), get).await);
                }
                Command::Delete {
                    request,
                    key,
                    context,
                    options,
                    reply,
                } => {
                    let delete = node.delete(&key, context, options);
                    let _ = reply.send(scope(Some(request), delete).await);
                }
                Command::Handle { envelope, reply } => {
                    let request = envelope.request.clone();
                    let _ = reply.send(scope(request, node.handle(envelope)).await);
                }
                Command::Leave { reply } => {
                    node.leave().await;
                    let _ = reply.send(());
                }
                Command::Status { reply } => {
                    let _ = reply.send(node.status());
                }
            }
        });
    }
}
