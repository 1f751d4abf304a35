//! The result of one case, as the child process reports it and the reports show it.

use dynamo_common::diagram::Item;
use serde::{Deserialize, Serialize};

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every step met its expectation.
    Pass,
    /// A step's result did not meet its expectation (or the setup failed).
    Fail,
    /// The code under test panicked (`todo!()` included).
    Panic,
    /// No result before the deadline: an endless loop, or an await nothing wakes.
    Timeout,
    /// The process died: stack overflow, abort, out of memory, `exit`, too much output.
    Crash,
    /// Not run: the stage's `solution.rs` does not compile (`crate::build`).
    #[serde(rename = "does-not-compile")]
    DoesNotCompile,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Panic => "panic",
            Status::Timeout => "timeout",
            Status::Crash => "crash",
            Status::DoesNotCompile => "does-not-compile",
        }
    }
}

/// One case's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseOutcome {
    pub status: Status,
    /// The step that failed, 0-based; `None` for the setup, or when the case passed.
    pub step: Option<usize>,
    /// What that step did: `owner "user-42"`, or `setup`.
    pub label: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// One paragraph for people; empty when the case passed.
    pub message: String,
    /// The simulated network's messages up to the failure, one line each, in time order
    /// (networked stages only; shown with `--verbose`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
    /// The same messages as data, drawn as a sequence diagram by the HTML report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagram: Vec<Item>,
    /// The seed of a store workload's failing run (see `Mismatch::seed`); not reported.
    #[serde(skip)]
    pub seed: Option<std::num::NonZeroU64>,
}

impl CaseOutcome {
    pub fn pass() -> Self {
        CaseOutcome {
            status: Status::Pass,
            step: None,
            label: None,
            expected: None,
            actual: None,
            message: String::new(),
            trace: Vec::new(),
            diagram: Vec::new(),
            seed: None,
        }
    }

    /// `step 2 (owner "k")` or `setup`.
    pub fn place(&self) -> String {
        match (self.step, &self.label) {
            (Some(i), Some(label)) => format!("step {} ({label})", i + 1),
            (Some(i), None) => format!("step {}", i + 1),
            (None, Some(label)) => label.clone(),
            (None, None) => "before the first step".into(),
        }
    }
}
