//! Snapshot expectations: `expect: {snapshot: NAME}` compares a result with
//! `tests/snapshots/<NN-stage>/<NAME>.snap`, a file recorded from the reference with insta.
//!
//! Recording happens in `grader/tests/snapshots.rs` (`cargo insta test -p grader --test
//! snapshots`, then `cargo insta review`): that test asks the grader to run every case on the
//! reference in [`Snapshots::Record`] mode and hands each result to `insta::assert_snapshot!`. The
//! grader then reads the same files in [`Snapshots::Compare`] mode. Both sides render results with
//! [`crate::render::block`], so they agree byte for byte.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::expect::Mismatch;
use crate::render::block;

/// Where snapshot expectations go during a run.
#[derive(Debug)]
pub enum Snapshots {
    /// Compare results with the recorded files in `dir`; `options` are the run's, so a judge
    /// knows which runs it must see (a store sweep part's seeds).
    Compare {
        dir: PathBuf,
        options: crate::stages::RunOptions,
    },
    /// Collect `(name, text)` for insta to record.
    Record { recorded: Vec<(String, String)> },
    /// In the case process: report every actual value to the parent, which judges it (the
    /// child holds no expectation and no snapshot). See `crate::runner`.
    Report(crate::protocol::Reporter),
}

impl Snapshots {
    /// In the case process, reports `actual` to the parent and returns its verdict; elsewhere
    /// `None`, and the caller checks `actual` itself. Every expectation's `check` starts with it.
    pub fn report<T: Serialize>(&mut self, actual: &T) -> Option<Result<(), Mismatch>> {
        match self {
            Snapshots::Report(reporter) => Some(reporter.observe(actual)),
            _ => None,
        }
    }

    /// The options of the run being judged, where the parent judges a case process's values.
    pub fn judging(&self) -> Option<&crate::stages::RunOptions> {
        match self {
            Snapshots::Compare { options, .. } => Some(options),
            _ => None,
        }
    }

    pub fn check<T: Serialize>(&mut self, name: &str, value: &T) -> Result<(), Mismatch> {
        let text = block(value);
        match self {
            // Only reached by a step that checks a snapshot without going through its
            // expectation's `check`: the parent could not judge it, so it fails (closed).
            Snapshots::Report(_) => Err(Mismatch::new(
                format!("snapshot {name}, judged by the grader"),
                "a step that checks its snapshot directly; report it through `expect.check`",
            )),
            Snapshots::Record { recorded } => {
                recorded.push((name.to_string(), text));
                Ok(())
            }
            Snapshots::Compare { dir, .. } => {
                let path = file(dir, name);
                match read(&path) {
                    None => Err(Mismatch::new(
                        format!("snapshot {} (not recorded)", path.display()),
                        text,
                    )),
                    Some(want) if want.trim_end() == text.trim_end() => Ok(()),
                    Some(want) => Err(Mismatch::new(
                        format!("snapshot {name}:\n{}", want.trim_end()),
                        format!("\n{text}"),
                    )),
                }
            }
        }
    }
}

/// The file that holds snapshot `name` in `dir`.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap"))
}

/// A snapshot's content, without insta's `---`-fenced header.
pub fn read(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if text.starts_with("---") {
        lines.next();
        for line in lines.by_ref() {
            if line == "---" {
                break;
            }
        }
    }
    Some(lines.collect::<Vec<_>>().join("\n"))
}
