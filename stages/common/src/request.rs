//! Request ids: which client request a message belongs to, carried without the node's help.
//!
//! A host gives every client request (a put, get or delete a coordinator serves) a
//! [`RequestId`], and every message that request causes carries it: the replica requests and
//! their answers, the hints, the read repairs that run on after the client was answered. Traces
//! and a real node's events record it, so a request's sequence diagram is drawn exactly from its
//! own messages instead of guessed from keys and times.
//!
//! # How the id travels, with no plumbing in node code
//! The host runs the node's `put`/`get`/`delete` (and its handling of each arriving envelope)
//! inside [`scope`], which makes the id *current* ([`current`]) while that future is polled. A
//! message sent while a request is current carries its id. Work a node spawns onto other tasks
//! (stage 3's and stage 6's coordinators send from tasks of their own, and stage 6's repairs run
//! after the answer) is not polled inside the scope, so the network handle those tasks use keeps
//! the id itself: cloning a handle while a request is current ties the clone to that request
//! (`sim::Network`'s `Clone`). Node code clones its handle into the tasks it spawns anyway, so
//! the id follows every message without a line of code from the learner.
//!
//! The current id lives in a thread-local, which is sound here because every host runs a node
//! on one thread (a current-thread runtime, or a `LocalSet`) and `scope` restores the previous
//! value after every poll, also when the poll panics.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::NodeId;

/// One client request: the coordinator that served it and the host's number for it there.
/// Shown and serialized as `coordinator#seq`, such as `A#12`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    /// The node the client asked.
    pub coordinator: NodeId,
    /// Unique among that coordinator's requests (the simulator uses the history's operation id).
    pub seq: u64,
}

impl RequestId {
    /// Request `seq` of `coordinator`.
    pub fn new(coordinator: NodeId, seq: u64) -> Self {
        Self { coordinator, seq }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.coordinator, self.seq)
    }
}

/// Why a text is not a request id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a request id is `node#number`, not {0:?}")]
pub struct BadRequestId(pub String);

impl FromStr for RequestId {
    type Err = BadRequestId;

    /// Reads `coordinator#seq`; the number is after the last `#`, so a node name may hold `#`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadRequestId(text.to_string());
        let (node, seq) = text.rsplit_once('#').ok_or_else(bad)?;
        let seq = seq.parse().map_err(|_| bad())?;
        if node.is_empty() {
            return Err(bad());
        }
        Ok(Self::new(NodeId::new(node), seq))
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<RequestId>> = const { RefCell::new(None) };
}

/// The request being served by the future this thread is polling now, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.with(|c| c.borrow().clone())
}

/// `future`, with `id` current whenever it is polled (`None`: no request is current, as in a
/// node's periodic tick). The node's futures are boxed already (`DynStoreNode`), so the scope
/// asks for an `Unpin` one and adds no allocation; pin anything else with `Box::pin`.
pub fn scope<F: Future + Unpin>(id: Option<RequestId>, future: F) -> Scoped<F> {
    Scoped { id, future }
}

/// The future [`scope`] returns.
pub struct Scoped<F> {
    id: Option<RequestId>,
    future: F,
}

/// Puts the previous current id back when a poll ends, however it ends.
struct Restore(Option<RequestId>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl<F: Future + Unpin> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let previous = CURRENT.with(|c| c.replace(this.id.clone()));
        let _restore = Restore(previous);
        Pin::new(&mut this.future).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_back_from_its_text_even_when_the_node_name_holds_a_hash() {
        let id = RequestId::new(NodeId::new("rack#1"), 42);
        assert_eq!(id.to_string(), "rack#1#42");
        assert_eq!("rack#1#42".parse::<RequestId>(), Ok(id.clone()));
        assert_eq!(
            serde_json::to_string(&id).ok().as_deref(),
            Some("\"rack#1#42\"")
        );
        assert!("A".parse::<RequestId>().is_err());
        assert!("#3".parse::<RequestId>().is_err());
        assert!("A#x".parse::<RequestId>().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_id_is_current_only_while_its_future_is_polled() {
        let a = RequestId::new(NodeId::new("A"), 1);
        assert_eq!(current(), None);
        let seen = scope(
            Some(a.clone()),
            Box::pin(async {
                let before = current();
                tokio::task::yield_now().await;
                (before, current())
            }),
        )
        .await;
        assert_eq!(seen, (Some(a.clone()), Some(a)));
        assert_eq!(current(), None, "restored after the scope");
        let nested = scope(
            Some(RequestId::new(NodeId::new("B"), 2)),
            Box::pin(async { scope(None, Box::pin(async { current() })).await }),
        )
        .await;
        assert_eq!(nested, None, "an inner scope wins while it is polled");
    }
}
