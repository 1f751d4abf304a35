//! Expectations: what a step's `expect:` may say, and how an actual result is checked against it.
//!
//! Every expectation is a mapping of optional checks, all of which must hold:
//! `expect: {equals: A}`, `expect: {len: 3, distinct: true}`, `expect: {error: empty-ring}`,
//! `expect: {snapshot: ring-tokens}`. An empty `expect` is refused when the case is loaded: a
//! step that checks nothing cannot fail, so it would prove nothing.
//!
//! Checking is split across the two processes of a case (see `crate::runner`): in the child, a
//! step's `expect.check(&actual, snapshots)` only *reports* `actual` (the child's expectation is
//! an empty one, since expectations never reach it) and waits for the parent's verdict; in the
//! parent, [`Expectation::judge`] decodes that report as the expectation's own actual type and
//! runs the same `check` against the real expectation.

use dynamo_common::diagram::Item;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::render::{inline, inline_all};
use crate::snapshot::Snapshots;

/// A result that does not meet its expectation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    pub expected: String,
    pub actual: String,
    /// The simulated network's messages up to the failure, and the client's answers
    /// (networked stages): lines in the human report's `--verbose`, a sequence diagram in the
    /// HTML report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<Item>,
    /// The seed whose run failed (a store workload judged in the grader): a sweep's runs carry
    /// no traces, so the runner reruns this seed alone to draw its messages (a sweep's seeds
    /// start at 1; `NonZeroU64` keeps `Result<_, Mismatch>` small). Never sent by a
    /// case process.
    #[serde(skip)]
    pub seed: Option<std::num::NonZeroU64>,
}

impl Mismatch {
    pub fn new(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            expected: expected.into(),
            actual: actual.into(),
            trace: Vec::new(),
            seed: None,
        }
    }

    /// Attaches the message trace that led to this mismatch.
    pub fn with_trace(mut self, trace: Vec<Item>) -> Self {
        self.trace = trace;
        self
    }

    /// The trace as the human report shows it, one line per message or answer.
    pub fn trace_lines(&self) -> Vec<String> {
        self.trace.iter().map(ToString::to_string).collect()
    }
}

/// What every expectation type offers the loader and the runner.
pub trait Expectation {
    /// Refuses expectations that check nothing or contradict themselves.
    fn validate(&self) -> Result<(), String>;
    /// The snapshot this expectation compares with, if any.
    fn snapshot(&self) -> Option<&str>;
    /// The expectation as written, for reports: `{equals: A}`.
    fn describe(&self) -> String;
    /// The step's own hint (`expect: {…, hint: "…"}`), shown instead of the case's when this
    /// step fails.
    fn hint(&self) -> Option<&str> {
        None
    }
    /// Parent side: checks the value the child reported for this step. Implement it as
    /// `judge_as(observed, |actual| self.check(actual, snapshots))`, with the same actual type
    /// the step passes to `check` in the child.
    fn judge(&self, observed: &Observed, snapshots: &mut Snapshots) -> Result<(), Mismatch>;
}

/// A step's actual value as the child reports it: the JSON of what it passed to `check`, kept
/// as text until [`judge_as`] decodes it into the step's own type. (Decoding a store sweep's
/// report into a `serde_json::Value` first, then into its type, was most of the grader's own
/// share of a sweep.)
pub type Observed = serde_json::value::RawValue;

/// Decodes `observed` as `A` (the type the child's `check` was given) and checks it with `check`.
/// A report that does not decode fails the step: it is not what the grader's own code sends.
pub fn judge_as<A: DeserializeOwned>(
    observed: &Observed,
    check: impl FnOnce(&A) -> Result<(), Mismatch>,
) -> Result<(), Mismatch> {
    match serde_json::from_str::<A>(observed.get()) {
        Ok(actual) => check(&actual),
        Err(e) => Err(Mismatch::new(
            "the step's result",
            format!(
                "a report the grader cannot read ({e}): {}",
                inline(observed)
            ),
        )),
    }
}

/// Shows an operation's result: the value, or `error: …` with the error's own words.
pub fn show_result<T: Serialize, E: Serialize + std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        // A successful operation that returns nothing (a put) succeeded; `null` would read as
        // "nothing happened".
        Ok(_) if std::any::type_name::<T>() == "()" => "ok".into(),
        Ok(v) => inline_all(v),
        Err(e) => format!("error {} ({e})", inline_all(e)),
    }
}

fn check_error<T: Serialize, E: PartialEq + Serialize + std::fmt::Display>(
    expected: &Option<E>,
    actual: &Result<T, E>,
) -> Result<(), Mismatch> {
    match (expected, actual) {
        (Some(want), Err(got)) if want == got => Ok(()),
        (Some(want), _) => Err(Mismatch::new(
            format!("error {}", inline_all(want)),
            show_result(actual),
        )),
        (None, Err(_)) => Err(Mismatch::new("a result, not an error", show_result(actual))),
        (None, Ok(_)) => Ok(()),
    }
}

fn check_snapshot<T: Serialize>(
    name: &Option<String>,
    value: &T,
    snapshots: &mut Snapshots,
) -> Result<(), Mismatch> {
    match name {
        Some(name) => snapshots.check(name, value),
        None => Ok(()),
    }
}

/// Expectation on an operation that returns one value.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect<T, E> {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// The exact value.
    pub equals: Option<T>,
    /// The operation must fail with exactly this error.
    pub error: Option<E>,
    /// The value must match this recorded snapshot (`tests/snapshots/<stage>/<name>.snap`).
    pub snapshot: Option<String>,
}

impl<T, E> Expectation for Expect<T, E>
where
    T: PartialEq + Serialize + DeserializeOwned,
    E: PartialEq + Serialize + DeserializeOwned + std::fmt::Display,
{
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        let checks = [
            self.equals.is_some(),
            self.error.is_some(),
            self.snapshot.is_some(),
        ];
        require_a_check(&checks, self.error.is_some())
    }

    fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Observed, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

fn require_a_check(checks: &[bool], has_error: bool) -> Result<(), String> {
    let n = checks.iter().filter(|c| **c).count();
    if n == 0 {
        return Err(
            "`expect` checks nothing; give at least one check (equals, error, snapshot, …)".into(),
        );
    }
    if has_error && n > 1 {
        return Err("`expect` has `error` and other checks; an error has no value to check".into());
    }
    Ok(())
}

impl<T, E> Expect<T, E>
where
    T: PartialEq + Serialize,
    E: PartialEq + Serialize + std::fmt::Display,
{
    pub fn check(&self, actual: &Result<T, E>, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(actual) {
            return verdict;
        }
        check_error(&self.error, actual)?;
        let Ok(value) = actual else { return Ok(()) };
        if let Some(want) = &self.equals
            && want != value
        {
            return Err(Mismatch::new(inline_all(want), inline_all(value)));
        }
        check_snapshot(&self.snapshot, value, snapshots)
    }
}

/// Expectation on an operation that returns a list.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListExpect<T, E> {
    /// Shown when this step fails, instead of the case's `hint`: for a step that teaches an
    /// idea of its own.
    #[serde(default, skip_serializing)]
    pub hint: Option<String>,
    /// The exact list, in order.
    pub equals: Option<Vec<T>>,
    /// The list's length.
    pub len: Option<usize>,
    /// `true`: no item appears twice.
    pub distinct: Option<bool>,
    /// Items that must appear somewhere in the list.
    pub contains: Option<Vec<T>>,
    /// Items that must not appear in the list.
    pub excludes: Option<Vec<T>>,
    /// The operation must fail with exactly this error.
    pub error: Option<E>,
    /// The list must match this recorded snapshot.
    pub snapshot: Option<String>,
}

impl<T, E> Expectation for ListExpect<T, E>
where
    T: PartialEq + Serialize + DeserializeOwned,
    E: PartialEq + Serialize + DeserializeOwned + std::fmt::Display,
{
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    fn validate(&self) -> Result<(), String> {
        let checks = [
            self.equals.is_some(),
            self.len.is_some(),
            self.distinct.is_some(),
            self.contains.is_some(),
            self.excludes.is_some(),
            self.error.is_some(),
            self.snapshot.is_some(),
        ];
        require_a_check(&checks, self.error.is_some())
    }

    fn snapshot(&self) -> Option<&str> {
        self.snapshot.as_deref()
    }

    fn describe(&self) -> String {
        inline(self)
    }

    fn judge(&self, observed: &Observed, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |actual| self.check(actual, snapshots))
    }
}

impl<T, E> ListExpect<T, E>
where
    T: PartialEq + Serialize,
    E: PartialEq + Serialize + std::fmt::Display,
{
    /// Every item this expectation names, for checking them against the case's setup.
    pub fn named_items(&self) -> impl Iterator<Item = &T> {
        [&self.equals, &self.contains, &self.excludes]
            .into_iter()
            .flatten()
            .flatten()
    }

    pub fn check(
        &self,
        actual: &Result<Vec<T>, E>,
        snapshots: &mut Snapshots,
    ) -> Result<(), Mismatch> {
        if let Some(verdict) = snapshots.report(actual) {
            return verdict;
        }
        check_error(&self.error, actual)?;
        let Ok(list) = actual else { return Ok(()) };
        if let Some(want) = &self.equals
            && want != list
        {
            let at = want.iter().zip(list).position(|(a, b)| a != b);
            let note = match at {
                Some(i) => format!(" (first difference at index {i})"),
                None => format!(" (lengths {} and {})", want.len(), list.len()),
            };
            return Err(Mismatch::new(
                inline_all(want),
                format!("{}{note}", inline_all(list)),
            ));
        }
        if let Some(len) = self.len
            && len != list.len()
        {
            return Err(Mismatch::new(
                format!("a list of length {len}"),
                format!("length {}: {}", list.len(), inline_all(list)),
            ));
        }
        if let Some(distinct) = self.distinct {
            let repeated = list
                .iter()
                .enumerate()
                .find(|(i, item)| list[..*i].contains(item));
            match (distinct, repeated) {
                (true, Some((i, item))) => {
                    return Err(Mismatch::new(
                        "no item twice",
                        format!(
                            "{} ({} again at index {i})",
                            inline_all(list),
                            inline_all(item)
                        ),
                    ));
                }
                (false, None) => {
                    return Err(Mismatch::new("some item twice", inline_all(list)));
                }
                _ => {}
            }
        }
        if let Some(items) = &self.contains
            && let Some(missing) = items.iter().find(|i| !list.contains(i))
        {
            return Err(Mismatch::new(
                format!("a list containing {}", inline_all(missing)),
                inline_all(list),
            ));
        }
        if let Some(items) = &self.excludes
            && let Some(present) = items.iter().find(|i| list.contains(i))
        {
            return Err(Mismatch::new(
                format!("a list without {}", inline_all(present)),
                inline_all(list),
            ));
        }
        check_snapshot(&self.snapshot, list, snapshots)
    }
}

/// The expectation of a step that only makes something happen (a crash, a wait): the step ends
/// with `Happens.check(snapshots)`, so the parent still sees it run to its end.
pub struct Happens;

impl Happens {
    pub fn check(&self, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        snapshots.report(&()).unwrap_or(Ok(()))
    }
}

impl Expectation for Happens {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    fn snapshot(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        "(an event; nothing to check)".into()
    }

    fn judge(&self, observed: &Observed, _: &mut Snapshots) -> Result<(), Mismatch> {
        judge_as(observed, |_: &()| Ok(()))
    }
}

/// Bounds on a number: `{at_least: 0.2, at_most: 0.3}`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Between {
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
}

impl Between {
    pub fn validate(&self) -> Result<(), String> {
        match (self.at_least, self.at_most) {
            (None, None) => Err("a bound needs `at_least`, `at_most` or both".into()),
            (Some(lo), Some(hi)) if lo > hi => Err(format!("empty bound: {lo} > {hi}")),
            _ => Ok(()),
        }
    }

    pub fn holds(&self, x: f64) -> bool {
        self.at_least.is_none_or(|lo| x >= lo) && self.at_most.is_none_or(|hi| x <= hi)
    }
}

impl std::fmt::Display for Between {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.at_least, self.at_most) {
            (Some(lo), Some(hi)) => write!(f, "between {lo} and {hi}"),
            (Some(lo), None) => write!(f, "at least {lo}"),
            (None, Some(hi)) => write!(f, "at most {hi}"),
            (None, None) => write!(f, "anything"),
        }
    }
}

/// The error type of operations that cannot fail (clock arithmetic, Merkle trees): it has no
/// values, so an `expect: {error: …}` on such a step is refused when the case is read, with a
/// message that says why instead of listing zero variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NoError {}

impl<'de> Deserialize<'de> for NoError {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "this operation cannot fail, so `error` can never be met; remove it",
        ))
    }
}

impl schemars::JsonSchema for NoError {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoError".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "not": {},
            "description": "this operation cannot fail, so `error` can never be met"
        })
    }
}

impl std::fmt::Display for NoError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}
