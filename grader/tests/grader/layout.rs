//! The crate layout that keeps an edit cheap, and what happens when a stage does not compile.
//!
//! - The grader (its library and the `grader` binary) never depends on a learner's solution
//!   package: checked on `cargo metadata`'s resolved graph, so the rule cannot silently regress
//!   (one careless `[dependencies]` line would make every edit recompile the grader again).
//! - A stage whose `solution.rs` does not compile is reported as "does not compile" with the
//!   compiler's first error, the stages that use it run on the reference (and the report says
//!   so), and every other stage is graded. This runs on a copy of the course, so the learner's
//!   files are never touched; the copy and its build live under `target/layout-test` and are
//!   kept between runs (only changed files are rewritten), so only the first run builds it cold.
//! - The grader's own builds and the workspace's ask for the same features of every dependency,
//!   so they share one compiled copy of it (checked on `cargo tree`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{cases, course_root};

const STAGE_DIRS: [&str; 7] = [
    "01-hash-ring",
    "02-quorum",
    "03-fault-tolerance",
    "04-vector-clocks",
    "05-anti-entropy",
    "06-read-repair",
    "07-store",
];

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// What `cargo ARGS` prints in `dir`, after asserting that it succeeded.
fn cargo_stdout(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(cargo())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cargo {args:?} does not start: {e}"));
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// This machine's target triple.
fn host() -> String {
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host")
}

/// The workspace's resolved dependency graph: package id → (name, normal and build deps' ids).
fn graph() -> BTreeMap<String, (String, Vec<String>)> {
    // This machine's platform only: other platforms' dependencies may not be downloaded.
    let host = host();
    let out = cargo_stdout(
        &course_root(),
        &[
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ],
    );
    let metadata: Value = serde_json::from_slice(&out).expect("metadata is JSON");
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut nodes = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
        let id = node["id"].as_str().unwrap().to_string();
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"] != "dev"))
            })
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        nodes.insert(id.clone(), (names[id.as_str()].to_string(), deps));
    }
    nodes
}

/// The names of every package `name` depends on (normal and build dependencies, transitively).
fn closure(graph: &BTreeMap<String, (String, Vec<String>)>, name: &str) -> BTreeSet<String> {
    let start = graph
        .iter()
        .find(|(_, (n, _))| n == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("no package {name}"));
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        if seen.insert(id.clone()) {
            todo.extend(graph[&id].1.iter().cloned());
        }
    }
    seen.iter().map(|id| graph[id].0.clone()).collect()
}

#[test]
fn the_grader_never_depends_on_a_solution() {
    let graph = graph();
    let solutions: BTreeSet<String> = graph
        .values()
        .map(|(name, _)| name.clone())
        .filter(|n| n.ends_with("-solution"))
        .collect();
    assert_eq!(
        solutions.len(),
        7,
        "one solution package per stage: {solutions:?}"
    );
    for package in ["grader", "reference", "dynamo-select"] {
        let deps = closure(&graph, package);
        let leaked: Vec<&String> = deps
            .iter()
            .filter(|d| solutions.contains(*d) || *d == "dynamo-learner")
            .collect();
        assert!(
            leaked.is_empty(),
            "{package} depends on {leaked:?}: every edit of a solution.rs would recompile it"
        );
    }
    // The case runner and the cluster are where the learner's code is linked in.
    for package in ["grader-child", "cluster"] {
        let deps = closure(&graph, package);
        assert!(
            solutions.is_subset(&deps),
            "{package} lacks a solution: {deps:?}"
        );
    }
}

/// Every package `cargo tree` resolves for `args` (`name version`), with every feature any of
/// its builds gets (a package built for the compiler's use and for the program shows twice in
/// `cargo tree`; the union errs on the side of reporting), on this machine's platform.
fn resolved(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let host = host();
    let tree = ["tree", "--offline", "--locked", "--prefix", "none"];
    let format = ["--format", "{p}|{f}", "--target", &host];
    let out = cargo_stdout(&course_root(), &[&tree[..], &format, args].concat());
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        let features = features.split(',').filter(|f| !f.is_empty());
        packages
            .entry(package.to_string())
            .or_default()
            .extend(features.map(str::to_string));
    }
    packages
}

/// `cargo grade` builds the grader and then the case runner; `cargo test --workspace` builds
/// everything, the cluster and the tests included. Cargo compiles a dependency once per set of
/// features asked for, so unless the grader's two builds ask for exactly the features the whole
/// workspace asks for, the first `cargo grade` after a `cargo test` (and every CI run) compiles
/// tokio (or serde_json, or syn) again and every crate above it: the contracts, the reference and
/// the grader, minutes on two cores. `workspace-hack` lists what the cluster and the tests turn
/// on; this catches a dependency added with features of its own.
#[test]
fn the_grader_and_the_workspace_share_one_build_of_every_dependency() {
    let workspace = resolved(&["--workspace", "--edges", "normal,build,dev"]);
    for args in [
        &["-p", "grader", "--edges", "normal,build"][..],
        &["-p", "grader-child", "--edges", "normal,build"][..],
    ] {
        let differ: Vec<String> = resolved(args)
            .into_iter()
            .filter(|(package, features)| workspace.get(package) != Some(features))
            .map(|(package, features)| {
                let all = workspace.get(&package).cloned().unwrap_or_default();
                let missing: Vec<&String> = all.difference(&features).collect();
                format!("{package}: features {missing:?} missing")
            })
            .collect();
        assert!(
            differ.is_empty(),
            "`cargo build {}` resolves these packages with fewer features than `cargo test \
             --workspace`, so they (and everything above them) would be compiled twice; add the \
             missing features to workspace-hack/Cargo.toml:\n{}",
            args[..2].join(" "),
            differ.join("\n")
        );
    }
}

/// `target/layout-test` beside this test binary (`target/debug/deps/grader-…`).
fn test_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    target.join("layout-test")
}

/// Writes `to` only when its content differs, so cargo sees unchanged files as unchanged.
fn sync_file(from: &Path, to: &Path) {
    let content = std::fs::read(from).expect("read course file");
    if std::fs::read(to).ok().as_ref() != Some(&content) {
        std::fs::create_dir_all(to.parent().unwrap()).expect("create folder");
        std::fs::write(to, content).expect("write copy");
    }
}

fn sync_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            sync_dir(&path, &to.join(&name));
        } else {
            sync_file(&path, &to.join(&name));
        }
    }
}

/// A copy of the course (without the cluster, which the grader never builds) at `dir`.
fn copy_course(dir: &Path) {
    let root = course_root();
    for folder in [
        "stages",
        "reference",
        "grader",
        "checkers",
        "tests",
        "workspace-hack",
    ] {
        sync_dir(&root.join(folder), &dir.join(folder));
    }
    sync_file(&root.join("Cargo.lock"), &dir.join("Cargo.lock"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let manifest = manifest
        .replace("\"cluster\",", "")
        .replace(", \"cluster\"", "");
    assert!(
        !manifest.contains("\"cluster\""),
        "the members list changed shape"
    );
    let target = dir.join("Cargo.toml");
    if std::fs::read_to_string(&target).ok().as_deref() != Some(manifest.as_str()) {
        std::fs::write(target, manifest).expect("write Cargo.toml");
    }
    set_apart(dir);
}

/// Gives every package of the copy's own workspace a profile of its own (unoptimised, which also
/// keeps the copy's build short, and one codegen unit fewer than the default), so its build
/// artifacts never share a name with the course's.
///
/// The copy builds in the course's build folder, so that the crates.io dependencies (identical in
/// both, and the bulk of a cold build) are reused instead of rebuilt for minutes. But cargo names
/// a workspace package's artifacts by its path relative to the workspace root, which is the same
/// in the copy: without a difference in profile, the copy's broken stage 1 would overwrite the
/// course's own artifacts (seen: a later `cargo grade` in the course replayed the copy's error).
fn set_apart(dir: &Path) {
    let metadata = cargo_stdout(
        dir,
        &[
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ],
    );
    let metadata: Value = serde_json::from_slice(&metadata).expect("metadata JSON");
    let mut config = std::fs::read_to_string(course_root().join(".cargo/config.toml"))
        .expect("the course's .cargo/config.toml");
    config.push_str("\n# The layout test's copy: its own artifacts in the shared build folder.\n");
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("package name");
        config.push_str(&format!(
            "[profile.dev.package.{name}]\nopt-level = 0\ncodegen-units = 255\n"
        ));
    }
    let path = dir.join(".cargo/config.toml");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(config.as_str()) {
        std::fs::create_dir_all(dir.join(".cargo")).expect("create the copy's .cargo");
        std::fs::write(path, config).expect("write the copy's cargo config");
    }
}

/// Stage 1 broken (a type error appended to whatever the learner has), stage 2 on the reference
/// (which uses stage 1), stage 4 the learner's (it compiles, whatever its state).
#[test]
fn a_stage_that_does_not_compile_is_reported_and_the_others_graded() {
    let dir = test_dir();
    let course = dir.join("course");
    copy_course(&course);
    let solution = course.join("stages/01-hash-ring/src/solution.rs");
    let mut source = std::fs::read_to_string(&solution).expect("solution.rs");
    source.push_str("\nconst NOT_A_NUMBER: u32 = \"seven\";\n");
    let line = source.lines().count();
    if std::fs::read_to_string(&solution).ok() != Some(source.clone()) {
        std::fs::write(&solution, &source).expect("break stage 1");
    }
    // The copy's own grader, as a learner would run it there (`cargo grade` is `cargo run -p
    // grader`); it builds the copy's case runner in the same target folder.
    // The copy's own target folder for its binaries, but the course's build folder for the
    // intermediate artifacts: the crates.io dependencies are then the ones already built (a
    // separate folder meant a cold build of every dependency, minutes on two cores), and only
    // the copy's own crates compile, under names of their own (`set_apart`). Cargo locks the
    // build folder while it builds, so the other tests that build in it wait rather than race.
    let target = dir.join("target");
    let build_dir = dir.parent().expect("target/layout-test").to_path_buf();
    let build = Command::new(cargo())
        .args(["build", "-p", "grader"])
        .current_dir(&course)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_BUILD_BUILD_DIR", &build_dir)
        .output()
        .expect("cargo builds the copy's grader");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let grader = target
        .join("debug")
        .join(format!("grader{}", std::env::consts::EXE_SUFFIX));
    let run = |format: &str| {
        Command::new(&grader)
            .args([
                "hash-ring",
                "quorum",
                "vector-clocks",
                "--reference",
                "quorum",
            ])
            .args(["--format", format, "--no-progress"])
            .current_dir(&course)
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_BUILD_BUILD_DIR", &build_dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("the grader runs")
    };
    let out = run("json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    let first = format!("stages/01-hash-ring/src/solution.rs:{line}:");
    let stage1 = &report["stages"][0];
    let error = stage1["compile_error"].as_str().unwrap_or_default();
    assert!(error.starts_with(&first), "{error}");
    assert!(error.contains("error[E0308]: mismatched types"), "{error}");
    let mut statuses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (stage, _, case) in cases(&report) {
        statuses
            .entry(stage)
            .or_default()
            .insert(case["status"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(
        statuses["hash-ring"],
        BTreeSet::from(["does-not-compile".to_string()])
    );
    // Stage 2 ran, on the reference's stage 1 in place of the broken one: all green.
    assert_eq!(statuses["quorum"], BTreeSet::from(["pass".to_string()]));
    // Stage 4 was graded: its cases ran (pass or fail, whatever the learner's state).
    assert!(!statuses["vector-clocks"].contains("does-not-compile"));
    assert!(
        stage1["tracks"][0]["cases"][0]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("cargo build -p hash-ring-solution"))
    );

    let out = run("human");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("stages/01-hash-ring/src/solution.rs does not compile"),
        "{screen}"
    );
    assert!(
        screen.contains("NOT_A_NUMBER"),
        "the compiler's snippet: {screen}"
    );
    assert!(
        screen.contains("the reference stands in for your hash-ring: it does not compile"),
        "{screen}"
    );
    for dir in STAGE_DIRS {
        assert!(
            course
                .join("stages")
                .join(dir)
                .join("solution/lib.rs")
                .exists()
        );
    }
}
