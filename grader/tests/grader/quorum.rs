//! Stage 2 through the binary: the stub fails every case, each buggy coordinator is caught by the
//! case written for it, and a failing case's message trace is shown with `--verbose` and is the
//! same on every run. The cases run on tokio's paused clock, so none of this depends on the
//! machine's speed; the only randomness is a case's own seed.

use rstest::rstest;

use crate::util::{assert_caught, cases, code, grader, json, scratch, stderr, stdout};

/// The untouched stub panics in every quorum case, even on the reference ring.
#[test]
fn stub_fails_every_quorum_case() {
    if !crate::util::is_stub("02-quorum") {
        return;
    }
    let (code, report) = json(&["quorum", "--reference", "hash-ring"]);
    assert_eq!(code, 1);
    let all = cases(&report);
    assert!(all.len() >= 18, "the quorum stage has its cases");
    for (_, _, case) in all {
        assert_eq!(case["status"], "panic", "{}", case["name"]);
    }
}

/// Each buggy coordinator (a mistake learners make) fails the case written to catch it.
#[rstest]
#[case("waits-for-all", "write-returns-at-the-wth-ack")]
#[case("sequential", "write-sends-in-parallel")]
#[case("first-reply", "read-returns-the-highest-version")]
#[case("no-fail-fast", "write-fails-fast")]
#[case("reads-one", "strict-quorum-reads-the-last-write")]
#[case("no-validation", "zero-replicas-rejected")]
#[case("rth-reply", "read-returns-the-highest-not-the-last")]
#[case("put-fails-on-r", "one-down-replica-is-tolerated")]
#[case("none-is-failure", "read-of-a-missing-key")]
#[case("rejects-weak-quorum", "edge-configurations-accepted")]
#[case("rejects-weak-quorum", "weak-quorum-can-read-stale")]
fn buggy_mutants_are_caught(#[case] mutant: &str, #[case] catcher: &str) {
    assert_caught("quorum", mutant, catcher);
}

/// Determinism: the same failing case, run twice in fresh processes, shows the same trace.
#[test]
fn a_failing_case_shows_the_same_trace_every_run() {
    let run = || {
        let (_, report) = json(&[
            "quorum",
            "--reference",
            "hash-ring",
            "--mutant",
            "quorum=first-reply",
            "--filter",
            "seeded-lossy-network",
            "--filter",
            "read-returns-the-highest-version",
        ]);
        cases(&report)
            .into_iter()
            .map(|(_, _, c)| c["trace"].clone())
            .collect::<Vec<_>>()
    };
    let first = run();
    assert!(
        first
            .iter()
            .any(|t| t.as_array().is_some_and(|a| !a.is_empty()))
    );
    assert_eq!(first, run());
}

/// `--verbose` prints the failing case's messages, one line each, in time order.
#[test]
fn verbose_report_shows_the_message_trace() {
    let out = grader(&[
        "quorum",
        "--reference",
        "hash-ring",
        "--mutant",
        "quorum=first-reply",
        "--filter",
        "read-returns-the-highest-version",
        "--verbose",
    ]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("messages"), "{text}");
    assert!(
        text.contains("10 ms  A -> coordinator  reply user-1 = old@1  arrives 20 ms"),
        "{text}"
    );
}

/// A quorum case naming a node that is not in its setup is refused when loaded (exit 2), with
/// the file, the line and the node; nothing is graded.
#[test]
fn a_step_naming_an_unknown_node_is_refused() {
    let dir = scratch("quorum-unknown-node");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "stage: quorum
track: read-quorum
name: bad-nodes
hint: a hint
setup:
  nodes: [A, B, C]
  quorum: {n: 3, r: 2, w: 2}
  down: [Z]
steps:
  - replicas: {key: k, expect: {equals: {A: null, Y: null}}}
",
    )
    .expect("write the case");
    let out = grader(&["validate", &file.to_string_lossy()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("bad.yaml:8:10: setup.down names node Z"),
        "{err}"
    );
    assert!(err.contains("bad.yaml:10:5: names node Y"), "{err}");
}
