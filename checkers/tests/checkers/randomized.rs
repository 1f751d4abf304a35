//! Seeded randomized register histories: generated linearizable histories always pass, one
//! injected stale read always fails. The seed is the loop counter; a failure names it.

use dynamo_checkers::generate::{Shape, register_history, with_late_stale_read, with_stale_read};
use dynamo_checkers::{History, linearizable};

fn shape(clients: usize, fail_percent: u64) -> Shape {
    Shape {
        key: "k".to_string(),
        ops: 60,
        clients,
        fail_percent,
    }
}

/// Sequential histories (one client, no overlap) replayed from a real register, some writes
/// failed and applied or not: always linearizable.
#[test]
fn sequential_register_histories_are_linearizable() {
    for seed in 1..=200 {
        let history = register_history(&shape(1, 10), seed);
        assert_eq!(linearizable(&history), vec![], "seed {seed}");
    }
}

/// Concurrent histories (four clients) whose results come from linearization points drawn inside
/// each operation's interval: linearizable by construction.
#[test]
fn concurrent_register_histories_are_linearizable() {
    for seed in 1..=200 {
        let history = register_history(&shape(4, 10), seed);
        assert_eq!(linearizable(&history), vec![], "seed {seed}");
    }
}

/// One get of a sequential, all-acknowledged history made to return an older state: never
/// linearizable, the shrunk core contains that get, and the core alone is not linearizable.
#[test]
fn one_injected_stale_read_is_never_linearizable() {
    for seed in 1..=200 {
        let base = register_history(&shape(1, 0), seed);
        let Some((stale, history)) = with_stale_read(&base, seed) else {
            continue;
        };
        let violations = linearizable(&history);
        assert_eq!(violations.len(), 1, "seed {seed}");
        assert!(
            violations[0].events.contains(&stale),
            "seed {seed}: {:?}",
            violations[0]
        );
        // The core alone must show the violation too.
        let core = History {
            events: (history.events.iter())
                .filter(|e| violations[0].events.contains(&e.id))
                .cloned()
                .collect(),
        };
        let again = linearizable(&core);
        assert_eq!(again.len(), 1, "seed {seed}: core {:?}", violations[0]);
        assert_eq!(again[0].events, violations[0].events, "seed {seed}");
    }
}

/// How long one 200-event key takes, printed, never asserted (`cargo test --release -p
/// dynamo-checkers --test checkers -- --ignored --nocapture timing`). The divan bench measures it
/// properly. The last case is the hard one: eight overlapping clients and a late get made to
/// return the first value ever written, so the search must exhaust the configurations.
#[test]
#[ignore = "prints a timing; run by hand"]
fn timing_of_200_event_keys() {
    let shape = |clients, fail_percent| Shape {
        key: "k".into(),
        ops: 200,
        clients,
        fail_percent,
    };
    let mut cases = Vec::new();
    for clients in [1, 4, 8] {
        cases.push((
            format!("{clients} clients, linearizable"),
            register_history(&shape(clients, 10), 7),
        ));
    }
    let base = register_history(&shape(1, 0), 7);
    cases.push((
        "1 client, stale read".into(),
        with_stale_read(&base, 7).expect("a get after a write").1,
    ));
    for clients in [4, 8] {
        cases.push((
            format!("{clients} clients, late stale read"),
            with_late_stale_read(&register_history(&shape(clients, 10), 7)),
        ));
    }
    for (name, history) in cases {
        let start = std::time::Instant::now();
        let violations = linearizable(&history);
        let core = violations.first().map(|v| v.events.len()).unwrap_or(0);
        println!(
            "{name}: {} violations (core {core} events) in {:?}",
            violations.len(),
            start.elapsed()
        );
    }
}
