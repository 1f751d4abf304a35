//! The partial order of vector clocks (§4.4) that every other checker leans on.

use dynamo_checkers::{Order, compare, descends, format_clock};

use crate::util::clock;

/// A missing actor counts as 0, so `{A:1}` equals `{A:1, B:0}` and `{}` is below everything.
#[test]
fn compare_treats_missing_actors_as_zero() {
    assert_eq!(
        compare(&clock(&[("A", 1)]), &clock(&[("A", 1), ("B", 0)])),
        Order::Equal
    );
    assert_eq!(compare(&clock(&[]), &clock(&[("A", 1)])), Order::Before);
    assert_eq!(
        compare(&clock(&[("A", 2), ("B", 1)]), &clock(&[("A", 1)])),
        Order::After
    );
    assert_eq!(
        compare(&clock(&[("A", 1)]), &clock(&[("B", 1)])),
        Order::Concurrent
    );
}

/// `descends` is Equal-or-After, never Before or Concurrent.
#[test]
fn descends_is_equal_or_after() {
    let (a1, a2, b1) = (clock(&[("A", 1)]), clock(&[("A", 2)]), clock(&[("B", 1)]));
    assert!(descends(&a1, &a1));
    assert!(descends(&a2, &a1));
    assert!(!descends(&a1, &a2));
    assert!(!descends(&a1, &b1));
    assert_eq!(format_clock(&clock(&[("B", 2), ("A", 1)])), "{A:1, B:2}");
}
