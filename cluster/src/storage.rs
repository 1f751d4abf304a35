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
//! queued so far is on disk. The flusher is one thread that writes everything queued at that
//! moment in one `Durability::Immediate` transaction (one fsync for the batch, encoding included,
//! off the node's thread). Seen from outside, a write is acknowledged only once durable, exactly
//! as the contract requires; a node killed with SIGKILL restarts with every write it
//! acknowledged (a batch commits atomically, in queue order).
//!
//! Data and hints are mirrored in memory (loaded at open, changed at once), so the node's
//! frequent reads (every key and hint, every tick and every replica get) cost no read
//! transaction and no parsing; redb is the durable copy. A storage failure (disk full,
//! corruption) cannot be returned through the contract: the flusher panics, which stops the
//! process's acknowledgements (no flush completes), never acknowledging a write not on disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dynamo_common::NodeId;
use dynamo_common::host::Storage;
use redb::{Database, Durability, ReadableTable, TableDefinition};
use store::{Hint, Siblings};

/// Key to the JSON of its sibling set.
const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");
/// `primary NUL key` to the JSON of the object kept for `primary`.
const HINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hints");

/// Key to one number.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The `meta` entry holding the ceiling of issued counters.
const ISSUED: &str = "issued-ceiling";
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
    /// `data[key] = object`.
    Put(String, Siblings),
    /// Remove `data[key]`.
    Remove(String),
    /// `hints[primary NUL key] = object`.
    PutHint(String, Siblings),
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

/// Makes queued changes durable, many at a time, in one redb transaction per batch. Shared by
/// the storage (which queues its changes) and the HTTP handlers (which wait before answering).
/// Dropping the last handle commits what is queued and stops its thread.
pub struct Flusher {
    /// Changes waiting, with the count of every change queued so far (shared with the thread).
    queue: Arc<Mutex<Queue>>,
    /// How many queued changes are durable.
    durable: tokio::sync::watch::Receiver<u64>,
    /// Wakes the flusher thread; `None` once stopping.
    wake: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// The flusher thread, joined on drop.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn start(db: Arc<Database>) -> Arc<Self> {
        let (wake, requests) = std::sync::mpsc::channel::<()>();
        let (durable_tx, durable) = tokio::sync::watch::channel(0);
        let queue: Arc<Mutex<Queue>> = Arc::default();
        let shared = queue.clone();
        let thread = std::thread::Builder::new()
            .name("redb-flusher".into())
            .spawn(move || {
                loop {
                    // A closed channel (the last handle dropped) still commits what is queued.
                    let open = requests.recv().is_ok();
                    while requests.try_recv().is_ok() {}
                    let (ops, target) = {
                        let mut queue = shared.lock().unwrap_or_else(|e| e.into_inner());
                        (std::mem::take(&mut queue.ops), queue.queued)
                    };
                    if target > *durable_tx.borrow() {
                        commit(&db, ops);
                        shared
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .last
                            .retain(|_, seq| *seq > target);
                        durable_tx.send_replace(target);
                    }
                    if !open {
                        break;
                    }
                }
            })
            .expect("the flusher thread starts");
        Arc::new(Self {
            queue,
            durable,
            wake: Mutex::new(Some(wake)),
            thread: Some(thread),
        })
    }

    /// Queues one change to client key `key`; the caller's mirror already shows it.
    fn queue(&self, key: &str, op: Op) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.ops.push(op);
        queue.queued += 1;
        let seq = queue.queued;
        queue.last.insert(key.to_string(), seq);
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
        // Closing the channel ends the thread after a last commit of what is queued.
        drop(self.wake.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes `ops` in queue order in one transaction, synced: one fsync for the whole batch.
fn commit(db: &Database, ops: Vec<Op>) {
    let mut txn = db.begin_write().unwrap_or_else(|e| fail("begin flush", e));
    txn.set_durability(Durability::Immediate);
    {
        let mut data = txn
            .open_table(DATA)
            .unwrap_or_else(|e| fail("open table", e));
        let mut hints = txn
            .open_table(HINTS)
            .unwrap_or_else(|e| fail("open table", e));
        let mut meta = txn
            .open_table(META)
            .unwrap_or_else(|e| fail("open table", e));
        for op in ops {
            match op {
                Op::Put(key, object) => {
                    let bytes = serde_json::to_vec(&object).unwrap_or_else(|e| fail("encode", e));
                    data.insert(key.as_str(), bytes.as_slice())
                        .unwrap_or_else(|e| fail("insert", e));
                }
                Op::Remove(key) => {
                    data.remove(key.as_str())
                        .unwrap_or_else(|e| fail("remove", e));
                }
                Op::PutHint(key, object) => {
                    let bytes = serde_json::to_vec(&object).unwrap_or_else(|e| fail("encode", e));
                    hints
                        .insert(key.as_str(), bytes.as_slice())
                        .unwrap_or_else(|e| fail("insert hint", e));
                }
                Op::DeleteHint(key) => {
                    hints
                        .remove(key.as_str())
                        .unwrap_or_else(|e| fail("remove hint", e));
                }
                Op::Ceiling(ceiling) => {
                    // Never lower it: a synced raise (set_issued) may have gone further.
                    let stored = meta
                        .get(ISSUED)
                        .unwrap_or_else(|e| fail("read ceiling", e))
                        .map_or(0, |v| v.value());
                    meta.insert(ISSUED, ceiling.max(stored))
                        .unwrap_or_else(|e| fail("insert", e));
                }
            }
        }
    }
    txn.commit().unwrap_or_else(|e| fail("flush commit", e));
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
                let (primary, key) = k.value().split_once('\0').unwrap_or((k.value(), ""));
                let siblings = serde_json::from_slice(v.value())
                    .map_err(|e| err(format!("the hint `{primary}/{key}` does not parse: {e}")))?;
                hints.insert((NodeId::new(primary), key.to_string()), siblings);
            }
        }
        let ceiling = {
            let meta = txn.open_table(META).map_err(|e| err(e.to_string()))?;
            let stored = meta.get(ISSUED).map_err(|e| err(e.to_string()))?;
            stored.map_or(0, |v| v.value())
        };
        txn.commit().map_err(|e| err(e.to_string()))?;
        let db = Arc::new(db);
        Ok(Self {
            flusher: Flusher::start(db.clone()),
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
            .queue(key, Op::Put(key.to_string(), object.clone()));
        self.data.insert(key.to_string(), object);
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
            .queue(&hint.key, Op::PutHint(stored, hint.object.clone()));
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
}
