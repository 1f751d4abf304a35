//! Records and checks every snapshot expectation of the course (`expect: {snapshot: NAME}`).
//!
//! The grader runs every case on the reference in recording mode (`grader __snapshots`) and
//! prints what each snapshot step produced; this test hands each to `insta::assert_snapshot!`,
//! stored as `tests/snapshots/<NN-stage>/<NAME>.snap`. So an instructor records new snapshots with
//! `cargo insta test -p grader --test snapshots` and accepts them with `cargo insta review`, and
//! `cargo test` fails if the reference stops producing what was recorded. Nothing here depends on
//! time or randomness: the cases are deterministic by construction.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn snapshots_match_the_reference() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(env!("CARGO_BIN_EXE_grader"))
        .arg("__snapshots")
        .output()
        .expect("the grader runs");
    assert!(
        output.status.success(),
        "recording failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recorded: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("the grader prints JSON");
    assert!(!recorded.is_empty(), "the course has snapshot cases");
    for snap in recorded {
        let field = |k: &str| snap[k].as_str().expect("string field").to_string();
        let dir = root.join("tests/snapshots").join(field("stage_dir"));
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_input_file(root.join(field("file")));
        settings.set_description(format!("recorded from the reference for {}", field("file")));
        settings.bind(|| insta::assert_snapshot!(field("name"), field("text")));
    }
}
