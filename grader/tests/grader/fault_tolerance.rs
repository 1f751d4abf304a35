//! Stage 3 through the binary: the stub fails every case, each buggy coordinator is caught by the
//! case written for it, and `--verbose` shows hint and handoff messages in the trace. Cases run
//! on tokio's paused clock with no randomness, so none of this depends on the machine's speed.

use rstest::rstest;

use crate::util::{assert_caught, cases, code, grader, json, stdout};

/// The untouched stub panics in every fault-tolerance case, even on reference stages 1 and 2.
#[test]
fn stub_fails_every_fault_tolerance_case() {
    if !crate::util::is_stub("03-fault-tolerance") {
        return;
    }
    let (code, report) = json(&["fault-tolerance", "--reference", "hash-ring,quorum"]);
    assert_eq!(code, 1);
    let all = cases(&report);
    assert!(all.len() >= 18, "the fault-tolerance stage has its cases");
    for (_, _, case) in all {
        assert_eq!(case["status"], "panic", "{}", case["name"]);
    }
}

/// Each buggy coordinator (a mistake learners make) fails the case written to catch it.
#[rstest]
#[case("deletes-before-ack", "hint-stays-while-the-primary-is-down")]
#[case("fallback-in-list", "fallback-is-never-in-the-list")]
#[case("wrong-primary", "hints-name-the-right-primary")]
#[case("strict-quorum", "all-primaries-down")]
#[case("handoff-bumps-version", "handoff-keeps-the-version")]
#[case("no-timeout", "silent-replica-costs-the-timeout")]
#[case("pairs-in-notice-order", "pairing-follows-the-walk-not-the-arrivals")]
#[case("handoff-in-series", "hints-of-one-holder-travel-together")]
#[case("handoff-in-series", "two-hints-one-round-trip")]
#[case("unbounded-hints", "refused-primary-then-silent-fallback")]
#[case("handoff-zips-arrivals", "handoff-deletes-only-acknowledged-hints")]
#[case("acks-against-r", "w-decides-the-write-not-r")]
#[case("returns-at-w-acks", "silent-replica-costs-the-timeout")]
#[case("returns-at-w-acks", "one-primary-down")]
fn buggy_mutants_are_caught(#[case] mutant: &str, #[case] catcher: &str) {
    assert_caught("fault-tolerance", mutant, catcher);
}

/// `--verbose` prints the failing case's messages, hints and handoffs included.
#[test]
fn verbose_report_shows_hint_and_handoff_messages() {
    let out = grader(&[
        "fault-tolerance",
        "--reference",
        "hash-ring",
        "--mutant",
        "fault-tolerance=handoff-bumps-version",
        "--filter",
        "partition-heals-and-handoff-completes",
        "--verbose",
    ]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.contains("300 ms  coordinator -> E  hint user-1 = v@1 for C  arrives 310 ms"),
        "{text}"
    );
    assert!(
        text.contains("E -> C  handoff user-1 = v@2  lost: partitioned"),
        "{text}"
    );
}
