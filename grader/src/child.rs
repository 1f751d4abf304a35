//! The child side of case isolation: the grader re-executes itself as
//! `grader __run-case FILE --select …`, runs one case, and prints its outcome on stdout.
//!
//! The protocol is two kinds of line, each starting on a fresh line so learner output cannot
//! glue onto them: `@@grader:step N LABEL` before each step (so the parent can say where a crash
//! or a hang happened) and `@@grader:result JSON` at the end.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

use crate::case::Course;
use crate::implementation::Selection;
use crate::outcome::{CaseOutcome, Status};
use crate::snapshot::Snapshots;
use crate::stage::Stage;

pub const STEP_MARK: &str = "@@grader:step ";
pub const RESULT_MARK: &str = "@@grader:result ";

/// The last panic's message and location, recorded by our hook.
static LAST_PANIC: Mutex<Option<(String, Option<String>)>> = Mutex::new(None);

/// Runs one case and prints its outcome. Returns the process exit code.
pub fn run(course: &Course, file: &Path, selection: &Selection, memory_mb: u64) -> i32 {
    limit_memory(memory_mb);
    panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => (*s).to_string(),
            None => match info.payload().downcast_ref::<String>() {
                Some(s) => s.clone(),
                None => "a panic with a non-string payload".into(),
            },
        };
        let location = info.location().map(|l| l.to_string());
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some((message, location));
        }
    }));

    let case = match course.load(file) {
        Ok(case) => case,
        Err(diags) => {
            let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
            emit(&CaseOutcome {
                status: Status::Crash,
                message: format!("the case file no longer loads:\n{}", text.join("\n")),
                ..CaseOutcome::pass()
            });
            return 0;
        }
    };
    let stage = case.meta().stage;
    let mut snapshots = Snapshots::Compare {
        dir: course.snapshot_dir(stage),
    };
    let mut current: (Option<usize>, String, Option<String>) = (None, "setup".into(), None);
    let mut on_step = |step: Option<usize>, label: &str, expected: Option<String>| {
        current = (step, label.to_string(), expected);
        let n = step.map_or_else(|| "setup".to_string(), |i| i.to_string());
        println!("\n{STEP_MARK}{n} {label}");
        let _ = std::io::stdout().flush();
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        case.run(selection, &mut snapshots, &mut on_step)
    }));
    let outcome = match result {
        Ok(Ok(())) => CaseOutcome::pass(),
        Ok(Err(failure)) => CaseOutcome {
            status: Status::Fail,
            message: format!(
                "{}: expected {}, got {}",
                match failure.step {
                    Some(i) => format!("step {} ({})", i + 1, failure.label),
                    None => failure.label.clone(),
                },
                failure.mismatch.expected,
                failure.mismatch.actual
            ),
            step: failure.step,
            label: Some(failure.label),
            trace: failure.mismatch.trace_lines(),
            diagram: failure.mismatch.trace,
            expected: Some(failure.mismatch.expected),
            actual: Some(failure.mismatch.actual),
        },
        Err(_) => {
            let (message, location) = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_else(|| ("unknown panic".into(), None));
            let mut text = match &location {
                Some(at) => format!("panicked at {at}: {message}"),
                None => format!("panicked: {message}"),
            };
            if let Some(other) = location.as_deref().and_then(stage_of_file)
                && other != stage
            {
                text.push_str(&format!(
                    "\nThis panic is in stage {} ({other}), which this case uses. Finish that \
                     stage first, or grade this one on the reference: --reference {other}",
                    other.number()
                ));
            }
            CaseOutcome {
                status: Status::Panic,
                step: current.0,
                label: Some(current.1.clone()),
                expected: current.2.clone(),
                actual: Some(text.clone()),
                message: text,
                trace: Vec::new(),
                diagram: Vec::new(),
            }
        }
    };
    emit(&outcome);
    0
}

/// The stage whose folder holds a source file: `stages/01-hash-ring/src/solution.rs` → hash-ring.
fn stage_of_file(location: &str) -> Option<Stage> {
    let rest = location.split("stages/").nth(1)?;
    let folder = rest.split('/').next()?;
    Stage::ALL.into_iter().find(|s| s.dir() == folder)
}

fn emit(outcome: &CaseOutcome) {
    let json = serde_json::to_string(outcome).unwrap_or_else(|e| {
        format!(r#"{{"status":"crash","message":"cannot encode the outcome: {e}"}}"#)
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\n{RESULT_MARK}{json}");
    let _ = out.flush();
}

/// Caps the address space, so runaway allocation fails inside the child instead of starving the
/// machine. The allocation failure aborts the child; the parent reports it as a crash.
#[cfg(unix)]
fn limit_memory(megabytes: u64) {
    let bytes = megabytes.saturating_mul(1024 * 1024) as libc::rlim_t;
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads a valid, initialised struct; it only lowers this process's limit.
    #[expect(unsafe_code, reason = "setrlimit has no safe wrapper in std")]
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

#[cfg(not(unix))]
fn limit_memory(_megabytes: u64) {}
