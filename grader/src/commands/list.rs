//! `cargo grade list [STAGE…]`: the stages, their tracks and cases, and who can serve them.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::case::Course;
use crate::case::Visibility;
use crate::cli::{EXIT_PASS, EXIT_USAGE, usage};
use crate::plan::parse_stages;
use crate::{diag, mutants, stages};

pub fn run(root: &Path, names: &[String], extra: &[PathBuf]) -> i32 {
    let wanted = match parse_stages(names) {
        Ok(w) => w,
        Err(e) => return usage(&e),
    };
    let course = Course {
        root: root.to_path_buf(),
        recording: false,
    };
    let mut dirs = vec![course.cases_dir()];
    dirs.extend(
        extra
            .iter()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone())),
    );
    let cases = match course.load_all(&dirs) {
        Ok(c) => c,
        Err(diags) => {
            diag::print_all(&diags);
            return EXIT_USAGE;
        }
    };
    let mut out = String::new();
    for stage in wanted {
        let mine: Vec<_> = cases.iter().filter(|c| c.stage == stage).collect();
        let _ = writeln!(
            out,
            "Stage {} {} ({} cases) · assignment: stages/{}/README.md",
            stage.number(),
            stage,
            mine.len(),
            stage.dir()
        );
        for track in stages::tracks(stage) {
            let in_track: Vec<_> = mine.iter().filter(|c| c.track == *track).collect();
            let _ = writeln!(out, "  {track} ({} cases)", in_track.len());
            for case in in_track {
                let mut extras = Vec::new();
                if case.points != 1.0 {
                    extras.push(format!("{} points", case.points));
                }
                if case.visibility != Visibility::Visible {
                    extras.push(format!("{:?}", case.visibility).to_lowercase());
                }
                let extras = if extras.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", extras.join(", "))
                };
                let _ = writeln!(out, "    {:<40} {}{extras}", case.name, case.file.display());
            }
        }
        let buggy: Vec<&str> = mutants::list(stage)
            .iter()
            .filter(|(_, _, misbehaves)| !misbehaves)
            .map(|(name, _, _)| *name)
            .collect();
        if !buggy.is_empty() {
            let _ = writeln!(out, "  mutants checked by self-check: {}", buggy.join(", "));
        }
        out.push('\n');
    }
    print!("{out}");
    EXIT_PASS
}
