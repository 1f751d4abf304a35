//! Whole runs: the reference passes, the stubs fail, the report's shape, exit codes, stage names.

use crate::util::{cases, code, grader, json, stderr, stdout};

/// The reference passes every case of every stage (DESIGN.md: "`cargo grade --reference all` is
/// all green, always").
#[test]
fn reference_passes_every_case() {
    let (code, report) = json(&["--reference", "all"]);
    let all = cases(&report);
    assert!(all.len() >= 29, "the course has its cases");
    for (stage, track, case) in &all {
        assert_eq!(case["status"], "pass", "{stage}/{track}: {case}");
    }
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["passed"], all.len());
    for stage in report["stages"].as_array().expect("stages") {
        assert_eq!(stage["implementation"], "reference");
    }
}

/// Every untouched stub fails every case of its stage, cleanly (a status, never a grader crash).
/// A stage whose `solution.rs` no longer holds `todo!(` has been worked on; it is skipped so a
/// learner's `cargo test` does not fail for having made progress.
#[test]
fn stubs_fail_every_case() {
    let (code, report) = json(&[]);
    let mut checked = 0;
    for stage in report["stages"].as_array().expect("stages") {
        let number = stage["number"].as_u64().expect("stage number");
        let dir = format!("{number:02}-{}", stage["stage"].as_str().unwrap_or(""));
        if !crate::util::is_stub(&dir) {
            continue;
        }
        assert_eq!(stage["implementation"], "learner");
        assert_eq!(stage["tracks_passed"], 0, "{dir}");
        for track in stage["tracks"].as_array().expect("tracks") {
            for case in track["cases"].as_array().expect("cases") {
                assert_ne!(case["status"], "pass", "{dir}: {case}");
                assert!(!case["message"].as_str().unwrap_or("").is_empty());
                checked += 1;
            }
        }
    }
    if checked > 0 {
        assert_eq!(code, 1, "some case failed, so the exit code is 1");
    }
}

/// The JSON report has the documented shape that other tools read.
#[test]
fn json_report_shape() {
    let (_, report) = json(&["hash-ring"]);
    let stage = &report["stages"][0];
    assert_eq!(stage["stage"], "hash-ring");
    assert_eq!(stage["implementation"], "learner");
    let track = &stage["tracks"][0];
    assert_eq!(track["track"], "ring-placement");
    let case = &track["cases"][0];
    for key in ["name", "file", "status", "message"] {
        assert!(case[key].is_string(), "case.{key} in {case}");
    }
    assert!(
        case["file"]
            .as_str()
            .unwrap_or("")
            .starts_with("tests/cases/01-hash-ring/")
    );
    for key in ["cases", "passed", "failed"] {
        assert!(report["summary"][key].is_u64(), "summary.{key}");
    }
}

/// The human report shows, for a failing track, the step, what was expected, what happened, and
/// the case's hint; the exit code is 1.
#[test]
fn human_report_explains_first_failure() {
    if !crate::util::is_stub("01-hash-ring") {
        return;
    }
    let out = grader(&["hash-ring"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    for needle in [
        "Stage 1 hash-ring · your solution",
        "0/4 tracks",
        "✗ ring-placement",
        "where     step 1 (position user-42)",
        "expected  {equals: 7892921889885005129}",
        "actual    panicked at stages/01-hash-ring/src/solution.rs",
        "hint      Hash the string's UTF-8 bytes",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("\x1b["), "no colour when not a terminal");
}

/// Stages can be named by name, number or folder; the reference can be chosen per stage.
#[test]
fn stage_names_and_reference_lists() {
    for name in ["hash-ring", "1", "01-hash-ring"] {
        let (code, report) = json(&[name, "--reference", "hash-ring"]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(report["stages"].as_array().map(Vec::len), Some(1));
        assert_eq!(report["stages"][0]["implementation"], "reference");
    }
    let (code, _) = json(&["1", "--reference", "1"]);
    assert_eq!(code, 0);
}

/// `--reference-deps` serves every stage not being graded with the reference, so a later stage is
/// graded on finished earlier ones; the graded stage stays the learner's.
#[test]
fn reference_deps_serves_the_other_stages() {
    let (_, report) = json(&["quorum", "--reference-deps"]);
    assert_eq!(report["stages"][0]["stage"], "quorum");
    assert_eq!(report["stages"][0]["implementation"], "learner");
    let messages: Vec<String> = crate::util::cases(&report)
        .into_iter()
        .map(|(_, _, c)| c["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        messages.iter().all(|m| !m.contains("stages/01-hash-ring")),
        "stage 1 was served by the reference: {messages:?}"
    );
}

/// Bad command lines exit 2 with a message naming the problem.
#[test]
fn usage_errors_exit_2() {
    let out = grader(&["no-such-stage"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown stage `no-such-stage`"),
        "{}",
        stderr(&out)
    );
    let out = grader(&["--reference", "nope"]);
    assert_eq!(code(&out), 2);
    let out = grader(&["--format", "xml"]);
    assert_eq!(code(&out), 2);
}

/// Two runs of the same cases give the same JSON apart from timings (DESIGN.md: determinism).
#[test]
fn runs_are_deterministic() {
    let strip = |mut v: serde_json::Value| {
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(map) => {
                    map.remove("duration_ms");
                    map.values_mut().for_each(walk);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    let (_, a) = json(&["--reference", "all"]);
    let (_, b) = json(&["--reference", "all"]);
    assert_eq!(strip(a), strip(b));
    let (_, a) = json(&[]);
    let (_, b) = json(&[]);
    assert_eq!(strip(a), strip(b));
}
