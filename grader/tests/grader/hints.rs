//! Hints per step: a step's own `hint:` (inside its `expect:`) is shown when that step fails,
//! instead of the case's; a failure inside another stage's code shows that stage's advice.

use crate::util::{grader, scratch, stdout};

const TWO_IDEAS: &str = "stage: hash-ring
track: ring-placement
name: private-two-ideas
hint: the case's hint
setup: {vnodes: 2, nodes: [A, B]}
steps:
  - tokens: {expect: {len: 4}}
  - tokens: {expect: {len: 5, hint: the second step's own hint}}
";

fn run_private(text: &str) -> String {
    let dir = scratch(&format!("hints-{}", text.len()));
    std::fs::write(dir.join("case.yaml"), text).expect("write case");
    let out = grader(&[
        "hash-ring",
        "--reference",
        "all",
        "--cases",
        dir.to_str().expect("utf-8 path"),
        "--filter",
        "private",
        "--no-progress",
    ]);
    stdout(&out)
}

#[test]
fn a_failing_step_shows_its_own_hint() {
    let text = run_private(TWO_IDEAS);
    assert!(text.contains("step 2"), "{text}");
    assert!(
        text.contains("hint      the second step's own hint"),
        "{text}"
    );
    assert!(!text.contains("the case's hint"), "{text}");
    assert!(
        !text.contains("expected  {len: 5, hint"),
        "a hint is not part of what is expected:\n{text}"
    );
}

#[test]
fn a_step_without_a_hint_shows_the_cases() {
    let text = run_private(&TWO_IDEAS.replace("len: 4", "len: 3"));
    assert!(text.contains("step 1"), "{text}");
    assert!(text.contains("hint      the case's hint"), "{text}");
}

/// A stage-2 case that fails because stage 1 (still the stub) panicked gets stage 1's advice,
/// not the quorum hint written for a different mistake.
#[test]
fn a_failure_in_another_stage_gets_that_stages_advice() {
    if !crate::util::is_stub("01-hash-ring") {
        return;
    }
    let out = grader(&[
        "quorum",
        "--reference",
        "quorum",
        "--filter",
        "one-down",
        "--no-progress",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("stages/01-hash-ring/src/solution.rs"),
        "the stage-1 stub panics:\n{text}"
    );
    assert!(
        text.contains("This failed inside stage 1 hash-ring"),
        "{text}"
    );
    assert!(!text.contains("keep collecting until W acks"), "{text}");
}
