//! Learner code that misbehaves costs its own case, never the run: each misbehaving mutant of
//! stage 1 (its `owner()` panics, hangs, overflows the stack, aborts, exhausts memory or exits)
//! gets its status, and the cases that never call `owner()` still pass in the same run.

use rstest::rstest;

use crate::util::{cases, json};

/// The deadline is 1 s where the mutant hangs; elsewhere it is generous, so a loaded machine
/// (filling 256 MiB takes a while when the tests run in parallel) cannot turn a crash into a
/// timeout.
#[rstest]
#[case::panics("panics", "panic", "mutant: owner() of", "10")]
#[case::hangs("hangs", "timeout", "no result within", "1")]
#[case::overflows_stack("overflows-stack", "crash", "overflowed its stack", "10")]
#[case::aborts("aborts", "crash", "aborted", "10")]
#[case::exhausts_memory("exhausts-memory", "crash", "ran out of memory", "10")]
#[case::exits("exits", "crash", "exited with code 0", "10")]
fn misbehaviour_costs_one_case(
    #[case] mutant: &str,
    #[case] status: &str,
    #[case] message: &str,
    #[case] timeout: &str,
) {
    let selected = format!("hash-ring={mutant}");
    let (code, report) = json(&[
        "hash-ring",
        "--mutant",
        &selected,
        "--timeout",
        timeout,
        "--memory-mb",
        "256",
        "--filter",
        "key-exactly-on-a-token",
        "--filter",
        "position-of-a-string",
        "--filter",
        "tokens-per-node",
    ]);
    assert_eq!(code, 1);
    let all = cases(&report);
    let case = |name: &str| {
        all.iter()
            .find(|(_, _, c)| c["name"] == name)
            .map(|(_, _, c)| c.clone())
            .unwrap_or_else(|| panic!("case {name} reported"))
    };
    // Calls owner() in its first step.
    let hit = case("key-exactly-on-a-token");
    assert_eq!(hit["status"], status, "{hit}");
    assert!(
        hit["message"].as_str().unwrap_or("").contains(message),
        "{hit}"
    );
    assert_eq!(
        hit["step"], 1,
        "the report says which step was running: {hit}"
    );
    // Never calls owner(): unaffected by the misbehaviour, still graded.
    assert_eq!(case("position-of-a-string")["status"], "pass");
    assert_eq!(case("tokens-per-node")["status"], "pass");
}

/// Each buggy mutant (a mistake learners make) is caught by at least one hash-ring case.
#[rstest]
#[case("repeats-nodes")]
#[case("strictly-after")]
#[case("no-wrap")]
#[case("little-endian")]
#[case("transfers-to-successor")]
#[case("join-range-from-old-ring")]
#[case("walk-stops-at-top")]
#[case("transfers-in-vnode-order")]
#[case("leave-range-from-new-ring")]
fn buggy_mutants_are_caught(#[case] mutant: &str) {
    let selected = format!("hash-ring={mutant}");
    let (code, report) = json(&["hash-ring", "--mutant", &selected]);
    assert_eq!(code, 1, "{mutant} passed every case");
    let caught: Vec<String> = cases(&report)
        .into_iter()
        .filter(|(_, _, c)| c["status"] != "pass")
        .map(|(_, _, c)| c["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(!caught.is_empty());
}
