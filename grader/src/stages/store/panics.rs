//! A node's panic is the learner's bug, reported as one.
//!
//! In a stage-7 case the learner's code runs in many places at once: the handlers of messages
//! (polled by the dispatcher, or as a node's waiting work), every node's ticks, the workload's
//! client requests, a join's or recovery's new node. A panic in most of them would otherwise be
//! swallowed: a handler that panics is silence to its sender, a tick that panics just ends, a
//! client task that panics stops issuing requests. A case could then pass, or fail as a lost
//! write far from the cause. So the simulator catches each such panic ([`guard`]), notes the
//! first one with what the node was doing ([`PanicSlot`]), lets the run finish, and the step then
//! raises it again ([`NodePanic::resume`]): the report says "panicked at solution.rs:LINE" with
//! the message, the node, what it was handling and, in a sweep, the seed.

use std::any::Any;
use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

/// The first panic of a node's code in a run: what the node was doing, the panic's message and
/// where it was raised (as the case process's panic hook saw it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePanic {
    pub doing: String,
    pub message: String,
    pub location: Option<String>,
}

impl NodePanic {
    /// From a caught panic's payload, while the hook's record of it is the latest.
    fn caught(doing: String, payload: &(dyn Any + Send)) -> Self {
        let (message, location) = match crate::child::take_last_panic() {
            Some((message, location)) => (message, location),
            None => (payload_text(payload), None),
        };
        NodePanic {
            doing,
            message,
            location,
        }
    }

    /// Raises the panic again in the case process, with `context` (a seed and how to rerun it)
    /// after what the node was doing: the child reports it as this case's panic, at its original
    /// location.
    pub fn resume(self, context: &str) -> ! {
        let message = format!("{} ({}{context})", self.message, self.doing);
        crate::child::resume_panic(message, self.location)
    }
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    match payload.downcast_ref::<&str>() {
        Some(s) => (*s).to_string(),
        None => match payload.downcast_ref::<String>() {
            Some(s) => s.clone(),
            None => "a panic with a non-string payload".into(),
        },
    }
}

/// Where a run notes its first node panic; shared by the cluster and the tasks it starts.
#[derive(Clone, Default)]
pub struct PanicSlot(Rc<RefCell<Option<NodePanic>>>);

impl PanicSlot {
    /// Notes a caught panic, unless an earlier one was noted (the first is the cause).
    pub fn note(&self, doing: impl FnOnce() -> String, payload: &(dyn Any + Send)) {
        let caught = NodePanic::caught(doing(), payload);
        self.0.borrow_mut().get_or_insert(caught);
    }

    /// The panic noted, if any, leaving the slot empty.
    pub fn take(&self) -> Option<NodePanic> {
        self.0.borrow_mut().take()
    }
}

/// Runs `future`, catching a panic of any of its polls: `None` (and the panic noted in `slot`
/// as `doing`) if it panicked.
pub async fn guard<T>(
    slot: &PanicSlot,
    doing: impl FnOnce() -> String,
    future: impl Future<Output = T>,
) -> Option<T> {
    let mut future = pin!(future);
    let mut doing = Some(doing);
    poll_fn(
        |cx| match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Some(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                if let Some(doing) = doing.take() {
                    slot.note(doing, payload.as_ref());
                }
                Poll::Ready(None)
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_a_guarded_future_is_noted_once_with_what_the_node_did() {
        let slot = PanicSlot::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let (first, second, fine) = runtime.block_on(async {
            let first = guard(&slot, || "node B, in tick()".into(), async {
                tokio::task::yield_now().await;
                panic!("index out of bounds");
            })
            .await;
            let second = guard(&slot, || "node C, in tick()".into(), async {
                panic!("a later panic");
            })
            .await;
            let fine = guard(&slot, || "node D".into(), async { 7 }).await;
            (first, second, fine)
        });
        assert_eq!((first, second, fine), (None::<()>, None::<()>, Some(7)));
        let noted = slot.take().expect("the first panic is noted");
        assert_eq!(noted.doing, "node B, in tick()");
        assert_eq!(noted.message, "index out of bounds");
        assert_eq!(slot.take(), None, "taking empties the slot");
    }
}
