//! Stage 7 through the binary: the seeds of `--seeds` / `--seed` reach the case process (inside
//! its `Start` message), and a failing seed's report gives the command that reruns it alone.
//! Every run is a simulated cluster on tokio's paused clock, so none of this depends on the
//! machine's speed.

use crate::util::{code, grader, stdout};

const CASE: &str = "concurrent-clients-lose-nothing";

fn store(extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "store",
        "--reference",
        "all",
        "--mutant",
        "store=delete-removes",
        "--filter",
        CASE,
    ];
    args.extend_from_slice(extra);
    let out = grader(&args);
    (code(&out), stdout(&out))
}

/// `--seed S` runs the workload under S, not the case's seed (under which this mutant passes
/// this case), so S reaches the case process; the report says which seed failed and how to rerun
/// it.
#[test]
fn a_failing_seed_names_the_command_that_reruns_it() {
    let (code, text) = store(&[]);
    assert_eq!(code, 0, "the case's own seed misses this mutant:\n{text}");
    // Seeds 1 to 7 miss this mutant too; 8 is the first that catches it.
    let (code, text) = store(&["--seed", "8"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("with seed 8: "), "{text}");
    assert!(
        text.contains(&format!(
            "(reproduce with: cargo grade store --seed 8 --filter {CASE})"
        )),
        "{text}"
    );
}

/// A sweep stops at its first failing seed, and that seed alone fails the same way.
#[test]
fn a_sweep_failure_reproduces_alone() {
    let (code, text) = store(&["--seeds", "10"]);
    assert_eq!(code, 1, "{text}");
    let seed: u64 = text
        .split("with seed ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no failing seed in:\n{text}"));
    assert!((1..=10).contains(&seed), "{text}");
    let (again, alone) = store(&["--seed", &seed.to_string()]);
    assert_eq!(again, 1, "{alone}");
    assert!(alone.contains(&format!("with seed {seed}: ")), "{alone}");
}

/// A sweep's runs record no message traces (they are most of a sweep's cost); the failing seed
/// runs again alone, traced, so the report still draws the messages around the violation, the
/// same ones `--seed S` draws.
#[test]
fn a_sweep_failure_shows_its_messages() {
    let (code, swept) = store(&["--seeds", "10", "--verbose"]);
    assert_eq!(code, 1, "{swept}");
    let messages = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(" arrives ") || l.contains(" -> client "))
            .map(str::to_string)
            .collect()
    };
    let drawn = messages(&swept);
    assert!(!drawn.is_empty(), "no messages drawn:\n{swept}");
    let (_, alone) = store(&["--seed", "8", "--verbose"]);
    assert_eq!(drawn, messages(&alone), "{swept}\n---\n{alone}");
}

/// The reference passes the same case under the same seeds.
#[test]
fn the_reference_passes_the_sweep() {
    let out = grader(&[
        "store",
        "--reference",
        "all",
        "--seeds",
        "3",
        "--filter",
        CASE,
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

/// A sweep longer than one part (25 seeds) runs as several case processes, one per part, which
/// finish in any order; the report still names the sweep's first failing seed, as one process
/// running every seed in order would. (This mutant fails many seeds, so later parts fail too.)
#[test]
fn a_sweep_in_parts_names_its_first_failing_seed() {
    let first = (1..=10)
        .find(|seed| store(&["--seed", &seed.to_string()]).0 == 1)
        .unwrap_or_else(|| panic!("no failing seed among 1..=10 for this mutant"));
    let (code, text) = store(&["--seeds", "60"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("with seed {first}: ")), "{text}");
}

/// A panic in a node's background work (here every anti-entropy message a replica handles) is the
/// learner's bug even when every client request succeeds: the simulator catches it, lets the run
/// finish, and the case reports it as a panic at its own location, with the node, what it was
/// handling and, for a workload, the seed. The same mutant's panic in a hand-worked case (its
/// `wait` step lets anti-entropy run) is reported at that step.
#[test]
fn a_panic_in_background_work_fails_the_case_at_its_location() {
    let (code, report) = crate::util::json(&[
        "store",
        "--reference",
        "all",
        "--mutant",
        "store=panics-handling-sync",
        "--filter",
        CASE,
        "--filter",
        "anti-entropy-repairs-a-missed-write",
    ]);
    assert_eq!(code, 1);
    let all = crate::util::cases(&report);
    assert_eq!(all.len(), 2, "{report}");
    for (_, _, case) in &all {
        let message = case["message"].as_str().unwrap_or("");
        assert_eq!(case["status"], "panic", "{case}");
        assert!(
            message.starts_with("panicked at grader/src/mutants/store.rs:"),
            "the panic's own location: {message}"
        );
        assert!(
            message.contains("mutant: a sync message from ")
                && message.contains(", handling a sync message from "),
            "what the node was doing: {message}"
        );
    }
    let workload = &all
        .iter()
        .find(|(_, _, c)| c["name"] == CASE)
        .expect(CASE)
        .2;
    assert!(
        workload["message"]
            .as_str()
            .unwrap_or("")
            .contains("with seed 1: add --seed 1 to rerun this seed alone"),
        "{workload}"
    );
}

/// A client's own R or W out of `1..=N` is a case-file mistake, located, never run: a host checks
/// it before calling the node (the real cluster answers 400).
#[test]
fn a_per_request_quorum_out_of_range_is_located() {
    let dir = crate::util::scratch("store-request-quorum");
    let file = dir.join("case.yaml");
    let text = "stage: store
track: requests
name: quorum-out-of-range
setup:
  nodes: [A, B, C]
steps:
  - put: {via: A, key: cart, value: book, expect: {equals: ok}}
  - get: {via: B, key: cart, r: 0, expect: {equals: [book]}}
  - delete: {via: C, key: cart, w: 4, expect: {equals: ok}}
";
    std::fs::write(&file, text).expect("write case");
    let out = grader(&["validate", file.to_str().expect("utf-8 path")]);
    let err = crate::util::stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("case.yaml:8:5: get's r: 0 is not between 1 and N=3"),
        "{err}"
    );
    assert!(
        err.contains("case.yaml:9:5: delete's w: 4 is not between 1 and N=3"),
        "{err}"
    );
}
