//! Progress between runs: the grader remembers each case's last status in `.grader-state.json`
//! (ignored by git) and tells the learner what newly passes and what newly fails.
//!
//! Results are remembered per stage *and* the implementations that served it and every stage
//! beneath it, so grading the reference, or your stage 2 on the reference's stage 1, never makes
//! your own cases look newly passing or failing.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::outcome::Status;
use crate::report::human::Style;
use crate::report::{Report, StageReport};
use crate::stage::Stage;

/// `"quorum/learner on hash-ring=reference"` → case name → status.
type State = BTreeMap<String, BTreeMap<String, Status>>;

/// What changed since the last run of the same cases.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub newly_passing: Vec<String>,
    pub newly_failing: Vec<String>,
    /// No earlier run of these cases was remembered.
    pub first_run: bool,
}

pub fn file(root: &Path) -> PathBuf {
    root.join(".grader-state.json")
}

/// Compares `report` with the remembered state, then remembers `report`.
pub fn update(path: &Path, report: &Report) -> Change {
    let mut state: State = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let change = compare(&state, report);
    for stage in &report.stages {
        let key = key(report, stage);
        let entry = state.entry(key).or_default();
        for case in stage.cases() {
            entry.insert(case.meta.name.clone(), case.outcome.status);
        }
    }
    if let Ok(json) = serde_json::to_vec_pretty(&state) {
        // Write then rename, so two runs at once never leave a torn file.
        let tmp = path.with_extension(format!("json.{}", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
    change
}

/// A stage's results are comparable only with a run where the same implementations served it and
/// every earlier stage (the ones it can build on).
fn key(report: &Report, stage: &StageReport) -> String {
    let mut key = format!("{}/{}", stage.stage, stage.implementation.to_arg());
    let beneath: Vec<String> = Stage::ALL
        .into_iter()
        .filter(|s| *s < stage.stage)
        .map(|s| format!("{s}={}", report.served(s).to_arg()))
        .collect();
    if !beneath.is_empty() {
        let _ = write!(key, " on {}", beneath.join(","));
    }
    key
}

fn compare(state: &State, report: &Report) -> Change {
    let mut change = Change {
        first_run: true,
        ..Change::default()
    };
    for stage in &report.stages {
        let key = key(report, stage);
        let Some(before) = state.get(&key) else {
            continue;
        };
        change.first_run = false;
        for case in stage.cases() {
            let now = case.outcome.status == Status::Pass;
            let Some(was) = before.get(&case.meta.name).map(|s| *s == Status::Pass) else {
                continue;
            };
            let name = format!("{} › {}", stage.stage, case.meta.name);
            match (was, now) {
                (false, true) => change.newly_passing.push(name),
                (true, false) => change.newly_failing.push(name),
                _ => {}
            }
        }
    }
    change
}

/// At most five names, then how many more.
fn some(names: &[String]) -> String {
    let shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    match names.len() {
        0..=5 => shown,
        n => format!("{shown} and {} more", n - 5),
    }
}

/// One or two lines for the end of the human report; nothing when nothing changed.
pub fn render(change: &Change, style: Style) -> String {
    let mut out = String::new();
    if !change.newly_passing.is_empty() {
        let _ = writeln!(
            out,
            "{} {} newly passing since your last run: {}",
            style.green("▲"),
            change.newly_passing.len(),
            some(&change.newly_passing)
        );
    }
    if !change.newly_failing.is_empty() {
        let _ = writeln!(
            out,
            "{} {} newly failing since your last run: {}",
            style.red("▼"),
            change.newly_failing.len(),
            some(&change.newly_failing)
        );
    }
    out
}
