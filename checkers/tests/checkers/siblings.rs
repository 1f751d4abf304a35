//! Concurrent acknowledged writes surface as siblings until a write covers them (§4.4).

use dynamo_checkers::siblings_surface;

use crate::util::{Builder, finals, item};

/// Two puts without context through different coordinators: clocks {A:1} and {B:1} are
/// concurrent. Kept as two siblings: fine. One dropped: "only put "shoes" survived".
#[test]
fn concurrent_writes_kept_as_siblings_or_one_dropped() {
    let mut h = Builder::default();
    let socks = h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    let shoes = h.put(1, "cart", "shoes", (5, 12), &[("B", 1)]);
    let both = finals(
        "cart",
        vec![item("socks", &[("A", 1)]), item("shoes", &[("B", 1)])],
    );
    assert_eq!(siblings_surface(&h.history(), &both), vec![]);

    let one = finals("cart", vec![item("shoes", &[("B", 1)])]);
    let violations = siblings_surface(&h.history(), &one);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].checker, "siblings");
    assert_eq!(violations[0].events, vec![socks, shoes]);
    assert!(
        violations[0].explanation.contains("only put \"shoes\""),
        "{}",
        violations[0]
    );
}

/// A write whose context covers both siblings reconciles them: the final state may then hold
/// only the merged version, {A:2, B:1}.
#[test]
fn a_write_covering_both_siblings_reconciles_them() {
    let mut h = Builder::default();
    h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    h.put(1, "cart", "shoes", (5, 12), &[("B", 1)]);
    h.put_ctx(
        0,
        "cart",
        "socks+shoes",
        &[("A", 1), ("B", 1)],
        (20, 30),
        &[("A", 2), ("B", 1)],
    );
    let merged = finals("cart", vec![item("socks+shoes", &[("A", 2), ("B", 1)])]);
    assert_eq!(siblings_surface(&h.history(), &merged), vec![]);
}

/// Writes in causal order (the second's clock descends from the first) are not siblings.
#[test]
fn causally_ordered_writes_are_not_siblings() {
    let mut h = Builder::default();
    h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    h.put_ctx(0, "cart", "shoes", &[("A", 1)], (20, 30), &[("A", 2)]);
    let state = finals("cart", vec![item("shoes", &[("A", 2)])]);
    assert_eq!(siblings_surface(&h.history(), &state), vec![]);
}
