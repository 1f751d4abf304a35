//! The command line: `cargo grade [STAGE…] [options]` and its subcommands. Each command lives
//! in `commands/`; this file only declares the options and dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// Exit codes: every selected case passed; some case did not; the command or a case file is wrong;
/// official case files or snapshots differ from `tests/manifest.sha256` (or it is missing or
/// empty), whatever the results, unless `--allow-modified`.
pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_INTEGRITY: i32 = 3;

#[derive(Parser)]
#[command(
    name = "cargo grade",
    bin_name = "cargo grade",
    about = "Grade your Mini-Dynamo stages against the course's cases.",
    after_help = "Examples:\n  cargo grade                          every stage, your code\n  \
                  cargo grade hash-ring                one stage (or: cargo grade 1)\n  \
                  cargo grade watch                    re-grade on every save\n  \
                  cargo grade --reference all          the reference, everywhere\n  \
                  cargo grade validate tests/cases     check case files without running them\n  \
                  cargo grade --output junit=out.xml   also write a JUnit report\n  \
                  cargo grade --output html=out.html   a page with message diagrams",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Re-grade whenever you save: a calm screen with the next failing case and its hint.
    Watch {
        #[command(flatten)]
        run: RunArgs,
        /// Grade once and exit (for scripts and tests).
        #[arg(long, hide = true)]
        once: bool,
    },
    /// Check case files (or folders of them) without running them.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show the stages, their tracks and their cases.
    List {
        /// Stages to list (all by default).
        stages: Vec<String>,
        /// Also list the cases in these folders.
        #[arg(long = "cases", value_name = "DIR")]
        extra: Vec<PathBuf>,
    },
    /// Prove the course sound: reference passes all, stubs fail all, every mutant is caught.
    SelfCheck {
        /// Cases run at once (default: the number of cores).
        #[arg(short, long)]
        jobs: Option<usize>,
    },
    /// Print the JSON Schema (draft-07) of case files, for editors.
    Schema,
    /// Rewrite tests/manifest.sha256 from the official cases and snapshots (course authors).
    Manifest {
        /// Only check that the manifest is up to date (exit 1 if not).
        #[arg(long)]
        check: bool,
    },
    /// Run one case for the grader whose process id is given; the case arrives on stdin (used
    /// by the grader on itself, see the runner's documentation).
    #[command(name = "__run-case", hide = true)]
    RunCase {
        #[arg(long)]
        parent: u32,
    },
    /// Run every case on the reference and print the snapshots it produces, as JSON.
    #[command(name = "__snapshots", hide = true)]
    Snapshots,
}

/// Options of a grading run (also used by `watch`).
#[derive(Args, Clone)]
pub struct RunArgs {
    /// Stages to grade, by name or number (hash-ring or 1, …); all stages by default.
    pub stages: Vec<String>,
    /// Use the reference for these stages: a comma-separated list, or `all`.
    #[arg(long, value_name = "STAGES")]
    pub reference: Option<String>,
    /// Use the reference for every stage not being graded, so a later stage can be graded on
    /// top of finished earlier ones (e.g. `cargo grade read-repair --reference-deps`).
    #[arg(long)]
    pub reference_deps: bool,
    /// Also run the cases in this folder (repeatable), e.g. an instructor's private cases.
    #[arg(long = "cases", value_name = "DIR")]
    pub extra: Vec<PathBuf>,
    /// Only run cases whose name contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a report to a file: FORMAT=FILE (e.g. junit=report.xml), or FILE for the
    /// --format one. Repeatable, so one run can feed CI and a gradebook at once.
    #[arg(long, value_name = "[FORMAT=]FILE")]
    pub output: Vec<String>,
    /// Explain every failing case, not only the first of each track.
    #[arg(short, long)]
    pub verbose: bool,
    /// Wall-clock seconds a case may run before it is stopped.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Memory a case may use, in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub memory_mb: u64,
    /// Cases run at once (default: the number of cores).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Serve a stage with a deliberately faulty implementation: STAGE=NAME (grader tests).
    #[arg(long, hide = true, value_name = "STAGE=NAME")]
    pub mutant: Vec<String>,
    /// Store (stage 7): rerun every workload under seeds 1..=N (latencies, loss, fault times).
    #[arg(long, value_name = "N")]
    pub seeds: Option<u64>,
    /// Store (stage 7): run every workload under this one seed (to reproduce a failing seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Read cases and snapshots from another course folder (grader tests).
    #[arg(long, hide = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Grade even though official case files or snapshots differ from tests/manifest.sha256
    /// (course authors editing cases): the reports still say so, the exit code does not.
    #[arg(long)]
    pub allow_modified: bool,
    /// Do not read or update the progress file (.grader-state.json).
    #[arg(long, hide = true)]
    pub no_progress: bool,
}

/// Report formats.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: per stage, track and failing case.
    Human,
    /// The stable machine format (docs/instructors.md).
    Json,
    /// JUnit XML for CI systems.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
    /// Exercism's results.json (version 3).
    Exercism,
    /// One self-contained HTML page, failing networked cases' messages drawn as diagrams.
    Html,
}

/// When to colour.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// The course root: where `tests/cases` lives. The grader is built from it.
pub fn course_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

pub fn usage(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_PASS
            };
        }
    };
    if let Some(Command::RunCase { parent }) = cli.command {
        return crate::child::run(parent);
    }
    // Cases run in their own process groups: an interrupted grader takes them down with it.
    crate::sys::forward_termination(crate::runner::kill_all);
    let root = course_root();
    match cli.command {
        None => commands::grade::run(&root, &cli.run),
        Some(Command::Watch { run, once }) => commands::watch::run(&root, &run, once),
        Some(Command::Validate { paths }) => commands::validate::run(&root, &paths),
        Some(Command::List { stages, extra }) => commands::list::run(&root, &stages, &extra),
        Some(Command::SelfCheck { jobs }) => commands::self_check::run(&root, jobs),
        Some(Command::Schema) => commands::schema::run(),
        Some(Command::Manifest { check }) => commands::manifest::run(&root, check),
        Some(Command::Snapshots) => commands::snapshots::run(&root),
        Some(Command::RunCase { .. }) => EXIT_USAGE,
    }
}
