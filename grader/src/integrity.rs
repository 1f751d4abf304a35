//! Integrity of the official cases: `tests/manifest.sha256` lists the SHA-256 of every official
//! case file and snapshot (in `sha256sum` format, so `sha256sum -c tests/manifest.sha256` checks
//! it too). Every report says which official files differ from it, so a passing grade cannot come
//! from an edited expectation. Files that are not in the manifest (an instructor's new cases) are
//! not flagged. A missing or empty manifest is flagged too: deleting it must not silence the
//! check. Every report format shows the problem, and `cargo grade` exits with
//! [`crate::cli::EXIT_INTEGRITY`] unless `--allow-modified` is given.
//!
//! This protects a learner's own course from accidents and makes tampering visible; it cannot
//! protect a course whose grader itself was edited. Grading a class therefore copies only each
//! student's `solution.rs` files onto a pristine course (docs/instructors.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "tests/manifest.sha256";

/// Official files that differ from the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Integrity {
    /// Listed, present, with another hash.
    pub modified: Vec<String>,
    /// Listed, gone.
    pub missing: Vec<String>,
    /// The manifest itself is missing, unreadable or empty.
    pub no_manifest: bool,
    /// Whether the official files are exactly as the manifest lists them.
    pub ok: bool,
    /// [`Integrity::problems`], for the JSON report.
    pub problems: Vec<String>,
}

impl Integrity {
    /// One line per problem, for every report format: `changed: tests/cases/…`.
    pub fn problems(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.no_manifest {
            lines.push(format!("{MANIFEST} is missing or empty"));
        }
        lines.extend(self.modified.iter().map(|f| format!("changed: {f}")));
        lines.extend(self.missing.iter().map(|f| format!("missing: {f}")));
        lines
    }

    /// The warning every report shows when the check failed; `None` when it passed.
    pub fn warning(&self) -> Option<String> {
        if self.ok {
            return None;
        }
        Some(format!(
            "Official case files differ from {MANIFEST}; results may not count:\n{}",
            self.problems()
                .iter()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

/// The official files: every case and snapshot under `tests/`, as paths relative to `root`.
pub fn official_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (dir, ext) in [("tests/cases", "yaml"), ("tests/snapshots", "snap")] {
        collect(&root.join(dir), ext, &mut found);
    }
    let mut rel: Vec<String> = found
        .iter()
        .filter_map(|p| p.strip_prefix(root).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    rel.sort();
    rel
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, ext, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            out.push(path);
        }
    }
}

fn digest(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| hex::encode(Sha256::digest(&bytes)))
}

/// The manifest's text for the files as they are now.
pub fn render(root: &Path) -> String {
    official_files(root)
        .iter()
        .filter_map(|rel| digest(&root.join(rel)).map(|d| format!("{d}  {rel}\n")))
        .collect()
}

fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, path)| (path.trim().to_string(), hash.trim().to_string()))
        .collect()
}

/// Compares the official files with the manifest.
pub fn check(root: &Path) -> Integrity {
    let Ok(text) = std::fs::read_to_string(root.join(MANIFEST)) else {
        let mut result = Integrity {
            no_manifest: true,
            ..Integrity::default()
        };
        result.problems = result.problems();
        return result;
    };
    let listed = parse(&text);
    if listed.is_empty() {
        let mut result = Integrity {
            no_manifest: true,
            ..Integrity::default()
        };
        result.problems = result.problems();
        return result;
    }
    let mut result = Integrity::default();
    for (path, hash) in listed {
        match digest(&root.join(&path)) {
            None => result.missing.push(path),
            Some(now) if now != hash => result.modified.push(path),
            Some(_) => {}
        }
    }
    result.ok = result.modified.is_empty() && result.missing.is_empty();
    result.problems = result.problems();
    result
}
