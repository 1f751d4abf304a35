//! No acknowledged write is lost (§4.5 and §4.6: durability through W acknowledgements and
//! hinted handoff).
//!
//! Dynamo acknowledges a put once W of the key's N replicas (or their hinted stand-ins) stored
//! it. As long as at most N−W of those replicas are down at once, at least one copy survives, and
//! hinted handoff, anti-entropy and read repair carry it everywhere. So after the faults heal and
//! the cluster quiesces, every acknowledged version must still be there: either the very version
//! (a final item with an Equal clock) or something that replaced it knowingly (a final item whose
//! clock descends from it, After). A delete is a write of a tombstone and is held to the same
//! rule, which is why the caller passes the final state *with* tombstones.
//!
//! Writes acknowledged while more than N−W replicas of their key were down carry no such promise;
//! the caller knows the fault schedule and exempts them with `exempt`.

use std::collections::BTreeMap;

use crate::clock::{Order, compare, format_clock};
use crate::history::{Event, History, Item, acked_write, describe_write};
use crate::violation::{self, Violation};

/// Every acknowledged put/delete not exempted must be present in, or superseded by, the key's
/// final state (`final_reads`: key → every version, tombstones included). Sorted by key, then
/// event.
pub fn lost_writes(
    history: &History,
    final_reads: &BTreeMap<String, Vec<Item>>,
    exempt: &dyn Fn(&Event) -> bool,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for event in &history.events {
        let Some(clock) = acked_write(event) else {
            continue;
        };
        if exempt(event) {
            continue;
        }
        let finals = final_reads
            .get(&event.key)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if survives(clock, finals) {
            continue;
        }
        let seen: Vec<String> = finals.iter().map(|i| format_clock(&i.clock)).collect();
        let explanation = format!(
            "acknowledged {} with clock {} is neither in the final state nor superseded by a \
             version that descends from it (final clocks: [{}]); a quorum said it was stored, \
             then it was lost.",
            describe_write(event),
            format_clock(clock),
            seen.join(", ")
        );
        out.push(Violation {
            checker: "lost-write",
            key: event.key.clone(),
            explanation,
            events: vec![event.id],
        });
    }
    violation::sort(&mut out);
    out
}

/// True when some final item has this clock (Equal) or descends from it (After).
pub(crate) fn survives(clock: &crate::Clock, finals: &[Item]) -> bool {
    finals
        .iter()
        .any(|item| matches!(compare(&item.clock, clock), Order::Equal | Order::After))
}
