//! `cargo grade [STAGE…]`: run the cases, print the report, write any `--output` files, tell the
//! learner what changed since the last run and whether official files were edited.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{Color, EXIT_FAIL, EXIT_INTEGRITY, EXIT_PASS, EXIT_USAGE, Format, RunArgs, usage};
use crate::implementation::Implementation;
use crate::integrity;
use crate::plan::Plan;
use crate::progress;
use crate::report::{self, Report};

impl Format {
    pub fn render(self, report: &Report, color: bool, verbose: bool) -> String {
        match self {
            Format::Human => report::human::render(report, report::human::Style { color }, verbose),
            Format::Json => report::json::render(report) + "\n",
            Format::Junit => report::junit::render(report),
            Format::Gradescope => report::gradescope::render(report) + "\n",
            Format::Exercism => report::exercism::render(report) + "\n",
            Format::Html => report::html::render(report),
        }
    }
}

/// Parses `--output`: `FORMAT=FILE`, or `FILE` for the `--format` one.
fn output_spec(spec: &str, default: Format) -> Result<(Format, PathBuf), String> {
    use clap::ValueEnum;
    match spec.split_once('=') {
        Some((format, file)) => {
            let format = Format::from_str(format, true).map_err(|_| {
                format!(
                    "--output: unknown format `{format}` (human, json, junit, gradescope, exercism, html)"
                )
            })?;
            Ok((format, PathBuf::from(file)))
        }
        None => Ok((default, PathBuf::from(spec))),
    }
}

pub fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The options a learner used that choose what runs and against whom, to repeat in "Rerun
/// with …" so following that advice grades the same way.
pub fn rerun_flags(args: &RunArgs) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(list) = &args.reference {
        flags.extend(["--reference".to_string(), shell_word(list)]);
    }
    if args.reference_deps {
        flags.push("--reference-deps".into());
    }
    for dir in &args.extra {
        flags.extend([
            "--cases".to_string(),
            shell_word(&dir.display().to_string()),
        ]);
    }
    for filter in &args.filter {
        flags.extend(["--filter".to_string(), shell_word(filter)]);
    }
    flags
}

/// `word` as a shell reads it back: bare when it is plain, single-quoted otherwise.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,=:@+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Opens every `--output` file for writing before anything runs, so a path that cannot be
/// written is refused at once rather than after the whole run.
fn check_outputs(outputs: &[(Format, PathBuf)]) -> Result<(), String> {
    for (_, file) in outputs {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return Err(format!("--output: cannot create {}: {e}", dir.display()));
        }
        if file.is_dir() {
            return Err(format!(
                "--output: {} is a folder, not a file",
                file.display()
            ));
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .map_err(|e| format!("--output: cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}

/// Runs a plan and builds its report, with the integrity check attached.
pub fn execute(plan: &Plan) -> Report {
    let started = Instant::now();
    let ran = plan.run();
    let mut report = Report::build(
        &plan.stages,
        plan.cases.clone(),
        ran,
        &plan.selection,
        started.elapsed(),
    );
    report.integrity = integrity::check(&plan.course.root);
    report.broken = plan.broken.clone();
    report
}

pub fn run(root: &Path, args: &RunArgs) -> i32 {
    let mut outputs = Vec::new();
    for spec in &args.output {
        match output_spec(spec, args.format) {
            Ok(o) => outputs.push(o),
            Err(e) => return usage(&e),
        }
    }
    let plan = match Plan::from_args(root, args) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    if let Err(e) = check_outputs(&outputs) {
        return usage(&e);
    }
    let mut report = execute(&plan);
    report.rerun = rerun_flags(args);
    let color = use_color(args.color);
    print!("{}", args.format.render(&report, color, args.verbose));
    // Mutant runs are the grader's own business; they must not disturb a learner's progress.
    let tracked = !plan
        .stages
        .iter()
        .any(|s| matches!(plan.selection.get(*s), Implementation::Mutant(_)));
    if args.format == Format::Human && !args.no_progress && tracked {
        let file = progress::file(&plan.course.root);
        let change = progress::update(&file, &report);
        print!(
            "{}",
            progress::render(&change, report::human::Style { color })
        );
    }
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
    if !report.integrity.ok && !args.allow_modified {
        eprintln!(
            "error: official case files differ from {} (see the report); exit code {EXIT_INTEGRITY}. \
             Restore them (git checkout tests/), or pass --allow-modified while editing cases.",
            integrity::MANIFEST
        );
        EXIT_INTEGRITY
    } else if report.all_passed() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}
