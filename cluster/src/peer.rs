//! The receiving side of peer traffic: one envelope handed to the node, its answer sent back
//! once durable, whether it came over a peer connection ([`crate::wire`]) or as a `POST /peer`.
//!
//! [`receive`] is the one place the rules live, for both routes: an envelope for another node is
//! misdirected; one from a node the operator's partition cuts off is refused (and teaches
//! nothing, not even the sender's address); otherwise the sender's address and, on gossip, its
//! address book are learned, the node handles it, and the answer waits until every change it
//! depends on is committed (group commit: a replica's answer about key K waits for K's queued
//! changes, any other answer for every queued change), so an ack always means durable.
//!
//! [`serve_connection`] runs one peer connection after its upgrade: a reader that decodes each
//! request frame and hands it to its own task (answers go back in whatever order they are ready,
//! by the frame's number), and a writer that coalesces the answers. A frame that cannot be read
//! ends that connection only: the receiver sends one last frame naming the problem (number 0),
//! logs it, and closes; the node and its other connections carry on.

use std::borrow::Cow;
use std::sync::Arc;

use dynamo_common::NodeId;
use store::{Body, Envelope, MessageKind, Request};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::mpsc;

use crate::actor::{ActorError, Command};
use crate::http::App;
use crate::transport::{exchange_event, now_ms};
use crate::wire::{self, Answer, AnswerFrame, RequestFrame};

/// What became of a received envelope.
pub enum Received {
    /// The node's answer, and on gossip this node's address book.
    Answered {
        /// The answering envelope.
        envelope: Envelope,
        /// On gossip, every address this node knows.
        book: Option<String>,
    },
    /// The envelope names another node; says which.
    Misdirected(String),
    /// The operator's partition cuts the sender off; says so.
    Refused(String),
    /// The node failed serving it (a panic in node code).
    Failed(ActorError),
}

/// Hands `envelope` (sent from `from_addr`, numbered `message` by its sender, with the sender's
/// address `book` on gossip) to the node and returns its answer once durable.
pub async fn receive(
    app: &App,
    envelope: Envelope,
    from_addr: Option<&str>,
    book: Option<&str>,
    message: Option<u64>,
) -> Received {
    let info = &app.info;
    if envelope.to != info.name {
        return Received::Misdirected(format!("this is {}, not {}", info.name, envelope.to));
    }
    let from = envelope.from.clone();
    if info.peers.refuses(&from) {
        return Received::Refused(format!("{from} is on the other side of a partition"));
    }
    if let Some(addr) = from_addr {
        info.peers.learn(&from, addr);
    }
    if let Some(book) = book {
        info.peers.learn_book(&info.name, book);
    }
    let received_ms = now_ms();
    let kind = envelope.kind;
    let detail = envelope.detail.clone();
    let request = envelope.request.clone();
    // A replica request concerns one key: its answer waits only for that key's changes.
    let key = match &envelope.body {
        Body::Request(
            Request::Put { key, .. } | Request::Get { key } | Request::Hint { key, .. },
        ) => Some(key.clone()),
        _ => None,
    };
    {
        let mut counts = info.metrics.peer.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(kind).or_default() += 1;
    }
    let answer = app
        .node
        .ask(|reply| Command::Handle { envelope, reply })
        .await;
    // An ack (or any answer) leaves only once what the node stored is durable: group commit.
    match &key {
        Some(key) => info.flusher.flush_key(key).await,
        None => info.flusher.flush().await,
    }
    let body = match answer {
        Ok(body) => body,
        Err(e) => return Received::Failed(e),
    };
    if info.events.receiver_count() > 0 || request.is_some() {
        let outcome = match &body {
            Body::Refused(why) => Cow::Owned(format!("refused: {why}")),
            _ => Cow::Borrowed("answered"),
        };
        let event = exchange_event(
            &info.name,
            "received",
            kind,
            &from,
            detail,
            outcome,
            request.as_ref(),
            message,
            received_ms,
        );
        crate::dashboard::log::emit_exchange(&info.events, event);
    }
    Received::Answered {
        envelope: Envelope {
            from: info.name.clone(),
            to: from,
            kind: kind.answer(),
            detail: String::new(),
            body,
            request,
        },
        book: (kind == MessageKind::Gossip).then(|| info.peers.book()),
    }
}

/// Serves one upgraded peer connection from `peer` (as its handshake named itself, for logs)
/// reachable at `from_addr`, until it closes or sends a frame that cannot be read.
pub async fn serve_connection(
    app: App,
    io: impl AsyncRead + AsyncWrite + Send + 'static,
    peer: String,
    from_addr: Option<String>,
) {
    let (read, write) = tokio::io::split(io);
    let (answers, queue) = mpsc::unbounded_channel::<AnswerFrame>();
    let me: NodeId = app.info.name.clone();
    let writer = tokio::spawn(wire::write_frames(write, queue, move |frame, e| {
        eprintln!(
            "node {me}: the answer to frame {} does not encode ({e}); its sender will time out",
            frame.id
        );
    }));
    let from_addr: Option<Arc<str>> = from_addr.map(Arc::from);
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut buf = Vec::new();
    loop {
        match wire::read_frame::<RequestFrame>(&mut reader, &mut buf).await {
            Ok(Some(frame)) => {
                let app = app.clone();
                let answers = answers.clone();
                let from_addr = from_addr.clone();
                tokio::spawn(async move {
                    let RequestFrame {
                        id,
                        message,
                        book,
                        envelope,
                    } = frame;
                    let received = receive(
                        &app,
                        envelope,
                        from_addr.as_deref(),
                        book.as_deref(),
                        Some(message),
                    )
                    .await;
                    let answer = match received {
                        Received::Answered { envelope, book } => {
                            Answer::Answered { envelope, book }
                        }
                        Received::Refused(why) => Answer::Refused(why),
                        Received::Misdirected(why) => Answer::Failed(why),
                        Received::Failed(e) => Answer::Failed(e.to_string()),
                    };
                    let _ = answers.send(AnswerFrame { id, answer });
                });
            }
            Ok(None) => break,
            Err(wire::FrameError::Io(_)) => break,
            Err(e) => {
                let why = format!("peer connection from {peer}: {e}; closing this connection");
                eprintln!("node {}: {why}", app.info.name);
                let _ = answers.send(AnswerFrame {
                    id: 0,
                    answer: Answer::Failed(why),
                });
                break;
            }
        }
    }
    // The writer ends (and closes the connection) once every answer in flight is sent.
    drop(answers);
    let _ = writer.await;
}
