//! `grader __snapshots`: run every case on the reference in recording mode and print what each
//! snapshot step produced, for `grader/tests/snapshots.rs` to hand to insta.

use std::path::Path;

use crate::case::{Course, discover};
use crate::cli::{EXIT_FAIL, EXIT_PASS, EXIT_USAGE, usage};
use crate::diag;
use crate::implementation::Selection;
use crate::snapshot::Snapshots;

/// Prints `[{"stage_dir", "name", "file", "text"}]`.
pub fn run(root: &Path) -> i32 {
    let course = Course {
        root: root.to_path_buf(),
        recording: true,
    };
    let files = match discover(&course.cases_dir()) {
        Ok(f) => f,
        Err(e) => return usage(&format!("cannot read tests/cases: {e}")),
    };
    let selection = match Selection::default().with_reference_list("all") {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for file in files {
        let case = match course.load(&file) {
            Ok(c) => c,
            Err(mut d) => {
                diags.append(&mut d);
                continue;
            }
        };
        let mut snapshots = Snapshots::Record {
            recorded: Vec::new(),
        };
        if let Err(f) = case.run(&selection, &mut snapshots, &mut |_, _, _| {}) {
            eprintln!(
                "error: the reference fails {} at {}: expected {}, got {}",
                case.meta().file.display(),
                f.label,
                f.mismatch.expected,
                f.mismatch.actual
            );
            return EXIT_FAIL;
        }
        if let Snapshots::Record { recorded } = snapshots {
            for (name, text) in recorded {
                out.push(serde_json::json!({
                    "stage_dir": case.meta().stage.dir(),
                    "name": name,
                    "file": case.meta().file.to_string_lossy(),
                    "text": text,
                }));
            }
        }
    }
    if !diags.is_empty() {
        diag::print_all(&diags);
        return EXIT_USAGE;
    }
    println!("{}", serde_json::Value::Array(out));
    EXIT_PASS
}
