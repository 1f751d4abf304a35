//! Running the grader binary and reading its JSON report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn grader(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the grader binary runs")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("the grader exits with a code")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the grader with `--format json` and parses the report.
pub fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = grader(&all);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(&out), stderr(&out)));
    (code(&out), report)
}

/// Every case of a JSON report: (stage, track, case object).
pub fn cases(report: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for stage in report["stages"].as_array().expect("stages") {
        for track in stage["tracks"].as_array().expect("tracks") {
            for case in track["cases"].as_array().expect("cases") {
                all.push((
                    stage["stage"].as_str().unwrap_or("").to_string(),
                    track["track"].as_str().unwrap_or("").to_string(),
                    case.clone(),
                ));
            }
        }
    }
    all
}

pub fn course_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch folder unique to this test, emptied first, and removed when the test passes (a
/// failing test leaves it for inspection; its path is in the test's messages).
pub fn scratch(name: &str) -> Scratch {
    let dir =
        std::env::temp_dir().join(format!("mini-dynamo-grader-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    Scratch(dir)
}

/// A folder of [`scratch`]'s: a path while the test runs, gone after it passes.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `stage` with `mutant` on top of the reference everywhere else and asserts that `catcher`,
/// the case written for that mistake, fails.
pub fn assert_caught(stage: &str, mutant: &str, catcher: &str) {
    let selected = format!("{stage}={mutant}");
    let (code, report) = json(&[stage, "--reference-deps", "--mutant", &selected]);
    assert_eq!(code, 1, "{mutant} passed every case");
    let status = cases(&report)
        .into_iter()
        .find(|(_, _, c)| c["name"] == catcher)
        .map(|(_, _, c)| c["status"].clone());
    assert_eq!(
        status,
        Some("fail".into()),
        "{catcher} should catch {mutant}"
    );
}

/// Whether `stages/<dir>/src/solution.rs` is still the untouched stub. Tests about what the stubs
/// do return early once a learner has started a stage, so `cargo test` keeps passing for them.
pub fn is_stub(dir: &str) -> bool {
    let path = course_root()
        .join("stages")
        .join(dir)
        .join("src/solution.rs");
    let stub = std::fs::read_to_string(path).is_ok_and(|s| crate::stub::calls_todo(&s));
    if !stub {
        eprintln!("stages/{dir}/src/solution.rs has been worked on: skipping a test of the stub");
    }
    stub
}
