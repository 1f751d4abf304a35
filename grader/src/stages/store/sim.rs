//! The simulated host of stage 7: a cluster of nodes in one process, on tokio's paused clock.
//!
//! Every node gets a [`Transport`] whose `send` hands the envelope to one dispatcher task that
//! owns the nodes (they need not be `Send`). The dispatcher decides each message's fate when it
//! is sent (sender or receiver down, a partition between them, seeded loss), delays it by a
//! seeded latency within the case's bounds, lets the receiving node handle it, and carries the
//! answer back the same way. Every message is traced with the client request it belongs to (the
//! envelope's `request`, see `dynamo_common::request`); one that arrives after its sender stopped
//! waiting is traced as unheard.
//!
//! The messages in the air and the senders' deadlines wait in one heap ([`Air`]), ordered by
//! simulated time, under one timer: no task and no timer per message. A landing request's
//! handler is polled at once on the dispatcher; most answer then, and one that must wait (on
//! messages of its own) goes on in a task of the receiving node. A sender's future waits on one
//! channel, answered with the reply or, at its deadline, a timeout.
//!
//! A crash stops a node: it is down, and the work the host started on it (its tick, its waiting
//! handlers) is aborted where it stands; its storage stays. A recovery starts a *new* node object
//! on the same storage, as a restarted process would. Ticks run per node every `tick_ms`,
//! staggered by a seeded offset.
//!
//! Everything random comes from one SplitMix64 seeded by the case (or the sweep's) seed, and the
//! runtime is single-threaded and paused, so a seed gives the same history on every machine.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use dynamo_common::host::{MemStorage, Storage, Transport};
use dynamo_common::sim::{Fate, NoReply, TraceEntry};
use dynamo_common::{BoxFuture, LocalBoxFuture, NodeId};
use store::{Body, DynStoreNode, Envelope, Host, NewNode, NodeConfig, Siblings, Stages};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{Duration, Instant, sleep, sleep_until};

use super::panics::{PanicSlot, guard};

/// The only randomness of a run: SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// How the network behaves, changed by the fault schedule.
#[derive(Clone, Debug)]
pub struct NetState {
    pub down: BTreeSet<NodeId>,
    /// Each node's partition group; nodes in different groups cannot talk. Empty: no partition.
    pub groups: BTreeMap<NodeId, usize>,
    pub latency: (u64, u64),
    pub loss: f64,
}

impl NetState {
    fn cut(&self, a: &NodeId, b: &NodeId) -> bool {
        !self.groups.is_empty() && self.groups.get(a) != self.groups.get(b)
    }
}

/// What the nodes' transports and handlers tell the dispatcher.
enum Job {
    /// A node sends a request; the dispatcher answers on `reply` (or times it out).
    Send {
        envelope: Envelope,
        reply: oneshot::Sender<Result<Envelope, NoReply>>,
        timeout_ms: u64,
    },
    /// A receiver finished handling call `call` after waiting on something (most handlers
    /// answer at once, on the dispatcher's own poll; see [`Cluster::land_request`]).
    Answered { call: u64, answer: Envelope },
}

/// One node's transport: a handle to the dispatcher. The future it returns waits on one
/// channel; the dispatcher, not a timer per message, decides when an answer or a timeout comes.
struct SimTransport {
    me: NodeId,
    start: Instant,
    timeout_ms: u64,
    jobs: mpsc::UnboundedSender<Job>,
}

impl Transport<Body> for SimTransport {
    fn me(&self) -> NodeId {
        self.me.clone()
    }
    fn now_ms(&self) -> u64 {
        u64::try_from(Instant::now().duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }
    fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }
    fn send(&self, envelope: Envelope) -> BoxFuture<'static, Result<Envelope, NoReply>> {
        let (reply, answer) = oneshot::channel();
        let lost = NoReply::Timeout {
            node: envelope.to.clone(),
            timeout_ms: self.timeout_ms,
        };
        let job = Job::Send {
            envelope,
            reply,
            timeout_ms: self.timeout_ms,
        };
        let sent = self.jobs.send(job).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(lost);
            }
            // The dispatcher always answers (the reply, or a timeout at the deadline) unless the
            // cluster is gone.
            answer.await.unwrap_or(Err(lost))
        })
    }
}

/// A request waiting for its answer: its sender's channel until the answer lands or the
/// deadline passes.
struct Call {
    reply: Option<oneshot::Sender<Result<Envelope, NoReply>>>,
    to: NodeId,
    timeout_ms: u64,
}

/// A message in the air: a request on its way to the receiver, or an answer on its way back.
struct Flight {
    envelope: Envelope,
    call: u64,
    /// Its index in the trace (`usize::MAX` when not tracing).
    trace: usize,
    answer: bool,
}

/// What happens at a simulated time: a message lands, or a call's deadline passes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// A message lands (an index into [`Air::flights`]).
    Lands(usize),
    /// Call `.0` stops waiting. After landings of the same millisecond: an answer that lands at
    /// its deadline is heard.
    Deadline(u64),
}

/// The network's state in flight, owned by the dispatcher: calls, messages in the air, and
/// what is due when, in (time, order of scheduling) order.
#[derive(Default)]
struct Air {
    /// Open calls by id; ids are consecutive from `base`, a freed call is `None` until the front.
    calls: VecDeque<Option<Call>>,
    base: u64,
    flights: Vec<Option<Flight>>,
    free: Vec<usize>,
    /// Min-heap of (at_ms, what, seq).
    due: BinaryHeap<Reverse<(u64, u64, Due)>>,
    seq: u64,
}

impl Air {
    fn open(&mut self, call: Call) -> u64 {
        self.calls.push_back(Some(call));
        self.base + self.calls.len() as u64 - 1
    }
    fn call(&mut self, id: u64) -> Option<&mut Call> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.calls.get_mut(i)?.as_mut()
    }
    fn close(&mut self, id: u64) -> Option<Call> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let call = self.calls.get_mut(i)?.take();
        while matches!(self.calls.front(), Some(None)) {
            self.calls.pop_front();
            self.base += 1;
        }
        call
    }
    fn schedule(&mut self, at_ms: u64, due: Due) {
        self.seq += 1;
        // Landings before deadlines of the same millisecond, then in scheduling order.
        let order = match due {
            Due::Lands(_) => self.seq,
            Due::Deadline(_) => self.seq | 1 << 63,
        };
        self.due.push(Reverse((at_ms, order, due)));
    }
    fn launch(&mut self, at_ms: u64, flight: Flight) {
        let index = match self.free.pop() {
            Some(i) => {
                self.flights[i] = Some(flight);
                i
            }
            None => {
                self.flights.push(Some(flight));
                self.flights.len() - 1
            }
        };
        self.schedule(at_ms, Due::Lands(index));
    }
    fn land(&mut self, index: usize) -> Option<Flight> {
        let flight = self.flights.get_mut(index)?.take();
        self.free.push(index);
        flight
    }
    /// The next thing due at or before `now_ms`.
    fn next_due(&mut self, now_ms: u64) -> Option<Due> {
        let Reverse((at, _, _)) = self.due.peek()?;
        if *at > now_ms {
            return None;
        }
        self.due.pop().map(|Reverse((_, _, due))| due)
    }
    fn next_at(&self) -> Option<u64> {
        self.due.peek().map(|Reverse((at, _, _))| *at)
    }
}

/// The cluster: nodes, their storages, the network state and the trace.
pub struct Cluster {
    pub start: Instant,
    pub configs: RefCell<BTreeMap<NodeId, NodeConfig>>,
    pub nodes: RefCell<BTreeMap<NodeId, Rc<dyn DynStoreNode>>>,
    pub storages: RefCell<BTreeMap<NodeId, Arc<std::sync::Mutex<MemStorage<Siblings>>>>>,
    pub net: RefCell<NetState>,
    pub rng: RefCell<Rng>,
    /// Every message, as the reports draw it.
    pub trace: RefCell<Vec<TraceEntry>>,
    /// Whether messages are traced (a sweep's runs are not; see `Seeds::traced`).
    pub tracing: Cell<bool>,
    /// Members that left the cluster for good.
    pub left: RefCell<BTreeSet<NodeId>>,
    pub stages: Stages,
    pub new_node: NewNode,
    jobs: mpsc::UnboundedSender<Job>,
    air: RefCell<Air>,
    /// Each node's work in progress that the host started: its ticks and the handlers that had
    /// to wait. A crash aborts them ([`Cluster::crash`]): a dead process finishes nothing.
    work: RefCell<BTreeMap<NodeId, JoinSet<()>>>,
    /// The first panic of a node's code in this run (see `panics.rs`).
    pub panics: PanicSlot,
}

impl Cluster {
    /// Starts the dispatcher; nodes are added with [`Cluster::start_node`].
    pub fn new(stages: Stages, new_node: NewNode, net: NetState, seed: u64) -> Rc<Self> {
        let (jobs, rx) = mpsc::unbounded_channel::<Job>();
        let cluster = Rc::new(Cluster {
            start: Instant::now(),
            configs: RefCell::default(),
            nodes: RefCell::default(),
            storages: RefCell::default(),
            net: RefCell::new(net),
            rng: RefCell::new(Rng::new(seed)),
            trace: RefCell::default(),
            tracing: Cell::new(true),
            left: RefCell::default(),
            stages,
            new_node,
            jobs,
            air: RefCell::default(),
            work: RefCell::default(),
            panics: PanicSlot::default(),
        });
        tokio::task::spawn_local(Cluster::dispatch(Rc::downgrade(&cluster), rx));
        cluster
    }

    /// The dispatcher: takes the jobs the nodes send, and at each simulated time lands the
    /// messages and passes the deadlines that are due. One timer (reset to the next thing due)
    /// serves every message in the air.
    async fn dispatch(cluster: Weak<Cluster>, mut jobs: mpsc::UnboundedReceiver<Job>) {
        let timer = sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<u64> = None;
        loop {
            {
                let Some(cluster) = cluster.upgrade() else {
                    break;
                };
                while let Ok(job) = jobs.try_recv() {
                    cluster.take(job);
                }
                cluster.run_due();
                let next = cluster.air.borrow().next_at();
                if next != armed {
                    if let Some(at) = next {
                        timer.as_mut().reset(cluster.at(at));
                    }
                    armed = next;
                }
            }
            tokio::select! {
                biased;
                job = jobs.recv() => {
                    let (Some(job), Some(cluster)) = (job, cluster.upgrade()) else { break };
                    cluster.take(job);
                }
                () = &mut timer, if armed.is_some() => armed = None,
            }
        }
    }

    fn at(&self, at_ms: u64) -> Instant {
        self.start + Duration::from_millis(at_ms)
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(Instant::now().duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Creates (or re-creates, after a crash) node `config.name` on its storage.
    pub fn start_node(&self, config: NodeConfig) -> Result<(), String> {
        let name = config.name.clone();
        let storage = self
            .storages
            .borrow_mut()
            .entry(name.clone())
            .or_insert_with(|| Arc::new(std::sync::Mutex::new(MemStorage::default())))
            .clone();
        let transport = Arc::new(SimTransport {
            me: name.clone(),
            start: self.start,
            timeout_ms: config.timeout_ms,
            jobs: self.jobs.clone(),
        });
        let host = Host::new(transport, storage);
        let node = (self.new_node)(config.clone(), self.stages, host)
            .map_err(|e| format!("node {name}: {e}"))?;
        self.nodes.borrow_mut().insert(name.clone(), Rc::from(node));
        self.configs.borrow_mut().insert(name, config);
        Ok(())
    }

    pub fn node(&self, name: &NodeId) -> Option<Rc<dyn DynStoreNode>> {
        self.nodes.borrow().get(name).cloned()
    }

    /// Crashes `name`: it is down (its messages are lost) and the work the host started on it
    /// (a tick, handlers waiting on messages of their own) stops where it is, as a killed
    /// process's would. Its storage stays; [`Cluster::start_node`] restarts it on that storage.
    pub fn crash(&self, name: &NodeId) {
        self.net.borrow_mut().down.insert(name.clone());
        // Dropping a `JoinSet` aborts its tasks.
        let work = self.work.borrow_mut().remove(name);
        drop(work);
    }

    /// Runs `work` as part of `name`'s work in progress.
    fn start_work(&self, name: &NodeId, work: impl Future<Output = ()> + 'static) {
        let mut all = self.work.borrow_mut();
        let set = all.entry(name.clone()).or_default();
        // Forget the finished ones.
        while set.try_join_next().is_some() {}
        set.spawn_local(work);
    }

    pub fn is_down(&self, name: &NodeId) -> bool {
        self.net.borrow().down.contains(name)
    }

    /// Runs `name`'s tick every `tick_ms` (after a seeded offset) while the runtime runs. Each
    /// tick is the node's work in progress: a crash stops it midway.
    pub fn spawn_ticker(self: &Rc<Self>, name: NodeId, tick_ms: u64) {
        let offset = self.rng.borrow_mut().between(0, tick_ms.saturating_sub(1));
        let weak = Rc::downgrade(self);
        tokio::task::spawn_local(async move {
            sleep(Duration::from_millis(offset + 1)).await;
            loop {
                let Some(cluster) = weak.upgrade() else { break };
                let node = (!cluster.is_down(&name))
                    .then(|| cluster.node(&name))
                    .flatten();
                let ticked = node.map(|node| {
                    let (done, ticked) = oneshot::channel::<()>();
                    let (panics, me) = (cluster.panics.clone(), name.clone());
                    cluster.start_work(&name, async move {
                        let doing = || format!("node {me}, in tick()");
                        guard(&panics, doing, node.tick()).await;
                        let _ = done.send(());
                    });
                    ticked
                });
                drop(cluster);
                if let Some(ticked) = ticked {
                    // Ends with the tick, or when a crash aborts it.
                    let _ = ticked.await;
                }
                sleep(Duration::from_millis(tick_ms)).await;
            }
        });
    }

    /// The fate of a message sent now, and its latency.
    fn fate(&self, from: &NodeId, to: &NodeId) -> (Option<&'static str>, u64) {
        let net = self.net.borrow();
        let mut rng = self.rng.borrow_mut();
        let latency = if from == to {
            0
        } else {
            rng.between(net.latency.0, net.latency.1)
        };
        let lost = from != to && rng.chance(net.loss);
        let fate = if net.down.contains(from) {
            Some("lost: sender is down")
        } else if net.down.contains(to) {
            Some("lost: receiver is down")
        } else if net.cut(from, to) {
            Some("lost: partitioned")
        } else if lost {
            Some("lost: dropped")
        } else {
            None
        };
        (fate, latency)
    }

    /// Traces a message sent now; returns its index in the trace (`usize::MAX` when not
    /// tracing).
    fn record(&self, envelope: &Envelope, fate: Option<&str>, arrive_ms: u64) -> usize {
        if !self.tracing.get() {
            return usize::MAX;
        }
        let fate = match fate {
            None => Fate::Arrives { at_ms: arrive_ms },
            Some("lost: partitioned") => Fate::Partitioned,
            Some("lost: dropped") => Fate::Dropped,
            Some(_) => Fate::LostNodeDown,
        };
        let mut trace = self.trace.borrow_mut();
        trace.push(TraceEntry {
            sent_ms: self.now_ms(),
            from: envelope.from.clone(),
            to: envelope.to.clone(),
            kind: envelope.kind,
            detail: envelope.detail.clone(),
            fate,
            request: envelope.request.clone(),
        });
        trace.len() - 1
    }

    /// A traced message arrived when its sender had already stopped waiting (timed out).
    fn unheard(&self, index: usize) {
        if let Some(entry) = self.trace.borrow_mut().get_mut(index)
            && let Fate::Arrives { at_ms } = entry.fate
        {
            entry.fate = Fate::ArrivesUnheard { at_ms };
        }
    }

    /// A job from a transport or a handler.
    fn take(self: &Rc<Self>, job: Job) {
        match job {
            Job::Send {
                envelope,
                reply,
                timeout_ms,
            } => self.send(envelope, reply, timeout_ms),
            Job::Answered { call, answer } => self.answer(call, answer),
        }
    }

    /// A request leaves its sender now: it is traced, its fate drawn, and its sender's deadline
    /// set. A lost message is silence: the sender learns nothing before its deadline.
    fn send(
        &self,
        envelope: Envelope,
        reply: oneshot::Sender<Result<Envelope, NoReply>>,
        timeout_ms: u64,
    ) {
        let now = self.now_ms();
        let (fate, latency) = self.fate(&envelope.from, &envelope.to);
        let trace = self.record(&envelope, fate, now + latency);
        let mut air = self.air.borrow_mut();
        let call = air.open(Call {
            reply: Some(reply),
            to: envelope.to.clone(),
            timeout_ms,
        });
        air.schedule(now.saturating_add(timeout_ms), Due::Deadline(call));
        if fate.is_none() {
            let flight = Flight {
                envelope,
                call,
                trace,
                answer: false,
            };
            air.launch(now + latency, flight);
        }
    }

    /// The receiver's answer to call `call` leaves it now, with a fate of its own.
    fn answer(&self, call: u64, answer: Envelope) {
        let now = self.now_ms();
        let (fate, latency) = self.fate(&answer.from, &answer.to);
        let trace = self.record(&answer, fate, now + latency);
        if fate.is_none() {
            let flight = Flight {
                envelope: answer,
                call,
                trace,
                answer: true,
            };
            self.air.borrow_mut().launch(now + latency, flight);
        }
    }

    /// Lands every message and passes every deadline due by now, in order.
    fn run_due(self: &Rc<Self>) {
        let now = self.now_ms();
        loop {
            let due = self.air.borrow_mut().next_due(now);
            match due {
                None => break,
                Some(Due::Deadline(call)) => {
                    let call = self.air.borrow_mut().close(call);
                    if let Some(Call {
                        reply: Some(reply),
                        to,
                        timeout_ms,
                    }) = call
                    {
                        let _ = reply.send(Err(NoReply::Timeout {
                            node: to,
                            timeout_ms,
                        }));
                    }
                }
                Some(Due::Lands(index)) => {
                    let flight = self.air.borrow_mut().land(index);
                    match flight {
                        Some(f) if f.answer => self.land_answer(f),
                        Some(f) => self.land_request(f),
                        None => {}
                    }
                }
            }
        }
    }

    /// An answer reaches the sender, if it still waits; otherwise it is traced as unheard.
    fn land_answer(&self, flight: Flight) {
        let reply = self
            .air
            .borrow_mut()
            .call(flight.call)
            .and_then(|c| c.reply.take());
        let heard = reply.is_some_and(|reply| reply.send(Ok(flight.envelope)).is_ok());
        if !heard {
            self.unheard(flight.trace);
        }
    }

    /// A request reaches its receiver, which handles it (a crashed receiver is silent). The
    /// handler is polled here once: most answer at once, with no task of their own; one that
    /// must wait (on messages of its own) goes on in a task and sends its answer when done.
    fn land_request(self: &Rc<Self>, flight: Flight) {
        let Flight {
            envelope,
            call,
            trace,
            ..
        } = flight;
        let waiting = self
            .air
            .borrow_mut()
            .call(call)
            .and_then(|c| c.reply.as_ref())
            .is_some_and(|reply| !reply.is_closed());
        if !waiting {
            self.unheard(trace);
        }
        let to = envelope.to.clone();
        let receiver = to.clone();
        let Some(node) = (!self.is_down(&to)).then(|| self.node(&to)).flatten() else {
            return;
        };
        let (from, kind, request) = (
            envelope.from.clone(),
            envelope.kind,
            envelope.request.clone(),
        );
        let doing = {
            let (to, from) = (to.clone(), from.clone());
            move || format!("node {to}, handling a {kind} message from {from}")
        };
        let answer = move |body| Envelope {
            from: to,
            to: from,
            kind: kind.answer(),
            detail: String::new(),
            body,
            request,
        };
        // What the receiver sends while handling belongs to the same client request.
        let scope = envelope.request.clone();
        let handler: LocalBoxFuture<'static, Body> =
            Box::pin(async move { node.handle(envelope).await });
        let mut handling = dynamo_common::request::scope(scope, handler);
        let mut cx = Context::from_waker(Waker::noop());
        // A handler that panics is silent to its sender, as a crashed process would be; the
        // panic is noted and fails the step (`panics.rs`).
        match panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut handling).poll(&mut cx))) {
            Ok(Poll::Ready(body)) => self.answer(call, answer(body)),
            Ok(Poll::Pending) => {
                let (jobs, panics) = (self.jobs.clone(), self.panics.clone());
                self.start_work(&receiver, async move {
                    if let Some(body) = guard(&panics, doing, handling).await {
                        let _ = jobs.send(Job::Answered {
                            call,
                            answer: answer(body),
                        });
                    }
                });
            }
            Err(payload) => self.panics.note(doing, payload.as_ref()),
        }
    }

    /// Waits until simulated time `at_ms`.
    pub async fn until(&self, at_ms: u64) {
        sleep_until(self.start + Duration::from_millis(at_ms)).await;
    }

    /// Every node's stored object per key: node -> key -> siblings.
    pub fn stored(&self) -> BTreeMap<NodeId, BTreeMap<String, Siblings>> {
        self.storages
            .borrow()
            .iter()
            .map(|(node, storage)| {
                let s = storage.lock().unwrap_or_else(|e| e.into_inner());
                let keys = s.keys();
                let held = keys
                    .into_iter()
                    .filter_map(|k| s.get(&k).map(|v| (k, v)))
                    .collect();
                (node.clone(), held)
            })
            .collect()
    }

    /// Hints left anywhere: (holder, primary, key).
    pub fn hints_left(&self) -> Vec<(NodeId, NodeId, String)> {
        let mut out = Vec::new();
        for (node, storage) in self.storages.borrow().iter() {
            let s = storage.lock().unwrap_or_else(|e| e.into_inner());
            for h in s.hints() {
                out.push((node.clone(), h.primary, h.key));
            }
        }
        out
    }
}
