//! `cargo grade validate PATH…`: check case files without running anything.

use std::path::{Path, PathBuf};

use crate::case::Course;
use crate::cli::{EXIT_PASS, EXIT_USAGE};
use crate::diag;

pub fn run(root: &Path, paths: &[PathBuf]) -> i32 {
    let course = Course {
        root: root.to_path_buf(),
        recording: false,
    };
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    // Private cases run beside the official ones, whose names they may not reuse: load those
    // too, as grading does, so a clash is found here rather than at grading time.
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let official = course.cases_dir();
    let mut all = paths.clone();
    if !paths.iter().any(|p| real(&official).starts_with(real(p))) {
        all.insert(0, official.clone());
    }
    let given: Vec<PathBuf> = paths.iter().map(|p| real(p)).collect();
    match course.load_all(&all) {
        Ok(metas) => {
            let checked = metas
                .iter()
                .filter(|m| given.iter().any(|g| real(&m.path).starts_with(g)))
                .count();
            let s = if checked == 1 { "" } else { "s" };
            println!("ok: {checked} case file{s} valid");
            EXIT_PASS
        }
        Err(diags) => {
            diag::print_all(&diags);
            EXIT_USAGE
        }
    }
}
