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
//! single thread; an fsync inside it would stall the whole node once per write. Instead every
//! change commits at once without syncing (`Durability::None`) and bumps a sequence number, and
//! the host lets no answer leave the process (no peer's ack or reply, no client response) before
//! [`Flusher::flush`] says every change made so far is on disk. The flusher is one thread that
//! makes one `Durability::Immediate` commit (one fsync, which in redb persists every earlier
//! unsynced commit) for all the answers waiting at that moment. Seen from outside, a write is
//! acknowledged only once durable, exactly as the contract requires; a node killed with SIGKILL
//! restarts with every write it acknowledged.
//!
//! The data table is mirrored in memory (loaded at open, updated after each commit), so the
//! node's frequent reads (every key, every tick, for anti-entropy and reaping) cost no read
//! transaction and no parsing; redb is the durable copy. A storage failure (disk full,
//! corruption) cannot be returned through the contract: the method panics, which fails the one
//! request that hit it (each runs in its own task), never acknowledging a write not on disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
/// The `meta` entry the flusher writes (the sequence number it made durable).
const FLUSHED: &str = "flushed";
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

/// Makes unsynced commits durable, many at a time. Shared by the storage (which counts its
/// commits) and the HTTP handlers (which wait before answering). Dropping the last handle stops
/// its thread (and closes the database).
pub struct Flusher {
    /// Unsynced commits made so far.
    written: Arc<AtomicU64>,
    /// How many of them are durable.
    durable: tokio::sync::watch::Receiver<u64>,
    /// Wakes the flusher thread; `None` once stopping.
    wake: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// The flusher thread, joined on drop.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    fn start(db: Arc<Database>) -> Arc<Self> {
        let (wake, requests) = std::sync::mpsc::channel::<()>();
        let written = Arc::new(AtomicU64::new(0));
        let (durable_tx, durable) = tokio::sync::watch::channel(0);
        let counted = written.clone();
        let thread = std::thread::Builder::new()
            .name("redb-flusher".into())
            .spawn(move || {
                while requests.recv().is_ok() {
                    while requests.try_recv().is_ok() {}
                    let target = counted.load(Ordering::Acquire);
                    if target <= *durable_tx.borrow() {
                        continue;
                    }
                    let mut txn = db.begin_write().unwrap_or_else(|e| fail("begin flush", e));
                    txn.set_durability(Durability::Immediate);
                    {
                        let mut meta = txn
                            .open_table(META)
                            .unwrap_or_else(|e| fail("open table", e));
                        meta.insert(FLUSHED, target)
                            .unwrap_or_else(|e| fail("flush", e));
                    }
                    txn.commit().unwrap_or_else(|e| fail("flush commit", e));
                    durable_tx.send_replace(target);
                }
            })
            .expect("the flusher thread starts");
        Arc::new(Self {
            written,
            durable,
            wake: std::sync::Mutex::new(Some(wake)),
            thread: Some(thread),
        })
    }

    /// Returns once every change made before the call is durable.
    pub async fn flush(&self) {
        let target = self.written.load(Ordering::Acquire);
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
        // Closing the channel ends the thread after a last flush of what is pending.
        if let Some(wake) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = wake.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A replica's data in one redb file.
pub struct RedbStorage {
    db: Arc<Database>,
    flusher: Arc<Flusher>,
    /// The data table, in memory.
    data: BTreeMap<String, Siblings>,
    /// The highest counter issued in this process (or, after a restart, the stored ceiling).
    issued: u64,
    /// The durable ceiling: no counter above it has been issued.
    ceiling: u64,
}

fn hint_key(primary: &NodeId, key: &str) -> String {
    format!("{primary}\0{key}")
}

fn decode(key: &str, bytes: &[u8]) -> Siblings {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("storage: the record of `{key}` does not parse: {e}"))
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
        txn.open_table(DATA).map_err(|e| err(e.to_string()))?;
        txn.open_table(HINTS).map_err(|e| err(e.to_string()))?;
        let mut data = BTreeMap::new();
        {
            let table = txn.open_table(DATA).map_err(|e| err(e.to_string()))?;
            for row in table.iter().map_err(|e| err(e.to_string()))? {
                let (k, v) = row.map_err(|e| err(e.to_string()))?;
                let siblings = serde_json::from_slice(v.value()).map_err(|e| {
                    err(format!("the record of `{}` does not parse: {e}", k.value()))
                })?;
                data.insert(k.value().to_string(), siblings);
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
            issued: ceiling,
            ceiling,
        })
    }

    /// The flusher the host awaits before answering.
    pub fn flusher(&self) -> Arc<Flusher> {
        self.flusher.clone()
    }

    /// Runs `f` on `table` in one write transaction, committed without syncing; the host
    /// flushes before anything that depends on it leaves the process.
    fn write<T>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> T,
    ) -> T {
        let mut txn = self
            .db
            .begin_write()
            .unwrap_or_else(|e| fail("begin write", e));
        txn.set_durability(Durability::None);
        let out = {
            let mut t = txn
                .open_table(table)
                .unwrap_or_else(|e| fail("open table", e));
            f(&mut t)
        };
        txn.commit().unwrap_or_else(|e| fail("commit", e));
        self.flusher.written.fetch_add(1, Ordering::AcqRel);
        out
    }

    fn read<T>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        f: impl FnOnce(&redb::ReadOnlyTable<&str, &[u8]>) -> T,
    ) -> T {
        let txn = self
            .db
            .begin_read()
            .unwrap_or_else(|e| fail("begin read", e));
        let t = txn
            .open_table(table)
            .unwrap_or_else(|e| fail("open table", e));
        f(&t)
    }
}

impl Storage<Siblings> for RedbStorage {
    fn get(&self, key: &str) -> Option<Siblings> {
        self.data.get(key).cloned()
    }

    fn put(&mut self, key: &str, object: Siblings) {
        let bytes = serde_json::to_vec(&object).unwrap_or_else(|e| fail("encode", e));
        self.write(DATA, |t| {
            t.insert(key, bytes.as_slice())
                .unwrap_or_else(|e| fail("insert", e));
        });
        self.data.insert(key.to_string(), object);
    }

    fn remove(&mut self, key: &str) -> Option<Siblings> {
        if !self.data.contains_key(key) {
            return None;
        }
        self.write(DATA, |t| {
            t.remove(key).unwrap_or_else(|e| fail("remove", e));
        });
        self.data.remove(key)
    }

    fn keys(&self) -> Vec<String> {
        self.data.keys().cloned().collect()
    }

    fn hints(&self) -> Vec<Hint<Siblings>> {
        self.read(HINTS, |t| {
            t.iter()
                .unwrap_or_else(|e| fail("scan hints", e))
                .map(|row| {
                    let (k, v) = row.unwrap_or_else(|e| fail("scan hints", e));
                    let (primary, key) = k.value().split_once('\0').unwrap_or((k.value(), ""));
                    Hint {
                        primary: NodeId::new(primary),
                        key: key.to_string(),
                        object: decode(key, v.value()),
                    }
                })
                .collect()
        })
    }

    fn put_hint(&mut self, hint: Hint<Siblings>) {
        let bytes = serde_json::to_vec(&hint.object).unwrap_or_else(|e| fail("encode", e));
        let key = hint_key(&hint.primary, &hint.key);
        self.write(HINTS, |t| {
            t.insert(key.as_str(), bytes.as_slice())
                .unwrap_or_else(|e| fail("insert hint", e));
        });
    }

    fn issued(&self) -> u64 {
        self.issued
    }

    fn set_issued(&mut self, counter: u64) {
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
        let key = hint_key(primary, key);
        self.write(HINTS, |t| {
            t.remove(key.as_str())
                .unwrap_or_else(|e| fail("remove hint", e))
                .is_some()
        })
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
