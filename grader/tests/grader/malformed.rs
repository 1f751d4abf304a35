//! A malformed case file is reported with file:line:column and a snippet, exit code 2, and never
//! runs: for `validate` and for a grading run alike.

use rstest::rstest;

use crate::util::{code, grader, scratch, stderr, stdout};

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
    "unknown track `ring-placment`; the tracks of hash-ring are ring-placement",
    2,
    8
)]
#[case::negative_points(
    "hint: a hint",
    "hint: a hint\npoints: -1",
    "points must be a number >= 0",
    5,
    9
)]
#[case::stage_spelt_otherwise("stage: hash-ring", "stage: 1", "expected `stage: hash-ring`", 1, 8)]
#[case::non_finite_points(
    "hint: a hint",
    "hint: a hint\npoints: .nan",
    "`.nan` is not a finite number",
    5,
    9
)]
#[case::second_document(
    "equals: A}}",
    "equals: A}}\n---\nstage: hash-ring",
    "a case file holds exactly one case",
    9,
    1
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
    for internal in [
        "DuplicateKeyPolicy",
        "from_str_multiple",
        "configured policy",
        "budget",
    ] {
        assert!(!err.contains(internal), "parser internals leak:\n{err}");
    }
}

/// A node `latency_ms` names but the setup never declared is reported at that entry.
#[test]
fn an_unknown_latency_node_is_reported_at_its_entry() {
    let dir = scratch("latency");
    let file = dir.join("case.yaml");
    std::fs::write(
        &file,
        "stage: quorum
track: write-quorum
name: latency-of-a-stranger
setup:
  nodes: [A, B, C]
  quorum: {n: 3, r: 2, w: 2}
  latency_ms:
    A: 10
    Z: 20
steps:
  - put: {key: k, value: x, version: 1, expect: {ok: true}}
",
    )
    .expect("write case");
    let out = grader(&["validate", file.to_str().expect("utf-8 path")]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("case.yaml:9:5: setup.latency_ms names node Z"),
        "{err}"
    );
}

/// A large but valid case (5 MB of steps) loads: the parser's limits are for bombs, not cases.
#[test]
fn a_five_megabyte_case_loads() {
    let dir = scratch("large");
    let file = dir.join("case.yaml");
    let mut text = GOOD.to_string();
    let mut i = 0u64;
    while text.len() < 5 << 20 {
        text.push_str(&format!(
            "  - owner: {{key: key-{i}, expect: {{equals: A}}}}\n"
        ));
        i += 1;
    }
    std::fs::write(&file, text).expect("write case");
    let out = grader(&["validate", file.to_str().expect("utf-8 path")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// `validate DIR` on private cases checks their names against the official ones, as grading
/// does: a clash is found by validate, not first at grading time.
#[test]
fn validate_refuses_a_private_name_the_course_uses() {
    let dir = scratch("clash");
    std::fs::write(
        dir.join("mine.yaml"),
        GOOD.replace("name: good", "name: position-of-a-string"),
    )
    .expect("write case");
    let out = grader(&["validate", dir.to_str().expect("utf-8 path")]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("`position-of-a-string` is already used by tests/cases/"),
        "{err}"
    );
}

/// The same folder given twice, or a symlink loop inside it, is read once: no flood of "name
/// already used" errors.
#[test]
fn a_folder_is_read_once() {
    let dir = scratch("twice");
    std::fs::write(
        dir.join("mine.yaml"),
        GOOD.replace("name: good", "name: mine-only"),
    )
    .expect("write case");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&dir, dir.join("loop")).expect("symlink");
    let path = dir.to_str().expect("utf-8 path");
    let out = grader(&["validate", path, path]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ok: 1 case file valid"),
        "{}",
        stdout(&out)
    );
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
