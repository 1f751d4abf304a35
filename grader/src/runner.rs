//! The parent side of case isolation: one child process per case (per part of a case, for a
//! long store seed sweep: see [`run_all`]), up to `jobs` at a time, each in its own process group
//! with a wall-clock deadline, a CPU-time cap, a memory cap and an output cap. Results come back
//! in file order whatever order the children finish in.
//!
//! # The parent judges
//! The parent loads each case itself (expectations and snapshots included) and starts
//! `grader-child __run-case --parent PID` (or `grader __run-case …` when no learner code runs, see
//! `crate::plan::case_runner`): no case path, no course folder, nothing about the case on the
//! command line or in the environment. Over the child's stdin it sends one `Start` message with
//! the setup and the steps, every `expect` emptied to `{}` (`crate::stages::LoadedCase::acting_input`),
//! and what the run varies beyond the case file (`crate::stages::RunOptions`: the store's seeds).
//! The child acts and reports, for each step, the *actual value* its expectation's `check` was
//! given (`crate::protocol`); the parent decodes it as the expectation's own type, checks it
//! against the real expectation and snapshot, answers pass or fail, and on a failure stops the
//! case there, as a failing check always did.
//!
//! # Why a forged message gains nothing
//! The channel is the child's original stdin and stdout. Before any code under test runs, the
//! child moves them to private close-on-exec descriptors and points fd 1 at the output pipe
//! (fd 2) and fd 0 at `/dev/null`, so whatever the code under test prints, on stdout or stderr,
//! lands in the output pipe, which the parent only ever shows as text: no line there can be a
//! result. Code under test could still find the private descriptor and write to it, since it runs
//! in the same process; but the messages carry only *observed values*, never a verdict. A pass
//! needs, for every step in order, exactly one reported value that the parent's own check accepts:
//! forging one means knowing the right answer, which is computing it. Anything else (a `Finished`
//! before every step was judged, a step skipped, reported twice or out of order, an unreadable
//! line) fails the case, and a forged failure only fails it.
//!
//! # Nothing outlives its case
//! The child leads its own process group; the parent SIGKILLs the whole group when the case is
//! judged, at the deadline, on too much output, and (through `crate::sys::forward_termination`)
//! when the grader gets SIGINT, SIGTERM or SIGHUP. The child asks for SIGKILL on the grader's
//! death, caps its CPU time (`RLIMIT_CPU`, a backstop for the wall clock) and installs a seccomp
//! filter (`crate::seccomp`): no new programs or processes, no files, no sockets. The deadline is
//! the parent's clock, never the end of a pipe, so a process holding the pipes open cannot hold
//! the case; output is collected with a short grace after the group is killed.

use std::collections::BTreeSet;
use std::io::{BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::case::{CaseMeta, Course};
use crate::expect::Mismatch;
use crate::implementation::Selection;
use crate::outcome::{CaseOutcome, Status};
use crate::protocol::{self, Start, ToParent, Verdict};
use crate::snapshot::Snapshots;
use crate::stage::Stage;
use crate::stages::{LoadedCase, RunOptions};
use crate::sys;

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
    pub exe: std::path::PathBuf,
    pub root: std::path::PathBuf,
    pub selection: Selection,
    pub limits: Limits,
    /// Sent to every case process in its `Start` message (a sweep's parts each get their own
    /// seeds, see [`run_all`]).
    pub options: RunOptions,
}

/// A finished case.
#[derive(Clone, Debug)]
pub struct Ran {
    pub outcome: CaseOutcome,
    pub duration: Duration,
}

/// Process groups of the cases running now, killed if the grader is interrupted.
static LIVE: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Kills every running case's process group (the grader is being interrupted).
pub fn kill_all() {
    let groups = match LIVE.lock() {
        Ok(live) => live.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    for pgid in groups {
        sys::kill_group(pgid);
    }
}

/// Runs every case, `jobs` at a time; the results are in the order of `cases`.
///
/// A case whose steps run once per seed of a sweep (`--seeds N`) is split into parts of at most
/// `Seeds::PART` seeds, each a case process of its own judged on its own: a long sweep then
/// keeps every core busy to the end, and no part's report grows with N. The case's outcome is
/// its first part (in seed order) that did not pass, as one process running the seeds in order
/// would have found, or a pass; its duration is the sum of its parts'.
pub fn run_all(cases: &[CaseMeta], launcher: &Launcher, jobs: usize) -> Vec<Ran> {
    let parts: Vec<(usize, RunOptions)> = cases
        .iter()
        .enumerate()
        .flat_map(|(i, case)| {
            let seeded = case.loaded.as_ref().is_some_and(|l| l.0.seeded());
            let seeds = if seeded {
                launcher.options.seeds.parts()
            } else {
                vec![launcher.options.seeds]
            };
            seeds
                .into_iter()
                .map(move |seeds| (i, RunOptions { seeds }))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Ran>>> = Mutex::new(vec![None; parts.len()]);
    thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, parts.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let p = next.fetch_add(1, Ordering::SeqCst);
                    let Some((i, options)) = parts.get(p) else {
                        break;
                    };
                    let ran = run_one(&cases[*i], launcher, options);
                    if let Ok(mut r) = results.lock() {
                        r[p] = Some(ran);
                    }
                }
            });
        }
    });
    let mut merged: Vec<Option<Ran>> = vec![None; cases.len()];
    let results = results.into_inner().unwrap_or_default();
    for ((i, _), ran) in parts.iter().zip(results) {
        let ran = ran.unwrap_or_else(|| Ran {
            outcome: crash("the grader lost this case's result".into()),
            duration: Duration::ZERO,
        });
        merged[*i] = Some(match merged[*i].take() {
            None => ran,
            Some(before) => Ran {
                duration: before.duration + ran.duration,
                outcome: if before.outcome.status == Status::Pass {
                    ran.outcome
                } else {
                    before.outcome
                },
            },
        });
    }
    merged
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Ran {
                outcome: crash("the grader lost this case's result".into()),
                duration: Duration::ZERO,
            })
        })
        .collect()
}

/// Runs one case (or one part of a sweep of it, per `options`) in a child process and judges
/// what it reports.
pub fn run_one(meta: &CaseMeta, launcher: &Launcher, options: &RunOptions) -> Ran {
    let started = Instant::now();
    let course = Course {
        root: launcher.root.clone(),
        recording: false,
    };
    let loaded = match &meta.loaded {
        Some(shared) => Ok(shared.0.clone()),
        None => course.load(&meta.path).map(std::sync::Arc::from),
    };
    let outcome = match loaded {
        Ok(case) => {
            let outcome = run_loaded(case.as_ref(), &course, launcher, options);
            match outcome.seed {
                Some(seed) if !options.seeds.traced() && outcome.status == Status::Fail => {
                    rerun_traced(case.as_ref(), &course, launcher, outcome, seed.get())
                }
                _ => outcome,
            }
        }
        Err(diags) => {
            let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
            crash(format!(
                "the case file no longer loads:\n{}",
                text.join("\n")
            ))
        }
    };
    Ran {
        outcome,
        duration: started.elapsed(),
    }
}

/// A sweep's runs carry no message traces (`Seeds::traced`): its failing `seed` runs again alone,
/// traced, so the report draws the messages around the violation. The same seed gives the same
/// history, so the rerun fails the same way and its outcome (with the trace) is reported; a
/// rerun that does not fail the same way means the code under test is not deterministic, and the
/// sweep's outcome is reported with that said.
fn rerun_traced(
    case: &dyn LoadedCase,
    course: &Course,
    launcher: &Launcher,
    swept: CaseOutcome,
    seed: u64,
) -> CaseOutcome {
    let alone = RunOptions {
        seeds: crate::stages::store::Seeds::One(seed),
    };
    let rerun = run_loaded(case, course, launcher, &alone);
    if rerun.status == swept.status && rerun.actual == swept.actual {
        return rerun;
    }
    let mut outcome = swept;
    outcome.message.push_str(&format!(
        "\n(run alone, seed {seed} did not fail the same way ({}): the code under test does not \
         give the same history for the same seed; look for randomness, HashMap order or wall-clock \
         time in it)",
        if rerun.status == Status::Pass {
            "it passed".to_string()
        } else {
            rerun.message
        }
    ));
    outcome
}

/// The wall-clock time a case process may take: the run's timeout, plus two seconds per seed
/// its store workloads run under (a sweep's part counts only its own seeds).
pub fn deadline(limits: &Limits, options: &RunOptions) -> Duration {
    limits.timeout + Duration::from_secs(2 * options.seeds.count())
}

/// What the reader threads tell the judge.
enum Event {
    Message(Result<ToParent, String>),
    ChannelClosed,
    Overflow,
}

fn run_loaded(
    case: &dyn LoadedCase,
    course: &Course,
    launcher: &Launcher,
    options: &RunOptions,
) -> CaseOutcome {
    let acting = match case.acting_input() {
        Ok(acting) => acting.to_string(),
        Err(e) => {
            return crash(format!(
                "the grader cannot prepare this case for its process: {e}"
            ));
        }
    };
    let allowed = deadline(&launcher.limits, options);
    let deadline = Instant::now() + allowed;
    let mut command = Command::new(&launcher.exe);
    command
        .arg("__run-case")
        .arg("--parent")
        .arg(std::process::id().to_string())
        .env("RUST_BACKTRACE", "0")
        // The case process's allocator (mimalloc, see `main.rs`) reserves address space 1 GiB at a
        // time by default, and its memory cap is a cap on address space (RLIMIT_AS): reserved
        // before the cap is set, that arena would let a case use 1 GiB whatever `--memory-mb`
        // says, and leave no room to grow the stack (a deep recursion would then die without
        // Rust's "overflowed its stack" message). Small reservations keep the cap exact.
        .env("MIMALLOC_ARENA_RESERVE", "4MiB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return crash(format!("could not start the case process: {e}")),
    };
    let pgid = child.id();
    if let Ok(mut live) = LIVE.lock() {
        live.insert(pgid);
    }
    let (events, inbox) = mpsc::channel();
    let output = start_readers(&mut child, launcher.limits.output_bytes, &events);
    drop(events);
    let mut judge = Judge::new(case, course.snapshot_dir(case.meta().stage), *options);
    let outcome = match child.stdin.take() {
        Some(mut to_child) => {
            let start = Start {
                stage: case.meta().stage.name().to_string(),
                selection: launcher.selection.to_arg(),
                memory_mb: launcher.limits.memory_mb,
                cpu_seconds: allowed.as_secs_f64().ceil() as u64 + 1,
                case: acting,
                options: *options,
            };
            let _ = protocol::send(&mut to_child, &start);
            judge.follow(&inbox, &mut to_child, &mut child, deadline)
        }
        None => Ended::Died(None),
    };
    sys::kill_group(pgid);
    let _ = child.kill();
    let status = child.wait().ok();
    if let Ok(mut live) = LIVE.lock() {
        live.remove(&pgid);
    }
    match outcome {
        Ended::Judged(outcome) => outcome,
        ended => {
            // Output matters only to explain a death; a process that escaped the group and holds
            // the pipe gets a short grace, never the case's deadline.
            let text = output
                .recv_timeout(Duration::from_millis(200))
                .unwrap_or_default();
            let status = match ended {
                Ended::Died(Some(s)) => Some(s),
                _ => status,
            };
            judge.explain(ended, status, &text, launcher, allowed)
        }
    }
}

/// Starts the threads that read the channel and the output; returns where the output arrives.
fn start_readers(child: &mut Child, cap: usize, events: &Sender<Event>) -> Receiver<String> {
    if let Some(stdout) = child.stdout.take() {
        let events = events.clone();
        thread::spawn(move || {
            let mut input = BufReader::new(stdout);
            loop {
                match protocol::receive::<ToParent>(&mut input) {
                    Ok(Some(message)) => {
                        if events.send(Event::Message(Ok(message))).is_err() {
                            break;
                        }
                    }
                    Ok(None) => {
                        let _ = events.send(Event::ChannelClosed);
                        break;
                    }
                    Err(e) => {
                        let _ = events.send(Event::Message(Err(e)));
                        break;
                    }
                }
            }
        });
    }
    let (text_out, text_in) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        let events = events.clone();
        thread::spawn(move || {
            let bytes = read_capped(stderr, cap, &events);
            let _ = text_out.send(String::from_utf8_lossy(&bytes).into_owned());
        });
    }
    text_in
}

/// Reads everything, keeping at most `cap` bytes; sends `Overflow` once when there is more.
fn read_capped(mut source: impl Read, cap: usize, events: &Sender<Event>) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut flagged = false;
    loop {
        match source.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if kept.len() + n > cap {
                    if !flagged {
                        flagged = true;
                        let _ = events.send(Event::Overflow);
                    }
                    // Keep draining so the child never blocks on a full pipe before it is killed.
                } else {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
    kept
}

/// How following a case ended.
enum Ended {
    /// The parent has its verdict.
    Judged(CaseOutcome),
    /// The process ended (or closed the channel) without a verdict.
    Died(Option<ExitStatus>),
    TimedOut,
    Overflow,
}

/// Where the case is, and what the parent has judged so far.
struct Judge<'a> {
    case: &'a dyn LoadedCase,
    snapshots: Snapshots,
    /// `None` before the setup began; `Some(None)` during the setup; `Some(Some(i))` in step i.
    current: Option<Option<usize>>,
    /// The current step's value has been reported.
    reported: bool,
    /// Steps judged to pass.
    passed: usize,
    /// The parent's failing judgement, waiting for the child's trace.
    failed: Option<(usize, Mismatch)>,
}

impl<'a> Judge<'a> {
    fn new(
        case: &'a dyn LoadedCase,
        snapshot_dir: std::path::PathBuf,
        options: RunOptions,
    ) -> Self {
        Judge {
            case,
            snapshots: Snapshots::Compare {
                dir: snapshot_dir,
                options,
            },
            current: None,
            reported: false,
            passed: 0,
            failed: None,
        }
    }

    fn follow(
        &mut self,
        inbox: &Receiver<Event>,
        to_child: &mut ChildStdin,
        child: &mut Child,
        deadline: Instant,
    ) -> Ended {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = match inbox.recv_timeout(left) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => return self.late(Ended::TimedOut),
                Err(RecvTimeoutError::Disconnected) => Event::ChannelClosed,
            };
            match event {
                Event::Overflow => return self.late(Ended::Overflow),
                Event::ChannelClosed => return self.late(wait_exit(child, deadline)),
                Event::Message(Err(e)) => {
                    return Ended::Judged(self.protocol_error(&format!("sent {e}")));
                }
                Event::Message(Ok(message)) => {
                    if let Some(ended) = self.take(message, to_child) {
                        return ended;
                    }
                }
            }
        }
    }

    /// A failure already judged wins over whatever happened after it.
    fn late(&mut self, ended: Ended) -> Ended {
        match self.failed.take() {
            Some((i, mismatch)) => Ended::Judged(self.failure(Some(i), mismatch)),
            None => ended,
        }
    }

    fn take(&mut self, message: ToParent, to_child: &mut ChildStdin) -> Option<Ended> {
        match message {
            ToParent::Hardened { unavailable, .. } => {
                note_unavailable(&unavailable);
                None
            }
            ToParent::Begin { step } => {
                let expected = match self.current {
                    None => None,
                    Some(None) => Some(0),
                    Some(Some(i)) => Some(i + 1),
                };
                if self.failed.is_some() || step != expected || !self.previous_reported() {
                    let ended = Ended::Judged(self.out_of_order(step));
                    return Some(self.late(ended));
                }
                self.current = Some(step);
                self.reported = false;
                None
            }
            ToParent::Observed { value } => {
                let Some(Some(i)) = self.current else {
                    return Some(Ended::Judged(
                        self.protocol_error("reported a value outside any step"),
                    ));
                };
                if self.reported {
                    return Some(Ended::Judged(self.protocol_error(&format!(
                        "reported a second value for step {}",
                        i + 1
                    ))));
                }
                self.reported = true;
                let verdict = match self.case.judge(i, &value, &mut self.snapshots) {
                    Ok(()) => {
                        self.passed += 1;
                        Verdict::Pass
                    }
                    Err(mismatch) => {
                        self.failed = Some((i, mismatch));
                        Verdict::Fail
                    }
                };
                // A child gone already cannot read it; its end is handled as it arrives.
                let _ = protocol::send(to_child, &verdict);
                None
            }
            ToParent::Failed { mismatch } => Some(Ended::Judged(match self.failed.take() {
                Some((i, mut judged)) => {
                    // The child's trace, unless judging made one (a store workload's, drawn
                    // from the run it reported).
                    if judged.trace.is_empty() {
                        judged.trace = mismatch.trace;
                    }
                    self.failure(Some(i), judged)
                }
                None => {
                    let step = self.current.flatten();
                    self.failure(step, mismatch)
                }
            })),
            ToParent::Panicked { message, location } => {
                Some(self.late(Ended::Judged(self.panic(&message, location.as_deref()))))
            }
            ToParent::Finished => Some(self.late(Ended::Judged(self.finished()))),
            ToParent::Refused { message } => Some(Ended::Judged(crash(format!(
                "the case process could not run the case: {message}"
            )))),
        }
    }

    /// Whether the step before the one beginning now reported its value (the setup has none).
    fn previous_reported(&self) -> bool {
        !matches!(self.current, Some(Some(_))) || self.reported
    }

    fn finished(&self) -> CaseOutcome {
        let all = self.case.step_count();
        if self.passed == all && self.current == Some(all.checked_sub(1)) && self.reported {
            CaseOutcome::pass()
        } else {
            self.out_of_order(None)
        }
    }

    fn out_of_order(&self, began: Option<usize>) -> CaseOutcome {
        let what = match self.current {
            Some(Some(i)) if !self.reported => format!(
                "step {} ({}) reported no result",
                i + 1,
                self.case.step_label(i)
            ),
            _ => match began {
                Some(i) => format!("step {} began out of order", i + 1),
                None => format!(
                    "the case ended after {} of {} steps",
                    self.passed,
                    self.case.step_count()
                ),
            },
        };
        self.protocol_error(&what)
    }

    fn protocol_error(&self, what: &str) -> CaseOutcome {
        let mut outcome = crash(format!(
            "the case process broke the grader's protocol {}: {what}. Does the code write to \
             file descriptors it did not open? (If this happens on the reference, a step of this \
             stage does not report its result through `expect.check`: a grader bug.)",
            self.place()
        ));
        self.locate(&mut outcome);
        outcome
    }

    fn failure(&self, step: Option<usize>, mismatch: Mismatch) -> CaseOutcome {
        let trace = mismatch.trace_lines();
        let label = match step {
            Some(i) => self.case.step_label(i),
            None => self.case.setup_label(),
        };
        CaseOutcome {
            status: Status::Fail,
            message: format!(
                "{}: expected {}, got {}",
                match step {
                    Some(i) => format!("step {} ({label})", i + 1),
                    None => label.clone(),
                },
                mismatch.expected,
                mismatch.actual
            ),
            step,
            label: Some(label),
            expected: Some(mismatch.expected),
            actual: Some(mismatch.actual),
            trace,
            diagram: mismatch.trace,
            seed: mismatch.seed,
        }
    }

    fn panic(&self, message: &str, location: Option<&str>) -> CaseOutcome {
        let message = clip(message, 4000, false);
        let mut text = match location {
            Some(at) => format!("panicked at {at}: {message}"),
            None => format!("panicked: {message}"),
        };
        let stage = self.case.meta().stage;
        if let Some(other) = location.and_then(stage_of_file)
            && other != stage
        {
            text.push_str(&format!(
                "\nThis panic is in stage {} ({other}), which this case uses. Finish that \
                 stage first, or grade this one on the reference: --reference {other}",
                other.number()
            ));
        }
        let mut outcome = CaseOutcome {
            status: Status::Panic,
            actual: Some(text.clone()),
            message: text,
            ..CaseOutcome::pass()
        };
        self.locate(&mut outcome);
        if let Some(Some(i)) = self.current {
            outcome.expected = Some(self.case.expected(i));
        }
        outcome
    }

    /// Sets the outcome's step and label to where the case was.
    fn locate(&self, outcome: &mut CaseOutcome) {
        match self.current {
            Some(Some(i)) => {
                outcome.step = Some(i);
                outcome.label = Some(self.case.step_label(i));
            }
            Some(None) => outcome.label = Some(self.case.setup_label()),
            None => {}
        }
    }

    fn place(&self) -> String {
        match self.current {
            Some(Some(i)) => format!("during step {} ({})", i + 1, self.case.step_label(i)),
            Some(None) => "during the setup".to_string(),
            None => "before the case started".to_string(),
        }
    }

    /// Explains a case that ended without a verdict.
    fn explain(
        &self,
        ended: Ended,
        status: Option<ExitStatus>,
        output: &str,
        launcher: &Launcher,
        allowed: Duration,
    ) -> CaseOutcome {
        let place = self.place();
        let mut outcome = match ended {
            Ended::TimedOut => CaseOutcome {
                status: Status::Timeout,
                message: format!(
                    "no result within {allowed:?} {place}; the case was stopped. Look for a loop \
                     that never ends, or a wait for something that never happens."
                ),
                ..CaseOutcome::pass()
            },
            Ended::Overflow => crash(format!(
                "printed more than {} KiB {place}; the case was stopped. Is something printing in a loop?",
                launcher.limits.output_bytes / 1024
            )),
            _ => crash(describe_death(status, output, launcher, &place)),
        };
        self.locate(&mut outcome);
        outcome.actual = Some(outcome.message.clone());
        outcome
    }
}

/// Waits for the child to exit after it closed the channel, until the deadline.
fn wait_exit(child: &mut Child, deadline: Instant) -> Ended {
    let mut pause = Duration::from_micros(200);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ended::Died(Some(status));
        }
        if Instant::now() >= deadline {
            return Ended::TimedOut;
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Says once per run which hardening measures this machine refused.
fn note_unavailable(unavailable: &[String]) {
    static SAID: OnceLock<()> = OnceLock::new();
    if unavailable.is_empty() {
        return;
    }
    SAID.get_or_init(|| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "note: this machine does not allow {}; cases run without it.",
            unavailable.join(", ")
        );
    });
}

/// The stage whose folder holds a source file: `stages/01-hash-ring/src/solution.rs` → hash-ring.
fn stage_of_file(location: &str) -> Option<Stage> {
    let rest = location.split("stages/").nth(1)?;
    let folder = rest.split('/').next()?;
    Stage::ALL.into_iter().find(|s| s.dir() == folder)
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
    let tail = clip(&tail[tail.len().saturating_sub(4)..].join("\n"), 2000, true);
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
            Some((None, Some(24))) => "used up its CPU time (RLIMIT_CPU)".into(),
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

/// At most `max` characters of `text`, marked where cut: its end (output, where the last lines
/// say most about a death) or its start (a panic message).
fn clip(text: &str, max: usize, keep_end: bool) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let cut = count - max;
    if keep_end {
        let kept: String = text.chars().skip(cut).collect();
        format!("[{cut} characters cut]…{kept}")
    } else {
        let kept: String = text.chars().take(max).collect();
        format!("{kept}…[{cut} characters cut]")
    }
}

fn crash(message: String) -> CaseOutcome {
    CaseOutcome {
        status: Status::Crash,
        message,
        ..CaseOutcome::pass()
    }
}
