//! Reports a learner reads: one line per event, a readable violation, and a serde round trip.

use dynamo_checkers::{Violation, linearizable};

use crate::util::Builder;

/// The line format the grader prints under a violation.
#[test]
fn render_prints_one_line_per_event() {
    let mut h = Builder::default();
    h.put(0, "cart", "socks", (0, 10), &[("A", 1)]);
    h.put_ctx(2, "cart", "socks", &[("A", 1)], (120, 160), &[("A", 2)]);
    h.put_failed(1, "cart", "shoes", (130, 170));
    h.get(0, "cart", &["socks"], (200, 210));
    let text = h.history().render(&[1, 2, 3, 99]);
    assert_eq!(
        text,
        "[  120 ms -> 160 ms] client 2 via C: put cart=socks ctx {A:1} -> written {A:2}\n\
         [  130 ms -> 170 ms] client 1 via B: put cart=shoes -> failed\n\
         [  200 ms -> 210 ms] client 0 via A: get cart -> read [socks {}] ctx {}\n\
         event 99: not in the history\n"
    );
}

/// Display names checker, key, explanation and events; serde round-trips a violation.
#[test]
fn violation_displays_and_round_trips() {
    let mut h = Builder::default();
    h.put(0, "k", "x", (0, 10), &[("A", 1)]);
    h.put(0, "k", "y", (20, 30), &[("A", 2)]);
    h.get(1, "k", &["x"], (40, 50));
    let v = linearizable(&h.history()).remove(0);
    let text = v.to_string();
    assert!(text.starts_with("linearizability on key `k`: "), "{text}");
    assert!(text.ends_with("(events #0, #1, #2)"), "{text}");
    let json = serde_json::to_string(&v).expect("serialize");
    let back: Violation = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, v);
}
