//! Telling an untouched stub from a solved stage, so `cargo test --workspace` keeps passing once a
//! learner has solved stages (issue: the stub's comment "Replace each `todo!()`" counted).

use crate::stub::calls_todo;
use crate::util::course_root;

/// Each stage's `solution.rs` as a learner leaves it after replacing every `todo!(…)` call (the
/// module comment, which mentions `todo!()`, stays).
fn solved(stub: &str) -> String {
    stub.lines()
        .map(|line| match line.split_once("//") {
            Some((code, comment)) => format!("{}//{comment}", code.replace("todo!(", "my_code(")),
            None => line.replace("todo!(", "my_code("),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_solved_stage_is_no_longer_a_stub() {
    let mut checked = 0;
    for entry in std::fs::read_dir(course_root().join("stages"))
        .expect("stages/")
        .flatten()
    {
        let Ok(source) = std::fs::read_to_string(entry.path().join("src/solution.rs")) else {
            continue;
        };
        if !calls_todo(&source) {
            continue; // already solved by the learner
        }
        let after = solved(&source);
        assert!(
            !calls_todo(&after),
            "{}: a solved stage still counts as a stub",
            entry.path().display()
        );
        checked += 1;
    }
    assert!(checked > 0 || !course_root().join("stages/01-hash-ring").exists());
}

#[test]
fn comments_do_not_count_code_does() {
    assert!(!calls_todo(
        "//! Replace each `todo!()` with your code\nfn f() -> u8 { 1 }\n"
    ));
    assert!(calls_todo(
        "fn f() -> u8 {\n    todo!(\"f\") // TODO(README.md § \"x\")\n}\n"
    ));
    assert!(!calls_todo("fn f() -> u8 { 1 } // was todo!()\n"));
}
