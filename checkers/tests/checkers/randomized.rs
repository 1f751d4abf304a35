//! Seeded randomized register histories: generated linearizable histories always pass, one
//! injected stale read always fails. The seed is the loop counter; a failure names it.

use dynamo_checkers::generate::{Shape, register_history, with_stale_read};
use dynamo_checkers::linearizable;

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
/// linearizable, and the shrunk core contains that get.
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
    }
}

/// How long one 200-event key takes, printed, never asserted (`cargo test -p dynamo-checkers
/// -- --ignored --nocapture timing`). The divan bench measures it properly.
#[test]
#[ignore = "prints a timing; run by hand"]
fn timing_of_200_event_keys() {
    for (clients, stale) in [(1, false), (4, false), (8, false), (1, true)] {
        let mut history = register_history(
            &Shape {
                key: "k".into(),
                ops: 200,
                clients,
                fail_percent: 10,
            },
            7,
        );
        if stale {
            let base = register_history(
                &Shape {
                    key: "k".into(),
                    ops: 200,
                    clients,
                    fail_percent: 0,
                },
                7,
            );
            history = with_stale_read(&base, 7).expect("a get after a write").1;
        }
        let start = std::time::Instant::now();
        let violations = linearizable(&history);
        println!(
            "clients {clients}, stale {stale}: {} violations in {:?}",
            violations.len(),
            start.elapsed()
        );
    }
}
