//! `cargo grade watch [STAGE…]`: re-grade on every save, rustlings-style.
//!
//! Each round grades the stages whose files changed with a plain `cargo grade … --format json`
//! (this same binary): the grader never contains the learner's code, so it is never rebuilt; that
//! run rebuilds only the case runner with the edited `solution.rs` (`crate::build`), and reports a
//! stage that does not compile as such while grading the others. Then it draws one calm screen: a
//! line per stage, then the next failing case with its hint. Files are polled (a few hundred stat calls
//! every 300 ms) rather than watched through OS notifications: no extra dependency, and it
//! behaves the same on every platform and file system.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::cli::{EXIT_FAIL, EXIT_PASS, Format, RunArgs, usage};
use crate::plan::parse_stages;
use crate::report::human::Style;
use crate::stage::Stage;

pub fn run(root: &Path, args: &RunArgs, once: bool) -> i32 {
    let watched = match parse_stages(&args.stages) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    // Watch draws a screen for people; reports for tools come from a plain `cargo grade`.
    if args.format != Format::Human {
        return usage(
            "`watch` draws a screen for people and has no --format; \
             use `cargo grade --format …` for a report",
        );
    }
    if !args.output.is_empty() {
        return usage(
            "`watch` writes no report files; use `cargo grade --output …` for one run's report",
        );
    }
    let style = Style {
        color: crate::commands::grade::use_color(args.color),
    };
    // Read now: should cargo replace the binary meanwhile, /proc/self/exe names the old file.
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return usage(&format!("cannot find the grader's own executable: {e}")),
    };
    let mut last: BTreeMap<Stage, Value> = BTreeMap::new();
    let mut to_run = watched.clone();
    let mut seen = scan(root, &args.extra);
    loop {
        let names: Vec<&str> = to_run.iter().map(|s| s.name()).collect();
        println!(
            "{}",
            style.dim(&format!("⟳ rebuilding and grading {}…", names.join(", ")))
        );
        let _ = std::io::stdout().flush();
        let screen = match grade_round(root, &exe, args, &to_run) {
            Round::DoesNotCompile(errors) => render_compile_error(&errors, style),
            Round::Graded(stages) => {
                let mut changes = String::new();
                for (stage, value) in stages {
                    if let Some(before) = last.get(&stage) {
                        changes.push_str(&render_changes(before, &value, style));
                    }
                    last.insert(stage, value);
                }
                render_screen(&watched, &last, style, args.verbose) + &changes
            }
            Round::Failed(message) => format!("The grader could not run: {message}\n"),
        };
        if std::io::stdout().is_terminal() && !once {
            print!("\x1b[2J\x1b[H");
        }
        print!("{screen}");
        if once {
            let green = watched.iter().all(|s| last.get(s).is_some_and(stage_green));
            return if green { EXIT_PASS } else { EXIT_FAIL };
        }
        println!("\nWatching for changes… (Ctrl-C to stop)");
        let _ = std::io::stdout().flush();
        let (now, changed) = wait_for_change(root, &args.extra, &seen);
        seen = now;
        to_run = stages_to_rerun(&changed, &watched);
    }
}

enum Round {
    Graded(Vec<(Stage, Value)>),
    DoesNotCompile(String),
    Failed(String),
}

/// Grades `stages` with a `cargo grade` run of this binary, which rebuilds the case runner.
fn grade_round(root: &Path, exe: &Path, args: &RunArgs, stages: &[Stage]) -> Round {
    let mut command = Command::new(exe);
    command.args(stages.iter().map(|s| s.name()));
    command.args(["--format", "json", "--no-progress"]);
    if let Some(r) = &args.reference {
        command.args(["--reference", r]);
    }
    if args.reference_deps {
        command.arg("--reference-deps");
    }
    if let Some(jobs) = args.jobs {
        command.args(["--jobs", &jobs.to_string()]);
    }
    for m in &args.mutant {
        command.args(["--mutant", m]);
    }
    if let Some(r) = &args.root {
        command.arg("--root").arg(r);
    }
    for dir in &args.extra {
        command.arg("--cases").arg(dir);
    }
    for f in &args.filter {
        command.args(["--filter", f]);
    }
    command.args(["--timeout", &args.timeout.to_string()]);
    command.args(["--memory-mb", &args.memory_mb.to_string()]);
    let out = match command.current_dir(root).output() {
        Ok(o) => o,
        Err(e) => return Round::Failed(e.to_string()),
    };
    let report: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            // The case runner does not build for a reason other than a solution.rs.
            return if stderr.contains("does not build") {
                Round::DoesNotCompile(stderr)
            } else {
                Round::Failed(stderr)
            };
        }
    };
    let stages = report["stages"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|s| Some((s["stage"].as_str()?.parse().ok()?, s.clone())))
                .collect()
        })
        .unwrap_or_default();
    Round::Graded(stages)
}

fn stage_green(stage: &Value) -> bool {
    stage["tracks_passed"] == stage["tracks_total"]
}

/// The first failing case of the first stage that has one.
fn next_failure(watched: &[Stage], last: &BTreeMap<Stage, Value>) -> Option<(Stage, Value)> {
    watched.iter().find_map(|s| {
        let tracks = last.get(s)?["tracks"].as_array()?;
        tracks.iter().find_map(|t| {
            let case = t["cases"]
                .as_array()?
                .iter()
                .find(|c| c["status"] != "pass")?;
            let mut case = case.clone();
            case["track"] = t["track"].clone();
            Some((*s, case))
        })
    })
}

/// One calm screen: a line per stage, then the next thing to fix.
pub fn render_screen(
    watched: &[Stage],
    last: &BTreeMap<Stage, Value>,
    style: Style,
    verbose: bool,
) -> String {
    let mut out = String::from("Mini-Dynamo · cargo grade watch\n\n");
    for stage in watched {
        let Some(s) = last.get(stage) else { continue };
        let cases: Vec<&Value> = s["tracks"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["cases"].as_array().into_iter().flatten())
            .collect();
        let passed = cases.iter().filter(|c| c["status"] == "pass").count();
        let mark = if stage_green(s) {
            style.green("✓")
        } else {
            style.red("✗")
        };
        let _ = writeln!(
            out,
            "  {mark} Stage {} {:<16} {}/{} tracks  {passed}/{} cases",
            stage.number(),
            stage.name(),
            s["tracks_passed"],
            s["tracks_total"],
            cases.len()
        );
    }
    out.push('\n');
    match next_failure(watched, last) {
        None => {
            let after = watched
                .iter()
                .max()
                .and_then(|last| crate::stages::known().find(|s| s > last));
            let message = match after {
                Some(next) => format!(
                    "Everything here passes. On to stage {} {next}: `cargo grade watch {next}`.",
                    next.number()
                ),
                None if watched.len() > 1 => {
                    "Every stage passes: you have built Dynamo.".to_string()
                }
                None => "Everything here passes, and this is the course's last stage.".to_string(),
            };
            let _ = writeln!(out, "{}", style.green(&message));
        }
        Some((stage, case)) => {
            let text = |k: &str| case[k].as_str().unwrap_or("").trim().to_string();
            let _ = writeln!(
                out,
                "Next: {} › {} › {}",
                stage,
                text("track"),
                style.bold(&text("name"))
            );
            let step = match case["step"].as_u64() {
                Some(n) => format!("step {n} ({})", text("label")),
                None => text("label"),
            };
            let trace = case["trace"]
                .as_array()
                .map(|lines| {
                    lines
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let what = if text("actual").is_empty() {
                text("message")
            } else {
                String::new()
            };
            for (label, value) in [
                ("where", step),
                ("expected", text("expected")),
                ("actual", text("actual")),
                ("what", what),
                ("hint", text("hint")),
                ("messages", if verbose { trace } else { String::new() }),
                ("case", text("file")),
            ] {
                if value.is_empty() {
                    continue;
                }
                let mut lines = value.lines();
                // Pad the label before styling it: escape codes have no width on screen.
                let _ = writeln!(
                    out,
                    "  {}{}",
                    style.dim(&format!("{label:<10}")),
                    lines.next().unwrap_or("")
                );
                for line in lines {
                    let _ = writeln!(out, "            {line}");
                }
            }
        }
    }
    out
}

fn statuses(stage: &Value) -> BTreeMap<String, bool> {
    stage["tracks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["cases"].as_array().into_iter().flatten())
        .filter_map(|c| Some((c["name"].as_str()?.to_string(), c["status"] == "pass")))
        .collect()
}

/// What this save changed: cases that newly pass, and cases that newly fail.
pub fn render_changes(before: &Value, after: &Value, style: Style) -> String {
    let (was, now) = (statuses(before), statuses(after));
    let flipped = |to: bool| -> Vec<&str> {
        now.iter()
            .filter(|(name, pass)| **pass == to && was.get(*name).is_some_and(|w| *w != to))
            .map(|(name, _)| name.as_str())
            .collect()
    };
    let mut out = String::new();
    let (up, down) = (flipped(true), flipped(false));
    if !up.is_empty() {
        let _ = writeln!(
            out,
            "\n{} newly passing: {}",
            style.green("▲"),
            up.join(", ")
        );
    }
    if !down.is_empty() {
        let _ = writeln!(
            out,
            "\n{} newly failing: {}",
            style.red("▼"),
            down.join(", ")
        );
    }
    out
}

/// The compiler's first error, not a wall of them.
fn render_compile_error(stderr: &str, style: Style) -> String {
    let mut out = format!("{}\n\n", style.red("Your code does not compile yet."));
    let first: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("error"))
        .take_while(|l| !l.is_empty())
        .take(20)
        .collect();
    out.push_str(&first.join("\n"));
    out.push('\n');
    out
}

type Seen = BTreeMap<PathBuf, SystemTime>;

/// Modification times of everything a learner or instructor edits.
fn scan(root: &Path, extra: &[PathBuf]) -> Seen {
    let mut seen = Seen::new();
    let mut dirs = vec![root.join("stages"), root.join("tests/cases")];
    dirs.extend(extra.iter().cloned());
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                seen.insert(path, modified);
            }
        }
    }
    seen
}

fn wait_for_change(root: &Path, extra: &[PathBuf], before: &Seen) -> (Seen, Vec<PathBuf>) {
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = scan(root, extra);
        if now != *before {
            // Editors often write in several steps; let them finish.
            std::thread::sleep(Duration::from_millis(150));
            let now = scan(root, extra);
            let mut changed: Vec<PathBuf> = now
                .iter()
                .filter(|(p, t)| before.get(*p) != Some(*t))
                .map(|(p, _)| p.clone())
                .collect();
            changed.extend(before.keys().filter(|p| !now.contains_key(*p)).cloned());
            let changed = changed
                .into_iter()
                .map(|p| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p))
                .collect();
            return (now, changed);
        }
    }
}

/// The stages to grade again after `changed` files (paths relative to the course root): a
/// stage's own folder or cases re-run that stage; anything else (the shared crate, extra case
/// folders) re-runs every watched stage.
pub fn stages_to_rerun(changed: &[PathBuf], watched: &[Stage]) -> Vec<Stage> {
    let mut stages = Vec::new();
    for path in changed {
        let parts: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let folder = match parts.as_slice() {
            [a, folder, ..] if a == "stages" => Some(folder.as_str()),
            [a, b, folder, ..] if a == "tests" && b == "cases" => Some(folder.as_str()),
            _ => None,
        };
        match folder.and_then(|f| Stage::ALL.into_iter().find(|s| s.dir() == f)) {
            Some(stage) if watched.contains(&stage) => stages.push(stage),
            Some(_) => {}
            None => return watched.to_vec(),
        }
    }
    stages.sort();
    stages.dedup();
    if stages.is_empty() {
        watched.to_vec()
    } else {
        stages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_what_flipped() {
        let run = |a: &str, b: &str| {
            serde_json::json!({"tracks": [{"cases": [
                {"name": "one", "status": a}, {"name": "two", "status": b}
            ]}]})
        };
        let text = render_changes(
            &run("fail", "pass"),
            &run("pass", "fail"),
            Style { color: false },
        );
        assert!(text.contains("▲ newly passing: one"), "{text}");
        assert!(text.contains("▼ newly failing: two"), "{text}");
        assert_eq!(
            render_changes(
                &run("pass", "pass"),
                &run("pass", "pass"),
                Style { color: false }
            ),
            ""
        );
    }

    #[test]
    fn a_change_reruns_its_own_stage() {
        let all = [Stage::HashRing, Stage::Quorum];
        let p = |s: &str| vec![PathBuf::from(s)];
        assert_eq!(
            stages_to_rerun(&p("stages/02-quorum/src/solution.rs"), &all),
            vec![Stage::Quorum]
        );
        assert_eq!(
            stages_to_rerun(&p("tests/cases/01-hash-ring/x.yaml"), &all),
            vec![Stage::HashRing]
        );
        assert_eq!(
            stages_to_rerun(&p("stages/common/src/lib.rs"), &all),
            all.to_vec()
        );
    }

    #[test]
    fn the_screen_shows_the_next_failure_and_its_hint() {
        let stage: Value = serde_json::json!({
            "stage": "hash-ring", "tracks_passed": 1, "tracks_total": 4,
            "tracks": [
                {"track": "ring-placement", "cases": [{"name": "a", "status": "pass"}]},
                {"track": "virtual-nodes", "cases": [{
                    "name": "tokens-per-node", "status": "fail", "step": 2, "label": "tokens",
                    "expected": "a list of length 24", "actual": "length 8",
                    "hint": "Every node gets vnodes tokens.", "file": "tests/cases/x.yaml"
                }]}
            ]
        });
        let last = BTreeMap::from([(Stage::HashRing, stage)]);
        let screen = render_screen(&[Stage::HashRing], &last, Style { color: false }, false);
        assert!(screen.contains("✗ Stage 1 hash-ring"), "{screen}");
        assert!(screen.contains("1/4 tracks  1/2 cases"), "{screen}");
        assert!(
            screen.contains("Next: hash-ring › virtual-nodes › tokens-per-node"),
            "{screen}"
        );
        assert!(
            screen.contains("hint      Every node gets vnodes tokens."),
            "{screen}"
        );
    }
}
