//! Per-key linearizability of a register (the strict-mode promise Dynamo itself does not make,
//! §2.3). Times are milliseconds written into the histories; nothing is random.

use dynamo_checkers::linearizable;

use crate::util::Builder;

/// The classic stale read: put x completes, put y completes, then a get returns x. Every order
/// respecting real time is x, y, get, and the get should see y: a violation, and the three
/// events are the minimal core.
#[test]
fn stale_read_after_completed_write_is_a_violation() {
    let mut h = Builder::default();
    let x = h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    let y = h.put(0, "k", "y", (20, 30), &[("A", 2)]);
    let get = h.get(1, "k", &["x"], (40, 50));
    let violations = linearizable(&h.history());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].checker, "linearizability");
    assert_eq!(violations[0].key, "k");
    assert_eq!(violations[0].events, vec![x, y, get]);
}

/// Overlapping operations that can be ordered: put y overlaps both put x and the first get, so
/// the order x, get→x, y, get→y respects real time and the register.
#[test]
fn concurrent_overlapping_operations_that_can_be_ordered_are_linearizable() {
    let mut h = Builder::default();
    h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    h.put(1, "k", "y", (5, 30), &[("B", 1)]);
    h.get(2, "k", &["x"], (12, 20));
    h.get(2, "k", &["y"], (35, 40));
    assert_eq!(linearizable(&h.history()), vec![]);
}

/// A write that failed without a quorum may still have been stored: a later get seeing its value
/// is explained by letting it take effect after its invocation.
#[test]
fn failed_write_observed_later_is_linearizable() {
    let mut h = Builder::default();
    h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    h.put_failed(1, "k", "y", (20, 30));
    h.get(2, "k", &["y"], (40, 50));
    assert_eq!(linearizable(&h.history()), vec![]);
}

/// A failed write observed, then un-observed: once a get saw y, y took effect; the next get
/// seeing x again needs a write of x after y, and there is none. All four events are needed.
#[test]
fn failed_write_observed_then_unobserved_is_a_violation() {
    let mut h = Builder::default();
    let x = h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    let y = h.put_failed(1, "k", "y", (20, 30));
    let saw_y = h.get(2, "k", &["y"], (40, 50));
    let saw_x = h.get(2, "k", &["x"], (60, 70));
    let violations = linearizable(&h.history());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].events, vec![x, y, saw_y, saw_x]);
}

/// Delete then a read of the old value: the delete completed before the get began, so the get
/// must see nothing.
#[test]
fn read_of_old_value_after_delete_is_a_violation() {
    let mut h = Builder::default();
    let x = h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    let del = h.delete(0, "k", &[("A", 1)], (20, 30), &[("A", 2)]);
    let get = h.get(1, "k", &["x"], (40, 50));
    let violations = linearizable(&h.history());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].events, vec![x, del, get]);
}

/// A register holds one value: a get returning two siblings is never legal, and the get alone
/// shows it.
#[test]
fn siblings_in_a_read_are_not_linearizable() {
    let mut h = Builder::default();
    h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    h.put(1, "k", "y", (0, 10), &[("B", 1)]);
    let get = h.get(2, "k", &["x", "y"], (20, 30));
    let violations = linearizable(&h.history());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].events, vec![get]);
    assert!(
        violations[0].explanation.contains("never siblings"),
        "{}",
        violations[0]
    );
}

/// Shrinking returns the known minimal core. Key k: put a, get→a, put b, get→b, put c, get→c,
/// then get→b (stale). Other keys add noise that must not appear. Dropping put c makes the rest
/// linearizable, dropping put b leaves get→b without its write; every other drop keeps the
/// violation, so the core is {put b, put c, stale get}.
#[test]
fn shrinking_returns_the_minimal_core() {
    let mut h = Builder::default();
    h.put(0, "k", "a", (0, 10), &[("A", 1)]);
    h.put(3, "other", "z", (0, 10), &[("C", 1)]);
    h.get(1, "k", &["a"], (11, 15));
    let b = h.put(0, "k", "b", (20, 30), &[("A", 2)]);
    h.get(1, "k", &["b"], (31, 35));
    h.get(3, "other", &["z"], (31, 35));
    let c = h.put(0, "k", "c", (40, 50), &[("A", 3)]);
    h.get(1, "k", &["c"], (51, 55));
    let stale = h.get(2, "k", &["b"], (60, 70));
    let violations = linearizable(&h.history());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].key, "k");
    assert_eq!(violations[0].events, vec![b, c, stale]);
}

/// Pending operations: an unanswered put may take effect (its value can be read), an unanswered
/// get says nothing. Both histories here are linearizable.
#[test]
fn pending_operations_are_maybe_applied_or_ignored() {
    use dynamo_checkers::{Event, History, Op, OpResult};
    let pending = |id, op| Event {
        id,
        client: 9,
        node: "A".into(),
        key: "k".into(),
        op,
        invoke_ms: 5,
        complete_ms: None,
        result: OpResult::Pending,
    };
    let mut h = Builder::default();
    h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    h.get(1, "k", &["y"], (40, 50));
    let mut history: History = h.history();
    history.events.push(pending(
        2,
        Op::Put {
            value: "y".into(),
            context: None,
        },
    ));
    history.events.push(pending(3, Op::Get));
    assert_eq!(linearizable(&history), vec![]);
}
