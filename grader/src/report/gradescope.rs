//! Gradescope's `results.json` (the autograder specification): one test per case, scored with
//! the case's `points` (default 1), shown according to its `visibility`, so hidden cases stay
//! hidden until the due date. The summary text counts only `visible` cases: students can read it
//! at once, so it must not reveal how many hidden cases there are or how they went. A failed
//! integrity check (see `crate::integrity`) heads the summary.

use serde::Serialize;

use super::{CaseReport, Report};
use crate::case::Visibility;
use crate::outcome::Status;

#[derive(Serialize)]
struct Results {
    score: f64,
    max_score: f64,
    execution_time: f64,
    output: String,
    visibility: &'static str,
    stdout_visibility: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    score: f64,
    max_score: f64,
    status: &'static str,
    name: String,
    name_format: &'static str,
    number: String,
    output: String,
    tags: Vec<String>,
    visibility: Visibility,
}

fn output(case: &CaseReport) -> String {
    let o = &case.outcome;
    if o.status == Status::Pass {
        return "Passed.".into();
    }
    let mut text = format!("{} at {}\n", o.status.as_str(), o.place());
    if let Some(e) = &o.expected {
        text.push_str(&format!("expected: {e}\n"));
    }
    text.push_str(&format!(
        "actual:   {}\n",
        o.actual.as_deref().unwrap_or(&o.message)
    ));
    if let Some(h) = &case.meta.hint {
        text.push_str(&format!("hint:     {}\n", h.trim()));
    }
    text
}

/// The text students see at once: visible cases only, and any integrity warning.
fn summary(report: &Report, tests: &[Test]) -> String {
    let visible: Vec<&Test> = tests
        .iter()
        .filter(|t| t.visibility == Visibility::Visible)
        .collect();
    let mut text = String::new();
    if let Some(warning) = report.integrity.warning() {
        text.push_str(&warning);
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "{} of {} visible cases passed.",
        visible.iter().filter(|t| t.status == "passed").count(),
        visible.len()
    ));
    text
}

pub fn render(report: &Report) -> String {
    let mut tests = Vec::new();
    for stage in &report.stages {
        for (i, case) in stage.cases().enumerate() {
            let passed = case.outcome.status == Status::Pass;
            tests.push(Test {
                score: if passed { case.meta.points } else { 0.0 },
                max_score: case.meta.points,
                status: if passed { "passed" } else { "failed" },
                name: format!("{} › {} › {}", stage.stage, case.meta.track, case.meta.name),
                name_format: "text",
                number: format!("{}.{}", stage.stage.number(), i + 1),
                output: output(case),
                tags: vec![stage.stage.name().to_string(), case.meta.track.clone()],
                visibility: case.meta.visibility,
            });
        }
    }
    let score = tests.iter().map(|t| t.score).sum();
    let max_score = tests.iter().map(|t| t.max_score).sum();
    let results = Results {
        score,
        max_score,
        execution_time: (report.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        output: summary(report, &tests),
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    };
    serde_json::to_string_pretty(&results).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
