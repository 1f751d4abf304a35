//! Exercism's test-runner `results.json`, version 3: one test per case, the stage number as
//! `task_id`, the case file's text as `test_code`.
//!
//! Exercism shows the whole file to the student and has no hidden tests, so cases that are not
//! `visible` are left out entirely (their YAML, name, count and result), and the overall status
//! follows the visible cases. A failed integrity check (see `crate::integrity`) makes the status
//! `error`, with the warning as the message.

use serde::Serialize;

use super::Report;
use crate::case::Visibility;
use crate::outcome::Status;

#[derive(Serialize)]
struct Results {
    version: u8,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    test_code: String,
    task_id: usize,
}

pub fn render(report: &Report) -> String {
    let mut tests = Vec::new();
    for stage in &report.stages {
        for case in stage
            .cases()
            .filter(|c| c.meta.visibility == Visibility::Visible)
        {
            let o = &case.outcome;
            let status = match o.status {
                Status::Pass => "pass",
                Status::Fail => "fail",
                Status::Panic | Status::Timeout | Status::Crash | Status::DoesNotCompile => "error",
            };
            let message = (o.status != Status::Pass).then(|| {
                let mut m = format!("{}: {}", o.place(), o.message);
                if let Some(h) = &case.meta.hint {
                    m.push_str(&format!("\nHint: {}", h.trim()));
                }
                m
            });
            tests.push(Test {
                name: format!("{} › {} › {}", stage.stage, case.meta.track, case.meta.name),
                status,
                message,
                test_code: std::fs::read_to_string(&case.meta.path).unwrap_or_default(),
                task_id: stage.stage.number(),
            });
        }
    }
    let warning = report.integrity.warning();
    let status = if warning.is_some() {
        "error"
    } else if tests.iter().all(|t| t.status == "pass") {
        "pass"
    } else {
        "fail"
    };
    let results = Results {
        version: 3,
        status,
        message: warning,
        tests,
    };
    serde_json::to_string_pretty(&results).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
