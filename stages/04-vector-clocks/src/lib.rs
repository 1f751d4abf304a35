//! Stage 4: vector clocks and sibling versions (Dynamo paper, §4.4).
//!
//! This file is the **contract**: the traits your code implements and the types they speak. Read
//! it, do not edit it. Your code goes in `src/solution.rs`; the assignment, with the
//! paper's shopping-cart example drawn out, is `stages/04-vector-clocks/README.md`.
//!
//! # The rules, in one place
//! - A **vector clock** maps each actor (the node that coordinated a write) to an [`Entry`]: a
//!   counter and a timestamp. Counters start at 1; an actor missing from a clock has counter 0.
//! - **Increment** by actor `X` at time `t`: `X`'s counter goes up by one (a missing `X` becomes
//!   1) and `X`'s timestamp becomes `t`. No other entry changes.
//! - **Compare** `a` with `b` looks at counters only, never at timestamps, over every actor in
//!   either clock: [`ClockOrder::Equal`] when all counters match, [`ClockOrder::Before`] when no
//!   counter of `a` is larger and some is smaller, [`ClockOrder::After`] the other way round, and
//!   [`ClockOrder::Concurrent`] when each clock has some counter larger than the other's.
//! - **Merge** keeps, per actor, the entry with the larger counter; for equal counters it keeps
//!   the later timestamp. An actor present in one clock only is kept as it is.
//! - **Truncate** to `threshold`: while the clock has more than `threshold` entries, drop the
//!   entry with the smallest `(timestamp, actor)`. The paper's threshold is 10
//!   ([`DEFAULT_THRESHOLD`]).
//! - A **version store** holds the versions of one key as a set of *siblings*: no version in it
//!   equals or descends from another. See [`VersionStore`].
//!
//! # Why the traits look like this
//! [`VectorClock`] is plain data (a `BTreeMap`), so you can build, read and print clocks however
//! you like. The operations live on the [`VectorClocks`] trait, implemented by a field-less struct:
//! that lets the grader (and stages 5 and 6, which reconcile siblings too) swap your rules for the
//! reference's at run time, through `&dyn VectorClocks`, without any generics in your code.
//!
//! # Layout
//! - [`VectorClocks`]: increment, compare, merge, truncate.
//! - [`VersionStore`]: one key's siblings; `put`, `get`, `context`, `reconcile`.
//! - [`VectorClock`], [`Entry`], [`ClockOrder`], [`Version`]: the data they speak.
//! - `src/solution.rs`: your code, compiled as its own small crate (`solution/`) that sees
//!   this crate's items as `crate::…`, so editing it never recompiles this contract.

#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;

pub use dynamo_common::NodeId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The paper's truncation threshold: a clock keeps at most 10 entries (§4.4).
pub const DEFAULT_THRESHOLD: usize = 10;

/// A stored value. The course's values are short strings such as `"cart: [book]"`.
pub type Value = String;

/// One actor's entry in a vector clock.
///
/// Written in case files as `{counter: 2, timestamp: 5}`; a timestamp of 0 may be left out
/// (`{counter: 2}`) and is not printed.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// How many writes this actor has coordinated in the clock's history. At least 1 in any
    /// entry a clock holds: an actor with no writes has no entry.
    pub counter: u64,
    /// The (simulated) time of this actor's latest write in the history. Used only to choose
    /// which entry truncation drops, never by compare.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timestamp: u64,
}

fn is_zero(t: &u64) -> bool {
    *t == 0
}

/// A vector clock: one [`Entry`] per actor, kept in actor order.
///
/// A plain data type: read and change `entries` directly. It serializes as the map itself, so a
/// clock in a case file reads `{Sx: {counter: 2}, Sy: {counter: 1}}`. Two clocks are `==` when
/// their entries, timestamps included, are identical; whether they are *causally* equal is
/// [`VectorClocks::compare`]'s question.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct VectorClock {
    /// Actor to entry. A missing actor has counter 0.
    pub entries: BTreeMap<NodeId, Entry>,
}

impl VectorClock {
    /// The empty clock: no writes yet.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Compact, for messages: `{Sx: 2@7, Sy: 1@8}` (counter `@` timestamp).
impl fmt::Display for VectorClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (actor, e)) in self.entries.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{actor}: {}@{}", e.counter, e.timestamp)?;
        }
        f.write_str("}")
    }
}

impl FromIterator<(NodeId, Entry)> for VectorClock {
    fn from_iter<I: IntoIterator<Item = (NodeId, Entry)>>(iter: I) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}

/// How clock `a` relates to clock `b`: the answer of [`VectorClocks::compare`]`(a, b)`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClockOrder {
    /// Every actor has the same counter in both: the same history.
    Equal,
    /// `a` happened before `b`: `b` descends from `a`, so `b` may replace `a`.
    Before,
    /// `a` happened after `b`: `a` descends from `b`.
    After,
    /// Neither descends from the other: both must be kept, as siblings.
    Concurrent,
}

/// One version of a key's value: the value and the clock of the write that produced it.
///
/// The derived order (clock, then value) is the order [`VersionStore::get`] lists siblings in.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// The write's vector clock.
    pub clock: VectorClock,
    /// The value written.
    pub value: Value,
}

/// The vector clock rules. Implement every method; none has a default.
///
/// Every method takes its clocks by reference and returns a new clock: the grader keeps the
/// inputs and checks that your answer does not depend on anything but them.
pub trait VectorClocks {
    /// `clock` after one more write coordinated by `actor` at time `timestamp`: `actor`'s counter
    /// goes up by one (from 0 when missing) and its timestamp becomes `timestamp`.
    fn increment(&self, clock: &VectorClock, actor: &NodeId, timestamp: u64) -> VectorClock;

    /// How `a` relates to `b`, by counters alone, over the actors of both clocks (a missing actor
    /// is 0). Timestamps never change the answer.
    fn compare(&self, a: &VectorClock, b: &VectorClock) -> ClockOrder;

    /// The least clock that descends from both: per actor the larger counter, and for equal
    /// counters the later timestamp. Actors present in one clock only are kept.
    fn merge(&self, a: &VectorClock, b: &VectorClock) -> VectorClock;

    /// `clock` with its oldest entries dropped until at most `threshold` remain. Oldest means the
    /// smallest `(timestamp, actor)`, so ties on the timestamp go to the smaller actor name.
    fn truncate(&self, clock: &VectorClock, threshold: usize) -> VectorClock;
}

/// The versions of one key held by one replica: a set of siblings.
///
/// Implement every method; none has a default. The store keeps this invariant: **no held version
/// is `Equal` to or `Before` another held version**. Concurrent versions are all kept, never
/// silently dropped; it is the client's job to reconcile them.
///
/// Adding a version `v` (by [`put`](Self::put) or [`reconcile`](Self::reconcile)) follows one rule:
/// 1. if some held version is `Equal` to or `After` `v`, `v` adds nothing: the store is unchanged;
/// 2. otherwise every held version `Before` `v` is removed, and `v` is added.
pub trait VersionStore {
    /// An empty store whose writes truncate their clocks to `threshold` entries.
    fn new(threshold: usize) -> Self
    where
        Self: Sized;

    /// A client write of `value`, coordinated by `actor` at time `timestamp`.
    ///
    /// `context` is the clock the client read before writing ([`context`](Self::context)), or
    /// `None` for a blind write. The new version's clock is `context` (or the empty clock)
    /// incremented by `actor` at `timestamp`, then truncated to the store's threshold. The version
    /// is then added by the rule on the trait. Returns the new version's clock, also when the rule
    /// left it out.
    fn put(
        &mut self,
        context: Option<&VectorClock>,
        value: Value,
        actor: &NodeId,
        timestamp: u64,
    ) -> VectorClock;

    /// The siblings, sorted by [`Version`]'s derived order (clock, then value). Empty when the key
    /// was never written.
    fn get(&self) -> Vec<Version>;

    /// The context a read hands the client: the merge of every sibling's clock (the empty clock
    /// when there are none). A write with this context supersedes every sibling read.
    fn context(&self) -> VectorClock;

    /// Syntactic reconciliation: adds versions received from another replica (anti-entropy, read
    /// repair), each by the rule on the trait. Clocks are kept as they are: no increment, no
    /// truncation.
    fn reconcile(&mut self, incoming: Vec<Version>);
}
