//! The storage's write-ahead log: how a batch of changes becomes durable with one append and one
//! `fdatasync`, before redb holds it.
//!
//! Writing a batch straight into redb cost a copy-on-write B-tree leaf (a 4 KiB page written and
//! checksummed) per changed key, since the benchmark's keys are spread over every leaf: most of
//! the flusher's CPU, which on a machine where the nodes share two cores is throughput lost. A
//! log append costs the record's own bytes. So the flusher appends each batch to the current
//! segment file (`wal-NNNNNNNNNNNNNNNNNNNN.log` in the node's data directory) and syncs it; that
//! sync is what makes the batch's changes durable ([`crate::storage`] acknowledges nothing before
//! it). Segments are sealed every [`ROTATE_AFTER`] or [`ROTATE_BYTES`]; a sealed segment's
//! changes are then written into redb in one transaction (a checkpoint: each key once, however
//! often it changed) that also records the segment's number as checkpointed, and the file is
//! removed. At open, the segments above the checkpointed number are replayed (their changes are
//! whole values, so replaying one twice is harmless) into redb before the node starts.
//!
//! A record is framed as its length (u32 LE), an FNV-1a 64 hash of its body (u64 LE) and the
//! body: a tag, then the key and the value, each as a u32 LE length and bytes. Reading stops at
//! the first frame that is short or does not match its hash: the tail of a batch that was being
//! written when the process died, which was never acknowledged.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Seal the current segment once it is this old...
pub const ROTATE_AFTER: Duration = Duration::from_secs(4);
/// ...or this large.
pub const ROTATE_BYTES: u64 = 4 << 20;

/// The redb table a change belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// Client keys' sibling sets.
    Data,
    /// Hints, under `primary NUL key`.
    Hints,
}

/// One change, encoded as redb stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// `table[key] = bytes` (the JSON of a sibling set).
    Put {
        /// The table.
        table: Table,
        /// The key as stored.
        key: String,
        /// The value as stored.
        bytes: Vec<u8>,
    },
    /// Remove `table[key]`.
    Remove {
        /// The table.
        table: Table,
        /// The key as stored.
        key: String,
    },
    /// Raise the ceiling of issued counters to at least this.
    Ceiling(u64),
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Appends `record`'s frame to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 12]);
    match record {
        Record::Put { table, key, bytes } => {
            out.push(if *table == Table::Data { 1 } else { 3 });
            put_bytes(out, key.as_bytes());
            put_bytes(out, bytes);
        }
        Record::Remove { table, key } => {
            out.push(if *table == Table::Data { 2 } else { 4 });
            put_bytes(out, key.as_bytes());
        }
        Record::Ceiling(ceiling) => {
            out.push(5);
            out.extend_from_slice(&ceiling.to_le_bytes());
        }
    }
    let body = start + 12;
    let len = (out.len() - body) as u32;
    let hash = fnv1a(&out[body..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..body].copy_from_slice(&hash.to_le_bytes());
}

/// Reads `n` bytes at `*at`, advancing it.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let slice = bytes.get(*at..at.checked_add(n)?)?;
    *at += n;
    Some(slice)
}

fn take_u32(bytes: &[u8], at: &mut usize) -> Option<usize> {
    Some(u32::from_le_bytes(take(bytes, at, 4)?.try_into().ok()?) as usize)
}

fn decode_body(body: &[u8]) -> Option<Record> {
    let mut at = 1;
    let bytes_field = |at: &mut usize| -> Option<Vec<u8>> {
        let n = take_u32(body, at)?;
        Some(take(body, at, n)?.to_vec())
    };
    let record = match body.first()? {
        tag @ (1 | 3) => {
            let key = String::from_utf8(bytes_field(&mut at)?).ok()?;
            let bytes = bytes_field(&mut at)?;
            let table = if *tag == 1 { Table::Data } else { Table::Hints };
            Record::Put { table, key, bytes }
        }
        tag @ (2 | 4) => {
            let key = String::from_utf8(bytes_field(&mut at)?).ok()?;
            let table = if *tag == 2 { Table::Data } else { Table::Hints };
            Record::Remove { table, key }
        }
        5 => Record::Ceiling(u64::from_le_bytes(take(body, &mut at, 8)?.try_into().ok()?)),
        _ => return None,
    };
    (at == body.len()).then_some(record)
}

/// The records of a segment's contents, up to the first frame that is torn or corrupt.
pub fn decode(bytes: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(len) = take_u32(bytes, &mut at) {
        let Some(hash) = take(bytes, &mut at, 8) else {
            break;
        };
        let Some(body) = take(bytes, &mut at, len) else {
            break;
        };
        if len == 0 || hash != fnv1a(body).to_le_bytes() {
            break;
        }
        match decode_body(body) {
            Some(record) => records.push(record),
            None => break,
        }
    }
    records
}

/// Segment `id`'s file in `dir`.
pub fn path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("wal-{id:020}.log"))
}

/// The segments in `dir`, by number.
pub fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("wal-")?.strip_suffix(".log")?.parse().ok());
        if let Some(id) = id {
            found.push((id, path));
        }
    }
    found.sort();
    Ok(found)
}

/// The segment being appended to.
pub struct Segment {
    /// Its number.
    pub id: u64,
    path: PathBuf,
    file: File,
    bytes: u64,
    opened: Instant,
}

impl Segment {
    /// Creates segment `id` in `dir`: [`ROTATE_BYTES`] of zeros, synced with its directory
    /// entry, so that appends overwrite blocks the file already has and their sync writes only
    /// them (appending to the end also rewrites the file's size and block map, and its syncs
    /// took longer at the tail).
    pub fn create(dir: &Path, id: u64) -> std::io::Result<Self> {
        let path = path(dir, id);
        let mut file = File::create(&path)?;
        file.write_all(&vec![0; ROTATE_BYTES as usize])?;
        file.sync_all()?;
        file.seek(SeekFrom::Start(0))?;
        File::open(dir)?.sync_all()?;
        Ok(Self {
            id,
            path,
            file,
            bytes: 0,
            opened: Instant::now(),
        })
    }

    /// Appends `frames` and syncs them: once this returns, they are durable.
    pub fn append(&mut self, frames: &[u8]) -> std::io::Result<()> {
        self.file.write_all(frames)?;
        self.file.sync_data()?;
        self.bytes += frames.len() as u64;
        Ok(())
    }

    /// Removes an unused segment's file.
    pub fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }

    /// Whether it is time to seal this segment and start the next.
    pub fn full(&self) -> bool {
        self.bytes >= ROTATE_BYTES || (self.bytes > 0 && self.opened.elapsed() >= ROTATE_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reading_stops_at_a_torn_tail() {
        let records = vec![
            Record::Put {
                table: Table::Data,
                key: "cart".into(),
                bytes: b"[1]".to_vec(),
            },
            Record::Remove {
                table: Table::Hints,
                key: "B\0cart".into(),
            },
            Record::Ceiling(2048),
        ];
        let mut bytes = Vec::new();
        for r in &records {
            encode(r, &mut bytes);
        }
        assert_eq!(decode(&bytes), records);
        // A batch cut short, or a flipped byte, ends the log there.
        assert_eq!(decode(&bytes[..bytes.len() - 3]), records[..2]);
        let mut flipped = bytes.clone();
        flipped[14] ^= 1;
        assert_eq!(decode(&flipped), Vec::<Record>::new());
        assert_eq!(decode(&[0; 64]), Vec::<Record>::new());
    }
}
