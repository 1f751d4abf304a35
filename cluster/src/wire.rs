//! The peer protocol's frames: what travels on a long-lived peer connection, and how.
//!
//! A node opens one connection to each peer it sends to (`crate::link`) by an HTTP/1.1 upgrade
//! on the peer's ordinary port (`GET /peer` with `Upgrade: dynamo-peer/1`, answered `101`), so a
//! node keeps one address for clients and peers alike. After the `101` both sides speak frames:
//! a big-endian `u32` length, then that many bytes of MessagePack.
//!
//! - The opener sends [`RequestFrame`]s: its own number for the exchange (`id`, unique on the
//!   connection; answers come back by it, in any order), the sender's message number (what the
//!   `/peer` route's `X-Dynamo-Message` header carries, for the dashboard), the sender's
//!   address book on gossip (`X-Dynamo-Addrs`), and the envelope.
//! - The receiver answers each with an [`AnswerFrame`] of the same `id`: the answering envelope
//!   (with its book on gossip), a refusal (the receiver's side of a partition), or a failure.
//!   An answer with `id` 0 is about the connection itself: the receiver read something it could
//!   not decode, says what, and closes that connection (and only that one).
//!
//! MessagePack with named fields rather than a positional format (postcard, bincode): the stage
//! types skip default fields when serializing (`skip_serializing_if`, a vector clock entry's zero
//! timestamp, an envelope without a request id), which only a self-describing format reads back.
//! It stays compact (binary integers, no escaping, one pass) and needs no schema of its own.
//!
//! Writers coalesce: [`write_frames`] encodes every frame queued when it wakes into one buffer
//! and writes it with one system call, so under load many messages share a write and a read.

use serde::Serialize;
use serde::de::DeserializeOwned;
use store::Envelope;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The `Upgrade` protocol name of a peer connection.
pub const PROTOCOL: &str = "dynamo-peer/1";

/// The largest frame accepted (a join's transfer of a whole range is the largest message).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Coalesced frames are written once this many bytes are buffered, even if more are queued.
const WRITE_BATCH: usize = 256 * 1024;

/// One envelope from the connection's opener, to be answered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestFrame {
    /// The opener's number for this exchange (never 0): its answer carries it.
    pub id: u64,
    /// The sender's message number (the dashboard joins sender's and receiver's records by it).
    pub message: u64,
    /// On gossip, every address the sender knows (`A=ADDR,B=ADDR`).
    pub book: Option<String>,
    /// The message.
    pub envelope: Envelope,
}

/// The receiver's answer to the [`RequestFrame`] with the same `id` (0: about the connection).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnswerFrame {
    /// The request's `id`, or 0 when the receiver is closing the connection.
    pub id: u64,
    /// What became of it.
    pub answer: Answer,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Answer {
    /// The node's answering envelope; on gossip, with the receiver's address book.
    Answered {
        /// The answer.
        envelope: Envelope,
        /// On gossip, every address the receiver knows.
        book: Option<String>,
    },
    /// The receiver refuses the sender (the operator's partition); it says why.
    Refused(String),
    /// The receiver could not serve it (misaddressed, the node failed) or, with `id` 0, could not
    /// read the connection; it says why.
    Failed(String),
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than [`MAX_FRAME`].
    #[error("a frame of {len} bytes is larger than the limit of {MAX_FRAME}")]
    TooLarge {
        /// The announced length.
        len: usize,
    },
    /// The bytes are not a frame of the expected kind.
    #[error("malformed frame ({len} bytes): {why}")]
    Malformed {
        /// The frame's length.
        len: usize,
        /// The decoder's complaint.
        why: String,
    },
    /// The connection failed or ended in the middle of a frame.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
}

/// Appends `frame`, length-prefixed, to `buf`; on an encoding error `buf` is left as it was.
pub fn encode<T: Serialize>(buf: &mut Vec<u8>, frame: &T) -> Result<(), rmp_serde::encode::Error> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    if let Err(e) = rmp_serde::encode::write_named(buf, frame) {
        buf.truncate(start);
        return Err(e);
    }
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Reads one frame (reusing `buf`); `Ok(None)` when the connection ended between frames.
pub async fn read_frame<T: DeserializeOwned>(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> Result<Option<T>, FrameError> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge { len });
    }
    buf.clear();
    buf.resize(len, 0);
    reader.read_exact(buf).await?;
    rmp_serde::from_slice(buf)
        .map(Some)
        .map_err(|e| FrameError::Malformed {
            len,
            why: e.to_string(),
        })
}

/// Writes every frame `queue` yields to `writer`, as many as are queued per system call, until
/// the queue closes (every sender dropped) or a write fails; then shuts the writer down. A frame
/// that does not encode is handed to `unencodable` and skipped.
pub async fn write_frames<T: Serialize>(
    mut writer: impl AsyncWrite + Unpin,
    mut queue: mpsc::UnboundedReceiver<T>,
    mut unencodable: impl FnMut(T, rmp_serde::encode::Error),
) {
    let mut buf = Vec::with_capacity(16 * 1024);
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            if let Err(e) = encode(&mut buf, &frame) {
                unencodable(frame, e);
            }
            if buf.len() < WRITE_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if buf.is_empty() {
            continue;
        }
        if writer.write_all(&buf).await.is_err() {
            return;
        }
        // A large buffer (a range transfer) is not kept for the small frames that follow.
        if buf.capacity() > 4 * WRITE_BATCH {
            buf = Vec::with_capacity(16 * 1024);
        } else {
            buf.clear();
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    //! The codec on every body kind, including the fields the stage types skip when they hold
    //! their default (a clock entry's zero timestamp, an envelope without a request id).

    use std::collections::BTreeMap;

    use dynamo_common::NodeId;
    use dynamo_common::request::RequestId;
    use dynamo_common::sim::{Request, Response};
    use store::{Body, Membership, MessageKind, Siblings};

    use super::*;

    fn envelope(body: Body, request: Option<RequestId>) -> Envelope {
        Envelope {
            from: NodeId::new("A"),
            to: NodeId::new("B"),
            kind: MessageKind::Put,
            detail: "k = [=v {A: 1@0}]".into(),
            body,
            request,
        }
    }

    fn siblings() -> Siblings {
        serde_json::from_value(serde_json::json!([
            {"value": "=v", "clock": {"A": {"counter": 1}, "B": {"counter": 2, "timestamp": 7}}}
        ]))
        .expect("a sibling set in JSON")
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(frame: T) {
        let mut buf = Vec::new();
        encode(&mut buf, &frame).expect("encodes");
        let len = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(len, buf.len() - 4);
        let read: T = futures_read(&buf).expect("reads").expect("one frame");
        assert_eq!(read, frame);
    }

    fn futures_read<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, FrameError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut reader = bytes;
            read_frame(&mut reader, &mut Vec::new()).await
        })
    }

    #[test]
    fn every_body_round_trips() {
        let bodies = vec![
            Body::Request(Request::Put {
                key: "k".into(),
                object: siblings(),
            }),
            Body::Request(Request::Hint {
                primary: NodeId::new("C"),
                key: "k".into(),
                object: siblings(),
            }),
            Body::SyncRoot(store::Hash([7; 32])),
            Body::SyncLevel {
                level: 1,
                hashes: vec![store::Hash([0; 32]), store::Hash([255; 32])],
            },
            Body::Request(Request::Get { key: "k".into() }),
            Body::Response(Response::Value(Some(siblings()))),
            Body::Response(Response::Value(None)),
            Body::Gossip(Membership(BTreeMap::new())),
            Body::Differing {
                level: 6,
                nodes: vec![1, 5],
                entries: vec![("k".into(), siblings())],
            },
            Body::InSync,
            Body::Entries(vec![("k".into(), siblings())]),
            Body::Ack,
            Body::Refused("no".into()),
        ];
        for body in bodies {
            let request = Some(RequestId::new(NodeId::new("A"), 12));
            round_trip(RequestFrame {
                id: 1,
                message: 9,
                book: Some("A=127.0.0.1:1".into()),
                envelope: envelope(body.clone(), request),
            });
            round_trip(AnswerFrame {
                id: 1,
                answer: Answer::Answered {
                    envelope: envelope(body, None),
                    book: None,
                },
            });
        }
        round_trip(AnswerFrame {
            id: 0,
            answer: Answer::Failed("malformed".into()),
        });
    }

    #[test]
    fn a_bad_frame_is_a_located_error() {
        let mut bytes = 3u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        let error = futures_read::<RequestFrame>(&bytes).unwrap_err();
        assert!(
            matches!(error, FrameError::Malformed { len: 3, .. }),
            "{error}"
        );
        let huge = (MAX_FRAME as u32 + 1).to_be_bytes();
        let error = futures_read::<RequestFrame>(&huge).unwrap_err();
        assert!(matches!(error, FrameError::TooLarge { .. }), "{error}");
        assert!(futures_read::<RequestFrame>(&[]).unwrap().is_none());
        assert!(matches!(
            futures_read::<RequestFrame>(&[0, 0, 0, 9, 1]),
            Err(FrameError::Io(_))
        ));
    }
}
