//! The Mini-Dynamo grader.
//!
//! `cargo grade` loads the YAML cases under `tests/cases`, runs each in its own child process
//! against the learner's code (or the reference, per stage), and reports per stage, track and
//! case. It is a binary only: its tests drive it the way users do, through the command line.
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

fn main() {
    std::process::exit(cli::main());
}
