//! Convergence: after heal and quiescence every replica holds the same sibling set (§4.7
//! anti-entropy with Merkle trees, §5 read repair and hinted handoff).
//!
//! Eventual consistency is a promise about the end: once faults stop and the background
//! mechanisms (hinted handoff, Merkle-tree anti-entropy, read repair) have run, all replicas of
//! a key agree. Agreement is on the *set* of versions, tombstones included: the order a replica
//! happens to store its siblings in does not matter, and duplicates count once.

use std::collections::BTreeMap;

use crate::history::{Item, ReplicaState, render_item};
use crate::violation::{self, Violation};

/// For every key, every replica listed must hold the same set of items. A violation lists
/// which replicas hold which set. Sorted by key.
pub fn convergence(state: &ReplicaState) -> Vec<Violation> {
    let mut out = Vec::new();
    for (key, replicas) in state {
        // Distinct sets → replicas holding them, both in sorted order.
        let mut groups: BTreeMap<Vec<&Item>, Vec<&str>> = BTreeMap::new();
        let mut shown: BTreeMap<Vec<&Item>, String> = BTreeMap::new();
        for (node, items) in replicas {
            let set = canonical(items);
            shown.entry(set.clone()).or_insert_with(|| {
                let mut rendered: Vec<String> = items.iter().map(render_item).collect();
                rendered.sort();
                rendered.dedup();
                format!("[{}]", rendered.join(", "))
            });
            groups.entry(set).or_default().push(node);
        }
        if groups.len() <= 1 {
            continue;
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(set, nodes)| format!("{} hold {}", nodes.join(", "), shown[set]))
            .collect();
        let explanation = format!(
            "replicas still disagree after quiescence: {}; anti-entropy or read repair did not \
             bring them to one sibling set.",
            parts.join("; ")
        );
        out.push(Violation {
            checker: "convergence",
            key: key.clone(),
            explanation,
            events: Vec::new(),
        });
    }
    violation::sort(&mut out);
    out
}

/// A sibling set in a canonical form: sorted by (value, clock), duplicates removed. Clocks are
/// compared as recorded; a zero counter and a missing actor would differ here, which a replica
/// should not produce.
fn canonical(items: &[Item]) -> Vec<&Item> {
    let mut set: Vec<&Item> = items.iter().collect();
    set.sort();
    set.dedup();
    set
}
