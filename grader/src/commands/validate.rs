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
    match course.load_all(&paths) {
        Ok(metas) => {
            let s = if metas.len() == 1 { "" } else { "s" };
            println!("ok: {} case file{s} valid", metas.len());
            EXIT_PASS
        }
        Err(diags) => {
            diag::print_all(&diags);
            EXIT_USAGE
        }
    }
}
