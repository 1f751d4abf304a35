//! No resurrection: what an acknowledged delete covered stays deleted (§4.4).
//!
//! A Dynamo delete is a write of a tombstone whose clock descends from the context the client
//! read: it supersedes exactly the versions that context covers. The paper warns that in the
//! shopping cart "deleted items can resurface" when reconciliation merges a stale replica back
//! in; a correct store only lets that happen for a write the deleter never saw. So after an
//! acknowledged delete with context C, no final *live* item may have a clock C descends from
//! (Equal or Before C): those versions were deleted. A live item concurrent with C is a write the
//! delete did not know about, and keeping it is right.

use std::collections::BTreeMap;

use crate::clock::{descends, format_clock};
use crate::history::{History, Item, Op, OpResult, acked_write, describe_write};
use crate::violation::{self, Violation};

/// After an acknowledged delete with context C, no final live item of the key may have a clock
/// that C descends from. Sorted by key, then event.
pub fn no_resurrection(
    history: &History,
    final_reads: &BTreeMap<String, Vec<Item>>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for delete in &history.events {
        let (Op::Delete { context }, OpResult::Written { .. }) = (&delete.op, &delete.result)
        else {
            continue;
        };
        let finals = final_reads
            .get(&delete.key)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for item in finals {
            let Some(value) = &item.value else { continue };
            if !descends(context, &item.clock) {
                continue;
            }
            // The writes that created this version, for the sub-history.
            let mut events: Vec<_> = history
                .events
                .iter()
                .filter(|e| e.key == delete.key && acked_write(e) == Some(&item.clock))
                .collect();
            events.push(delete);
            events.sort_by_key(|e| (e.invoke_ms, e.id));
            let explanation = format!(
                "{value:?} with clock {} was deleted by {} with context {}, yet it is live again \
                 in the final state; a deleted version came back.",
                format_clock(&item.clock),
                describe_write(delete),
                format_clock(context),
            );
            out.push(Violation {
                checker: "resurrection",
                key: delete.key.clone(),
                explanation,
                events: events.iter().map(|e| e.id).collect(),
            });
        }
    }
    violation::sort(&mut out);
    out
}
