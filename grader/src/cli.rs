//! The command line: `cargo grade [STAGE…] [--reference LIST|all] [--format human|json] …`,
//! `cargo grade validate PATH…`, and the hidden commands the grader uses on itself.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::case::{CaseMeta, Course, discover};
use crate::diag::Diagnostic;
use crate::implementation::{Implementation, Selection};
use crate::report::{self, Report};
use crate::runner::{self, Launcher, Limits};
use crate::snapshot::Snapshots;
use crate::stage::Stage;
use crate::{child, mutants, stages};

/// Exit codes: every selected case passed; some case did not; the command or a case file is wrong.
pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Parser)]
#[command(
    name = "cargo grade",
    about = "Grade your Mini-Dynamo stages against the course's cases.",
    after_help = "Examples:\n  cargo grade                        every stage, your code\n  \
                  cargo grade hash-ring              one stage (or: cargo grade 1)\n  \
                  cargo grade --reference all        the reference, everywhere\n  \
                  cargo grade validate tests/cases   check case files without running them",
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
    /// Check case files (or folders of them) without running them.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run one case in this process and print its outcome (used by the grader on itself).
    #[command(name = "__run-case", hide = true)]
    RunCase {
        file: PathBuf,
        #[arg(long)]
        select: String,
        #[arg(long)]
        memory_mb: u64,
        #[arg(long)]
        root: PathBuf,
    },
    /// Run every case on the reference and print the snapshots it produces, as JSON.
    #[command(name = "__snapshots", hide = true)]
    Snapshots,
}

#[derive(Args)]
struct RunArgs {
    /// Stages to grade, by name or number (hash-ring or 1, …); all stages by default.
    stages: Vec<String>,
    /// Use the reference for these stages: a comma-separated list, or `all`.
    #[arg(long, value_name = "STAGES")]
    reference: Option<String>,
    /// Only run cases whose name contains this text (repeatable).
    #[arg(long = "case", value_name = "NAME")]
    cases: Vec<String>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Also write a report to a file: FORMAT=FILE (e.g. junit=report.xml), or FILE for the
    /// --format one. Repeatable, so one run can feed CI and a gradebook at once.
    #[arg(long, value_name = "[FORMAT=]FILE")]
    output: Vec<String>,
    /// Explain every failing case, not only the first of each track.
    #[arg(short, long)]
    verbose: bool,
    /// Wall-clock seconds a case may run before it is stopped.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    timeout: f64,
    /// Memory a case may use, in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    memory_mb: u64,
    /// Cases run at once (default: the number of cores).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Serve a stage with a deliberately faulty implementation: STAGE=NAME (grader tests).
    #[arg(long, hide = true, value_name = "STAGE=NAME")]
    mutant: Vec<String>,
    /// Read cases and snapshots from another course folder (grader tests).
    #[arg(long, hide = true, value_name = "DIR")]
    root: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
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
}

impl Format {
    fn render(self, report: &Report, color: bool, verbose: bool) -> String {
        match self {
            Format::Human => report::human::render(report, report::human::Style { color }, verbose),
            Format::Json => report::json::render(report) + "\n",
            Format::Junit => report::junit::render(report),
            Format::Gradescope => report::gradescope::render(report) + "\n",
            Format::Exercism => report::exercism::render(report) + "\n",
        }
    }
}

/// Parses `--output`: `FORMAT=FILE`, or `FILE` for the `--format` one.
fn output_spec(spec: &str, default: Format) -> Result<(Format, PathBuf), String> {
    match spec.split_once('=') {
        Some((format, file)) => {
            let format = Format::from_str(format, true).map_err(|_| {
                format!(
                    "--output: unknown format `{format}` (human, json, junit, gradescope, exercism)"
                )
            })?;
            Ok((format, PathBuf::from(file)))
        }
        None => Ok((default, PathBuf::from(spec))),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// The course root: where `tests/cases` lives. The grader is built from it.
fn course_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
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
    let root = course_root();
    match cli.command {
        Some(Command::Validate { paths }) => validate(&root, &paths),
        Some(Command::RunCase {
            file,
            select,
            memory_mb,
            root,
        }) => match Selection::from_arg(&select) {
            Ok(selection) => child::run(
                &Course {
                    root,
                    recording: false,
                },
                &file,
                &selection,
                memory_mb,
            ),
            Err(e) => usage(&e),
        },
        Some(Command::Snapshots) => record_snapshots(&root),
        None => grade(&root, cli.run),
    }
}

fn usage(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}\n");
    }
    eprintln!(
        "{} problem{} in case files; nothing was graded.",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    );
}

/// Loads every case file of `paths`; all problems are collected before giving up.
fn load_all(course: &Course, paths: &[PathBuf]) -> Result<Vec<CaseMeta>, Vec<Diagnostic>> {
    let mut metas = Vec::new();
    let mut diags = Vec::new();
    for path in paths {
        let files = match discover(path) {
            Ok(files) => files,
            Err(e) => {
                diags.push(Diagnostic::whole_file(
                    &course.display_path(path),
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        for file in files {
            match course.load(&file) {
                Ok(case) => metas.push(case.meta().clone()),
                Err(mut d) => diags.append(&mut d),
            }
        }
    }
    let mut seen: std::collections::BTreeMap<(Stage, &str), &CaseMeta> = Default::default();
    for meta in &metas {
        if let Some(first) = seen.insert((meta.stage, meta.name.as_str()), meta) {
            diags.push(Diagnostic::whole_file(
                &meta.file,
                format!(
                    "case name `{}` is already used by {} (names are unique within a stage)",
                    meta.name,
                    first.file.display()
                ),
            ));
        }
    }
    if diags.is_empty() {
        Ok(metas)
    } else {
        Err(diags)
    }
}

fn validate(root: &std::path::Path, paths: &[PathBuf]) -> i32 {
    let course = Course {
        root: root.to_path_buf(),
        recording: false,
    };
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    match load_all(&course, &paths) {
        Ok(metas) => {
            println!(
                "ok: {} case file{} valid",
                metas.len(),
                if metas.len() == 1 { "" } else { "s" }
            );
            EXIT_PASS
        }
        Err(diags) => {
            print_diagnostics(&diags);
            EXIT_USAGE
        }
    }
}

fn grade(root: &std::path::Path, args: RunArgs) -> i32 {
    let course = Course {
        root: args.root.clone().unwrap_or_else(|| root.to_path_buf()),
        recording: false,
    };
    let mut wanted = Vec::new();
    for s in &args.stages {
        match s.parse::<Stage>() {
            Ok(stage) => wanted.push(stage),
            Err(e) => return usage(&e),
        }
    }
    let known: Vec<Stage> = stages::known().collect();
    if let Some(missing) = wanted.iter().find(|s| !known.contains(s)) {
        return usage(&format!(
            "stage `{missing}` is not part of the course yet; available: {}",
            known
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if wanted.is_empty() {
        wanted = known;
    }
    wanted.sort();
    wanted.dedup();

    let mut selection = Selection::default();
    if let Some(list) = &args.reference {
        selection = match selection.with_reference_list(list) {
            Ok(s) => s,
            Err(e) => return usage(&format!("--reference: {e}")),
        };
    }
    for m in &args.mutant {
        let Some((stage, name)) = m.split_once('=') else {
            return usage(&format!("--mutant expects STAGE=NAME, got `{m}`"));
        };
        let stage: Stage = match stage.parse() {
            Ok(s) => s,
            Err(e) => return usage(&e),
        };
        if !mutants::list(stage).iter().any(|(n, _, _)| *n == name) {
            return usage(&format!("stage {stage} has no mutant `{name}`"));
        }
        selection.set(stage, Implementation::Mutant(name.to_string()));
    }
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return usage("--timeout must be a positive number of seconds");
    }
    let mut outputs = Vec::new();
    for spec in &args.output {
        match output_spec(spec, args.format) {
            Ok(o) => outputs.push(o),
            Err(e) => return usage(&e),
        }
    }

    let started = Instant::now();
    let metas = match load_all(&course, &[course.cases_dir()]) {
        Ok(metas) => metas,
        Err(diags) => {
            print_diagnostics(&diags);
            return EXIT_USAGE;
        }
    };
    let metas: Vec<CaseMeta> = metas
        .into_iter()
        .filter(|m| wanted.contains(&m.stage))
        .filter(|m| args.cases.is_empty() || args.cases.iter().any(|c| m.name.contains(c.as_str())))
        .collect();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return usage(&format!("cannot find the grader's own executable: {e}")),
    };
    let launcher = Launcher {
        exe,
        root: course.root.clone(),
        selection: selection.clone(),
        limits: Limits {
            timeout: Duration::from_secs_f64(args.timeout),
            memory_mb: args.memory_mb,
            output_bytes: 1 << 20,
        },
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let ran = runner::run_all(&metas, &launcher, jobs);
    let report = Report::build(&wanted, metas, ran, &selection, started.elapsed());
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    print!("{}", args.format.render(&report, color, args.verbose));
    for (format, file) in outputs {
        let text = format.render(&report, false, args.verbose);
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = std::fs::write(&file, text) {
            eprintln!("error: cannot write {}: {e}", file.display());
            return EXIT_USAGE;
        }
    }
    if report.all_passed() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// Prints `[{"stage_dir", "name", "file", "text"}]` for every snapshot step, run on the reference.
fn record_snapshots(root: &std::path::Path) -> i32 {
    let course = Course {
        root: root.to_path_buf(),
        recording: true,
    };
    let files = match discover(&course.cases_dir()) {
        Ok(f) => f,
        Err(e) => return usage(&format!("cannot read tests/cases: {e}")),
    };
    let selection = match Selection::default().with_reference_list("all") {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for file in files {
        let case = match course.load(&file) {
            Ok(c) => c,
            Err(mut d) => {
                diags.append(&mut d);
                continue;
            }
        };
        let mut snapshots = Snapshots::Record {
            recorded: Vec::new(),
        };
        if let Err(f) = case.run(&selection, &mut snapshots, &mut |_, _, _| {}) {
            eprintln!(
                "error: the reference fails {} at {}: expected {}, got {}",
                case.meta().file.display(),
                f.label,
                f.mismatch.expected,
                f.mismatch.actual
            );
            return EXIT_FAIL;
        }
        if let Snapshots::Record { recorded } = snapshots {
            for (name, text) in recorded {
                out.push(serde_json::json!({
                    "stage_dir": case.meta().stage.dir(),
                    "name": name,
                    "file": case.meta().file.to_string_lossy(),
                    "text": text,
                }));
            }
        }
    }
    if !diags.is_empty() {
        print_diagnostics(&diags);
        return EXIT_USAGE;
    }
    println!("{}", serde_json::Value::Array(out));
    EXIT_PASS
}
