//! The versions a replica keeps for one key: siblings, each a vector clock and a value or a
//! tombstone, added by stage 4's rule.
//!
//! Deletes are tombstones (`value: None`) so that a delete travels through hinted handoff, read
//! repair and anti-entropy like any write and is never undone by a replica that missed it. The
//! sibling rule is stage 4's: a version equal to or older than a held one adds nothing; otherwise
//! it replaces every held version it descends from. Clock comparisons go through the stage chosen
//! for this node ([`Stages`]), so the learner's clocks decide what a sibling is.

use serde::{Deserialize, Serialize};
use vector_clocks::{ClockOrder, VectorClock};

use crate::stages::{StageError, Stages};

/// One version of a key: a value, or a tombstone when `value` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stored {
    /// The clock of the write that produced it.
    pub clock: VectorClock,
    /// The value, or `None` for a delete.
    pub value: Option<String>,
}

/// Adds `incoming` to `held` by stage 4's rule; returns whether `held` changed. `held` stays
/// sorted (clock, then value) so equal sets compare and hash equal on every replica.
pub fn add(stages: &Stages, held: &mut Vec<Stored>, incoming: Stored) -> Result<bool, StageError> {
    let rules = stages.clocks();
    let mut keep = Vec::with_capacity(held.len() + 1);
    for h in held.iter() {
        match rules.compare(&h.clock, &incoming.clock)? {
            ClockOrder::Equal | ClockOrder::After => return Ok(false),
            ClockOrder::Before => {}
            ClockOrder::Concurrent => keep.push(h.clone()),
        }
    }
    keep.push(incoming);
    keep.sort();
    *held = keep;
    Ok(true)
}

/// Adds every version of `incoming` to `held`; returns whether anything changed.
pub fn add_all(
    stages: &Stages,
    held: &mut Vec<Stored>,
    incoming: impl IntoIterator<Item = Stored>,
) -> Result<bool, StageError> {
    let mut changed = false;
    for v in incoming {
        changed |= add(stages, held, v)?;
    }
    Ok(changed)
}

/// The context a read hands out: the merge of every sibling's clock, tombstones included, so a
/// write with it supersedes them all.
pub fn context(stages: &Stages, held: &[Stored]) -> Result<VectorClock, StageError> {
    let rules = stages.clocks();
    let mut clock = VectorClock::new();
    for v in held {
        clock = rules.merge(&clock, &v.clock)?;
    }
    Ok(clock)
}

/// A stable 64-bit digest of a sibling set, equal on every replica holding the same versions
/// (FNV-1a over the set's JSON, which is sorted).
pub fn digest(held: &[Stored]) -> u64 {
    let bytes = serde_json::to_vec(held).unwrap_or_default();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
