//! What an acknowledged delete covered never comes back (§4.4, "deleted items can resurface").

use dynamo_checkers::no_resurrection;

use crate::util::{Builder, finals, item, tombstone};

/// put socks {A:1}, then delete with context {A:1}: if socks {A:1} is live in the final state,
/// the deleted version came back. The sub-history is the put and the delete.
#[test]
fn a_deleted_version_live_again_is_a_resurrection() {
    let mut h = Builder::default();
    let put = h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    let del = h.delete(0, "cart", &[("A", 1)], (20, 30), &[("A", 2)]);
    let state = finals("cart", vec![item("socks", &[("A", 1)])]);
    let violations = no_resurrection(&h.history(), &state);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].checker, "resurrection");
    assert_eq!(violations[0].events, vec![put, del]);
}

/// A put without context, concurrent with the delete ({B:1} vs context {A:1}), is a write the
/// deleter never saw: it may stay live beside the tombstone.
#[test]
fn a_write_concurrent_with_the_delete_may_stay() {
    let mut h = Builder::default();
    h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    h.delete(0, "cart", &[("A", 1)], (20, 30), &[("A", 2)]);
    h.put(1, "cart", "shoes", (25, 35), &[("B", 1)]);
    let state = finals(
        "cart",
        vec![tombstone(&[("A", 2)]), item("shoes", &[("B", 1)])],
    );
    assert_eq!(no_resurrection(&h.history(), &state), vec![]);
}
