//! Faulty stage-7 nodes. Each wraps the reference node and breaks exactly one thing, at the
//! boundary a learner's node has too: what it does with a message, a client request, a restart.

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use dynamo_common::BoxFuture;
use dynamo_common::NodeId;
use dynamo_common::host::{SharedStorage, Storage, Transport};

use dynamo_common::sim::{Hint, Request, Response};
use reference::store::{Node as Reference, Quirks};
use store::{
    Body, ConfigError, Context, Envelope, Host, MessageKind, NewNode, NoReply, NodeConfig,
    NodeStatus, Payload, ReadResult, RequestOptions, Siblings, Stages, StoreError, StoreNode,
    VectorClock,
};
use tokio::time::{Duration, sleep};

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    (
        "acks-before-storing",
        "acknowledges a put at once and stores it 50 ms later (a write buffer), so a crash in \
         between loses an acknowledged write",
        false,
    ),
    (
        "delete-removes",
        "a replica that receives a tombstone removes the key instead of storing the tombstone",
        false,
    ),
    (
        "repair-skips-tombstones",
        "acknowledges a read repair or handoff that carries only tombstones without storing it",
        false,
    ),
    (
        "sync-overwrites",
        "anti-entropy and transfers overwrite the stored set instead of reconciling with it",
        false,
    ),
    (
        "ignores-gossip",
        "ignores the heartbeats of others, so it suspects every member for good",
        false,
    ),
    (
        "hints-lost-on-restart",
        "keeps its hints in memory only: a restarted node has none",
        false,
    ),
    (
        "blind-puts",
        "drops the client's context from every put, so a read-modify-write becomes a sibling",
        false,
    ),
    (
        "delete-without-context",
        "writes the tombstone with an empty context, concurrent with what it should delete",
        false,
    ),
    (
        "reuses-counters",
        "forgets the counters it issued: a write's own entry is only the context's plus one, so \
         a put after a delete through the same node can get a clock older than the tombstone",
        false,
    ),
    (
        "keeps-handed-off-keys",
        "after a join or leave, hands the keys it no longer replicates to their new primaries but \
         never drops them",
        false,
    ),
    (
        "strict-skips-write-back",
        "in strict mode, answers a read without writing the result back to a majority (only stage \
         6's background repair follows): a later read can miss what an earlier one returned",
        false,
    ),
    (
        "merge-races",
        "merges a put into storage across an await (it reads the stored set, waits 3 ms for its \
         disk, then writes the merge): a put to the same key landing in between is overwritten",
        false,
    ),
    (
        "stale-confirmations",
        "remembers per key which peers confirmed holding it, but not what they held: a peer's \
         confirmation from before a delete lets the tombstone be reaped while that peer, down \
         during the delete, still holds the old value",
        false,
    ),
    (
        "panics-handling-sync",
        "its handle() panics on every anti-entropy message it receives: background work only, so \
         every client request still succeeds",
        true,
    ),
    (
        "reaps-unconfirmed",
        "reaps a tombstone once its grace has passed without asking whether every primary holds \
         it: a primary that was down during the delete keeps the old value, which comes back",
        false,
    ),
    (
        "reaps-early",
        "reaps a tombstone as soon as every primary holds it, without waiting for the grace \
         period",
        false,
    ),
    (
        "suspects-for-good",
        "once it suspects a member, ignores that member's fresher heartbeats: a node that \
         recovers stays suspected by it",
        false,
    ),
    (
        "ignores-request-options",
        "ignores the client's own r and w (`RequestOptions`): every request uses the configured \
         R and W",
        false,
    ),
    (
        "context-hides-tombstones",
        "a read's context covers its live values only, not the tombstones among the siblings: a \
         put after a delete does not descend from the delete, and the tombstone stays beside it",
        false,
    ),
    (
        "hints-overwritten",
        "stores a second hint for the same primary and key over the first instead of merging: \
         of two concurrent writes, the primary is handed only the last",
        false,
    ),
    (
        "gets-skip-hints",
        "answers a get with its own data for the key only, not the hints it keeps for it: a \
         write whose only live copy is a fallback's hint cannot be read",
        false,
    ),
    (
        "reads-skip-repair",
        "coordinates reads without stage 6's repair: a replica that answered with less than the \
         reconciled set is never sent it (only anti-entropy fixes it, later)",
        false,
    ),
    (
        "drops-on-one-ack",
        "after a join or leave, drops a key it no longer replicates once any one of the key's \
         primaries acknowledged the transfer, not all of them",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<NewNode> {
    Some(match name {
        "acks-before-storing" => store::new_node::<Mutant<0>>(),
        "delete-removes" => store::new_node::<Mutant<1>>(),
        "repair-skips-tombstones" => store::new_node::<Mutant<2>>(),
        "sync-overwrites" => store::new_node::<Mutant<3>>(),
        "ignores-gossip" => store::new_node::<Mutant<4>>(),
        "hints-lost-on-restart" => store::new_node::<Mutant<5>>(),
        "blind-puts" => store::new_node::<Mutant<6>>(),
        "delete-without-context" => store::new_node::<Mutant<7>>(),
        "reuses-counters" => store::new_node::<Mutant<8>>(),
        "keeps-handed-off-keys" => store::new_node::<Mutant<9>>(),
        "strict-skips-write-back" => store::new_node::<Mutant<10>>(),
        "merge-races" => store::new_node::<Mutant<11>>(),
        "stale-confirmations" => store::new_node::<Mutant<12>>(),
        "panics-handling-sync" => store::new_node::<Mutant<13>>(),
        "reaps-unconfirmed" => store::new_node::<Mutant<14>>(),
        "reaps-early" => store::new_node::<Mutant<15>>(),
        "suspects-for-good" => store::new_node::<Mutant<16>>(),
        "ignores-request-options" => store::new_node::<Mutant<17>>(),
        "context-hides-tombstones" => store::new_node::<Mutant<18>>(),
        "hints-overwritten" => store::new_node::<Mutant<19>>(),
        "gets-skip-hints" => store::new_node::<Mutant<20>>(),
        "reads-skip-repair" => store::new_node::<Mutant<21>>(),
        "drops-on-one-ack" => store::new_node::<Mutant<22>>(),
        _ => return None,
    })
}

/// The reference node with bug number `BUG` (the index in [`MUTANTS`]).
pub struct Mutant<const BUG: u8> {
    inner: Rc<Reference>,
    host: Host,
}

/// A node's storage that forgets the counters the node issued (mutant `reuses-counters`).
struct Forgetful(SharedStorage<Siblings>);

impl Forgetful {
    fn lock(&self) -> std::sync::MutexGuard<'_, dyn Storage<Siblings> + 'static> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage<Siblings> for Forgetful {
    fn get(&self, key: &str) -> Option<Siblings> {
        self.lock().get(key)
    }
    fn put(&mut self, key: &str, object: Siblings) {
        self.lock().put(key, object);
    }
    fn remove(&mut self, key: &str) -> Option<Siblings> {
        self.lock().remove(key)
    }
    fn keys(&self) -> Vec<String> {
        self.lock().keys()
    }
    fn hints(&self) -> Vec<Hint<Siblings>> {
        self.lock().hints()
    }
    fn put_hint(&mut self, hint: Hint<Siblings>) {
        self.lock().put_hint(hint);
    }
    fn delete_hint(&mut self, primary: &NodeId, key: &str) -> bool {
        self.lock().delete_hint(primary, key)
    }
    fn issued(&self) -> u64 {
        0
    }
    fn set_issued(&mut self, _counter: u64) {}
}

/// A node's transport that never sends a read repair, answering it as if acknowledged
/// (mutant `reads-skip-repair`).
struct NoRepairs(Arc<dyn Transport<Body>>);

impl Transport<Body> for NoRepairs {
    fn me(&self) -> NodeId {
        self.0.me()
    }
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
    fn timeout_ms(&self) -> u64 {
        self.0.timeout_ms()
    }
    fn send(&self, envelope: Envelope) -> BoxFuture<'static, Result<Envelope, NoReply>> {
        if envelope.kind != MessageKind::Repair {
            return self.0.send(envelope);
        }
        let acked = Envelope {
            from: envelope.to,
            to: envelope.from,
            kind: envelope.kind.answer(),
            detail: String::new(),
            body: Body::Response(Response::Ack),
            request: envelope.request,
        };
        Box::pin(async move { Ok(acked) })
    }
}

/// The client's options as mutant `BUG` passes them on (`ignores-request-options` drops them).
fn chosen<const BUG: u8>(options: RequestOptions) -> RequestOptions {
    if BUG == 17 {
        RequestOptions::default()
    } else {
        options
    }
}

fn all_tombstones(set: &Siblings) -> bool {
    !set.0.is_empty() && set.0.iter().all(Payload::is_tombstone)
}

impl<const BUG: u8> StoreNode for Mutant<BUG> {
    fn new(config: NodeConfig, stages: Stages, host: Host) -> Result<Self, ConfigError> {
        if BUG == 5 {
            // A restart finds no hints: they were never written down.
            let hints = host.storage().hints();
            for h in hints {
                host.storage().delete_hint(&h.primary, &h.key);
            }
        }
        let inner_host = if BUG == 8 {
            host.with_storage(Arc::new(Mutex::new(Forgetful(host.shared_storage()))))
        } else if BUG == 21 {
            host.with_transport(|inner| Arc::new(NoRepairs(inner)))
        } else {
            host.clone()
        };
        // The bugs inside the node's own bookkeeping are the reference's quirks.
        let quirks = Quirks {
            keep_handed_off: BUG == 9,
            skip_write_back: BUG == 10,
            stale_confirmations: BUG == 12,
            reap_unconfirmed: BUG == 14,
            reap_early: BUG == 15,
            sticky_suspicion: BUG == 16,
            context_without_tombstones: BUG == 18,
            drop_on_any_ack: BUG == 22,
        };
        let inner = Rc::new(Reference::with_quirks(config, stages, inner_host, quirks)?);
        Ok(Mutant { inner, host })
    }

    async fn put(
        &self,
        key: &str,
        value: String,
        context: Option<Context>,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        let context = if BUG == 6 { None } else { context };
        self.inner
            .put(key, value, context, chosen::<BUG>(options))
            .await
    }

    async fn get(&self, key: &str, options: RequestOptions) -> Result<ReadResult, StoreError> {
        self.inner.get(key, chosen::<BUG>(options)).await
    }

    async fn delete(
        &self,
        key: &str,
        context: Context,
        options: RequestOptions,
    ) -> Result<Context, StoreError> {
        let context = if BUG == 7 {
            Context(VectorClock::new())
        } else {
            context
        };
        self.inner
            .delete(key, context, chosen::<BUG>(options))
            .await
    }

    async fn handle(&self, envelope: Envelope) -> Body {
        match (&envelope.body, envelope.kind) {
            (_, MessageKind::Sync) if BUG == 13 => {
                panic!("mutant: a sync message from {}", envelope.from)
            }
            (Body::Request(Request::Put { .. }), MessageKind::Put) if BUG == 0 => {
                let inner = Rc::clone(&self.inner);
                tokio::task::spawn_local(async move {
                    sleep(Duration::from_millis(50)).await;
                    inner.handle(envelope).await;
                });
                Body::Response(Response::Ack)
            }
            (Body::Request(Request::Put { key, object }), _)
                if BUG == 1 && all_tombstones(object) =>
            {
                self.host.storage().remove(key);
                self.inner.storage_changed(key);
                Body::Response(Response::Ack)
            }
            (
                Body::Request(Request::Put { object, .. }),
                MessageKind::Repair | MessageKind::Handoff,
            ) if BUG == 2 && all_tombstones(object) => Body::Response(Response::Ack),
            (Body::Entries(entries), _) if BUG == 3 => {
                for (key, set) in entries {
                    self.host.storage().put(key, set.clone());
                    self.inner.storage_changed(key);
                }
                Body::Ack
            }
            (Body::Gossip(_), _) if BUG == 4 => Body::Gossip(store::Membership::default()),
            (Body::Request(Request::Put { key, .. }), _) if BUG == 11 => {
                // What storage held before the wait is what the merge starts from: anything
                // stored meanwhile is overwritten. The window is short (a fast disk), so only
                // some latency orders land a second put inside it: the seeded sweep's mistake.
                let key = key.clone();
                let before = self.host.storage().get(&key);
                sleep(Duration::from_millis(3)).await;
                match before {
                    Some(set) => self.host.storage().put(&key, set),
                    None => {
                        self.host.storage().remove(&key);
                    }
                }
                self.inner.storage_changed(&key);
                self.inner.handle(envelope).await
            }
            (
                Body::Request(Request::Hint {
                    primary,
                    key,
                    object,
                }),
                _,
            ) if BUG == 19 => {
                self.host.storage().put_hint(Hint {
                    primary: primary.clone(),
                    key: key.clone(),
                    object: object.clone(),
                });
                Body::Response(Response::Ack)
            }
            (Body::Request(Request::Get { key }), _) if BUG == 20 => {
                let held = self.host.storage().get(key);
                Body::Response(Response::Value(held))
            }
            _ => self.inner.handle(envelope).await,
        }
    }

    async fn tick(&self) {
        self.inner.tick().await;
    }

    async fn leave(&self) {
        self.inner.leave().await;
    }

    fn status(&self) -> NodeStatus {
        self.inner.status()
    }
}
