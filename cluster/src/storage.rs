//! The node's local data on disk: the `redb` backend of the stage-7 [`Storage<Siblings>`].
//!
//! Two tables, as Dynamo keeps hints in a separate local database (§4.6): `data` maps a key to
//! the JSON of its sibling set (tombstones included), `hints` maps `primary NUL key` to the JSON of
//! the object kept for a down primary. A third, `meta`, keeps the ceiling of the vector-clock
//! counters the node may have issued ("never reuse a counter"): it is raised durably in leases of
//! [`LEASE`] counters, so a write costs no extra fsync, and after a restart the node continues
//! above the ceiling (skipping at most a lease of counters, which no clock rule minds).
//!
//! **Durability, with group commit.** The contract's `put` is synchronous and runs on the node's
//! single thread; an fsync inside it would stall the whole node once per write, and even an
//! unsynced redb transaction per write costs more than the rest of the write. Instead a change
//! updates the in-memory copy and joins a queue, and the host lets no answer leave the process
//! (no peer's ack or reply, no client response) before [`Flusher::flush`] says every change
//! queued so far is on disk. The flusher is one thread that encodes everything queued at that
//! moment, appends it to the write-ahead log ([`crate::wal`]) and syncs the log: one append and
//! one `fdatasync` for the batch, off the node's thread. A checkpointer thread writes each sealed
//! log segment into redb (one `Durability::Immediate` transaction per segment, each key once),
//! records it as checkpointed and removes it; at open, the segments redb does not hold yet are
//! replayed. Seen from outside, a write is acknowledged only once durable, exactly as the
//! contract requires; a node killed with SIGKILL restarts with every write it acknowledged
//! (batches are replayed in queue order; a torn last batch was never acknowledged).
//!
//! Data and hints are mirrored in memory (loaded at open, changed at once), so the node's
//! frequent reads (every key and hint, every tick and every replica get) cost no read
//! transaction and no parsing; the log and redb are the durable copy. A storage failure (disk
//! full, corruption) cannot be returned through the contract: the flusher panics, which stops the
//! process's acknowledgements (no flush completes), never acknowledging a write not on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dynamo_common::NodeId;
use dynamo_common::host::Storage;
use redb::{Database, Durability, ReadableTable, TableDefinition};
use store::{Hint, Siblings};

use crate::wal::{self, Record, Segment, Table};

/// Key to the JSON of its sibling set.
const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");
/// `primary NUL key` to the JSON of the object kept for `primary`.
const HINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hints");

/// Key to one number.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The `meta` entry holding the ceiling of issued counters.
const ISSUED: &str = "issued-ceiling";
/// The `meta` entry holding the number of the last log segment whose changes redb holds.
const CHECKPOINTED: &str = "wal-checkpointed";
/// How many counters one durable raise of the ceiling covers.
pub const LEASE: u64 = 1024;

/// What can go wrong opening the storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// redb failed (I/O, corruption, a second process on the same file, ...).
    #[error("storage {path}: {message}")]
    Redb {
        /// The database file.
        path: String,
        /// redb's message.
        message: String,
    },
}

/// One change waiting for the flusher.
enum Op {
    /// Raise the ceiling of issued counters.
    Ceiling(u64),
    /// `data[key] = object`, the object already encoded ([`json`]).
    Put(String, Vec<u8>),
    /// Remove `data[key]`.
    Remove(String),
    /// `hints[primary NUL key] = object`, the object already encoded ([`json`]).
    PutHint(String, Vec<u8>),
    /// Remove `hints[primary NUL key]`.
    DeleteHint(String),
}

/// Changes queued since the last batch, and how many were ever queued.
#[derive(Default)]
struct Queue {
    ops: Vec<Op>,
    queued: u64,
    /// Per client key, the number of the last queued change to its data or hints, until that
    /// change is durable: what an answer about that key alone must wait for.
    last: std::collections::HashMap<String, u64>,
}

/// What the flusher tells the checkpointer.
enum Checkpoint {
    /// A batch now durable in the current log segment.
    Batch(Vec<Record>),
    /// Segment `id` is sealed: everything it holds goes into redb, then the file goes. `more`:
    /// the flusher goes on and will want another segment.
    Sealed {
        /// The segment.
        id: u64,
        /// Whether the flusher goes on.
        more: bool,
    },
}

/// Makes queued changes durable, many at a time: one log append and sync per batch
/// ([`crate::wal`]), and later one redb transaction per sealed log segment. Shared by the storage
/// (which queues its changes) and the HTTP handlers (which wait before answering). Dropping the
/// last handle makes what is queued durable and stops its threads.
pub struct Flusher {
    /// Changes waiting, with the count of every change queued so far (shared with the thread).
    queue: Arc<Mutex<Queue>>,
    /// How many queued changes are durable.
    durable: tokio::sync::watch::Receiver<u64>,
    /// Wakes the flusher thread; `None` once stopping.
    wake: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// The flusher and checkpointer threads, joined on drop.
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// A sibling set as the log and redb store it: its JSON. Encoded by the node's thread when it
/// queues the change: cheaper than a copy of the set for the flusher to encode (and to free on
/// another thread).
fn json(object: &Siblings) -> Vec<u8> {
    let size: usize = object.0.iter().map(|v| v.value.len() + 64).sum();
    let mut bytes = Vec::with_capacity(size + 8);
    serde_json::to_writer(&mut bytes, object).unwrap_or_else(|e| fail("encode", e));
    bytes
}

/// A queued change as the log and redb store it.
fn encode(op: Op) -> Record {
    match op {
        Op::Put(key, bytes) => Record::Put {
            table: Table::Data,
            bytes,
            key,
        },
        Op::Remove(key) => Record::Remove {
            table: Table::Data,
            key,
        },
        Op::PutHint(key, bytes) => Record::Put {
            table: Table::Hints,
            bytes,
            key,
        },
        Op::DeleteHint(key) => Record::Remove {
            table: Table::Hints,
            key,
        },
        Op::Ceiling(ceiling) => Record::Ceiling(ceiling),
    }
}

impl Flusher {
    fn start(db: Arc<Database>, dir: PathBuf, segment: u64) -> Arc<Self> {
        let (wake, requests) = std::sync::mpsc::channel::<()>();
        let (durable_tx, durable) = tokio::sync::watch::channel(0);
        let (to_checkpoint, checkpoints) = std::sync::mpsc::channel::<Checkpoint>();
        // The next segment, created ahead of need by the checkpointer.
        let (spare, spares) = std::sync::mpsc::sync_channel::<Segment>(1);
        let queue: Arc<Mutex<Queue>> = Arc::default();
        let shared = queue.clone();
        let segments_dir = dir.clone();
        let new_segment = move |id| {
            Segment::create(&segments_dir, id).unwrap_or_else(|e| fail("create log segment", e))
        };
        let mut log = new_segment(segment);
        let _ = spare.send(new_segment(segment + 1));
        let flusher = std::thread::Builder::new()
            .name("redb-flusher".into())
            .spawn(move || {
                let mut frames = Vec::new();
                loop {
                    // A closed channel (the last handle dropped) still commits what is queued.
                    let open = requests.recv().is_ok();
                    while requests.try_recv().is_ok() {}
                    let (ops, target) = {
                        let mut queue = shared.lock().unwrap_or_else(|e| e.into_inner());
                        (std::mem::take(&mut queue.ops), queue.queued)
                    };
                    if target > *durable_tx.borrow() {
                        let records: Vec<Record> = ops.into_iter().map(encode).collect();
                        frames.clear();
                        for record in &records {
                            wal::encode(record, &mut frames);
                        }
                        log.append(&frames)
                            .unwrap_or_else(|e| fail("append to the log", e));
                        shared
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .last
                            .retain(|_, seq| *seq > target);
                        durable_tx.send_replace(target);
                        let _ = to_checkpoint.send(Checkpoint::Batch(records));
                        if log.full() {
                            let sealed = log.id;
                            // Prepared by the checkpointer: creating a file and syncing its
                            // directory here would hold every waiting answer for milliseconds.
                            log = spares
                                .recv()
                                .unwrap_or_else(|e| fail("next log segment", e));
                            let _ = to_checkpoint.send(Checkpoint::Sealed {
                                id: sealed,
                                more: true,
                            });
                        }
                    }
                    if !open {
                        if let Ok(unused) = spares.try_recv() {
                            unused.discard();
                        }
                        let _ = to_checkpoint.send(Checkpoint::Sealed {
                            id: log.id,
                            more: false,
                        });
                        break;
                    }
                }
            })
            .expect("the flusher thread starts");
        let checkpointer = std::thread::Builder::new()
            .name("redb-checkpoint".into())
            .spawn(move || {
                let mut pending = Pending::default();
                for message in checkpoints {
                    match message {
                        Checkpoint::Batch(records) => pending.add(records),
                        Checkpoint::Sealed { id, more } => {
                            // The flusher now appends to segment id + 1: prepare id + 2.
                            if more {
                                let _ = spare.send(new_segment(id + 2));
                            }
                            std::mem::take(&mut pending)
                                .commit(&db, id)
                                .unwrap_or_else(|e| fail("checkpoint", e));
                            let _ = std::fs::remove_file(wal::path(&dir, id));
                        }
                    }
                }
            })
            .expect("the checkpoint thread starts");
        Arc::new(Self {
            queue,
            durable,
            wake: Mutex::new(Some(wake)),
            threads: vec![flusher, checkpointer],
        })
    }
    /// Queues one change to client key `key`; the caller's mirror already shows it.
    fn queue(&self, key: &str, op: Op) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.ops.push(op);
        queue.queued += 1;
        let seq = queue.queued;
        match queue.last.get_mut(key) {
            Some(last) => *last = seq,
            None => {
                queue.last.insert(key.to_string(), seq);
            }
        }
    }

    /// Queues a change that concerns no client key; returns its number.
    fn queue_op(&self, op: Op) -> u64 {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.ops.push(op);
        queue.queued += 1;
        queue.queued
    }

    /// How many queued changes are durable.
    fn durable(&self) -> u64 {
        *self.durable.borrow()
    }

    /// Returns once every change queued before the call is durable.
    pub async fn flush(&self) {
        let target = self.queue.lock().unwrap_or_else(|e| e.into_inner()).queued;
        self.wait(target).await;
    }

    /// Returns once every change to `key` (its data or its hints) queued before the call is
    /// durable: enough before an answer that concerns `key` alone (a replica's ack or reply
    /// about it, a client's put or get of it). Other keys' pending changes do not delay it.
    pub async fn flush_key(&self, key: &str) {
        let target = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last
            .get(key)
            .copied();
        if let Some(target) = target {
            self.wait(target).await;
        }
    }

    async fn wait(&self, target: u64) {
        let mut durable = self.durable.clone();
        if *durable.borrow_and_update() >= target {
            return;
        }
        if let Some(wake) = &*self.wake.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = wake.send(());
        }
        let _ = durable.wait_for(|d| *d >= target).await;
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Closing the channel ends the flusher after a last append of what is queued; its end
        // closes the checkpointer's channel after a last checkpoint.
        drop(self.wake.lock().unwrap_or_else(|e| e.into_inner()).take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Changes durable in the log and not yet in redb: the last of each key, and the highest
/// ceiling.
#[derive(Default)]
struct Pending {
    changes: BTreeMap<(Table, String), Option<Vec<u8>>>,
    ceiling: Option<u64>,
}

impl Pending {
    fn add(&mut self, records: Vec<Record>) {
        for record in records {
            match record {
                Record::Put { table, key, bytes } => {
                    self.changes.insert((table, key), Some(bytes));
                }
                Record::Remove { table, key } => {
                    self.changes.insert((table, key), None);
                }
                Record::Ceiling(c) => self.ceiling = Some(self.ceiling.unwrap_or(0).max(c)),
            }
        }
    }

    /// Writes the changes into redb in one synced transaction that also records every log
    /// segment up to `through` as checkpointed.
    #[expect(
        clippy::result_large_err,
        reason = "once per checkpoint, and its error ends the process or the open"
    )]
    fn commit(self, db: &Database, through: u64) -> Result<(), redb::Error> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        {
            let mut data = txn.open_table(DATA)?;
            let mut hints = txn.open_table(HINTS)?;
            let mut meta = txn.open_table(META)?;
            for ((table, key), bytes) in self.changes {
                let table = if table == Table::Data {
                    &mut data
                } else {
                    &mut hints
                };
                match bytes {
                    Some(bytes) => {
                        table.insert(key.as_str(), bytes.as_slice())?;
                    }
                    None => {
                        table.remove(key.as_str())?;
                    }
                }
            }
            if let Some(ceiling) = self.ceiling {
                // Never lower it: a synced raise (set_issued) may have gone further.
                let stored = meta.get(ISSUED)?.map_or(0, |v| v.value());
                meta.insert(ISSUED, ceiling.max(stored))?;
            }
            let stored = meta.get(CHECKPOINTED)?.map_or(0, |v| v.value());
            meta.insert(CHECKPOINTED, through.max(stored))?;
        }
        txn.commit()?;
        Ok(())
    }
}

/// A replica's data in one redb file.
pub struct RedbStorage {
    db: Arc<Database>,
    flusher: Arc<Flusher>,
    /// The data table, in memory.
    data: BTreeMap<String, Siblings>,
    /// The hints table, in memory, by (primary, key).
    hints: BTreeMap<(NodeId, String), Siblings>,
    /// The highest counter issued in this process (or, after a restart, the stored ceiling).
    issued: u64,
    /// The durable ceiling: no counter above it has been issued.
    ceiling: u64,
    /// A higher ceiling queued for the flusher, with the change number that makes it durable.
    raising: Option<(u64, u64)>,
}

fn hint_key(primary: &NodeId, key: &str) -> String {
    format!("{primary}\0{key}")
}

/// `(primary, key)` from a hint's stored key, `primary NUL key`.
fn split_hint(stored: &str) -> (NodeId, String) {
    let (primary, key) = stored.split_once('\0').unwrap_or((stored, ""));
    (NodeId::new(primary), key.to_string())
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("storage: {what} failed: {e}")
}

impl RedbStorage {
    /// Opens (or creates) `dir/node.redb`.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        let path = dir.join("node.redb");
        let err = |message: String| StorageError::Redb {
            path: path.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let db = Database::create(&path).map_err(|e| err(e.to_string()))?;
        let txn = db.begin_write().map_err(|e| err(e.to_string()))?;
        let mut data = BTreeMap::new();
        let mut hints = BTreeMap::new();
        {
            let table = txn.open_table(DATA).map_err(|e| err(e.to_string()))?;
            for row in table.iter().map_err(|e| err(e.to_string()))? {
                let (k, v) = row.map_err(|e| err(e.to_string()))?;
                let siblings = serde_json::from_slice(v.value()).map_err(|e| {
                    err(format!("the record of `{}` does not parse: {e}", k.value()))
                })?;
                data.insert(k.value().to_string(), siblings);
            }
            let table = txn.open_table(HINTS).map_err(|e| err(e.to_string()))?;
            for row in table.iter().map_err(|e| err(e.to_string()))? {
                let (k, v) = row.map_err(|e| err(e.to_string()))?;
                let siblings = serde_json::from_slice(v.value())
                    .map_err(|e| err(format!("the hint `{}` does not parse: {e}", k.value())))?;
                hints.insert(split_hint(k.value()), siblings);
            }
        }
        let (ceiling, checkpointed) = {
            let meta = txn.open_table(META).map_err(|e| err(e.to_string()))?;
            let read = |name| -> Result<u64, StorageError> {
                let stored = meta.get(name).map_err(|e| err(e.to_string()))?;
                Ok(stored.map_or(0, |v| v.value()))
            };
            (read(ISSUED)?, read(CHECKPOINTED)?)
        };
        txn.commit().map_err(|e| err(e.to_string()))?;
        // The log's segments redb does not hold yet: replayed in order over what redb holds,
        // then written into it, so the node starts on a fresh segment.
        let mut pending = Pending::default();
        let mut last = checkpointed;
        for (id, file) in wal::segments(dir).map_err(|e| err(e.to_string()))? {
            last = last.max(id);
            if id <= checkpointed {
                continue;
            }
            let bytes = std::fs::read(&file).map_err(|e| err(e.to_string()))?;
            let records = wal::decode(&bytes);
            for record in &records {
                match record {
                    Record::Put { table, key, bytes } => {
                        let siblings: Siblings = serde_json::from_slice(bytes)
                            .map_err(|e| err(format!("the log's record of `{key}`: {e}")))?;
                        match table {
                            Table::Data => {
                                data.insert(key.clone(), siblings);
                            }
                            Table::Hints => {
                                hints.insert(split_hint(key), siblings);
                            }
                        }
                    }
                    Record::Remove { table, key } => match table {
                        Table::Data => {
                            data.remove(key);
                        }
                        Table::Hints => {
                            hints.remove(&split_hint(key));
                        }
                    },
                    Record::Ceiling(_) => {}
                }
            }
            pending.add(records);
        }
        let ceiling = ceiling.max(pending.ceiling.unwrap_or(0));
        if last > checkpointed {
            pending
                .commit(&db, last)
                .map_err(|e| err(format!("checkpoint of the log: {e}")))?;
            for (id, file) in wal::segments(dir).map_err(|e| err(e.to_string()))? {
                if id <= last {
                    std::fs::remove_file(file).map_err(|e| err(e.to_string()))?;
                }
            }
        }
        let db = Arc::new(db);
        Ok(Self {
            flusher: Flusher::start(db.clone(), dir.to_path_buf(), last + 1),
            db,
            data,
            hints,
            issued: ceiling,
            ceiling,
            raising: None,
        })
    }

    /// The flusher the host awaits before answering.
    pub fn flusher(&self) -> Arc<Flusher> {
        self.flusher.clone()
    }
}

impl Storage<Siblings> for RedbStorage {
    fn get(&self, key: &str) -> Option<Siblings> {
        self.data.get(key).cloned()
    }

    fn put(&mut self, key: &str, object: Siblings) {
        self.flusher
            .queue(key, Op::Put(key.to_string(), json(&object)));
        match self.data.get_mut(key) {
            Some(held) => *held = object,
            None => {
                self.data.insert(key.to_string(), object);
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<Siblings> {
        let removed = self.data.remove(key)?;
        self.flusher.queue(key, Op::Remove(key.to_string()));
        Some(removed)
    }

    fn keys(&self) -> Vec<String> {
        self.data.keys().cloned().collect()
    }

    fn hints(&self) -> Vec<Hint<Siblings>> {
        self.hints
            .iter()
            .map(|((primary, key), object)| Hint {
                primary: primary.clone(),
                key: key.clone(),
                object: object.clone(),
            })
            .collect()
    }

    fn put_hint(&mut self, hint: Hint<Siblings>) {
        let stored = hint_key(&hint.primary, &hint.key);
        self.flusher
            .queue(&hint.key, Op::PutHint(stored, json(&hint.object)));
        self.hints.insert((hint.primary, hint.key), hint.object);
    }

    fn issued(&self) -> u64 {
        self.issued
    }

    fn set_issued(&mut self, counter: u64) {
        if let Some((ceiling, seq)) = self.raising
            && self.flusher.durable() >= seq
        {
            self.ceiling = self.ceiling.max(ceiling);
            self.raising = None;
        }
        // Half-way through a lease, the next one is queued with the data: it is durable long
        // before this lease runs out, so the node never stops for the synced raise below.
        if self.raising.is_none() && counter + LEASE / 2 > self.ceiling {
            let ceiling = self.ceiling.max(counter) + LEASE;
            let seq = self.flusher.queue_op(Op::Ceiling(ceiling));
            self.raising = Some((ceiling, seq));
        }
        // Beyond the durable ceiling: synced at once, not queued, since the version carrying the
        // counter may reach another replica's disk before this node's next batch does.
        if counter > self.ceiling {
            let ceiling = counter + LEASE;
            let mut txn = self
                .db
                .begin_write()
                .unwrap_or_else(|e| fail("begin write", e));
            txn.set_durability(Durability::Immediate);
            {
                let mut meta = txn
                    .open_table(META)
                    .unwrap_or_else(|e| fail("open table", e));
                meta.insert(ISSUED, ceiling)
                    .unwrap_or_else(|e| fail("insert", e));
            }
            txn.commit().unwrap_or_else(|e| fail("commit", e));
            self.ceiling = ceiling;
        }
        self.issued = self.issued.max(counter);
    }

    fn delete_hint(&mut self, primary: &NodeId, key: &str) -> bool {
        let found = self
            .hints
            .remove(&(primary.clone(), key.to_string()))
            .is_some();
        if found {
            self.flusher
                .queue(key, Op::DeleteHint(hint_key(primary, key)));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{VectorClock, Version};

    fn dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dynamo-storage-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn siblings(value: &str) -> Siblings {
        Siblings(vec![Version {
            clock: VectorClock::new(),
            value: value.to_string(),
        }])
    }

    #[test]
    fn data_hints_and_the_counter_ceiling_survive_reopening() {
        let dir = dir("reopen");
        {
            let mut s = RedbStorage::open(&dir).unwrap();
            s.put("b", siblings("=2"));
            s.put("a", siblings("=1"));
            s.put("gone", siblings("-"));
            assert_eq!(s.remove("gone"), Some(siblings("-")));
            s.put_hint(Hint {
                primary: NodeId::new("C"),
                key: "a".into(),
                object: siblings("=1"),
            });
            s.set_issued(7);
            s.set_issued(3);
            assert_eq!(s.issued(), 7, "a lower counter is ignored");
        }
        let mut s = RedbStorage::open(&dir).unwrap();
        assert_eq!(s.keys(), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(s.get("b"), Some(siblings("=2")));
        assert_eq!(s.get("gone"), None);
        assert_eq!(s.hints().len(), 1);
        // After a restart the node continues above every counter it may have issued.
        assert!(s.issued() >= 7, "issued {} after reopening", s.issued());
        assert!(s.delete_hint(&NodeId::new("C"), "a"));
        assert!(!s.delete_hint(&NodeId::new("C"), "a"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn changes_only_in_the_log_are_replayed_at_open_and_checkpointed_ones_are_not() {
        // What a node killed between a batch's log sync and its checkpoint leaves behind.
        let dir = dir("replay");
        {
            let mut s = RedbStorage::open(&dir).unwrap();
            s.put("old", siblings("=redb"));
        }
        let frames = |records: &[Record]| {
            let mut bytes = Vec::new();
            for r in records {
                wal::encode(r, &mut bytes);
            }
            bytes
        };
        let json = |v: &str| serde_json::to_vec(&siblings(v)).unwrap();
        // Every segment written so far is checkpointed: one below that number is stale.
        let done = wal::segments(&dir).unwrap();
        assert!(done.is_empty(), "a clean close leaves no segment: {done:?}");
        let mut stale = Segment::create(&dir, 1).unwrap();
        stale
            .append(&frames(&[Record::Put {
                table: Table::Data,
                key: "old".into(),
                bytes: json("=stale"),
            }]))
            .unwrap();
        let mut live = Segment::create(&dir, 1_000).unwrap();
        live.append(&frames(&[
            Record::Put {
                table: Table::Data,
                key: "new".into(),
                bytes: json("=log"),
            },
            Record::Put {
                table: Table::Hints,
                key: "C\0new".into(),
                bytes: json("=hint"),
            },
            Record::Ceiling(5_000),
        ]))
        .unwrap();
        // The tail of a batch whose sync never returned.
        live.append(&[7, 0, 0, 0, 1, 2]).unwrap();
        drop((stale, live));
        {
            let s = RedbStorage::open(&dir).unwrap();
            assert_eq!(s.keys(), vec!["new".to_string(), "old".to_string()]);
            assert_eq!(s.get("new"), Some(siblings("=log")));
            assert_eq!(s.hints().len(), 1);
            assert!(s.issued() >= 5_000, "issued {}", s.issued());
            // The first close checkpointed segment 1 (the first one it wrote).
            assert_eq!(s.get("old"), Some(siblings("=redb")));
        }
        // Replayed segments went into redb and are gone: a second open sees the same.
        let s = RedbStorage::open(&dir).unwrap();
        assert_eq!(s.get("new"), Some(siblings("=log")));
        assert_eq!(s.get("old"), Some(siblings("=redb")));
        assert!(
            wal::segments(&dir).unwrap().len() <= 2,
            "the current one and a spare"
        );
        assert_eq!(s.hints().len(), 1);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
