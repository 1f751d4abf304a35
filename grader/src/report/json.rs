//! The JSON report: `{"stages":[…],"summary":{…}}`. Other tools read it, so fields are only ever
//! added, never renamed. Everything but `duration_ms` is deterministic for a given workspace.

use serde::Serialize;

use super::{CaseReport, Report, StageReport, TrackReport};
use crate::outcome::Status;

#[derive(Serialize)]
struct Json<'a> {
    stages: Vec<JsonStage<'a>>,
    summary: Summary,
    integrity: &'a crate::integrity::Integrity,
}

#[derive(Serialize)]
struct JsonStage<'a> {
    stage: &'static str,
    number: usize,
    implementation: String,
    /// The compiler's first error (`file:line:column: message`) when the learner's stage does
    /// not compile; its cases then have the status `does-not-compile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    compile_error: Option<String>,
    tracks_passed: usize,
    tracks_total: usize,
    tracks: Vec<JsonTrack<'a>>,
}

#[derive(Serialize)]
struct JsonTrack<'a> {
    track: &'a str,
    passed: usize,
    total: usize,
    cases: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    name: &'a str,
    file: String,
    status: &'static str,
    message: &'a str,
    step: Option<usize>,
    label: Option<&'a str>,
    expected: Option<&'a str>,
    actual: Option<&'a str>,
    hint: Option<String>,
    /// The simulated network's messages up to the failure (networked stages only).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    trace: &'a [String],
    duration_ms: u64,
}

#[derive(Serialize)]
struct Summary {
    cases: usize,
    passed: usize,
    failed: usize,
    duration_ms: u64,
}

fn case(c: &CaseReport) -> JsonCase<'_> {
    JsonCase {
        name: &c.meta.name,
        file: c.meta.file.to_string_lossy().replace('\\', "/"),
        status: c.outcome.status.as_str(),
        message: &c.outcome.message,
        // 1-based, like the human report.
        step: c.outcome.step.map(|s| s + 1),
        label: c.outcome.label.as_deref(),
        expected: c.outcome.expected.as_deref(),
        actual: c.outcome.actual.as_deref(),
        hint: c.hint(),
        trace: &c.outcome.trace,
        duration_ms: c.duration.as_millis() as u64,
    }
}

fn track(t: &TrackReport) -> JsonTrack<'_> {
    JsonTrack {
        track: &t.track,
        passed: t.passed(),
        total: t.cases.len(),
        cases: t.cases.iter().map(case).collect(),
    }
}

fn stage<'a>(report: &Report, s: &'a StageReport) -> JsonStage<'a> {
    JsonStage {
        stage: s.stage.name(),
        number: s.stage.number(),
        implementation: s.implementation.to_arg(),
        compile_error: report.compile_error(s).map(ToString::to_string),
        tracks_passed: s.tracks_passed(),
        tracks_total: s.tracks_run(),
        tracks: s.tracks.iter().map(track).collect(),
    }
}

/// The report as pretty-printed JSON.
pub fn render(report: &Report) -> String {
    let cases = report.cases().count();
    let passed = report
        .cases()
        .filter(|c| c.outcome.status == Status::Pass)
        .count();
    let json = Json {
        stages: report.stages.iter().map(|s| stage(report, s)).collect(),
        summary: Summary {
            cases,
            passed,
            failed: cases - passed,
            duration_ms: report.elapsed.as_millis() as u64,
        },
        integrity: &report.integrity,
    };
    serde_json::to_string_pretty(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
