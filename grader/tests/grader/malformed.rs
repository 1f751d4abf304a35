//! A malformed case file is reported with file:line:column and a snippet, exit code 2, and never
//! runs: for `validate` and for a grading run alike.

use rstest::rstest;

use crate::util::{code, grader, scratch, stderr};

const GOOD: &str = "stage: hash-ring
track: ring-placement
name: good
hint: a hint
setup: {vnodes: 2, nodes: [A, B]}
steps:
  - owner: {key: k, expect: {equals: A}}
";

#[rstest]
#[case::unknown_field(
    "- owner: {key: k, expect: {equals: A}}",
    "- owner: {kye: k, expect: {equals: A}}",
    "unknown field `kye`",
    7,
    13
)]
#[case::wrong_type("vnodes: 2,", "vnodes: [2],", "", 5, 17)]
#[case::missing_field(
    "- owner: {key: k, expect: {equals: A}}",
    "- owner: {key: k}",
    "missing field `expect`",
    7,
    13
)]
#[case::duplicate_key(
    "hint: a hint",
    "hint: a hint\nhint: again",
    "duplicate mapping key",
    5,
    1
)]
#[case::unclosed_bracket("nodes: [A, B]}", "nodes: [A, B}", "", 5, 0)]
#[case::unknown_stage(
    "stage: hash-ring",
    "stage: hash-rung",
    "unknown stage `hash-rung`",
    1,
    8
)]
#[case::unknown_track(
    "track: ring-placement",
    "track: ring-placment",
    "unknown variant `ring-placment`",
    2,
    8
)]
#[case::unknown_step("- owner:", "- ownr:", "unknown variant `ownr`", 7, 5)]
#[case::node_not_in_setup(
    "equals: A}",
    "equals: Z}",
    "names node Z, which is not in the setup",
    7,
    5
)]
#[case::empty_expectation("expect: {equals: A}", "expect: {}", "checks nothing", 7, 5)]
#[case::missing_snapshot(
    "expect: {equals: A}",
    "expect: {snapshot: never-recorded}",
    "snapshot `never-recorded` is not recorded",
    7,
    5
)]
#[case::bad_name("name: good", "name: Good Case", "must be kebab-case", 3, 7)]
#[case::placed_and_hashed(
    "nodes: [A, B]}",
    "nodes: [A, B], tokens: {A: [5]}}",
    "node A is in setup.nodes and setup.tokens",
    5,
    47
)]
#[case::placed_without_positions(
    "nodes: [A, B]}",
    "nodes: [A, B], tokens: {C: []}}",
    "node C has no tokens",
    5,
    47
)]
fn malformed_file_is_located(
    #[case] from: &str,
    #[case] to: &str,
    #[case] message: &str,
    #[case] line: usize,
    #[case] column: usize,
) {
    let dir = scratch(&format!("malformed-{line}-{column}-{}", message.len()));
    let file = dir.join("case.yaml");
    assert!(GOOD.contains(from));
    std::fs::write(&file, GOOD.replacen(from, to, 1)).expect("write case");
    let out = grader(&["validate", file.to_str().expect("utf-8 path")]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains(message), "expected {message:?} in:\n{err}");
    let located = if column == 0 {
        format!("case.yaml:{line}:")
    } else {
        format!("case.yaml:{line}:{column}:")
    };
    assert!(err.contains(&located), "expected {located} in:\n{err}");
    assert!(err.contains(" | "), "a source snippet:\n{err}");
}

/// The unmodified file is valid, so each case above fails for its one edit only.
#[test]
fn the_good_file_is_valid() {
    let dir = scratch("good");
    let file = dir.join("case.yaml");
    std::fs::write(&file, GOOD).expect("write case");
    let out = grader(&["validate", file.to_str().expect("utf-8 path")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A grading run over a course with one broken case grades nothing and exits 2.
#[test]
fn a_run_refuses_a_malformed_course() {
    let root = scratch("course");
    let dir = root.join("tests/cases/01-hash-ring");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("good.yaml"), GOOD).expect("write");
    std::fs::write(
        dir.join("bad.yaml"),
        GOOD.replace("name: good", "name: bad\nname: twice"),
    )
    .expect("write");
    let out = grader(&["--root", root.to_str().expect("utf-8 path")]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("bad.yaml:4:1: duplicate mapping key"), "{err}");
    assert!(err.contains("nothing was graded"), "{err}");
}

/// A case filed under another stage's folder is refused at its `stage:` line.
#[test]
fn stage_must_match_folder() {
    let root = scratch("folder");
    let dir = root.join("tests/cases/02-quorum");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("x.yaml"), GOOD).expect("write");
    let out = grader(&["--root", root.to_str().expect("utf-8 path")]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("x.yaml:1:8: this file is in tests/cases/02-quorum/"),
        "{}",
        stderr(&out)
    );
}
