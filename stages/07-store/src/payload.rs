//! What clients see: values, tombstones hidden; contexts; read results; errors.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{VectorClock, Version};

/// What one version holds: a client's value, or a tombstone (the key was deleted).
///
/// Stage 4's [`Version`] keeps a `String`; a payload lives in it encoded: `=` followed by the
/// value for a value, `-` alone for a tombstone. Every client value gets the `=` prefix, so no
/// value a client writes can be mistaken for a tombstone (a client writing `-` stores `=-`).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Payload {
    /// A client's value.
    Value(String),
    /// A delete.
    Tombstone,
}

impl Payload {
    /// The encoding stored in [`Version::value`].
    pub fn encode(&self) -> String {
        match self {
            Payload::Value(v) => format!("={v}"),
            Payload::Tombstone => "-".to_string(),
        }
    }

    /// Decodes a stored `Version::value`; `None` when it is not an encoded payload.
    pub fn decode(stored: &str) -> Option<Payload> {
        if stored == "-" {
            Some(Payload::Tombstone)
        } else {
            stored
                .strip_prefix('=')
                .map(|v| Payload::Value(v.to_string()))
        }
    }

    /// The payload of a stored version (a version that is not an encoded payload counts as a
    /// value, as written).
    pub fn of(version: &Version) -> Payload {
        Payload::decode(&version.value).unwrap_or_else(|| Payload::Value(version.value.clone()))
    }

    /// Whether `version` is a tombstone.
    pub fn is_tombstone(version: &Version) -> bool {
        version.value == "-"
    }
}

/// The opaque token a read returns and a write hands back: the merge of the clocks read.
///
/// Clients never look inside; the course shows it as the clock, `{A: 2@7, B: 1@3}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Context(pub VectorClock);

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a get returns: the live siblings' values (sorted; empty when the key does not exist or
/// is deleted) and one context covering every sibling read, tombstones included.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadResult {
    /// Every live sibling's value, sorted.
    pub values: Vec<String>,
    /// Hand it back to the next put or delete of this key.
    pub context: Context,
}

/// Why a client operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum StoreError {
    /// Fewer replicas answered than the operation needs.
    #[error("needed {needed} replicas but got {got}")]
    NotEnoughReplicas {
        /// W or R (a majority of N in strict mode).
        needed: usize,
        /// Acks or replies received.
        got: usize,
    },
    /// The key is empty.
    #[error("a key must not be empty")]
    BadKey,
}
