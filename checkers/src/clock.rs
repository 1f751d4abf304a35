//! Vector clocks as the checkers see them: actor → counter, nothing else.
//!
//! Dynamo (§4.4) tags every version with a vector clock so that replicas can tell whether one
//! version *descends* from another (it saw it and may replace it) or whether the two are
//! *concurrent* (written without knowledge of each other, so both must be kept as siblings). The
//! stages' clocks also carry timestamps, used only for truncation; ordering never looks at them,
//! so the checkers drop them. A missing actor counts as 0, which makes `{}` the bottom of the
//! order and lets clocks of different shapes be compared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A vector clock without timestamps: actor (node name) → counter. A missing actor means 0.
pub type Clock = BTreeMap<String, u64>;

/// How two clocks relate in the partial order of vector clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// Every actor has the same counter on both sides.
    Equal,
    /// The first clock is strictly older: no counter larger, at least one smaller.
    Before,
    /// The first clock strictly descends from the second.
    After,
    /// Each side is ahead on some actor: neither saw the other.
    Concurrent,
}

/// Compares `a` with `b` counter by counter (a missing actor counts as 0).
pub fn compare(a: &Clock, b: &Clock) -> Order {
    let mut a_ahead = false;
    let mut b_ahead = false;
    for actor in a.keys().chain(b.keys()) {
        let x = a.get(actor).copied().unwrap_or(0);
        let y = b.get(actor).copied().unwrap_or(0);
        a_ahead |= x > y;
        b_ahead |= y > x;
    }
    match (a_ahead, b_ahead) {
        (false, false) => Order::Equal,
        (false, true) => Order::Before,
        (true, false) => Order::After,
        (true, true) => Order::Concurrent,
    }
}

/// True when `a` is Equal to or After `b`: whoever holds `a` has seen everything `b` records.
pub fn descends(a: &Clock, b: &Clock) -> bool {
    matches!(compare(a, b), Order::Equal | Order::After)
}

/// Renders a clock compactly for reports: `{A:1, B:2}`, `{}` when empty. Zero counters are
/// shown as recorded; they compare like missing actors.
pub fn format_clock(clock: &Clock) -> String {
    let entries: Vec<String> = clock.iter().map(|(a, c)| format!("{a}:{c}")).collect();
    format!("{{{}}}", entries.join(", "))
}
