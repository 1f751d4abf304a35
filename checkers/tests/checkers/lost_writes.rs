//! No acknowledged write is lost while at most N−W replicas are down (§4.5, §4.6).

use dynamo_checkers::lost_writes;

use crate::util::{Builder, finals, item, tombstone};

/// An acked put whose version is neither in the final state nor descended by a final version is
/// lost: {B:1} in the final state is concurrent with the put's {A:1}, not After it.
#[test]
fn an_acknowledged_write_missing_from_the_final_state_is_lost() {
    let mut h = Builder::default();
    let lost = h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    h.put(1, "cart", "shoes", (0, 10), &[("B", 1)]);
    let violations = lost_writes(
        &h.history(),
        &finals("cart", vec![item("shoes", &[("B", 1)])]),
        &|_| false,
    );
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].checker, "lost-write");
    assert_eq!(violations[0].events, vec![lost]);
    assert!(
        violations[0].explanation.contains("\"socks\""),
        "{}",
        violations[0]
    );
}

/// Present (an Equal clock) or superseded (a final clock After it, here a tombstone of a delete
/// whose context covered it) both count as surviving; a key absent from the final reads loses
/// everything written to it.
#[test]
fn present_or_superseded_writes_survive() {
    let mut h = Builder::default();
    h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    h.put(1, "cart", "shoes", (0, 10), &[("B", 1)]);
    h.delete(0, "cart", &[("A", 1)], (20, 30), &[("A", 2)]);
    let state = finals(
        "cart",
        vec![item("shoes", &[("B", 1)]), tombstone(&[("A", 2)])],
    );
    assert_eq!(lost_writes(&h.history(), &state, &|_| false), vec![]);
    let empty = finals("other", vec![]);
    assert_eq!(lost_writes(&h.history(), &empty, &|_| false).len(), 3);
}

/// Writes acked while too many replicas were down carry no promise: the caller exempts them.
#[test]
fn exempted_writes_are_not_checked() {
    let mut h = Builder::default();
    let exempt = h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    let state = finals("cart", vec![]);
    assert_eq!(
        lost_writes(&h.history(), &state, &|e| e.id == exempt),
        vec![]
    );
}

/// Failed writes promise nothing and are never reported lost.
#[test]
fn failed_writes_are_not_checked() {
    let mut h = Builder::default();
    h.put_failed(0, "cart", "socks", (0, 10));
    assert_eq!(
        lost_writes(&h.history(), &finals("cart", vec![]), &|_| false),
        vec![]
    );
}

/// Violations come sorted by key, then by first event, whatever the history's order.
#[test]
fn violations_are_sorted_by_key_then_event() {
    let mut h = Builder::default();
    let b0 = h.put(0, "b", "x", (0, 10), &[("A", 1)]);
    let a1 = h.put(0, "a", "x", (20, 30), &[("A", 1)]);
    let b2 = h.put(1, "b", "y", (20, 30), &[("B", 1)]);
    let found = lost_writes(&h.history(), &Default::default(), &|_| false);
    let order: Vec<(&str, usize)> = found
        .iter()
        .map(|v| (v.key.as_str(), v.events[0]))
        .collect();
    assert_eq!(order, vec![("a", a1), ("b", b0), ("b", b2)]);
}
