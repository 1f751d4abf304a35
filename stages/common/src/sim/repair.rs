//! Read repair's message (stage 6): a write the coordinator sends on its own initiative.
//!
//! It travels, lands and is acknowledged exactly like a put (the replica merges the object into
//! what it holds), but the trace shows it as `repair`, so a case can tell a client's write from
//! a repair and count the repairs a read caused.

use super::network::{Request, Response};
use super::{Ack, MessageKind, Network, NoReply, StoredObject};
use crate::NodeId;

impl<O: StoredObject> Network<O> {
    /// Sends replica `to` the reconciled `object` for `key` (read repair), and waits for its ack.
    ///
    /// # Errors
    /// [`NoReply`] when `to` is down, or no ack arrives before the timeout.
    pub async fn send_repair(&self, to: &NodeId, key: &str, object: O) -> Result<Ack, NoReply> {
        let detail = format!("{key} = {object}");
        let request = Request::Put {
            key: key.to_string(),
            object,
        };
        match self
            .request(to, MessageKind::Repair, detail, request)
            .await?
        {
            Response::Ack => Ok(Ack { from: to.clone() }),
            Response::Value(_) => unreachable!("a repair is answered with an ack"),
        }
    }
}
