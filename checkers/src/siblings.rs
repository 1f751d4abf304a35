//! Concurrent writes surface as siblings (§4.4: data versioning and syntactic reconciliation).
//!
//! When two clients write one key without having seen each other's version (their clocks are
//! Concurrent), Dynamo must not pick a winner: it keeps both as siblings and hands both to the
//! next reader, whose application reconciles them (the shopping cart merges its items) and writes
//! the result with a context covering both. Until such a write, both versions must stay visible.
//! Losing one of them silently is last-writer-wins, exactly what Dynamo's vector clocks exist to
//! avoid.
//!
//! This is mostly implied by [`lost_writes`](crate::lost_writes()), but a learner who collapses
//! siblings deserves the explanation in those words: "concurrent writes X and Y: only X survived".

use std::collections::BTreeMap;

use crate::clock::{Order, compare, descends, format_clock};
use crate::history::{Event, History, Item, Op, acked_write, describe_write};
use crate::lost_writes::survives;
use crate::violation::{self, Violation};

/// Two acknowledged writes of one key with Concurrent clocks must both be present or descended
/// in the final state, unless an acknowledged write's context covers both. Sorted by key, then
/// event.
pub fn siblings_surface(
    history: &History,
    final_reads: &BTreeMap<String, Vec<Item>>,
) -> Vec<Violation> {
    let mut by_key: BTreeMap<&str, Vec<(&Event, &crate::Clock)>> = BTreeMap::new();
    for event in &history.events {
        if let Some(clock) = acked_write(event) {
            by_key.entry(&event.key).or_default().push((event, clock));
        }
    }
    let mut out = Vec::new();
    for (key, writes) in by_key {
        let finals = final_reads.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let contexts: Vec<&crate::Clock> = writes
            .iter()
            .filter_map(|(e, _)| match &e.op {
                Op::Put { context, .. } => context.as_ref(),
                Op::Delete { context } => Some(context),
                Op::Get => None,
            })
            .collect();
        for (i, (a, ca)) in writes.iter().enumerate() {
            for (b, cb) in &writes[i + 1..] {
                if compare(ca, cb) != Order::Concurrent {
                    continue;
                }
                let (a_ok, b_ok) = (survives(ca, finals), survives(cb, finals));
                if a_ok && b_ok {
                    continue;
                }
                if contexts.iter().any(|c| descends(c, ca) && descends(c, cb)) {
                    continue;
                }
                let what = match (a_ok, b_ok) {
                    (true, false) => format!("only {} survived", describe_write(a)),
                    (false, true) => format!("only {} survived", describe_write(b)),
                    _ => "neither survived".to_string(),
                };
                let explanation = format!(
                    "concurrent writes {} {} and {} {}: {what}, although no acknowledged write \
                     reconciled them; concurrent versions must be kept as siblings.",
                    describe_write(a),
                    format_clock(ca),
                    describe_write(b),
                    format_clock(cb),
                );
                let mut events = [*a, *b];
                events.sort_by_key(|e| (e.invoke_ms, e.id));
                out.push(Violation {
                    checker: "siblings",
                    key: key.to_string(),
                    explanation,
                    events: events.iter().map(|e| e.id).collect(),
                });
            }
        }
    }
    violation::sort(&mut out);
    out
}
