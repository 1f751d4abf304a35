//! Building the case runner (`grader-child`) with the learner's stages, and telling which stages
//! do not compile.
//!
//! # Why the grader builds its own child
//! A learner's `solution.rs` is compiled as a small crate of its own (`stages/NN-*/solution`),
//! and only the case runner links those crates (through `dynamo-learner`). So `cargo grade` (the
//! `grader` binary, which depends on the contracts and the reference only) is already built when
//! the learner edits a solution, and it builds the runner itself:
//!
//! ```text
//! cargo build -p grader-child --keep-going --message-format json
//! ```
//!
//! (its default features: every stage, exactly as `cargo build --workspace` builds it, so the two
//! share one build; see `workspace-hack` for the dependencies' side of that). Only when a stage
//! does not compile is it rebuilt with `--no-default-features --features STAGES` (below).
//!
//! An edit then costs one small crate, `dynamo-learner` and a relink of a thin binary. Cargo's own
//! status lines (`Compiling hash-ring-solution …`, its progress bar on a terminal) go straight to
//! the learner's stderr, so a long first build is visibly working; the JSON on stdout tells us the
//! executable's path and every compiler message, which we render to stderr as cargo would.
//!
//! # A stage that does not compile
//! `--keep-going` compiles every solution crate even when one fails. The compiler messages name
//! the crate they belong to (by its source path `stages/NN-*/solution/lib.rs`), so the stages
//! whose crates failed are known; the runner is rebuilt without those stages' features, and every
//! other stage is graded. The plan (`crate::plan`) reports each such stage as "does not compile"
//! with the compiler's first error, and serves it from the reference wherever another stage uses
//! it, saying so in the report: the learner's later stages are still graded on an honest basis,
//! and nothing pretends the broken stage ran. An error anywhere else (the learner edited a
//! contract, say) stops the run with the compiler's messages.
//!
//! # No lock trouble
//! `cargo run` (`cargo grade`) replaces itself with the grader, and `cargo test` runs test
//! binaries after building them, so neither holds cargo's build lock when the grader calls cargo:
//! the grader's own tests build the runner this way too. Concurrent builds (tests in parallel)
//! wait for each other on that lock and then find the runner fresh.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::stage::Stage;

/// The built runner, and the stages left out because their `solution.rs` does not compile.
#[derive(Clone, Debug)]
pub struct CaseRunner {
    pub exe: PathBuf,
    pub broken: BTreeMap<Stage, CompileError>,
}

/// The first error the compiler reported for a stage's `solution.rs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// `stages/01-hash-ring/src/solution.rs`, relative to the course root where it was.
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// `error[E0308]: mismatched types`.
    pub message: String,
    /// The compiler's full text for this error, source snippet included.
    pub rendered: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Why no runner could be built.
#[derive(Debug)]
pub enum BuildError {
    /// Cargo itself could not be started.
    Cargo(std::io::Error),
    /// The build failed outside the learner's solution crates; the compiler's messages.
    Failed(String),
    /// Cargo succeeded but named no `grader-child` executable.
    NoExecutable,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Cargo(e) => write!(f, "cannot run cargo to build the case runner: {e}"),
            BuildError::Failed(messages) => write!(
                f,
                "the case runner (`cargo build -p grader-child`) does not build, and not because \
                 of a solution.rs:\n{messages}"
            ),
            BuildError::NoExecutable => {
                f.write_str("cargo built the case runner but did not say where it is")
            }
        }
    }
}

/// The solution crate's root of `stage`, as compiler messages name it.
fn solution_root(stage: Stage) -> String {
    format!("stages/{}/solution/lib.rs", stage.dir())
}

/// Compiler paths into `solution.rs` go through the solution crate's folder
/// (`stages/01-hash-ring/solution/../src/solution.rs`); shows them as the learner knows them.
pub fn tidy_path(text: &str) -> String {
    text.replace("/solution/../src/", "/src/")
}

/// The environment variable that names a prebuilt case runner (a grading image built once, say);
/// the grader then builds nothing and trusts that it contains every learner stage.
pub const RUNNER_ENV: &str = "GRADER_CASE_RUNNER";

/// Builds the case runner with every learner stage that compiles (see the module docs).
pub fn case_runner(root: &Path) -> Result<CaseRunner, BuildError> {
    if let Some(exe) = std::env::var_os(RUNNER_ENV) {
        return Ok(CaseRunner {
            exe: PathBuf::from(exe),
            broken: BTreeMap::new(),
        });
    }
    let own = std::env::current_exe().ok();
    let first_time = own
        .as_ref()
        .and_then(|exe| exe.parent())
        .is_some_and(|dir| {
            !dir.join(format!("grader-child{}", std::env::consts::EXE_SUFFIX))
                .exists()
        });
    if first_time {
        eprintln!(
            "Building the case runner with your stages (cargo build -p grader-child). This first \
             build happens once; afterwards an edit recompiles only the solution.rs you changed."
        );
    }
    let release = own
        .as_ref()
        .and_then(|exe| exe.parent()?.file_name())
        .is_some_and(|dir| dir == "release");
    let mut broken: BTreeMap<Stage, CompileError> = BTreeMap::new();
    // Each round leaves out at least one more stage, so this ends after at most eight rounds.
    for round in 0..=Stage::ALL.len() {
        let features: Vec<&str> = Stage::ALL
            .into_iter()
            .filter(|s| !broken.contains_key(s))
            .map(Stage::name)
            .collect();
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .args(["build", "-p", "grader-child", "--keep-going"])
            .args(["--message-format", "json"])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Every stage: the default features, exactly as `cargo build --workspace` and `cargo
        // test --workspace` build this package, so that all three share one build of it.
        if !broken.is_empty() {
            command.arg("--no-default-features");
            if !features.is_empty() {
                command.args(["--features", &features.join(",")]);
            }
        }
        if release {
            command.arg("--release");
        }
        let mut child = command.spawn().map_err(BuildError::Cargo)?;
        let mut build = Build::default();
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(message) = serde_json::from_str::<Value>(&line) {
                    // Later rounds replay the same warnings: show each once.
                    build.take(&message, round == 0);
                }
            }
        }
        let status = child.wait().map_err(BuildError::Cargo)?;
        if status.success() {
            return build
                .exe
                .map(|exe| CaseRunner {
                    exe,
                    broken: broken.clone(),
                })
                .ok_or(BuildError::NoExecutable);
        }
        let newly: Vec<Stage> = build
            .failed
            .keys()
            .copied()
            .filter(|s| !broken.contains_key(s))
            .collect();
        if newly.is_empty() {
            return Err(BuildError::Failed(build.other_errors.join("\n")));
        }
        for stage in newly {
            if let Some(error) = build.failed.remove(&stage) {
                broken.insert(stage, error);
            }
        }
    }
    Err(BuildError::Failed(String::new()))
}

/// What one `cargo build` said.
#[derive(Default)]
struct Build {
    exe: Option<PathBuf>,
    /// Each solution crate that failed, with its first error.
    failed: BTreeMap<Stage, CompileError>,
    /// Errors outside the solution crates, rendered.
    other_errors: Vec<String>,
}

impl Build {
    fn take(&mut self, message: &Value, show: bool) {
        match message["reason"].as_str() {
            Some("compiler-artifact") if message["target"]["name"] == "grader-child" => {
                self.exe = message["executable"].as_str().map(PathBuf::from);
            }
            Some("compiler-message") => {
                let src = message["target"]["src_path"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('\\', "/");
                let stage = Stage::ALL
                    .into_iter()
                    .find(|s| src.ends_with(&solution_root(*s)));
                let diagnostic = &message["message"];
                let rendered = tidy_path(diagnostic["rendered"].as_str().unwrap_or_default());
                if show && stage.is_some() {
                    eprint!("{rendered}");
                }
                if diagnostic["level"] != "error" {
                    return;
                }
                match stage {
                    Some(stage) => {
                        if let Some(error) = first_error(diagnostic, &rendered) {
                            self.failed.entry(stage).or_insert(error);
                        }
                    }
                    None => {
                        if show {
                            eprint!("{rendered}");
                        }
                        self.other_errors.push(rendered);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A compiler error as a [`CompileError`], located at its primary span; `None` for the closing
/// "aborting due to … previous errors", which has no span.
fn first_error(diagnostic: &Value, rendered: &str) -> Option<CompileError> {
    let span = diagnostic["spans"]
        .as_array()?
        .iter()
        .find(|s| s["is_primary"] == true)?;
    let message = diagnostic["message"].as_str().unwrap_or_default();
    let message = match diagnostic["code"]["code"].as_str() {
        Some(code) => format!("error[{code}]: {message}"),
        None => format!("error: {message}"),
    };
    let number = |k: &str| span[k].as_u64().unwrap_or(0) as usize;
    Some(CompileError {
        file: tidy_path(span["file_name"].as_str().unwrap_or_default()),
        line: number("line_start"),
        column: number("column_start"),
        message,
        rendered: rendered.trim_end().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of cargo's JSON for a type error in stage 1's `solution.rs`.
    #[test]
    fn a_solution_error_is_located_and_tidied() {
        let message: Value = serde_json::json!({
            "reason": "compiler-message",
            "target": {"name": "hash_ring_solution", "src_path": "/c/stages/01-hash-ring/solution/lib.rs"},
            "message": {
                "level": "error",
                "message": "mismatched types",
                "code": {"code": "E0308"},
                "rendered": "error[E0308]: mismatched types\n --> stages/01-hash-ring/solution/../src/solution.rs:12:5\n",
                "spans": [{"is_primary": true, "file_name": "stages/01-hash-ring/solution/../src/solution.rs", "line_start": 12, "column_start": 5}]
            }
        });
        let mut build = Build::default();
        build.take(&message, false);
        let error = &build.failed[&Stage::HashRing];
        assert_eq!(
            error.to_string(),
            "stages/01-hash-ring/src/solution.rs:12:5: error[E0308]: mismatched types"
        );
        assert!(
            error
                .rendered
                .contains("--> stages/01-hash-ring/src/solution.rs:12:5")
        );
        assert!(build.other_errors.is_empty());
    }

    /// An error outside the solution crates is not blamed on a stage.
    #[test]
    fn other_errors_are_not_a_stage() {
        let message: Value = serde_json::json!({
            "reason": "compiler-message",
            "target": {"name": "hash_ring", "src_path": "/c/stages/01-hash-ring/src/lib.rs"},
            "message": {"level": "error", "message": "x", "rendered": "error: x\n", "spans": []}
        });
        let mut build = Build::default();
        build.take(&message, false);
        assert!(build.failed.is_empty());
        assert_eq!(build.other_errors, vec!["error: x\n".to_string()]);
    }
}
