//! The parent side of case isolation: one child process per case, up to `jobs` at a time,
//! each with a wall-clock deadline, a memory cap (set by the child) and an output cap.
//!
//! Results come back in file order whatever order the children finish in.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::case::CaseMeta;
use crate::child::{RESULT_MARK, STEP_MARK};
use crate::implementation::Selection;
use crate::outcome::{CaseOutcome, Status};

/// What a case may consume.
#[derive(Clone, Debug)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_mb: u64,
    pub output_bytes: usize,
}

/// How to start a child.
#[derive(Clone, Debug)]
pub struct Launcher {
    pub exe: PathBuf,
    pub root: PathBuf,
    pub selection: Selection,
    pub limits: Limits,
}

/// A finished case.
#[derive(Clone, Debug)]
pub struct Ran {
    pub outcome: CaseOutcome,
    pub duration: Duration,
}

/// Runs every case, `jobs` at a time; the results are in the order of `cases`.
pub fn run_all(cases: &[CaseMeta], launcher: &Launcher, jobs: usize) -> Vec<Ran> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Ran>>> = Mutex::new(vec![None; cases.len()]);
    thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, cases.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let ran = run_one(&case.path, launcher);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(ran);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Ran {
                outcome: crash("the grader lost this case's result".into(), None),
                duration: Duration::ZERO,
            })
        })
        .collect()
}

/// Runs one case file in a child process.
pub fn run_one(path: &Path, launcher: &Launcher) -> Ran {
    let started = Instant::now();
    let mut command = Command::new(&launcher.exe);
    command
        .arg("__run-case")
        .arg(path)
        .arg("--select")
        .arg(launcher.selection.to_arg())
        .arg("--memory-mb")
        .arg(launcher.limits.memory_mb.to_string())
        .arg("--root")
        .arg(&launcher.root)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Ran {
                outcome: crash(format!("could not start the case process: {e}"), None),
                duration: started.elapsed(),
            };
        }
    };
    let overflow = AtomicBool::new(false);
    let cap = launcher.limits.output_bytes;
    let (status, timed_out, stdout, stderr) = thread::scope(|scope| {
        let stdout = child.stdout.take().map(|s| {
            let overflow = &overflow;
            scope.spawn(move || read_capped(s, cap, overflow))
        });
        let stderr = child.stderr.take().map(|s| {
            let overflow = &overflow;
            scope.spawn(move || read_capped(s, cap, overflow))
        });
        let (status, timed_out) = wait(&mut child, launcher.limits.timeout, &overflow);
        let join = |h: Option<thread::ScopedJoinHandle<'_, Vec<u8>>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        (status, timed_out, join(stdout), join(stderr))
    });
    let stdout = String::from_utf8_lossy(&stdout);
    let stderr = String::from_utf8_lossy(&stderr);
    let outcome = interpret(
        &stdout,
        &stderr,
        status,
        timed_out,
        overflow.load(Ordering::SeqCst),
        launcher,
    );
    Ran {
        outcome,
        duration: started.elapsed(),
    }
}

/// Reads everything, keeping at most `cap` bytes; flags `overflow` when there was more.
fn read_capped(mut source: impl Read, cap: usize, overflow: &AtomicBool) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match source.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if kept.len() + n > cap {
                    overflow.store(true, Ordering::SeqCst);
                    // Keep draining so the child never blocks on a full pipe before it is killed.
                } else {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
    kept
}

/// Waits for the child until the deadline, or until it floods its output; kills it then.
fn wait(child: &mut Child, timeout: Duration, overflow: &AtomicBool) -> (Option<ExitStatus>, bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return (Some(status), false);
        }
        let late = Instant::now() >= deadline;
        if late || overflow.load(Ordering::SeqCst) {
            let _ = child.kill();
            let status = child.wait().ok();
            return (status, late);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

fn interpret(
    stdout: &str,
    stderr: &str,
    status: Option<ExitStatus>,
    timed_out: bool,
    overflow: bool,
    launcher: &Launcher,
) -> CaseOutcome {
    let mut last_step: Option<(Option<usize>, String)> = None;
    let mut result = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix(STEP_MARK) {
            let (n, label) = rest.split_once(' ').unwrap_or((rest, ""));
            last_step = Some((n.parse().ok(), label.to_string()));
        } else if let Some(json) = line.strip_prefix(RESULT_MARK) {
            result = Some(json.to_string());
        }
    }
    if let Some(json) = result
        && !overflow
    {
        return serde_json::from_str(&json).unwrap_or_else(|e| {
            crash(
                format!("the case process sent an unreadable result: {e}"),
                None,
            )
        });
    }
    let place = match &last_step {
        Some((Some(i), label)) => format!("during step {} ({label})", i + 1),
        Some((None, _)) => "during the setup".to_string(),
        None => "before the case started".to_string(),
    };
    let mut outcome = if timed_out {
        CaseOutcome {
            status: Status::Timeout,
            message: format!(
                "no result within {:?} {place}; the case was stopped. Look for a loop that \
                 never ends, or a wait for something that never happens.",
                launcher.limits.timeout
            ),
            ..CaseOutcome::pass()
        }
    } else if overflow {
        crash(
            format!(
                "printed more than {} KiB {place}; the case was stopped. Is something printing in a loop?",
                launcher.limits.output_bytes / 1024
            ),
            None,
        )
    } else {
        crash(describe_death(status, stderr, launcher, &place), None)
    };
    if let Some((step, label)) = last_step {
        outcome.step = step;
        outcome.label = Some(label);
    }
    outcome.actual = Some(outcome.message.clone());
    outcome
}

fn describe_death(
    status: Option<ExitStatus>,
    stderr: &str,
    launcher: &Launcher,
    place: &str,
) -> String {
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    let tail = tail[tail.len().saturating_sub(4)..].join("\n");
    let cause = if stderr.contains("has overflowed its stack") {
        "overflowed its stack (unbounded recursion?)".to_string()
    } else if stderr.contains("memory allocation of") {
        format!(
            "ran out of memory: it tried to use more than the {} MiB cap",
            launcher.limits.memory_mb
        )
    } else {
        match status.map(|s| (s.code(), signal(&s))) {
            Some((Some(code), _)) => format!(
                "exited with code {code} without reporting a result (does the code call \
                 std::process::exit?)"
            ),
            Some((None, Some(6))) => {
                "aborted (std::process::abort, or a panic while panicking)".into()
            }
            Some((None, Some(sig))) => format!("was killed by signal {sig}"),
            _ => "ended in an unknown way".into(),
        }
    };
    if tail.is_empty() {
        format!("the case process {cause} {place}.")
    } else {
        format!("the case process {cause} {place}. Its last output:\n{tail}")
    }
}

#[cfg(unix)]
fn signal(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal(_status: &ExitStatus) -> Option<i32> {
    None
}

fn crash(message: String, step: Option<usize>) -> CaseOutcome {
    CaseOutcome {
        status: Status::Crash,
        step,
        message,
        ..CaseOutcome::pass()
    }
}
