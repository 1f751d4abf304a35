//! What a replica stores for a key.
//!
//! The network is generic over the stored object so that later stages can store richer ones
//! (stage 6 stores sibling sets under vector clocks) without a second network.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An object a replica can store: it knows how to fold an incoming write into what is stored.
pub trait StoredObject: Clone + fmt::Debug + fmt::Display + Send + 'static {
    /// The replica's new state for a key after a write of `incoming` arrives.
    fn merge(stored: Option<Self>, incoming: Self) -> Self;
}

/// A value with a totally ordered version (stages 2 and 3): the higher version is newer.
///
/// Shown as `value@version`, for example `blue@2`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Versioned {
    /// The client's value.
    pub value: String,
    /// Higher is newer. The client picks it; two writes never share one.
    pub version: u64,
}

impl Versioned {
    /// A value at a version.
    pub fn new(value: impl Into<String>, version: u64) -> Self {
        Self {
            value: value.into(),
            version,
        }
    }
}

impl fmt::Display for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.value, self.version)
    }
}

impl StoredObject for Versioned {
    /// A replica keeps the highest version it has seen: an older write arriving late is ignored.
    fn merge(stored: Option<Self>, incoming: Self) -> Self {
        match stored {
            Some(old) if old.version >= incoming.version => old,
            _ => incoming,
        }
    }
}
