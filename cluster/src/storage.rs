//! The node's local data on disk: the `redb` backend of the stage-7 [`Storage<Siblings>`].
//!
//! Two tables, as Dynamo keeps hints in a separate local database (§4.6): `data` maps a key to
//! the JSON of its sibling set (tombstones included), `hints` maps `primary NUL key` to the JSON of
//! the object kept for a down primary. Every change commits its own transaction with redb's
//! `Durability::Immediate` (an fsync) before the method returns, because the node acknowledges a
//! write as soon as `put` returns: a node killed with SIGKILL restarts with every write it
//! acknowledged.
//!
//! The contract's `put` is synchronous and runs on the node's thread, so concurrent writes cannot
//! share a commit here (no group commit): correctness first; the cost shows in `cargo dynamo
//! bench`. Reads open a read transaction; redb's MVCC lets the HTTP threads read beside the node.
//! A storage failure (disk full, corruption) cannot be returned through the contract: the method
//! panics, which fails the one request that hit it (each runs in its own task), never silently
//! acknowledging a write that is not on disk.

use std::path::Path;

use dynamo_common::NodeId;
use dynamo_common::host::Storage;
use redb::{Database, Durability, ReadableTable, TableDefinition};
use store::{Hint, Siblings};

/// Key to the JSON of its sibling set.
const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");
/// `primary NUL key` to the JSON of the object kept for `primary`.
const HINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hints");

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

/// A replica's data in one redb file.
pub struct RedbStorage {
    db: Database,
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
        txn.commit().map_err(|e| err(e.to_string()))?;
        Ok(Self { db })
    }

    /// Runs `f` on `table` in one write transaction committed durably.
    fn write<T>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> T,
    ) -> T {
        let mut txn = self
            .db
            .begin_write()
            .unwrap_or_else(|e| fail("begin write", e));
        txn.set_durability(Durability::Immediate);
        let out = {
            let mut t = txn
                .open_table(table)
                .unwrap_or_else(|e| fail("open table", e));
            f(&mut t)
        };
        txn.commit().unwrap_or_else(|e| fail("commit", e));
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
        self.read(DATA, |t| {
            t.get(key)
                .unwrap_or_else(|e| fail("read", e))
                .map(|v| decode(key, v.value()))
        })
    }

    fn put(&mut self, key: &str, object: Siblings) {
        let bytes = serde_json::to_vec(&object).unwrap_or_else(|e| fail("encode", e));
        self.write(DATA, |t| {
            t.insert(key, bytes.as_slice())
                .unwrap_or_else(|e| fail("insert", e));
        });
    }

    fn remove(&mut self, key: &str) -> Option<Siblings> {
        self.write(DATA, |t| {
            t.remove(key)
                .unwrap_or_else(|e| fail("remove", e))
                .map(|v| decode(key, v.value()))
        })
    }

    fn keys(&self) -> Vec<String> {
        self.read(DATA, |t| {
            t.iter()
                .unwrap_or_else(|e| fail("scan", e))
                .map(|row| {
                    let (k, _) = row.unwrap_or_else(|e| fail("scan", e));
                    k.value().to_string()
                })
                .collect()
        })
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

    fn delete_hint(&mut self, primary: &NodeId, key: &str) -> bool {
        let key = hint_key(primary, key);
        self.write(HINTS, |t| {
            t.remove(key.as_str())
                .unwrap_or_else(|e| fail("remove hint", e))
                .is_some()
        })
    }
}
