//! `cargo grade watch` grades like `cargo grade` with the same options, refuses the ones that
//! make no sense on a screen, shows that it is rebuilding, and keeps its labels readable.

use crate::util::{code, grader, stderr, stdout};

/// Stage 6 on the reference, and with `--reference-deps` every other stage too: all green. If
/// watch dropped `--reference-deps`, stage 1's stub would fail it.
#[test]
fn watch_honours_reference_deps() {
    let out = grader(&[
        "watch",
        "read-repair",
        "--reference",
        "read-repair",
        "--reference-deps",
        "--once",
    ]);
    let screen = stdout(&out);
    assert_eq!(code(&out), 0, "{screen}{}", stderr(&out));
    assert!(screen.contains("✓ Stage 6 read-repair"), "{screen}");
}

#[test]
fn watch_refuses_report_options() {
    let out = grader(&["watch", "--format", "json", "--once"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("`watch` draws a screen"),
        "{}",
        stderr(&out)
    );
    let out = grader(&["watch", "--output", "x.json", "--once"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("`watch` writes no report files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn watch_shows_that_it_rebuilds() {
    let out = grader(&["watch", "hash-ring", "--reference", "all", "--once"]);
    assert!(
        stdout(&out).contains("⟳ rebuilding and grading hash-ring…"),
        "{}",
        stdout(&out)
    );
}

/// The last stage passing is the end of the course, not a step towards a next stage.
#[test]
fn the_last_stage_has_no_next_stage() {
    let out = grader(&["watch", "store", "--reference", "all", "--once"]);
    let screen = stdout(&out);
    assert_eq!(code(&out), 0, "{screen}");
    assert!(!screen.contains("On to"), "{screen}");
    assert!(screen.contains("the course's last stage"), "{screen}");
    let out = grader(&["watch", "hash-ring", "--reference", "all", "--once"]);
    assert!(
        stdout(&out).contains("On to stage 2 quorum: `cargo grade watch quorum`"),
        "{}",
        stdout(&out)
    );
}

/// In colour, each label keeps its padding: `where` and its value never run together.
#[test]
fn coloured_labels_keep_their_padding() {
    if !crate::util::is_stub("01-hash-ring") {
        return;
    }
    let out = grader(&["watch", "hash-ring", "--once", "--color", "always"]);
    let screen = stdout(&out);
    assert!(screen.contains("\x1b[2mwhere     \x1b[0m"), "{screen:?}");
    assert!(screen.contains("\x1b[2mhint      \x1b[0m"), "{screen:?}");
}
