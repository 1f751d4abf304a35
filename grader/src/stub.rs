//! Whether a stage's `solution.rs` is still (partly) the stub the course ships: some `todo!(`
//! call remains in its code.
//!
//! Comments do not count: the stub's own doc says "Replace each `todo!()`", and a learner who
//! has replaced them all keeps that comment. Self-check and the grader's tests both ask this
//! question, so it lives in one dependency-free file (the tests include it by path).

/// Whether `source` calls `todo!(` outside `//` comments.
pub fn calls_todo(source: &str) -> bool {
    source.lines().any(|line| {
        let code = line.split("//").next().unwrap_or("");
        code.contains("todo!(")
    })
}
