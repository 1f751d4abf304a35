//! The sending side of a peer connection: one long-lived, multiplexed connection from this node
//! to one peer, carrying this node's requests and their answers ([`crate::wire`]).
//!
//! A [`Link`] is usable the moment it is made: requests queue while a task connects, upgrades
//! the connection (`GET /peer`, `Upgrade: dynamo-peer/1`, on the peer's ordinary address) and
//! then runs a writer, which coalesces every queued frame into one write, and a reader, which
//! routes each answer to the request waiting for it by number. Many requests are in flight at
//! once; answers come back in whatever order the peer finishes them.
//!
//! A link that fails (connection refused, handshake refused or timed out, the peer closed or
//! died) is closed for good: every request waiting on it gets [`Outcome::Lost`] at once, and the
//! transport opens a fresh link for the next message to that peer. That is how a killed and
//! revived peer is reached again, and why a refused connection costs no timeout. A request whose
//! answer does not come within the node's timeout is the waiter's business
//! ([`Link::forget`]); the link itself stays up, as a paused peer may resume. The one case this
//! does not cover is a connection a network drops silently (no reset, no close): its requests
//! time out until the operating system gives up on the connection. On loopback, and for a peer
//! whose host restarts (its kernel resets the old connection), that cannot last.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dynamo_common::NodeId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::transport::{FROM, FROM_ADDR};
use crate::wire::{self, Answer, AnswerFrame, RequestFrame};

/// What a request sent on a link came to.
#[derive(Debug)]
pub enum Outcome {
    /// The peer's answer.
    Answer(Answer),
    /// The link failed before an answer came.
    Lost,
}

/// The requests waiting for an answer, by number; `None` once the link closed.
type Waiting = Mutex<Option<HashMap<u64, oneshot::Sender<Outcome>>>>;

/// One connection to one peer, and the requests in flight on it.
pub struct Link {
    /// The peer's address the link was opened to (a changed address needs a new link).
    pub addr: String,
    queue: mpsc::UnboundedSender<RequestFrame>,
    waiting: Arc<Waiting>,
    next_id: AtomicU64,
}

impl Link {
    /// Opens a link from `me` (reachable at `my_addr`) to `peer` at `addr`, for requests that
    /// wait `timeout` for their answers. Connecting and the handshake get twice that: a peer that
    /// accepts the connection but never answers (a paused process) then costs the requests
    /// queued meanwhile a [`NoReply::Timeout`](store::NoReply), as a silent peer should, before
    /// the link gives up.
    pub fn open(
        me: &NodeId,
        my_addr: &str,
        peer: &NodeId,
        addr: &str,
        timeout: Duration,
    ) -> Arc<Self> {
        let (queue, frames) = mpsc::unbounded_channel();
        let waiting: Arc<Waiting> = Arc::new(Mutex::new(Some(HashMap::new())));
        tokio::spawn(run(
            RunArgs {
                me: me.to_string(),
                my_addr: my_addr.to_string(),
                peer: peer.to_string(),
                addr: addr.to_string(),
                timeout,
            },
            frames,
            waiting.clone(),
        ));
        Arc::new(Self {
            addr: addr.to_string(),
            queue,
            waiting,
            next_id: AtomicU64::new(0),
        })
    }

    /// Whether the link failed (a new one is needed).
    pub fn is_closed(&self) -> bool {
        lock(&self.waiting).is_none()
    }

    /// Queues `envelope`'s frame (numbered `message`, with `book` on gossip) and returns its
    /// number and the channel its outcome comes on. On a closed link the outcome is already
    /// there: [`Outcome::Lost`].
    pub fn send(
        &self,
        message: u64,
        book: Option<String>,
        envelope: store::Envelope,
    ) -> (u64, oneshot::Receiver<Outcome>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = lock(&self.waiting);
            match waiting.as_mut() {
                Some(map) => {
                    map.insert(id, tx);
                }
                None => {
                    let _ = tx.send(Outcome::Lost);
                    return (id, rx);
                }
            }
        }
        let frame = RequestFrame {
            id,
            message,
            book,
            envelope,
        };
        if self.queue.send(frame).is_err() {
            // The link's task is gone: whoever closed it answered (or will answer) `id`.
            close(&self.waiting);
        }
        (id, rx)
    }

    /// Stops waiting for request `id` (its sender gave up); a late answer is dropped.
    pub fn forget(&self, id: u64) {
        if let Some(map) = lock(&self.waiting).as_mut() {
            map.remove(&id);
        }
    }
}

fn lock(
    waiting: &Waiting,
) -> std::sync::MutexGuard<'_, Option<HashMap<u64, oneshot::Sender<Outcome>>>> {
    waiting.lock().unwrap_or_else(|e| e.into_inner())
}

/// Closes the link: every waiting request gets [`Outcome::Lost`].
fn close(waiting: &Waiting) {
    if let Some(map) = lock(waiting).take() {
        for (_, tx) in map {
            let _ = tx.send(Outcome::Lost);
        }
    }
}

struct RunArgs {
    me: String,
    my_addr: String,
    peer: String,
    addr: String,
    timeout: Duration,
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr} refused the peer connection: {status}")]
    Refused { addr: String, status: String },
}

/// Connects, upgrades, then reads answers until the connection ends; closes the link then.
async fn run(args: RunArgs, frames: mpsc::UnboundedReceiver<RequestFrame>, waiting: Arc<Waiting>) {
    let reader = match tokio::time::timeout(args.timeout * 2, connect(&args)).await {
        Ok(Ok(stream)) => stream,
        // A refused connection is the everyday sign of a peer that is down: no log line.
        Ok(Err(OpenError::Connect { .. })) | Err(_) => return close(&waiting),
        Ok(Err(e)) => {
            eprintln!("node {}: peer connection to {}: {e}", args.me, args.peer);
            return close(&waiting);
        }
    };
    let (read, write) = reader;
    let unencodable = waiting.clone();
    let writer = tokio::spawn(wire::write_frames(write, frames, move |frame, e| {
        // The frame never leaves: its waiter hears so now rather than at its timeout.
        if let Some(tx) = lock(&unencodable)
            .as_mut()
            .and_then(|m| m.remove(&frame.id))
        {
            eprintln!("a message to a peer does not encode ({e}); it is reported lost");
            let _ = tx.send(Outcome::Lost);
        }
    }));
    let mut read = read;
    let mut buf = Vec::new();
    loop {
        match wire::read_frame::<AnswerFrame>(&mut read, &mut buf).await {
            Ok(Some(AnswerFrame { id: 0, answer })) => {
                eprintln!(
                    "node {}: {} closed our peer connection: {answer:?}",
                    args.me, args.peer
                );
                break;
            }
            Ok(Some(AnswerFrame { id, answer })) => {
                let tx = lock(&waiting).as_mut().and_then(|m| m.remove(&id));
                if let Some(tx) = tx {
                    let _ = tx.send(Outcome::Answer(answer));
                }
            }
            Ok(None) | Err(wire::FrameError::Io(_)) => break,
            Err(e) => {
                eprintln!(
                    "node {}: peer connection to {}: {e}; closing it",
                    args.me, args.peer
                );
                break;
            }
        }
    }
    close(&waiting);
    writer.abort();
}

type Halves = (
    BufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
);

/// Opens the TCP connection and upgrades it to the peer protocol.
async fn connect(args: &RunArgs) -> Result<Halves, OpenError> {
    let stream = TcpStream::connect(&args.addr)
        .await
        .map_err(|source| OpenError::Connect {
            addr: args.addr.clone(),
            source,
        })?;
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let handshake = format!(
        "GET /peer HTTP/1.1\r\nhost: {}\r\nconnection: upgrade\r\nupgrade: {}\r\n{FROM}: {}\r\n\
         {FROM_ADDR}: {}\r\n\r\n",
        args.addr,
        wire::PROTOCOL,
        args.me,
        args.my_addr
    );
    let io = |source| OpenError::Connect {
        addr: args.addr.clone(),
        source,
    };
    write.write_all(handshake.as_bytes()).await.map_err(io)?;
    // The answer's head, line by line; what follows it is already frames, left in the buffer.
    let mut read = BufReader::with_capacity(64 * 1024, read);
    let mut status = String::new();
    read.read_line(&mut status).await.map_err(io)?;
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await.map_err(io)? == 0 || line == "\r\n" {
            break;
        }
    }
    if status.split_whitespace().nth(1) != Some("101") {
        return Err(OpenError::Refused {
            addr: args.addr.clone(),
            status: status.trim().to_string(),
        });
    }
    Ok((read, write))
}
