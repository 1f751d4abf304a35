//! The replica side: what the node does with each message another node sends.

use store::{Body, Envelope, Hint, MessageKind, Request, Response, Siblings, SyncOutcome};

use super::Node;

impl Node {
    pub(super) async fn on_message(&self, envelope: Envelope) -> Body {
        // A leaving node has handed its keys over and ticks no more: a write stored here now
        // would never move on. Refusing it makes the coordinator count this node as failed and
        // write to a fallback instead (reads are still answered).
        let write = matches!(
            envelope.body,
            Body::Request(Request::Put { .. } | Request::Hint { .. })
                | Body::Entries(_)
                | Body::SyncRoot(_)
        );
        if write && self.state.borrow().leaving {
            return Body::Refused("this node is leaving the cluster".to_string());
        }
        let from = envelope.from;
        let kind = envelope.kind;
        match envelope.body {
            Body::Request(Request::Put { key, object }) => {
                // Stored before acknowledged: storage returns once the write is durable.
                self.store_merge(&key, object.0);
                Body::Response(Response::Ack)
            }
            Body::Request(Request::Hint {
                primary,
                key,
                object,
            }) => {
                let mut storage = self.host.storage();
                let held = storage
                    .hints()
                    .into_iter()
                    .find(|h| h.primary == primary && h.key == key)
                    .map(|h| h.object.0)
                    .unwrap_or_default();
                drop(storage);
                let merged = self.reconcile(held, object.0);
                storage = self.host.storage();
                storage.put_hint(Hint {
                    primary,
                    key,
                    object: Siblings(merged),
                });
                Body::Response(Response::Ack)
            }
            Body::Request(Request::Get { key }) => {
                // A fallback answers with the hints it keeps for the key too: it stands in for
                // their primary.
                let (held, hinted) = {
                    let storage = self.host.storage();
                    let held = storage.get(&key).map(|s| s.0).unwrap_or_default();
                    let hinted: Vec<_> = storage
                        .hints()
                        .into_iter()
                        .filter(|h| h.key == key)
                        .flat_map(|h| h.object.0)
                        .collect();
                    (held, hinted)
                };
                let merged = self.reconcile(held, hinted);
                let value = (!merged.is_empty()).then_some(Siblings(merged));
                Body::Response(Response::Value(value))
            }
            Body::Gossip(view) => {
                self.merge_view(&view).await;
                Body::Gossip(self.state.borrow().view.clone())
            }
            Body::SyncRoot(root) => {
                let (replica, keys) = self.shared_replica(&from);
                if replica.node(0, 0) == root {
                    self.confirm(&from, &keys);
                    self.record_sync(&from, SyncOutcome::InSync);
                    Body::InSync
                } else {
                    self.record_sync(&from, SyncOutcome::Answered);
                    let entries = keys
                        .iter()
                        .map(|k| (k.clone(), Siblings(replica.get(k))))
                        .collect();
                    Body::Entries(entries)
                }
            }
            Body::Entries(entries) => {
                // A transfer is acknowledged only for keys this node replicates: its sender drops
                // what every primary acknowledged. The rest is stored all the same (it is data)
                // and handed on by this node's own tick.
                let foreign: Vec<String> = entries
                    .iter()
                    .filter(|(key, _)| kind == MessageKind::Transfer && !self.replicates(key))
                    .map(|(key, _)| key.clone())
                    .collect();
                for (key, siblings) in entries {
                    self.store_merge(&key, siblings.0);
                }
                if !foreign.is_empty() {
                    Body::Refused(format!(
                        "{} does not replicate {}",
                        self.me(),
                        foreign.join(", ")
                    ))
                } else {
                    Body::Ack
                }
            }
            other => Body::Refused(format!("a node does not expect {other:?} as a request")),
        }
    }
}
