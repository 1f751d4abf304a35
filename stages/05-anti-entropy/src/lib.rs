//! Stage 5: anti-entropy with Merkle trees (Dynamo paper, §4.7).
//!
//! This file is the **contract**: the trait your code implements and the types it speaks. Read
//! it, do not edit it. Your code goes in `src/solution.rs`; the assignment, with
//! the hashing layout worked through by hand, is `stages/05-anti-entropy/README.md`.
//!
//! # The rules, in one place
//! - A replica holds keys, each with a **sibling set** (stage 4's `Vec<Version>`, never empty),
//!   and a Merkle tree of a fixed `depth` over them: `2^depth` leaves, levels `0` (the root) to
//!   `depth` (the leaves). Node `(level, i)` has children `(level + 1, 2i)` and
//!   `(level + 1, 2i + 1)`.
//! - A key's **segment** (its leaf) is the top `depth` bits of its ring position, where the
//!   position is the first 8 bytes of SHA-256(key) read big-endian, as in stage 1. Depth 0 means
//!   one leaf, segment 0. So each leaf is a contiguous range of the ring.
//! - **Object digest** of a sibling set: SHA-256 of its canonical encoding (siblings sorted by
//!   `Version`'s order; every number a `u64` big-endian; every string its byte length then its
//!   bytes). The README's section "The byte layout" spells out every byte.
//! - **Leaf hash**: SHA-256 over the leaf's entries in key order, each entry
//!   `len(key) ‖ key ‖ object digest` (`len` a `u64` big-endian). An empty leaf hashes the empty
//!   string: `e3b0c442…b855`.
//! - **Inner node**: SHA-256(left ‖ right), over the children's 32 raw bytes each.
//! - **Diff** compares the roots, then descends only into child pairs whose hashes differ, and
//!   counts every pair of hashes it compares. Keys are reported in key order as missing here
//!   (only in the other replica), missing there (only here) or different.
//! - **Sync** sends exactly the keys the diff found, and both replicas end with stage 4's
//!   reconciliation of the two sibling sets: concurrent versions become siblings on both.
//!
//! # Why the trait looks like this
//! One trait, [`Replica`], is the data *and* its tree, because the tree must follow every
//! insert and delete without a rebuild. `diff` and `sync` take the other replica as
//! `&dyn Replica`: they may only use what a remote peer would answer (hashes of its nodes, the
//! entries of one leaf), so your code works against the reference's replica as well as your own.
//! Merging sibling sets is stage 4's job; the grader hands you stage 4 (yours or the reference's,
//! as chosen on the command line) as a [`SiblingStores`], so you never write generic code.
//!
//! # Layout
//! - [`Replica`]: insert, delete, get, the tree's hashes, diff and sync.
//! - [`Hash`](struct@Hash), [`Diff`], [`KeyDifference`], [`Difference`], [`SyncReport`]: the data it speaks.
//! - [`SiblingStores`]: stage 4, handed to `sync`.
//! - [`Sha256`]: the hasher to build the tree with; it counts its hashes, so a case can bound
//!   the hashing an update does ([`hashes_computed`]).
//! - `src/solution.rs`: your code, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.

#![deny(missing_docs)]

mod sha256;

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
pub use sha256::{Sha256, hashes_computed};
pub use vector_clocks::{NodeId, VectorClock, Version, VersionStore};

/// A key, such as `"cart-17"`. Keys order as strings (byte order of their UTF-8).
pub type Key = String;

/// The deepest tree the course uses: `2^20` leaves (about a million).
pub const MAX_DEPTH: u32 = 20;

/// A SHA-256 digest: 32 bytes, shown and written in case files as 64 lowercase hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes).map_err(|e| {
            serde::de::Error::custom(format!(
                "a hash is 64 hex digits, `{text}` is not one ({e})"
            ))
        })?;
        Ok(Hash(bytes))
    }
}

/// Written as a string of 64 lowercase hex digits.
impl JsonSchema for Hash {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Hash".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "a SHA-256 digest as 64 lowercase hex digits"
        })
    }
}

/// How a key differs between this replica ("here") and the other one ("there").
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Difference {
    /// The other replica has the key; this one does not.
    MissingHere,
    /// This replica has the key; the other one does not.
    MissingThere,
    /// Both have the key, with different sibling sets.
    Different,
}

/// One key the diff found, and how it differs.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct KeyDifference {
    /// The key.
    pub key: Key,
    /// How it differs.
    pub difference: Difference,
}

/// What [`Replica::diff`] found, and what it cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Diff {
    /// Every differing key, sorted by key; empty when the replicas hold the same data.
    pub keys: Vec<KeyDifference>,
    /// How many pairs of node hashes (one here, one there) were compared. Comparing keys inside
    /// a differing leaf does not count: only tree hashes do.
    pub comparisons: u64,
}

/// What [`Replica::sync`] moved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncReport {
    /// Keys whose sibling set this replica sent to the other (missing there, or different), in
    /// key order.
    pub sent: Vec<Key>,
    /// Keys whose sibling set this replica received (missing here, or different), in key order.
    pub received: Vec<Key>,
}

/// Stage 4, handed to [`Replica::sync`]: it makes empty sibling stores.
///
/// Merging two sibling sets is stage 4's syntactic reconciliation:
///
/// ```
/// # use anti_entropy::{SiblingStores, Version};
/// # fn merge(stores: &SiblingStores, mine: Vec<Version>, theirs: Vec<Version>) -> Vec<Version> {
/// let mut store = stores.new_store();
/// store.reconcile(mine);
/// store.reconcile(theirs);
/// store.get() // every concurrent version kept, the ones they descend from dropped
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct SiblingStores {
    new_store: fn(usize) -> Box<dyn VersionStore>,
}

impl SiblingStores {
    /// Stage 4 as a constructor of empty stores (taking the truncation threshold, which
    /// reconciliation never uses). The grader builds this for you.
    pub fn new(new_store: fn(usize) -> Box<dyn VersionStore>) -> Self {
        Self { new_store }
    }

    /// An empty sibling store, from the stage-4 implementation the grader chose.
    pub fn new_store(&self) -> Box<dyn VersionStore> {
        (self.new_store)(vector_clocks::DEFAULT_THRESHOLD)
    }
}

impl fmt::Debug for SiblingStores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SiblingStores")
    }
}

/// One replica's data and its Merkle tree. Implement every method; none has a default.
///
/// The tree is kept up to date by [`insert`](Self::insert) and [`delete`](Self::delete): each
/// rehashes one leaf and the `depth` nodes above it, never the whole tree.
pub trait Replica {
    /// An empty replica whose tree has `depth` levels below the root (`2^depth` leaves).
    /// `depth` is at most [`MAX_DEPTH`].
    fn new(depth: u32) -> Self
    where
        Self: Sized;

    /// The tree's depth, as given to [`new`](Self::new).
    fn depth(&self) -> u32;

    /// The segment (leaf index) of `key`: the top `depth` bits of its ring position, `0` when
    /// `depth` is 0.
    fn segment(&self, key: &str) -> u64;

    /// Stores `siblings` (never empty) as `key`'s object, replacing whatever was there, and
    /// updates the hashes on the key's path to the root.
    fn insert(&mut self, key: &str, siblings: Vec<Version>);

    /// Removes `key` and updates the hashes on its path. Returns whether the key was there.
    fn delete(&mut self, key: &str) -> bool;

    /// `key`'s siblings, sorted by `Version`'s order; empty when the key is not here.
    fn get(&self, key: &str) -> Vec<Version>;

    /// Every key here, sorted.
    fn keys(&self) -> Vec<Key>;

    /// The entries of leaf `segment`, sorted by key: each key with its sorted siblings.
    fn leaf(&self, segment: u64) -> Vec<(Key, Vec<Version>)>;

    /// The hash of node `index` at `level`: `(0, 0)` is the root, `(depth, s)` is leaf `s`.
    fn node(&self, level: u32, index: u64) -> Hash;

    /// Compares this replica's tree with `other`'s (same depth): start at the roots, and
    /// descend only into child pairs whose hashes differ; in each differing leaf, compare the
    /// entries key by key. Counts every pair of node hashes compared.
    fn diff(&self, other: &dyn Replica) -> Diff;

    /// Brings this replica and `other` to the same data, moving only the keys the diff finds.
    /// For each such key both end with the reconciliation (by `stores`) of the two sibling sets:
    /// a key missing on one side is copied, and concurrent versions become siblings on both.
    fn sync(&mut self, other: &mut dyn Replica, stores: &SiblingStores) -> SyncReport;
}
