//! Hinted handoff (stage 3): what a fallback keeps for a down primary, and how it gives it back.
//!
//! A fallback keeps hinted writes apart from its own store, as Dynamo keeps them in a separate
//! local database (§4.6): a hint is not the fallback's data, and a read of the fallback's own
//! store does not see it. The coordinator sends a hint with [`Network::send_hint`]; later the
//! fallback hands it to its primary with [`Network::send_handoff`] and, once the primary has
//! acknowledged, deletes it with [`Network::delete_hint`].

use std::collections::BTreeMap;

use super::network::{Ack, NoReply, Request, Response};
use super::{MessageKind, Network, StoredObject};
use crate::NodeId;

/// A write a fallback keeps for the primary it stands in for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint<O> {
    /// The down primary the write belongs to.
    pub primary: NodeId,
    /// The key written.
    pub key: String,
    /// The object, exactly as written (handoff must not change it).
    pub object: O,
}

/// Every node's hints: holder -> (primary, key) -> object.
pub(super) struct HintStore<O>(BTreeMap<NodeId, BTreeMap<(NodeId, String), O>>);

impl<O> Default for HintStore<O> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<O: StoredObject> HintStore<O> {
    /// Keeps `object` at `holder` for `primary`, merged with a hint already kept for that key.
    pub(super) fn keep(&mut self, holder: &NodeId, primary: &NodeId, key: &str, object: O) {
        let hints = self.0.entry(holder.clone()).or_default();
        let slot = (primary.clone(), key.to_string());
        let old = hints.remove(&slot);
        hints.insert(slot, O::merge(old, object));
    }
}

impl<O: StoredObject> Network<O> {
    /// Sends a sloppy write to fallback `to`: keep `object` under `key` as a hint for `primary`.
    /// Traced as a `hint` message; the fallback answers with an `ack`.
    ///
    /// # Errors
    /// [`NoReply`] when `to` is down, or no ack arrives before the network's timeout.
    pub async fn send_hint(
        &self,
        to: &NodeId,
        primary: &NodeId,
        key: &str,
        object: O,
    ) -> Result<Ack, NoReply> {
        let detail = format!("{key} = {object} for {primary}");
        let request = Request::Hint {
            primary: primary.clone(),
            key: key.to_string(),
            object,
        };
        let coordinator = self.coordinator();
        match self
            .request_from(&coordinator, to, MessageKind::Hint, detail, request)
            .await?
        {
            Response::Ack => Ok(Ack { from: to.clone() }),
            Response::Value(_) => unreachable!("a hint is answered with an ack"),
        }
    }

    /// Fallback `from` delivers `object` under `key` to `primary`, which merges it into its store
    /// exactly like a put (so the version is whatever `object` carries). Traced as a `handoff`
    /// message; the primary answers with an `ack`. Sending does not delete the hint.
    ///
    /// # Errors
    /// [`NoReply`] when `primary` is down, or no ack arrives before the network's timeout.
    pub async fn send_handoff(
        &self,
        from: &NodeId,
        primary: &NodeId,
        key: &str,
        object: O,
    ) -> Result<Ack, NoReply> {
        let detail = format!("{key} = {object}");
        let request = Request::Put {
            key: key.to_string(),
            object,
        };
        match self
            .request_from(from, primary, MessageKind::Handoff, detail, request)
            .await?
        {
            Response::Ack => Ok(Ack {
                from: primary.clone(),
            }),
            Response::Value(_) => unreachable!("a handoff is answered with an ack"),
        }
    }

    /// The hints `node` holds, ordered by (primary, key). Reading them sends no message: it is
    /// the node looking at its own disk.
    pub fn hints(&self, node: &NodeId) -> Vec<Hint<O>> {
        if let Some(backend) = &self.backend {
            // A real node sees only its own hints store.
            return if *node == backend.me() {
                backend.hints()
            } else {
                Vec::new()
            };
        }
        self.lock()
            .hints
            .0
            .get(node)
            .into_iter()
            .flatten()
            .map(|((primary, key), object)| Hint {
                primary: primary.clone(),
                key: key.clone(),
                object: object.clone(),
            })
            .collect()
    }

    /// Deletes the hint `node` keeps for `primary` under `key`; `false` when there was none.
    pub fn delete_hint(&self, node: &NodeId, primary: &NodeId, key: &str) -> bool {
        if let Some(backend) = &self.backend {
            return *node == backend.me() && backend.delete_hint(primary, key);
        }
        let mut s = self.lock();
        let Some(hints) = s.hints.0.get_mut(node) else {
            return false;
        };
        let deleted = hints.remove(&(primary.clone(), key.to_string())).is_some();
        if hints.is_empty() {
            s.hints.0.remove(node);
        }
        deleted
    }

    /// Every node that holds at least one hint, in name order.
    pub fn hint_holders(&self) -> Vec<NodeId> {
        self.lock().hints.0.keys().cloned().collect()
    }

    /// Puts a hint straight into `node`'s hint store, without a message: a case's starting data.
    pub fn preload_hint(&self, node: &NodeId, hint: Hint<O>) {
        self.lock()
            .hints
            .keep(node, &hint.primary, &hint.key, hint.object);
    }
}
