//! A replica's data on disk, in `redb`: per-key sibling sets (tombstones included) and hints.
//!
//! Durability is the point: a write is acknowledged only after the transaction holding it has
//! committed with redb's default `Durability::Immediate` (fsync). To keep that affordable under
//! load, writes go to one writer thread that takes every write waiting in its queue, applies them
//! all in one transaction, commits once and then answers each (group commit). A node killed with
//! SIGKILL therefore restarts with every write it acknowledged, and a batch of 100 concurrent
//! writes costs one fsync, not 100.
//!
//! Reads open their own read transaction: redb's MVCC lets them run beside the writer.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use dynamo_common::NodeId;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use tokio::sync::oneshot;

use crate::stages::{StageError, Stages};
use crate::versions::{self, Stored};

/// Key to the JSON of its sibling set.
const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");
/// `target NUL key` to the JSON of the versions held for `target`.
const HINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("hints");

/// At most this many writes share one commit, so one batch never starves the queue's answers.
const MAX_BATCH: usize = 512;

/// What can go wrong storing or loading.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// redb failed (I/O, corruption, ...).
    #[error("storage: {0}")]
    Redb(String),
    /// A stored record did not parse.
    #[error("storage: bad record for `{key}`: {message}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// The parser's message.
        message: String,
    },
    /// The stage-4 code merging versions failed.
    #[error(transparent)]
    Stage(#[from] StageError),
    /// The writer thread is gone (the node is stopping).
    #[error("storage: the writer stopped")]
    Stopped,
}

fn redb_err(e: impl Into<redb::Error>) -> StorageError {
    StorageError::Redb(e.into().to_string())
}

/// One write for the writer thread.
enum Op {
    /// Add versions to a key's sibling set; answers the set after and whether it changed.
    Merge { key: String, versions: Vec<Stored> },
    /// Keep versions for `target`, which is down.
    PutHint {
        target: NodeId,
        key: String,
        versions: Vec<Stored>,
    },
    /// Forget a hint once delivered.
    DeleteHint { target: NodeId, key: String },
}

/// The writer's answer to one [`Op`].
pub type Merged = (Vec<Stored>, bool);

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Merged, StorageError>>,
}

/// The node's storage: a redb file and its writer thread.
#[derive(Clone)]
pub struct Storage {
    db: Arc<Database>,
    queue: mpsc::Sender<Job>,
}

fn hint_key(target: &NodeId, key: &str) -> String {
    format!("{target}\0{key}")
}

fn parse(key: &str, bytes: &[u8]) -> Result<Vec<Stored>, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| StorageError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

impl Storage {
    /// Opens (or creates) `dir/node.redb` and starts the writer thread.
    pub fn open(dir: &Path, stages: Stages) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| redb_err(redb::StorageError::Io(e)))?;
        let db = Arc::new(Database::create(dir.join("node.redb")).map_err(redb_err)?);
        let txn = db.begin_write().map_err(redb_err)?;
        txn.open_table(DATA).map_err(redb_err)?;
        txn.open_table(HINTS).map_err(redb_err)?;
        txn.commit().map_err(redb_err)?;
        let (queue, jobs) = mpsc::channel();
        let writer_db = db.clone();
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer(&writer_db, &stages, &jobs))
            .map_err(|e| redb_err(redb::StorageError::Io(e)))?;
        Ok(Self { db, queue })
    }

    async fn submit(&self, op: Op) -> Result<Merged, StorageError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { op, reply })
            .map_err(|_| StorageError::Stopped)?;
        answer.await.map_err(|_| StorageError::Stopped)?
    }

    /// Adds `versions` to `key`'s siblings, durably. Returns the set after and whether it changed.
    pub async fn merge(&self, key: &str, versions: Vec<Stored>) -> Result<Merged, StorageError> {
        self.submit(Op::Merge {
            key: key.to_string(),
            versions,
        })
        .await
    }

    /// Keeps `versions` of `key` for `target`, durably.
    pub async fn put_hint(
        &self,
        target: &NodeId,
        key: &str,
        versions: Vec<Stored>,
    ) -> Result<(), StorageError> {
        self.submit(Op::PutHint {
            target: target.clone(),
            key: key.to_string(),
            versions,
        })
        .await
        .map(|_| ())
    }

    /// Forgets the hint of `key` for `target`.
    pub async fn delete_hint(&self, target: &NodeId, key: &str) -> Result<(), StorageError> {
        self.submit(Op::DeleteHint {
            target: target.clone(),
            key: key.to_string(),
        })
        .await
        .map(|_| ())
    }

    /// `key`'s siblings (empty when never written).
    pub fn get(&self, key: &str) -> Result<Vec<Stored>, StorageError> {
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(DATA).map_err(redb_err)?;
        match table.get(key).map_err(redb_err)? {
            Some(bytes) => parse(key, bytes.value()),
            None => Ok(Vec::new()),
        }
    }

    /// The siblings of each of `keys`, in order, read in one transaction.
    pub fn get_many<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a String>,
    ) -> Result<Vec<Vec<Stored>>, StorageError> {
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(DATA).map_err(redb_err)?;
        let mut out = Vec::new();
        for key in keys {
            out.push(match table.get(key.as_str()).map_err(redb_err)? {
                Some(bytes) => parse(key, bytes.value())?,
                None => Vec::new(),
            });
        }
        Ok(out)
    }

    /// Every key with its siblings, in key order.
    pub fn all(&self) -> Result<BTreeMap<String, Vec<Stored>>, StorageError> {
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(DATA).map_err(redb_err)?;
        let mut out = BTreeMap::new();
        for row in table.iter().map_err(redb_err)? {
            let (k, v) = row.map_err(redb_err)?;
            out.insert(k.value().to_string(), parse(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// How many keys this replica holds.
    pub fn key_count(&self) -> Result<u64, StorageError> {
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(DATA).map_err(redb_err)?;
        table.len().map_err(redb_err)
    }

    /// Every hint waiting: (target, key, versions).
    pub fn hints(&self) -> Result<Vec<(NodeId, String, Vec<Stored>)>, StorageError> {
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(HINTS).map_err(redb_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(redb_err)? {
            let (k, v) = row.map_err(redb_err)?;
            let (target, key) = k.value().split_once('\0').unwrap_or((k.value(), ""));
            out.push((NodeId::new(target), key.to_string(), parse(key, v.value())?));
        }
        Ok(out)
    }
}

/// The writer thread: drains the queue into one transaction per batch, commits, answers.
fn writer(db: &Database, stages: &Stages, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        let committed = (|| -> Result<(), StorageError> {
            let txn = db.begin_write().map_err(redb_err)?;
            {
                let mut data = txn.open_table(DATA).map_err(redb_err)?;
                let mut hints = txn.open_table(HINTS).map_err(redb_err)?;
                for job in &batch {
                    let answer = match &job.op {
                        Op::Merge { key, versions } => {
                            apply_merge(&mut data, stages, key, versions.clone())
                        }
                        Op::PutHint {
                            target,
                            key,
                            versions,
                        } => apply_merge(
                            &mut hints,
                            stages,
                            &hint_key(target, key),
                            versions.clone(),
                        ),
                        Op::DeleteHint { target, key } => hints
                            .remove(hint_key(target, key).as_str())
                            .map(|_| (Vec::new(), true))
                            .map_err(redb_err),
                    };
                    answers.push(answer);
                }
            }
            txn.commit().map_err(redb_err)
        })();
        for (job, answer) in batch.into_iter().zip(answers) {
            // Acknowledge only what committed: on a failed commit every job in it fails.
            let answer = match &committed {
                Ok(()) => answer,
                Err(e) => Err(StorageError::Corrupt {
                    key: String::new(),
                    message: format!("commit failed: {e}"),
                }),
            };
            let _ = job.reply.send(answer);
        }
    }
}

fn apply_merge(
    table: &mut redb::Table<&str, &[u8]>,
    stages: &Stages,
    key: &str,
    versions: Vec<Stored>,
) -> Result<Merged, StorageError> {
    let mut held = match table.get(key).map_err(redb_err)? {
        Some(bytes) => parse(key, bytes.value())?,
        None => Vec::new(),
    };
    let changed = versions::add_all(stages, &mut held, versions)?;
    if changed {
        let bytes = serde_json::to_vec(&held).map_err(|e| StorageError::Corrupt {
            key: key.to_string(),
            message: e.to_string(),
        })?;
        table.insert(key, bytes.as_slice()).map_err(redb_err)?;
    }
    Ok((held, changed))
}
