//! The Mini-Dynamo grader.
//!
//! `cargo grade` loads the YAML cases under `tests/cases`, runs each in its own child process
//! against the learner's code (or the reference, per stage), and reports per stage, track and
//! case. Its tests drive it the way users do, through the command line.
//!
//! # Two binaries, one library
//! This library is the whole grader, built against the stage *contracts* and the reference only;
//! it never depends on a learner's `solution.rs`. Two thin binaries link it:
//! - `grader` (`src/main.rs`, what `cargo grade` runs): the parent. It loads and judges cases,
//!   writes reports, and builds the case runner below when a run needs the learner's code
//!   ([`build`]). Runs on the reference and mutants only (`--reference all`, self-check) spawn
//!   `grader __run-case` itself and build nothing.
//! - `grader-child` (package `grader/child`): the case runner, this library plus the learner's
//!   solution packages through `dynamo-learner` ([`case_process`]). Editing a `solution.rs`
//!   recompiles that stage's small solution crate, `dynamo-learner` and this binary's `main`, and
//!   relinks it: never this library, the reference or the contracts.
//!
//! # Layout
//! - [`cli`]: options and dispatch; [`commands`]: one module per command; [`plan`]: a command
//!   line resolved into cases, implementations and limits.
//! - [`case`]: case files (the shape every case shares) and where the course keeps them.
//! - [`stages`]: one module per stage: its case types and how to run them.
//! - [`expect`], [`snapshot`], [`render`]: checking results and showing them.
//! - [`runner`] (parent, judges) and [`child`] (acts): one process per case, with deadline and
//!   caps, talking over [`protocol`]; [`sys`] holds the few libc calls (the only unsafe code) and
//!   [`seccomp`] the case process's system-call filter.
//! - [`report`]: the report formats; [`progress`]: what changed since the last run;
//!   [`integrity`]: official files checked against `tests/manifest.sha256`.
//! - [`schema`]: the JSON Schema of case files.
//! - [`implementation`], [`implementations`], [`mutants`]: who serves each stage.
//! - [`diag`]: located errors for bad case files; [`stub`]: is a `solution.rs` still the stub.
//! - [`build`]: building the case runner with the learner's stages, and which do not compile.

// This documentation maps the (private) modules for readers of the source and of
// `cargo doc --document-private-items`; the library's public face is the two entry points.
#![allow(
    rustdoc::private_intra_doc_links,
    reason = "the module map links the private modules it describes"
)]

#[doc(hidden)]
pub mod bench;
mod build;
mod case;
mod child;
mod cli;
mod commands;
mod diag;
mod expect;
mod implementation;
mod implementations;
mod integrity;
mod mutants;
mod outcome;
mod plan;
mod progress;
mod protocol;
mod render;
mod report;
mod runner;
mod schema;
mod seccomp;
mod snapshot;
mod stage;
mod stages;
mod stub;
mod sys;

/// The `grader` binary: runs the command line and returns the process exit code.
pub fn main() -> i32 {
    cli::main()
}

/// The `grader-child` binary: runs one case (`__run-case --parent PID`) with the learner's
/// implementations `learner` (see [`implementations`]). Returns the process exit code.
pub fn case_process(learner: dynamo_select::Learner) -> i32 {
    implementations::set_learner(learner);
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [run, flag, pid] if run == "__run-case" && flag == "--parent" => match pid.parse() {
            Ok(parent) => child::run(parent),
            Err(_) => cli::usage(&format!("--parent expects a process id, got `{pid}`")),
        },
        _ => cli::usage(
            "grader-child runs one case for the grader (`__run-case --parent PID`); \
             run `cargo grade` instead",
        ),
    }
}
