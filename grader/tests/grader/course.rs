//! The grader as an instructor uses it: schema, manifest and integrity, private case folders,
//! output formats for CI and gradebooks, progress between runs, list and self-check.

use std::path::Path;

use crate::util::{code, course_root, grader, json, scratch, stderr, stdout};

/// A throw-away course: a copy of the real `tests/` folder, so a test can edit it freely.
fn copy_course(name: &str) -> crate::util::Scratch {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir").flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
    }
    let root = scratch(name);
    copy(&course_root().join("tests"), &root.join("tests"));
    root
}

/// `tests/cases/schema.json`, which every case names for its editor, is what the grader
/// generates from its case types today.
#[test]
fn committed_schema_is_current() {
    let out = grader(&["schema"]);
    assert_eq!(code(&out), 0);
    let committed = std::fs::read_to_string(course_root().join("tests/cases/schema.json"))
        .expect("schema.json is committed");
    assert_eq!(
        committed.trim_end(),
        stdout(&out).trim_end(),
        "run `cargo grade schema > tests/cases/schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).expect("JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
}

/// Every built-in case opens with the yaml-language-server line that points at the schema.
#[test]
fn every_case_names_the_schema() {
    let mut pending = vec![course_root().join("tests/cases")];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).expect("read case");
                assert!(
                    text.starts_with("# yaml-language-server: $schema=../schema.json\n"),
                    "{} does not start with the schema line",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 29);
}

/// The manifest of official files is up to date, so integrity checks mean something.
#[test]
fn manifest_is_current() {
    let out = grader(&["manifest", "--check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// Editing an official expectation is reported, in both the human and the JSON report.
#[test]
fn edited_official_case_is_reported() {
    let root = copy_course("integrity");
    let rel = "tests/cases/01-hash-ring/02-key-exactly-on-a-token.yaml";
    let case = root.join(rel);
    let text = std::fs::read_to_string(&case).expect("read");
    std::fs::write(&case, text.replace("hint: |", "hint: |\n  edited")).expect("write");
    let root_arg = root.to_str().expect("utf-8");
    let (_, report) = json(&["--root", root_arg, "--reference", "all"]);
    assert_eq!(report["integrity"]["modified"], serde_json::json!([rel]));
    let out = grader(&["--root", root_arg, "--reference", "all", "--no-progress"]);
    assert!(
        stdout(&out).contains(&format!("changed: {rel}")),
        "{}",
        stdout(&out)
    );
}

/// `--cases DIR` adds an instructor's private folder: validated like the built-in cases and
/// graded in the same run.
#[test]
fn private_case_folders() {
    let dir = scratch("private");
    let case = "stage: hash-ring\ntrack: preference-list\nname: private-check\nvisibility: after_due_date\npoints: 3\nsetup: {vnodes: 1, nodes: [A, B, C, D]}\nsteps:\n  - preference_list: {key: user-3, n: 2, expect: {equals: [A, D]}}\n";
    std::fs::write(dir.join("private.yaml"), case).expect("write");
    let dir_arg = dir.to_str().expect("utf-8");
    let (code_ref, report) = json(&[
        "hash-ring",
        "--reference",
        "all",
        "--cases",
        dir_arg,
        "--filter",
        "private",
    ]);
    assert_eq!(code_ref, 0);
    let cases = crate::util::cases(&report);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].2["name"], "private-check");
    std::fs::write(
        dir.join("broken.yaml"),
        case.replace("name: private-check", "name: x\nnmae: y"),
    )
    .expect("write");
    let out = grader(&["hash-ring", "--cases", dir_arg]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("broken.yaml:4:1: unknown field `nmae`"),
        "{}",
        stderr(&out)
    );
}

/// One run writes JUnit, Gradescope and Exercism files besides the report on stdout; points and
/// visibility reach Gradescope.
#[test]
fn outputs_for_ci_and_gradebooks() {
    if !crate::util::is_stub("01-hash-ring") {
        return;
    }
    let dir = scratch("outputs");
    let private = scratch("outputs-cases");
    std::fs::write(
        private.join("hidden.yaml"),
        "stage: hash-ring\ntrack: ring-placement\nname: hidden-until-due\nvisibility: after_due_date\npoints: 2.5\nsteps:\n  - position: {key: user-42, expect: {equals: 7892921889885005129}}\n",
    )
    .expect("write");
    let file = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let out = grader(&[
        "hash-ring",
        "--cases",
        private.to_str().expect("utf-8"),
        "--output",
        &format!("junit={}", file("junit.xml")),
        "--output",
        &format!("gradescope={}", file("gs/results.json")),
        "--output",
        &format!("exercism={}", file("exercism.json")),
    ]);
    assert_eq!(code(&out), 1);
    let junit = std::fs::read_to_string(file("junit.xml")).expect("junit written");
    assert!(junit.starts_with("<?xml"));
    assert!(
        junit.contains("<testsuite name=\"hash-ring\" tests=\"36\""),
        "{junit}"
    );
    assert!(junit.contains("<error type=\"panic\""), "{junit}");
    assert!(
        junit.contains("expected: {equals: 7892921889885005129}"),
        "{junit}"
    );
    let gs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file("gs/results.json")).expect("gs"))
            .expect("gradescope JSON");
    assert_eq!(gs["max_score"], 37.5);
    let hidden = gs["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .find(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("hidden-until-due"))
        })
        .expect("hidden case reported")
        .clone();
    assert_eq!(hidden["visibility"], "after_due_date");
    assert_eq!(hidden["max_score"], 2.5);
    assert_eq!(hidden["score"], 0.0);
    let ex: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file("exercism.json")).expect("ex"))
            .expect("exercism JSON");
    assert_eq!(ex["version"], 3);
    assert_eq!(ex["status"], "fail");
    assert_eq!(ex["tests"][0]["task_id"], 1);
    assert_eq!(ex["tests"][0]["status"], "error");
}

/// The grader remembers the last results and says what newly passes and newly fails.
#[test]
fn progress_between_runs() {
    let root = copy_course("progress");
    let root_arg = root.to_str().expect("utf-8");
    let case = root.join("tests/cases/01-hash-ring/01-position-of-a-string.yaml");
    let right = std::fs::read_to_string(&case).expect("read");
    let wrong = right.replace("7892921889885005129", "1");
    std::fs::write(&case, &wrong).expect("write");
    let args = [
        "--root",
        root_arg,
        "--reference",
        "all",
        "--filter",
        "position-of",
    ];
    let first = stdout(&grader(&args));
    assert!(!first.contains("newly"), "{first}");
    std::fs::write(&case, &right).expect("write");
    let second = stdout(&grader(&args));
    assert!(
        second.contains("1 newly passing since your last run: hash-ring › position-of-a-string"),
        "{second}"
    );
    std::fs::write(&case, &wrong).expect("write");
    let third = stdout(&grader(&args));
    assert!(
        third.contains("1 newly failing since your last run"),
        "{third}"
    );
}

/// `list` shows stages, tracks and cases.
#[test]
fn list_shows_the_course() {
    let out = grader(&["list", "hash-ring"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("Stage 1 hash-ring"), "{text}");
    assert!(text.contains("  membership-changes (13 cases)"), "{text}");
    assert!(text.contains("key-exactly-on-a-token"), "{text}");
}

/// `self-check`: the reference passes, the stubs fail, every buggy mutant is caught, and the
/// catching cases are named; the store mutants no case's own seed catches are caught by the
/// seeded sweep, which names the seed and case.
#[test]
fn self_check_proves_the_course() {
    let out = grader(&["self-check"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(
        text.contains("mutant hash-ring/repeats-nodes: caught by"),
        "{text}"
    );
    for sweep_only in ["strict-skips-write-back", "merge-races"] {
        assert!(
            text.contains(&format!(
                "mutant store/{sweep_only}: passes every case's own seed; caught by seed "
            )),
            "{text}"
        );
    }
    assert!(text.contains("self-check passed"), "{text}");
}

/// Every learner stub's `// TODO(README.md § "…")` pointers name a real heading of that stage's
/// README, so a learner following one always lands somewhere. (A `solution.rs` the learner has
/// already worked on, with no `todo!(` left, is skipped.)
#[test]
fn stub_todos_point_at_readme_sections() {
    let stages = course_root().join("stages");
    let mut checked = 0;
    for entry in std::fs::read_dir(&stages).expect("stages/").flatten() {
        let dir = entry.path();
        let Ok(stub) = std::fs::read_to_string(dir.join("src/solution.rs")) else {
            continue;
        };
        let readme =
            std::fs::read_to_string(dir.join("README.md")).expect("each stage has a README");
        let headings: Vec<&str> = readme.lines().filter(|l| l.starts_with('#')).collect();
        if !crate::stub::calls_todo(&stub) {
            continue;
        }
        assert!(
            stub.contains("TODO(README.md"),
            "{}: a stub without pointers",
            dir.display()
        );
        for pointer in stub.split("TODO(README.md § \"").skip(1) {
            let section = pointer.split('"').next().unwrap_or("");
            assert!(
                headings.iter().any(|h| h.contains(section)),
                "{}: no README heading for \"{section}\"",
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "the repository ships stubs that point at their READMEs"
    );
}

/// `watch --once` grades (rebuilding the case runner with the learner's code), and draws the calm screen: one line
/// per stage and the next failing case with its hint.
#[test]
fn watch_draws_one_calm_screen() {
    if !crate::util::is_stub("01-hash-ring") {
        return;
    }
    let out = grader(&["watch", "hash-ring", "--once"]);
    let screen = stdout(&out);
    assert_eq!(code(&out), 1, "{screen}{}", stderr(&out));
    assert!(screen.contains("✗ Stage 1 hash-ring"), "{screen}");
    assert!(
        screen.contains("Next: hash-ring › ring-placement › position-of-a-string"),
        "{screen}"
    );
    assert!(
        screen.contains("hint      Hash the string's UTF-8 bytes"),
        "{screen}"
    );
}
