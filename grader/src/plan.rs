//! Turning a command line into a run: which cases, which implementations, which limits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::build::{self, CompileError};
use crate::case::{CaseMeta, Course};
use crate::cli::{RunArgs, usage};
use crate::diag;
use crate::implementation::{Implementation, Selection};
use crate::mutants;
use crate::outcome::{CaseOutcome, Status};
use crate::runner::{self, Launcher, Limits, Ran};
use crate::stage::Stage;
use crate::stages;

/// Everything a run needs, resolved and checked.
pub struct Plan {
    pub course: Course,
    pub stages: Vec<Stage>,
    pub selection: Selection,
    pub cases: Vec<CaseMeta>,
    pub launcher: Launcher,
    pub jobs: usize,
    /// Learner stages this run reaches whose `solution.rs` does not compile: their own cases are
    /// reported as such, and the launcher serves them from the reference to the stages that use
    /// them (`crate::build`).
    pub broken: BTreeMap<Stage, CompileError>,
}

/// The stages named on the command line (all known stages when none), in course order.
pub fn parse_stages(names: &[String]) -> Result<Vec<Stage>, String> {
    let known: Vec<Stage> = stages::known().collect();
    let mut wanted = Vec::new();
    for name in names {
        let stage: Stage = name.parse()?;
        if !known.contains(&stage) {
            return Err(format!(
                "stage `{stage}` is not part of the course yet; available: {}",
                known
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        wanted.push(stage);
    }
    if wanted.is_empty() {
        wanted = known;
    }
    wanted.sort();
    wanted.dedup();
    Ok(wanted)
}

/// `--reference` and `--mutant` into a selection.
pub fn parse_selection(reference: Option<&str>, mutant: &[String]) -> Result<Selection, String> {
    let mut selection = Selection::default();
    if let Some(list) = reference {
        selection = selection
            .with_reference_list(list)
            .map_err(|e| format!("--reference: {e}"))?;
    }
    for m in mutant {
        let (stage, name) = m
            .split_once('=')
            .ok_or_else(|| format!("--mutant expects STAGE=NAME, got `{m}`"))?;
        let stage: Stage = stage.parse()?;
        if !mutants::list(stage).iter().any(|(n, _, _)| *n == name) {
            return Err(format!("stage {stage} has no mutant `{name}`"));
        }
        selection.set(stage, Implementation::Mutant(name.to_string()));
    }
    Ok(selection)
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

impl Plan {
    /// Resolves `args`; on error, prints it and returns the exit code to use.
    pub fn from_args(root: &Path, args: &RunArgs) -> Result<Plan, i32> {
        let course = Course {
            root: args.root.clone().unwrap_or_else(|| root.to_path_buf()),
            recording: false,
        };
        let stages = parse_stages(&args.stages).map_err(|e| usage(&e))?;
        let mut selection =
            parse_selection(args.reference.as_deref(), &args.mutant).map_err(|e| usage(&e))?;
        if args.reference_deps {
            for stage in Stage::ALL.into_iter().filter(|s| !stages.contains(s)) {
                selection.set(stage, Implementation::Reference);
            }
        }
        if !(args.timeout > 0.0 && args.timeout.is_finite()) {
            return Err(usage("--timeout must be a positive number of seconds"));
        }
        if args.memory_mb == 0 {
            return Err(usage("--memory-mb must be at least 1 (MiB)"));
        }
        if args.jobs == Some(0) {
            return Err(usage("--jobs must be at least 1"));
        }
        let mut dirs = vec![course.cases_dir()];
        for dir in &args.extra {
            if !dir.exists() {
                return Err(usage(&format!("--cases: {} does not exist", dir.display())));
            }
            dirs.push(std::path::absolute(dir).unwrap_or_else(|_| dir.clone()));
        }
        let cases = course.load_all(&dirs).map_err(|diags| {
            diag::print_all(&diags);
            crate::cli::EXIT_USAGE
        })?;
        let cases: Vec<CaseMeta> = cases
            .into_iter()
            .filter(|m| stages.contains(&m.stage))
            .filter(|m| {
                args.filter.is_empty() || args.filter.iter().any(|f| m.name.contains(f.as_str()))
            })
            .collect();
        if cases.is_empty() && !args.filter.is_empty() {
            let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
            return Err(usage(&format!(
                "--filter {} matches no case of {}; `cargo grade list` shows every case's name",
                args.filter.join(", "),
                names.join(", ")
            )));
        }
        // The case runner is built from the course the grader belongs to (`--root` only moves
        // the cases and snapshots, for the grader's tests).
        let (exe, broken) = case_runner(root, &stages, &selection)?;
        let seeds = crate::stages::store::Seeds::from_args(args.seeds, args.seed);
        let launcher = Launcher {
            exe,
            root: course.root.clone(),
            selection: served(&selection, &broken),
            limits: Limits {
                // Each case process gets more per seed it runs (`runner::deadline`).
                timeout: Duration::from_secs_f64(args.timeout),
                memory_mb: args.memory_mb,
                output_bytes: 1 << 20,
            },
            options: crate::stages::RunOptions { seeds },
        };
        Ok(Plan {
            course,
            stages,
            selection,
            cases,
            launcher,
            jobs: args.jobs.unwrap_or_else(default_jobs),
            broken,
        })
    }

    /// Runs every case, in order; a case of a stage whose `solution.rs` does not compile is not
    /// run but reported with the compiler's first error.
    pub fn run(&self) -> Vec<Ran> {
        let unbuilt = |m: &CaseMeta| {
            self.broken
                .get(&m.stage)
                .filter(|_| self.selection.get(m.stage) == Implementation::Learner)
        };
        let runnable: Vec<CaseMeta> = self
            .cases
            .iter()
            .filter(|m| unbuilt(m).is_none())
            .cloned()
            .collect();
        let mut ran = runner::run_all(&runnable, &self.launcher, self.jobs).into_iter();
        self.cases
            .iter()
            .map(|m| match unbuilt(m) {
                Some(error) => Ran {
                    outcome: does_not_compile(m.stage, error),
                    duration: Duration::ZERO,
                },
                None => ran.next().unwrap_or_else(|| Ran {
                    outcome: CaseOutcome {
                        status: Status::Crash,
                        message: "the grader lost this case's result".into(),
                        ..CaseOutcome::pass()
                    },
                    duration: Duration::ZERO,
                }),
            })
            .collect()
    }

    /// The same plan with another selection (self-check runs one plan per implementation).
    pub fn with_selection(&self, selection: Selection) -> Plan {
        let mut launcher = self.launcher.clone();
        launcher.selection = served(&selection, &self.broken);
        Plan {
            course: self.course.clone(),
            stages: self.stages.clone(),
            selection,
            cases: self.cases.clone(),
            launcher,
            jobs: self.jobs,
            broken: self.broken.clone(),
        }
    }
}

/// The learner stages a run executes: each graded stage the learner serves, and each stage it
/// uses ([`Stage::uses`]) that the learner serves.
pub fn learner_stages(stages: &[Stage], selection: &Selection) -> BTreeSet<Stage> {
    stages
        .iter()
        .flat_map(|s| std::iter::once(*s).chain(s.uses().iter().copied()))
        .filter(|s| selection.get(*s) == Implementation::Learner)
        .collect()
}

/// The executable to run cases with, and the reached learner stages that do not compile. A run
/// that executes no learner code uses the grader itself; any other builds the case runner with
/// the learner's stages (`crate::build`). On error, prints it and returns the exit code.
pub fn case_runner(
    root: &Path,
    stages: &[Stage],
    selection: &Selection,
) -> Result<(PathBuf, BTreeMap<Stage, CompileError>), i32> {
    let reached = learner_stages(stages, selection);
    if reached.is_empty() {
        let exe = std::env::current_exe()
            .map_err(|e| usage(&format!("cannot find the grader's own executable: {e}")))?;
        return Ok((exe, BTreeMap::new()));
    }
    let runner = build::case_runner(root).map_err(|e| {
        eprintln!("error: {e}");
        crate::cli::EXIT_USAGE
    })?;
    let broken = runner
        .broken
        .into_iter()
        .filter(|(s, _)| reached.contains(s))
        .collect();
    Ok((runner.exe, broken))
}

/// What the case processes are told: `selection`, with the reference serving each stage whose
/// `solution.rs` does not compile.
pub fn served(selection: &Selection, broken: &BTreeMap<Stage, CompileError>) -> Selection {
    let mut served = selection.clone();
    for stage in broken.keys() {
        if selection.get(*stage) == Implementation::Learner {
            served.set(*stage, Implementation::Reference);
        }
    }
    served
}

/// The outcome of a case whose own stage does not compile.
fn does_not_compile(stage: Stage, error: &CompileError) -> CaseOutcome {
    CaseOutcome {
        status: Status::DoesNotCompile,
        label: Some("compile".into()),
        actual: Some(error.rendered.clone()),
        message: format!(
            "stages/{}/src/solution.rs does not compile; the compiler's first error: {error}",
            stage.dir()
        ),
        ..CaseOutcome::pass()
    }
}
