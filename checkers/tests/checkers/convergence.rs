//! After heal and quiescence every replica holds the same sibling set (§4.7, §5).

use std::collections::BTreeMap;

use dynamo_checkers::{ReplicaState, convergence};

use crate::util::{item, tombstone};

fn state(replicas: Vec<(&str, Vec<dynamo_checkers::Item>)>) -> ReplicaState {
    let per_node = replicas
        .into_iter()
        .map(|(n, items)| (n.to_string(), items))
        .collect();
    BTreeMap::from([("cart".to_string(), per_node)])
}

/// The same siblings in a different order (and a duplicate) are the same set.
#[test]
fn equal_sets_in_any_order_converge() {
    let a = item("socks", &[("A", 1)]);
    let b = tombstone(&[("B", 1)]);
    let s = state(vec![
        ("A", vec![a.clone(), b.clone()]),
        ("B", vec![b.clone(), a.clone()]),
        ("C", vec![b.clone(), a.clone(), a]),
    ]);
    assert_eq!(convergence(&s), vec![]);
}

/// C misses the tombstone: the violation names who holds what.
#[test]
fn differing_sets_are_reported_with_their_replicas() {
    let a = item("socks", &[("A", 1)]);
    let b = tombstone(&[("B", 1)]);
    let s = state(vec![
        ("A", vec![a.clone(), b.clone()]),
        ("B", vec![a.clone(), b]),
        ("C", vec![a]),
    ]);
    let violations = convergence(&s);
    assert_eq!(violations.len(), 1, "{violations:?}");
    let text = &violations[0].explanation;
    assert_eq!(violations[0].checker, "convergence");
    assert!(
        text.contains("A, B hold [(deleted) {B:1}, socks {A:1}]"),
        "{text}"
    );
    assert!(text.contains("C hold [socks {A:1}]"), "{text}");
}
