//! Stage 6 through the binary: the stub fails every case, each buggy read coordinator is caught
//! by the case written for it, and the trace shows repairs as messages of their own, next to the
//! client's answer. The cases run on tokio's paused clock, so nothing depends on the machine.

use rstest::rstest;

use crate::util::{assert_caught, cases, code, grader, json};

/// The untouched stub panics in every read-repair case, even on the reference stages 1, 2, 4.
#[test]
fn stub_fails_every_read_repair_case() {
    if !crate::util::is_stub("06-read-repair") {
        return;
    }
    let (code, report) = json(&[
        "read-repair",
        "--reference",
        "hash-ring,quorum,vector-clocks",
    ]);
    assert_eq!(code, 1);
    let all = cases(&report);
    assert!(all.len() >= 16, "the read-repair stage has its cases");
    for (_, _, case) in all {
        assert_eq!(case["status"], "panic", "{}", case["name"]);
    }
}

/// Each buggy coordinator (a mistake learners make) fails the case written to catch it.
#[rstest]
#[case("repairs-up-to-date", "no-repair-when-all-agree")]
#[case("repairs-up-to-date", "replica-holding-both-siblings-gets-nothing")]
#[case("newest-only", "all-replicas-mutually-concurrent")]
#[case("repairs-before-answering", "client-answered-before-repairs")]
#[case("ignores-late-replies", "late-replica-is-repaired")]
#[case("repairs-twice", "no-replica-repaired-twice")]
#[case(
    "fails-at-the-last-event",
    "read-fails-at-the-failure-that-rules-out-r"
)]
#[case("ignores-late-replies", "late-concurrent-reply-joins-the-repair")]
#[case("stops-at-the-error", "failed-read-still-repairs")]
#[case("repairs-silent", "silent-replica-gets-no-repair")]
#[case("repairs-silent", "failed-read-still-repairs")]
#[case("compares-newest-only", "replica-holding-both-siblings-gets-nothing")]
#[case(
    "returns-before-repairs-land",
    "one-stale-replica-gets-the-newer-version"
)]
#[case("returns-before-repairs-land", "late-replica-is-repaired")]
fn buggy_mutants_are_caught(#[case] mutant: &str, #[case] catcher: &str) {
    assert_caught("read-repair", mutant, catcher);
}

/// `--verbose` shows repairs as `repair` messages, after the client's answer line.
#[test]
fn verbose_report_shows_repair_messages() {
    let out = grader(&[
        "read-repair",
        "--reference",
        "hash-ring,vector-clocks",
        "--mutant",
        "read-repair=repairs-twice",
        "--filter",
        "client-answered-before-repairs",
        "--verbose",
    ]);
    assert_eq!(code(&out), 1);
    let text = crate::util::stdout(&out);
    let answer = text
        .find("40 ms  coordinator -> client  answer k = [blue {A: 2@0}]")
        .unwrap_or_else(|| panic!("no answer line in {text}"));
    let repair = text
        .find("60 ms  coordinator -> B  repair k = [blue {A: 2@0}]  arrives 80 ms")
        .unwrap_or_else(|| panic!("no repair line in {text}"));
    assert!(answer < repair, "{text}");
}

/// A preloaded set in which one version is before another is no sibling set: `validate` refuses
/// it at the older version's name, so the two README definitions of "behind" never disagree.
#[test]
fn stored_set_with_an_older_version_is_refused() {
    let dir = crate::util::scratch("not-siblings");
    let file = dir.join("case.yaml");
    let case = "stage: read-repair
track: repair
name: not-siblings
hint: a hint
setup:
  nodes: [A, B, C]
  r: 2
  versions:
    old: {value: red, clock: {A: {counter: 1}}}
    new: {value: blue, clock: {A: {counter: 2}}}
  stored:
    A: {k: [new]}
    B: {k: [new, old]}
steps:
  - read: {key: k, expect: {answer: [new]}}
";
    std::fs::write(&file, case).expect("write case");
    let out = grader(&["validate", file.to_str().expect("utf-8 path")]);
    let err = crate::util::stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("version old is before or equal to new"),
        "{err}"
    );
    assert!(err.contains("case.yaml:13:"), "located at B's set:\n{err}");
}
