//! The human report tells the truth: who served each stage, how to rerun the same way, tracks a
//! filter left empty, values with their `null` entries, counts in the right number, and progress
//! compared only between runs made with the same implementations.

use std::path::Path;

use crate::util::{code, grader, scratch, stderr, stdout};

/// A private quorum case (run with `--reference all`) whose expectations are wrong on purpose,
/// so the report has to show the values: a map with `null` entries and a successful put.
const WRONG_QUORUM: &str = "stage: quorum
track: write-quorum
name: private-wrong-expectations
setup:
  nodes: [A, B, C]
  quorum: {n: 3, r: 2, w: 2}
  latency_ms: {A: 10, B: 20, C: 30}
  down: [A]
steps:
  - put: {key: user-1, value: x, version: 1, expect: {ok: true, requests: 1}}
";

fn private(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).expect("write case");
    dir.to_str().expect("utf-8 path").to_string()
}

#[test]
fn a_stage_header_names_who_served_the_stages_beneath() {
    let out = grader(&["quorum", "--reference", "hash-ring", "--no-progress"]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "your solution (stages/02-quorum/src/solution.rs), on the reference's hash-ring"
        ),
        "{text}"
    );
}

#[test]
fn rerun_advice_keeps_the_options_used() {
    let out = grader(&[
        "quorum",
        "--reference",
        "hash-ring",
        "--filter",
        "one-down",
        "--no-progress",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("Rerun with `cargo grade quorum --reference hash-ring --filter one-down`"),
        "{text}"
    );
    let out = grader(&["read-repair", "--reference-deps", "--no-progress"]);
    assert!(
        stdout(&out).contains("Rerun with `cargo grade read-repair --reference-deps`"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_filter_leaves_other_tracks_neutral_not_failed() {
    let out = grader(&["quorum", "--filter", "one-down", "--no-progress"]);
    let text = stdout(&out);
    assert!(!text.contains("✗ read-quorum"), "{text}");
    assert!(text.contains("· read-quorum"), "{text}");
    assert!(text.contains("no case selected"), "{text}");
    assert!(
        text.contains("0/1 tracks"),
        "only the track with a case counts:\n{text}"
    );
}

#[test]
fn a_filter_that_matches_nothing_is_an_error() {
    let out = grader(&["hash-ring", "--filter", "zzz"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("--filter zzz matches no case"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_limits_and_outputs_are_refused_before_the_run() {
    let out = grader(&["hash-ring", "--memory-mb", "0"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--memory-mb must be at least 1"),
        "{}",
        stderr(&out)
    );
    let dir = scratch("bad-output");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "").expect("write");
    let target = format!("json={}", blocker.join("report.json").display());
    let out = grader(&["hash-ring", "--output", &target]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--output: cannot"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "nothing ran:\n{}", stdout(&out));
}

#[test]
fn values_keep_their_null_entries_and_a_put_reads_ok() {
    let dir = scratch("nulls");
    let cases = private(
        &dir,
        "wrong.yaml",
        &format!(
            "{WRONG_QUORUM}  - replicas:
      key: user-1
      settle: true
      expect: {{equals: {{A: {{value: x, version: 1}}, B: null, C: null}}}}
"
        )
        .replace("requests: 1", "latency_ms: 60"),
    );
    let out = grader(&[
        "quorum",
        "--reference",
        "all",
        "--cases",
        &cases,
        "--filter",
        "private",
        "--no-progress",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("expected  {A: {value: x, version: 1}, B: null, C: null}"),
        "{text}"
    );
    assert!(
        text.contains("actual    {A: null, B: {value: x, version: 1}, C: {value: x, version: 1}}"),
        "{text}"
    );

    let cases = private(&dir, "wrong.yaml", WRONG_QUORUM);
    let out = grader(&[
        "quorum",
        "--reference",
        "all",
        "--cases",
        &cases,
        "--filter",
        "private",
        "--no-progress",
    ]);
    let text = stdout(&out);
    assert!(!text.contains("actual    null"), "{text}");
    assert!(
        text.contains("actual    ok (after 60 ms, 3 requests"),
        "{text}"
    );
}

#[test]
fn counts_agree_with_their_nouns() {
    let dir = scratch("plurals");
    let cases = private(
        &dir,
        "one.yaml",
        WRONG_QUORUM
            .replace("requests: 1", "requests: 3")
            .replace("ok: true", "ok: true, latency_ms: 1")
            .as_str(),
    );
    let out = grader(&[
        "quorum",
        "--reference",
        "all",
        "--cases",
        &cases,
        "--filter",
        "private",
        "--no-progress",
    ]);
    assert!(stdout(&out).contains("3 requests"), "{}", stdout(&out));
    let cases = private(
        &dir,
        "one.yaml",
        &WRONG_QUORUM.replace("requests: 1", "requests: 2"),
    );
    let out = grader(&[
        "quorum",
        "--reference",
        "all",
        "--cases",
        &cases,
        "--filter",
        "private",
        "--no-progress",
    ]);
    assert!(
        stdout(&out).contains("expected  2 requests"),
        "{}",
        stdout(&out)
    );
    // The stubs' own messages never say "1 virtual nodes" or "wait for 1 replies".
    for dir in ["01-hash-ring", "06-read-repair"] {
        let stub = std::fs::read_to_string(
            crate::util::course_root()
                .join("stages")
                .join(dir)
                .join("src/solution.rs"),
        )
        .expect("solution.rs");
        assert!(!stub.contains("{vnodes_per_node} virtual nodes"), "{dir}");
        assert!(!stub.contains("{r} replies"), "{dir}");
    }
}

/// `▲ newly passing / ▼ newly failing` compares a stage only with runs where the same
/// implementations served it and the stages beneath it.
#[test]
fn progress_compares_only_like_with_like() {
    let root = scratch("progress");
    #[cfg(unix)]
    std::os::unix::fs::symlink(crate::util::course_root().join("tests"), root.join("tests"))
        .expect("symlink tests/");
    let root_arg = root.to_str().expect("utf-8 path");
    let state = root.join(".grader-state.json");
    let all_pass = || {
        let text = std::fs::read_to_string(&state).expect("a progress file");
        std::fs::write(
            &state,
            text.replace("\"fail\"", "\"pass\"")
                .replace("\"panic\"", "\"pass\""),
        )
        .expect("rewrite");
    };
    let run = |extra: &[&str]| {
        let mut args = vec!["quorum", "--root", root_arg];
        args.extend_from_slice(extra);
        stdout(&grader(&args))
    };
    run(&[]);
    all_pass();
    let other = run(&["--reference", "hash-ring"]);
    assert!(!other.contains("newly failing"), "{other}");
    all_pass();
    let same = run(&["--reference", "hash-ring"]);
    assert!(same.contains("▼"), "the same choices are compared:\n{same}");
}
