//! `cargo grade manifest`: rewrite `tests/manifest.sha256` after changing official cases or
//! snapshots. A test fails while the manifest is out of date, so it cannot be forgotten.

use std::path::Path;

use crate::cli::{EXIT_FAIL, EXIT_PASS, usage};
use crate::integrity;

pub fn run(root: &Path, check: bool) -> i32 {
    let text = integrity::render(root);
    let path = root.join(integrity::MANIFEST);
    if check {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            println!("{} is up to date", integrity::MANIFEST);
            return EXIT_PASS;
        }
        eprintln!(
            "{} is out of date: official cases or snapshots changed. Run `cargo grade manifest`.",
            integrity::MANIFEST
        );
        return EXIT_FAIL;
    }
    match std::fs::write(&path, &text) {
        Ok(()) => {
            println!(
                "wrote {} ({} files)",
                integrity::MANIFEST,
                text.lines().count()
            );
            EXIT_PASS
        }
        Err(e) => usage(&format!("cannot write {}: {e}", path.display())),
    }
}
