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
                | Body::SyncLevel { .. }
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
                // Without hints for the key, the set stored here is the answer: it was stored as
                // stage 4 reconciled it, and reconciling it again alone would give it back.
                let merged = if hinted.is_empty() {
                    held
                } else {
                    self.reconcile(held, hinted)
                };
                let value = (!merged.is_empty()).then_some(Siblings(merged));
                Body::Response(Response::Value(value))
            }
            Body::Gossip(view) => {
                self.merge_view(&view).await;
                Body::Gossip(self.state.borrow().view.clone())
            }
            Body::SyncLevel { level, hashes } => {
                if level > self.sync_level() || hashes.len() as u64 != 1u64 << level {
                    return Body::Refused(format!(
                        "a sync level of {} hashes at level {level}; this node's tree compares \
                         level {} at most",
                        hashes.len(),
                        self.sync_level()
                    ));
                }
                let mine = self.shared_level(&from, level);
                let nodes: Vec<u64> = (0u64..)
                    .zip(mine.iter().zip(&hashes))
                    .filter(|(_, (a, b))| a != b)
                    .map(|(i, _)| i)
                    .collect();
                // The keys under matching nodes are the same on both sides.
                let matched = self.shared_outside(&from, level, &nodes);
                self.confirm(&from, &matched, self.changes());
                if nodes.is_empty() {
                    self.record_sync(&from, SyncOutcome::InSync);
                    Body::InSync
                } else {
                    self.record_sync(&from, SyncOutcome::Answered);
                    let entries = self
                        .shared_under(&from, level, &nodes)
                        .into_iter()
                        .map(|(k, set)| (k, Siblings(set)))
                        .collect();
                    Body::Differing {
                        level,
                        nodes,
                        entries,
                    }
                }
            }
            // The reference opens with `SyncLevel`; the root-only exchange is answered all the
            // same (every shared key when the roots differ).
            Body::SyncRoot(root) => {
                if self.shared_level(&from, 0).first() == Some(&root) {
                    self.confirm(&from, &self.shared_outside(&from, 0, &[]), self.changes());
                    self.record_sync(&from, SyncOutcome::InSync);
                    Body::InSync
                } else {
                    self.record_sync(&from, SyncOutcome::Answered);
                    let entries = self
                        .shared_under(&from, 0, &[0])
                        .into_iter()
                        .map(|(k, set)| (k, Siblings(set)))
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
