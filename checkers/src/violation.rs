//! What a checker reports when a guarantee does not hold.
//!
//! A violation names its checker, the key, a sentence or two a learner can act on, and the ids of
//! the smallest set of events that shows the problem, in time order, so a report can print just
//! those lines with [`History::render`](crate::History::render).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One broken guarantee on one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which checker: "lost-write", "siblings", "resurrection", "convergence" or
    /// "linearizability". Deserializes from any input (not only `'static` text): the name is
    /// mapped back to one of these.
    pub checker: &'static str,
    /// The key the violation is about.
    pub key: String,
    /// One or two sentences a learner understands.
    pub explanation: String,
    /// Ids of the shortest sub-history that shows it, in time order (empty for convergence,
    /// which is about the final state rather than the history).
    pub events: Vec<usize>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on key `{}`: {}",
            self.checker, self.key, self.explanation
        )?;
        if !self.events.is_empty() {
            let ids: Vec<String> = self.events.iter().map(|id| format!("#{id}")).collect();
            write!(f, " (events {})", ids.join(", "))?;
        }
        Ok(())
    }
}

/// Every checker's name, as it appears in [`Violation::checker`].
pub const CHECKERS: [&str; 5] = [
    "lost-write",
    "siblings",
    "resurrection",
    "convergence",
    "linearizability",
];

/// A violation as read from outside, before its checker name is matched to a known one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawViolation {
    checker: String,
    key: String,
    explanation: String,
    events: Vec<usize>,
}

// Written by hand: a derived impl would borrow the `&'static str` from the input and so only
// accept `'static` input.
impl<'de> Deserialize<'de> for Violation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawViolation::deserialize(deserializer)?;
        Violation::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawViolation> for Violation {
    type Error = String;

    fn try_from(raw: RawViolation) -> Result<Self, String> {
        let checker = CHECKERS
            .iter()
            .find(|c| **c == raw.checker)
            .copied()
            .ok_or_else(|| {
                format!(
                    "unknown checker `{}`, expected one of {CHECKERS:?}",
                    raw.checker
                )
            })?;
        Ok(Violation {
            checker,
            key: raw.key,
            explanation: raw.explanation,
            events: raw.events,
        })
    }
}

/// Sorts violations the way every checker returns them: by key, then by first event.
pub(crate) fn sort(violations: &mut [Violation]) {
    violations.sort_by(|a, b| {
        (&a.key, a.events.first(), &a.events, &a.explanation).cmp(&(
            &b.key,
            b.events.first(),
            &b.events,
            &b.explanation,
        ))
    });
}
