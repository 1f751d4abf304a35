//! The report a learner reads after `cargo grade`: per stage, tracks passed; per track, cases
//! passed; the first failure of each red track explained (step, expected, actual, hint).
//! `--verbose` explains every failure and adds each case's description.

use std::fmt::Write;

use super::{CaseReport, Report, StageReport};
use crate::implementation::Implementation;
use crate::outcome::Status;

/// ANSI styling, or none.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn red(self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
}

pub fn render(report: &Report, style: Style, verbose: bool) -> String {
    let mut out = String::new();
    if let Some(warning) = report.integrity.warning() {
        let mut lines = warning.lines();
        let first = lines.next().unwrap_or_default();
        let _ = writeln!(out, "{}", style.red(&format!("⚠ {first}")));
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    for stage in &report.stages {
        let broken = report.compile_error(stage);
        render_stage(
            &mut out,
            &served_by(report, stage),
            stage,
            broken,
            style,
            verbose,
        );
        out.push('\n');
    }
    let total = report.cases().count();
    let passed = report
        .cases()
        .filter(|c| c.outcome.status == Status::Pass)
        .count();
    let tracks: usize = report.stages.iter().map(StageReport::tracks_run).sum();
    let green: usize = report.stages.iter().map(StageReport::tracks_passed).sum();
    let line = format!(
        "{passed}/{total} cases passed · {green}/{tracks} tracks · {:.2} s",
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "{}",
        if passed == total {
            style.green(&line)
        } else {
            style.bold(&line)
        }
    );
    if let Some((stage, case)) = report.stages.iter().find_map(|s| {
        s.cases()
            .find(|c| c.outcome.status != Status::Pass)
            .map(|c| (s, c))
    }) {
        let mut rerun = vec![stage.stage.name().to_string()];
        rerun.extend(report.rerun.iter().cloned());
        let _ = writeln!(
            out,
            "Next: {} › {} › {}. Rerun with `cargo grade {}`.",
            stage.stage,
            case.meta.track,
            case.meta.name,
            rerun.join(" ")
        );
    }
    out
}

/// Who serves `stage`, and which stages beneath it come from someone else: `your solution
/// (stages/02-quorum/src/solution.rs), on the reference's hash-ring`.
fn served_by(report: &Report, stage: &StageReport) -> String {
    let mut who = match &stage.implementation {
        Implementation::Learner => format!(
            "your solution (stages/{}/src/solution.rs)",
            stage.stage.dir()
        ),
        Implementation::Reference => "the reference implementation".to_string(),
        Implementation::Mutant(name) => format!("mutant `{name}`"),
    };
    let mut beneath: Vec<(String, Vec<&str>)> = Vec::new();
    let mut stood_in = Vec::new();
    for earlier in crate::stage::Stage::ALL
        .into_iter()
        .filter(|s| *s < stage.stage)
    {
        let implementation = report.served(earlier);
        if implementation != report.selection.get(earlier) && stage.stage.uses().contains(&earlier)
        {
            stood_in.push(earlier.name());
        }
        if implementation == stage.implementation {
            continue;
        }
        let whose = match implementation {
            Implementation::Learner => "your".to_string(),
            Implementation::Reference => "the reference's".to_string(),
            Implementation::Mutant(name) => format!("mutant `{name}`'s"),
        };
        match beneath.iter_mut().find(|(w, _)| *w == whose) {
            Some((_, stages)) => stages.push(earlier.name()),
            None => beneath.push((whose, vec![earlier.name()])),
        }
    }
    let parts: Vec<String> = beneath
        .into_iter()
        .map(|(whose, stages)| format!("{whose} {}", stages.join(", ")))
        .collect();
    if !parts.is_empty() {
        let _ = write!(who, ", on {}", parts.join(" and "));
    }
    if !stood_in.is_empty() {
        let _ = write!(
            who,
            " (the reference stands in for your {}: {} not compile)",
            stood_in.join(", "),
            if stood_in.len() == 1 {
                "it does"
            } else {
                "they do"
            }
        );
    }
    who
}

/// A learner stage that does not compile: the compiler's first error, once for the stage (its
/// tracks above show no case run).
fn render_compile_error(
    out: &mut String,
    stage: &StageReport,
    error: &crate::build::CompileError,
    style: Style,
) {
    let _ = writeln!(
        out,
        "  {} stages/{}/src/solution.rs does not compile; the compiler's first error:",
        style.red("✗"),
        stage.stage.dir()
    );
    for line in escape_controls(&error.rendered).lines() {
        let _ = writeln!(out, "      {line}");
    }
    let _ = writeln!(
        out,
        "      {} cargo build -p {}-solution lists every error; the other stages were graded.",
        style.dim("hint"),
        stage.stage.name()
    );
}

fn render_stage(
    out: &mut String,
    who: &str,
    stage: &StageReport,
    broken: Option<&crate::build::CompileError>,
    style: Style,
    verbose: bool,
) {
    let _ = writeln!(
        out,
        "{} · {} · {}/{} tracks",
        style.bold(&format!("Stage {} {}", stage.stage.number(), stage.stage)),
        who,
        stage.tracks_passed(),
        stage.tracks_run()
    );
    if let Some(error) = broken {
        render_compile_error(out, stage, error, style);
    }
    let width = stage
        .tracks
        .iter()
        .map(|t| t.track.len())
        .max()
        .unwrap_or(0);
    for track in &stage.tracks {
        let mark = if track.cases.is_empty() {
            style.dim("·")
        } else if track.is_green() {
            style.green("✓")
        } else {
            style.red("✗")
        };
        let counts = if track.cases.is_empty() {
            style.dim("no case selected")
        } else {
            format!("{}/{} cases", track.passed(), track.cases.len())
        };
        let _ = writeln!(out, "  {mark} {:width$}  {counts}", track.track);
        let failing: Vec<&CaseReport> = track
            .cases
            .iter()
            .filter(|c| !matches!(c.outcome.status, Status::Pass | Status::DoesNotCompile))
            .collect();
        let shown = if verbose { failing.len() } else { 1 };
        for case in failing.iter().take(shown) {
            render_failure(out, case, style, verbose);
        }
        if failing.len() > shown {
            let rest: Vec<&str> = failing[shown..]
                .iter()
                .map(|c| c.meta.name.as_str())
                .collect();
            let _ = writeln!(
                out,
                "      {} {}",
                style.dim("also failing:"),
                rest.join(", ")
            );
        }
    }
}

fn render_failure(out: &mut String, case: &CaseReport, style: Style, verbose: bool) {
    let o = &case.outcome;
    let _ = writeln!(
        out,
        "      {} {}  {}",
        style.red(o.status.as_str()),
        style.bold(&case.meta.name),
        style.dim(&case.meta.file.display().to_string())
    );
    if verbose && let Some(d) = &case.meta.description {
        field(out, "about", d.trim(), style);
    }
    field(out, "where", &o.place(), style);
    match (&o.expected, &o.actual) {
        (Some(e), Some(a)) => {
            field(out, "expected", e, style);
            field(out, "actual", a, style);
        }
        _ => field(out, "what", &o.message, style),
    }
    if let Some(hint) = case.hint() {
        field(out, "hint", hint.trim(), style);
    }
    if verbose && !o.trace.is_empty() {
        field(out, "messages", &o.trace.join("\n"), style);
    }
}

/// `        label     first line` with later lines aligned under the first.
fn field(out: &mut String, label: &str, text: &str, style: Style) {
    let pad = " ".repeat(8 + 10);
    let text = escape_controls(text);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let _ = writeln!(out, "        {}{first}", style.dim(&format!("{label:<10}")));
    for line in lines {
        let _ = writeln!(out, "{pad}{line}");
    }
}

/// Control characters (ANSI escapes included) shown as `\u{1b}`, so what the code under test
/// printed can never drive the terminal; newlines and tabs stay.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}
