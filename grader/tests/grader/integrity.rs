//! Grading integrity: every trick a learner might try to pass without computing the answers
//! (stage-1 "cheating" mutants in `grader/src/mutants/hash_ring.rs`) fails its case and leaves no
//! process behind; class reports stay valid and never reveal hidden cases; edited official files
//! show in every format and in the exit code.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cases, code, course_root, grader, json, scratch, stderr, stdout};

/// The case the cheating mutants aim at: its only step calls `owner()`.
const TARGET: &str = "key-exactly-on-a-token";

fn cheat(mutant: &str, timeout: &str) -> (i32, serde_json::Value) {
    let selected = format!("hash-ring={mutant}");
    json(&[
        "hash-ring",
        "--mutant",
        &selected,
        "--timeout",
        timeout,
        "--filter",
        TARGET,
    ])
}

fn target(report: &serde_json::Value) -> serde_json::Value {
    cases(report)
        .into_iter()
        .find(|(_, _, c)| c["name"] == TARGET)
        .map(|(_, _, c)| c)
        .expect("the target case is reported")
}

/// Processes whose command line contains `needle`, other than this test's own `ps`.
fn processes(needle: &str) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// The old protocol's result line, printed on stdout and stderr before `exit(0)`, is output:
/// the case crashes.
#[test]
fn forged_result_lines_do_not_pass() {
    let (code, report) = cheat("forges-result", "10");
    assert_eq!(code, 1);
    let case = target(&report);
    assert_eq!(case["status"], "crash", "{case}");
    assert!(
        case["message"]
            .as_str()
            .unwrap_or("")
            .contains("exited with code 0"),
        "{case}"
    );
}

/// The case process gets no case path (not in argv, env or a file it can open), so reading the
/// case to copy its expectation fails.
#[test]
fn case_file_cannot_be_read() {
    let (code, report) = cheat("reads-case-file", "10");
    assert_eq!(code, 1);
    assert_eq!(target(&report)["status"], "fail", "{report}");
}

/// A process that would keep the output pipes open cannot hold the case past its deadline (and
/// is not even started), and nothing is left running.
#[test]
fn pipe_holding_grandchild_meets_the_deadline() {
    let started = Instant::now();
    let (code, report) = cheat("holds-pipes", "1");
    let took = started.elapsed();
    assert_eq!(code, 1);
    assert_eq!(target(&report)["status"], "timeout", "{report}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(processes("sleep 31.7"), Vec::<String>::new());
}

/// A detached process cannot rewrite a report after the grader has exited.
#[test]
fn orphan_cannot_rewrite_a_report() {
    let dir = scratch("orphan");
    let file = dir.join("results.json");
    let file_arg = file.to_str().expect("utf-8");
    let out = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args([
            "hash-ring",
            "--mutant",
            "hash-ring=orphan-writes",
            "--filter",
            TARGET,
            "--output",
            &format!("gradescope={file_arg}"),
        ])
        .env("GRADER_TEST_ORPHAN_FILE", file_arg)
        .env("NO_COLOR", "1")
        .output()
        .expect("the grader runs");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    std::thread::sleep(Duration::from_secs(3));
    let text = std::fs::read_to_string(&file).expect("report written");
    assert!(!text.contains("forged"), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("still valid JSON");
    assert_eq!(report["score"], 0.0);
}

/// SIGTERM to the grader in the middle of a run takes every running case down with it.
#[test]
fn sigterm_stops_every_case() {
    let mut grader = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args([
            "hash-ring",
            "--mutant",
            "hash-ring=hangs",
            "--timeout",
            "60",
            "--jobs",
            "2",
            "--no-progress",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the grader starts");
    let needle = format!("__run-case --parent {}", grader.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes(&needle).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!processes(&needle).is_empty(), "no case process started");
    let killed = Command::new("kill")
        .args(["-TERM", &grader.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = loop {
        if let Some(status) = grader.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = grader.kill();
            panic!("the grader ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(128 + 15));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(processes(&needle), Vec::<String>::new());
}

/// Whether `text` holds only characters XML 1.0 allows.
fn xml_chars_only(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

/// U+FFFF, ANSI escapes, invalid UTF-8 and a megabyte of output leave every report valid, and
/// the human report shows the escapes as text.
#[test]
fn garbage_output_keeps_reports_valid() {
    let dir = scratch("garbage");
    let file = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let out = grader(&[
        "hash-ring",
        "--mutant",
        "hash-ring=prints-garbage",
        "--filter",
        TARGET,
        "--no-progress",
        "--color",
        "never",
        "--output",
        &format!("junit={}", file("junit.xml")),
        "--output",
        &format!("gradescope={}", file("gs.json")),
        "--output",
        &format!("exercism={}", file("ex.json")),
        "--output",
        &format!("json={}", file("report.json")),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let human = stdout(&out);
    assert!(!human.contains('\u{1b}'), "raw escape in the human report");
    assert!(human.contains("\\u{1b}[31m"), "{human}");
    let junit = std::fs::read_to_string(file("junit.xml")).expect("junit");
    assert!(xml_chars_only(&junit), "JUnit holds characters XML forbids");
    assert!(junit.contains("<error type=\"panic\""), "{junit}");
    for name in ["gs.json", "ex.json", "report.json"] {
        let text = std::fs::read_to_string(file(name)).expect("report written");
        let _: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert!(text.len() < 64 * 1024, "{name} is {} bytes", text.len());
    }
}

/// Cases that are not `visible` leave no trace in what students see at once: Exercism's file
/// and Gradescope's summary.
#[test]
fn hidden_cases_stay_hidden() {
    let private = scratch("hidden-cases");
    for (name, visibility) in [
        ("secret-hidden", "hidden"),
        ("secret-after-due", "after_due_date"),
        ("secret-after-published", "after_published"),
    ] {
        std::fs::write(
            private.join(format!("{name}.yaml")),
            format!(
                "stage: hash-ring\ntrack: ring-placement\nname: {name}\nvisibility: {visibility}\nsteps:\n  - position: {{key: secret-key-{name}, expect: {{equals: 1}}}}\n"
            ),
        )
        .expect("write");
    }
    let dir = scratch("hidden-reports");
    let file = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let out = grader(&[
        "hash-ring",
        "--reference",
        "all",
        "--cases",
        private.to_str().expect("utf-8"),
        "--filter",
        "position-of-a-string",
        "--filter",
        "secret",
        "--output",
        &format!("gradescope={}", file("gs.json")),
        "--output",
        &format!("exercism={}", file("ex.json")),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let ex = std::fs::read_to_string(file("ex.json")).expect("exercism");
    assert!(!ex.contains("secret"), "{ex}");
    let ex: serde_json::Value = serde_json::from_str(&ex).expect("JSON");
    assert_eq!(ex["tests"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        ex["status"], "pass",
        "hidden failures leak through the status"
    );
    let gs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file("gs.json")).expect("gs")).expect("JSON");
    assert_eq!(gs["output"], "1 of 1 visible cases passed.");
    for t in gs["tests"].as_array().expect("tests") {
        if t["name"].as_str().is_some_and(|n| n.contains("secret")) {
            assert_ne!(t["visibility"], "visible", "{t}");
        }
    }
}

fn copy_tests(name: &str) -> crate::util::Scratch {
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

/// An edited case or snapshot, a deleted case, or an emptied or deleted manifest shows in every format
/// and gives exit code 3, unless `--allow-modified`.
#[test]
fn integrity_problems_show_everywhere() {
    let edited = copy_tests("integrity-edited");
    let rel = "tests/cases/01-hash-ring/02-key-exactly-on-a-token.yaml";
    let text = std::fs::read_to_string(edited.join(rel)).expect("read");
    std::fs::write(edited.join(rel), text.replace("equals: C", "equals: B")).expect("write");
    let snap = "tests/snapshots/01-hash-ring/join-d-transfers.snap";
    let text = std::fs::read_to_string(edited.join(snap)).expect("read");
    std::fs::write(edited.join(snap), text + "\n").expect("write");
    let gone = "tests/cases/01-hash-ring/03-key-below-smallest-token.yaml";
    std::fs::remove_file(edited.join(gone)).expect("remove");
    let emptied = copy_tests("integrity-empty");
    std::fs::write(emptied.join("tests/manifest.sha256"), "").expect("write");
    let deleted = copy_tests("integrity-deleted");
    std::fs::remove_file(deleted.join("tests/manifest.sha256")).expect("remove");

    for (root, needle) in [
        (&edited, format!("changed: {rel}")),
        (&edited, format!("changed: {snap}")),
        (&edited, format!("missing: {gone}")),
        (&emptied, "manifest.sha256 is missing or empty".to_string()),
        (&deleted, "manifest.sha256 is missing or empty".to_string()),
    ] {
        let dir = scratch("integrity-reports");
        let file = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
        let root_arg = root.to_str().expect("utf-8");
        let args = |extra: &[&str]| {
            let mut all = vec![
                "hash-ring",
                "--root",
                root_arg,
                "--reference",
                "all",
                "--no-progress",
                "--filter",
                "position-of-a-string",
            ];
            all.extend_from_slice(extra);
            all.into_iter().map(str::to_string).collect::<Vec<_>>()
        };
        let outputs = [
            format!("junit={}", file("junit.xml")),
            format!("gradescope={}", file("gs.json")),
            format!("exercism={}", file("ex.json")),
            format!("json={}", file("report.json")),
        ];
        let mut all = args(&[]);
        for o in &outputs {
            all.push("--output".into());
            all.push(o.clone());
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = grader(&refs);
        assert_eq!(code(&out), 3, "{}", stderr(&out));
        assert!(stdout(&out).contains(&needle), "human: {}", stdout(&out));
        for name in ["junit.xml", "gs.json", "ex.json", "report.json"] {
            let text = std::fs::read_to_string(file(name)).expect("written");
            assert!(text.contains(&needle), "{name} misses {needle}: {text}");
        }
        let allowed = args(&["--allow-modified"]);
        let refs: Vec<&str> = allowed.iter().map(String::as_str).collect();
        assert_eq!(code(&grader(&refs)), 0);
    }
}
