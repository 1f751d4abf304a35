//! Stage 4 cases: vector clocks and sibling versions.
//!
//! ```yaml
//! stage: vector-clocks
//! track: causality
//! name: missing-actor-counts-as-zero
//! setup:
//!   clocks:
//!     a: {Sx: {counter: 1}}
//!     b: {Sx: {counter: 1}, Sy: {counter: 1}}
//! steps:
//!   - compare: {a: a, b: b, expect: {equals: before}}
//! ```
//!
//! Clocks are named: the setup declares some, and any step that produces a clock can save it
//! under a new name with `as:` (a `get`'s context, a `put`'s new clock, a merge). Steps then refer
//! to clocks by name, so a case reads like the paper's story (`d2`, `d3`, `d4`) and the grader,
//! not the implementation under test, keeps them between steps.
//!
//! Replicas are sibling stores named in `setup.replicas`; a store step says which with `on:`
//! (optional when there is only one). `reconcile` hands one replica's siblings to another, which
//! is how a case moves versions between nodes.

use std::collections::{BTreeMap, BTreeSet};

use dynamo_common::NodeId;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use vector_clocks::{
    ClockOrder, DEFAULT_THRESHOLD, VectorClock, VectorClocks, Version, VersionStore,
};

use super::StagePlugin;
use crate::expect::{Expect, Expectation, ListExpect, Mismatch, NoError};
use crate::implementation::Selection;
use crate::implementations::{self, ClockImpl};
use crate::render::inline;
use crate::snapshot::Snapshots;
use crate::stage::Stage;

/// The stage-4 plugin.
pub struct Plugin;

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "VectorClocksTrack")]
pub enum Track {
    Causality,
    Siblings,
    ShoppingCart,
    Truncation,
}

/// Clock operations cannot fail, so no `expect: {error: …}` can be met: this type has no values,
/// Named clocks and replicas a case starts from.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "VectorClocksSetup")]
pub struct Setup {
    /// Clocks by name: `d2: {Sx: {counter: 2}}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, VectorClock>")]
    pub clocks: BTreeMap<String, Spanned<VectorClock>>,
    /// Empty sibling stores, by name.
    #[serde(default)]
    #[schemars(with = "Vec<NodeId>")]
    pub replicas: Vec<Spanned<NodeId>>,
    /// The stores' truncation threshold; 10 when left out.
    #[serde(default)]
    pub threshold: Option<usize>,
    /// Per-store thresholds, overriding `threshold` for the stores named: `{B: 2}`.
    #[serde(default)]
    pub thresholds: BTreeMap<NodeId, usize>,
}

/// One operation, with its expectation.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "VectorClocksStep")]
pub enum Step {
    /// `increment(clock, actor, timestamp)`; without `clock`, from the empty clock.
    Increment {
        #[serde(default)]
        clock: Option<String>,
        actor: NodeId,
        #[serde(default)]
        timestamp: u64,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<VectorClock, NoError>,
    },
    /// `compare(a, b)`.
    Compare {
        a: String,
        b: String,
        expect: Expect<ClockOrder, NoError>,
    },
    /// `merge(a, b)`.
    Merge {
        a: String,
        b: String,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<VectorClock, NoError>,
    },
    /// Merges the clocks in every order (every permutation, each folded both ways), optionally
    /// truncating the result; every order must give the same clock, which `expect` then checks.
    MergeInEveryOrder {
        clocks: Vec<String>,
        #[serde(default)]
        truncate: Option<usize>,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<VectorClock, NoError>,
    },
    /// `truncate(clock, threshold)`.
    Truncate {
        clock: String,
        threshold: usize,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<VectorClock, NoError>,
    },
    /// A client write on replica `on`; its value is the new version's clock.
    Put {
        #[serde(default)]
        on: Option<NodeId>,
        #[serde(default)]
        context: Option<String>,
        value: String,
        actor: NodeId,
        #[serde(default)]
        timestamp: u64,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<VectorClock, NoError>,
    },
    /// The replica's siblings.
    Get {
        #[serde(default)]
        on: Option<NodeId>,
        expect: ListExpect<Version, NoError>,
    },
    /// Just the siblings' values, in `get`'s order.
    Values {
        #[serde(default)]
        on: Option<NodeId>,
        expect: ListExpect<String, NoError>,
    },
    /// The read context: the merge of the siblings' clocks.
    Context {
        #[serde(default)]
        on: Option<NodeId>,
        #[serde(default, rename = "as")]
        save_as: Option<String>,
        expect: Expect<VectorClock, NoError>,
    },
    /// Replica `on` reconciles every sibling of replica `from`, or the literal `versions`
    /// (exactly one of the two); its value is `on`'s siblings after.
    Reconcile {
        #[serde(default)]
        on: Option<NodeId>,
        #[serde(default)]
        from: Option<NodeId>,
        /// Versions written out: `[{value: x, clock: {Sx: {counter: 1}}}]`.
        #[serde(default)]
        versions: Option<Vec<Version>>,
        expect: ListExpect<Version, NoError>,
    },
}

impl Step {
    fn replica(&self) -> Option<&Option<NodeId>> {
        match self {
            Step::Put { on, .. }
            | Step::Get { on, .. }
            | Step::Values { on, .. }
            | Step::Context { on, .. }
            | Step::Reconcile { on, .. } => Some(on),
            _ => None,
        }
    }

    fn clock_names(&self) -> Vec<&String> {
        match self {
            Step::Increment { clock, .. } => clock.iter().collect(),
            Step::Compare { a, b, .. } | Step::Merge { a, b, .. } => vec![a, b],
            Step::MergeInEveryOrder { clocks, .. } => clocks.iter().collect(),
            Step::Truncate { clock, .. } => vec![clock],
            Step::Put { context, .. } => context.iter().collect(),
            _ => Vec::new(),
        }
    }

    fn saves(&self) -> Option<&String> {
        match self {
            Step::Increment { save_as, .. }
            | Step::Merge { save_as, .. }
            | Step::MergeInEveryOrder { save_as, .. }
            | Step::Truncate { save_as, .. }
            | Step::Put { save_as, .. }
            | Step::Context { save_as, .. } => save_as.as_ref(),
            _ => None,
        }
    }
}

/// The clocks and stores under test, plus the case's named clocks.
pub struct State {
    clocks: Box<dyn VectorClocks>,
    named: BTreeMap<String, VectorClock>,
    replicas: BTreeMap<NodeId, Box<dyn VersionStore>>,
}

impl State {
    fn clock(&self, name: &str) -> VectorClock {
        match self.named.get(name) {
            Some(c) => c.clone(),
            None => unreachable!("validation defines every clock before it is used"),
        }
    }

    /// The replica a step names, or the only one.
    fn replica(&mut self, on: &Option<NodeId>) -> &mut dyn VersionStore {
        let store = match on {
            Some(name) => self.replicas.get_mut(name),
            None => self.replicas.values_mut().next(),
        };
        match store {
            Some(s) => s.as_mut(),
            None => unreachable!("validation checks every replica a step names"),
        }
    }

    fn save(&mut self, name: &Option<String>, clock: &VectorClock) {
        if let Some(name) = name {
            self.named.insert(name.clone(), clock.clone());
        }
    }
}

impl StagePlugin for Plugin {
    const STAGE: Stage = Stage::VectorClocks;
    const TRACKS: &'static [&'static str] =
        &["causality", "siblings", "shopping-cart", "truncation"];
    type Track = Track;
    type Setup = Setup;
    type Step = Step;
    type State = State;

    fn validate(setup: &Setup, steps: &[Spanned<Step>]) -> Vec<(Location, String)> {
        let mut problems = Vec::new();
        for (name, clock) in &setup.clocks {
            if let Err(e) = check_name(name) {
                problems.push((clock.referenced, e));
            }
            if let Some((actor, _)) = clock.value.entries.iter().find(|(_, e)| e.counter == 0) {
                problems.push((
                    clock.referenced,
                    format!(
                        "clock {name} has counter 0 for {actor}; counters start at 1, so leave the actor out"
                    ),
                ));
            }
        }
        let mut replicas: BTreeSet<&NodeId> = BTreeSet::new();
        for r in &setup.replicas {
            if !replicas.insert(&r.value) {
                problems.push((r.referenced, format!("replica {} is listed twice", r.value)));
            }
        }
        let first = steps.first().map_or(Location::UNKNOWN, |s| s.referenced);
        for r in setup.thresholds.keys() {
            if !replicas.contains(r) {
                problems.push((
                    first,
                    format!("setup.thresholds names replica {r}, which is not in setup.replicas"),
                ));
            }
        }
        let mut defined: BTreeSet<&String> = setup.clocks.keys().collect();
        for step in steps {
            let at = step.referenced;
            for name in step.value.clock_names() {
                if !defined.contains(name) {
                    problems.push((
                        at,
                        format!(
                            "uses clock `{name}`, which is not in setup.clocks nor saved by an earlier step's `as:`"
                        ),
                    ));
                }
            }
            if let Some(on) = step.value.replica() {
                let mut named = on.iter().collect::<Vec<_>>();
                if let Step::Reconcile { from, versions, .. } = &step.value {
                    named.extend(from);
                    if from.is_some() == versions.is_some() {
                        problems.push((
                            at,
                            "reconcile takes exactly one of `from` (a replica) and `versions`"
                                .into(),
                        ));
                    }
                    for v in versions.iter().flatten() {
                        if let Some((actor, _)) =
                            v.clock.entries.iter().find(|(_, e)| e.counter == 0)
                        {
                            problems.push((
                                at,
                                format!(
                                    "version {} has counter 0 for {actor}; counters start at 1, so leave the actor out",
                                    v.value
                                ),
                            ));
                        }
                    }
                }
                for r in named {
                    if !replicas.contains(r) {
                        problems.push((
                            at,
                            format!("names replica {r}, which is not in setup.replicas"),
                        ));
                    }
                }
                if on.is_none() && replicas.len() != 1 {
                    problems.push((
                        at,
                        "say which replica with `on:`; it may be left out only when setup.replicas has exactly one".into(),
                    ));
                }
            }
            if let Step::MergeInEveryOrder { clocks, .. } = &step.value
                && !(2..=5).contains(&clocks.len())
            {
                problems.push((at, "merge_in_every_order takes 2 to 5 clocks".into()));
            }
            if let Some(name) = step.value.saves() {
                if let Err(e) = check_name(name) {
                    problems.push((at, e));
                }
                defined.insert(name);
            }
        }
        problems
    }

    fn expectation(step: &Step) -> &dyn Expectation {
        match step {
            Step::Increment { expect, .. }
            | Step::Merge { expect, .. }
            | Step::MergeInEveryOrder { expect, .. }
            | Step::Truncate { expect, .. }
            | Step::Put { expect, .. }
            | Step::Context { expect, .. } => expect,
            Step::Compare { expect, .. } => expect,
            Step::Get { expect, .. } | Step::Reconcile { expect, .. } => expect,
            Step::Values { expect, .. } => expect,
        }
    }

    fn label(step: &Step) -> String {
        let on = |on: &Option<NodeId>| on.as_ref().map(|r| format!(" on {r}")).unwrap_or_default();
        let saved = |s: &Option<String>| s.as_ref().map(|n| format!(" as {n}")).unwrap_or_default();
        match step {
            Step::Increment {
                clock,
                actor,
                timestamp,
                save_as,
                ..
            } => format!(
                "increment {} by {actor} at {timestamp}{}",
                clock.as_deref().unwrap_or("the empty clock"),
                saved(save_as)
            ),
            Step::Compare { a, b, .. } => format!("compare {a} with {b}"),
            Step::Merge { a, b, save_as, .. } => format!("merge {a} and {b}{}", saved(save_as)),
            Step::MergeInEveryOrder {
                clocks,
                truncate,
                save_as,
                ..
            } => {
                let then = truncate
                    .map(|t| format!(", then truncate to {t}"))
                    .unwrap_or_default();
                format!(
                    "merge {} in every order{then}{}",
                    clocks.join(", "),
                    saved(save_as)
                )
            }
            Step::Truncate {
                clock,
                threshold,
                save_as,
                ..
            } => format!("truncate {clock} to {threshold}{}", saved(save_as)),
            Step::Put {
                on: r,
                context,
                value,
                actor,
                timestamp,
                save_as,
                ..
            } => {
                let ctx = context
                    .as_ref()
                    .map_or(" without context".to_string(), |c| {
                        format!(" with context {c}")
                    });
                format!(
                    "put {}{} by {actor} at {timestamp}{ctx}{}",
                    inline(value),
                    on(r),
                    saved(save_as)
                )
            }
            Step::Get { on: r, .. } => format!("get{}", on(r)),
            Step::Values { on: r, .. } => format!("values{}", on(r)),
            Step::Context { on: r, save_as, .. } => format!("context{}{}", on(r), saved(save_as)),
            Step::Reconcile {
                on: r,
                from: Some(from),
                ..
            } => format!("reconcile{} from {from}", on(r)),
            Step::Reconcile {
                on: r, versions, ..
            } => format!(
                "reconcile{} versions {}",
                on(r),
                inline(versions.as_deref().unwrap_or_default())
            ),
        }
    }

    fn setup_label(setup: &Setup) -> String {
        let mut parts = Vec::new();
        if !setup.clocks.is_empty() {
            let names: Vec<&str> = setup.clocks.keys().map(String::as_str).collect();
            parts.push(format!("clocks {}", names.join(", ")));
        }
        if !setup.replicas.is_empty() {
            let names: Vec<String> = setup.replicas.iter().map(|r| r.value.to_string()).collect();
            parts.push(format!(
                "empty replicas {} (threshold {})",
                names.join(", "),
                setup.threshold.unwrap_or(DEFAULT_THRESHOLD)
            ));
            for (r, t) in &setup.thresholds {
                parts.push(format!("{r} truncates at {t}"));
            }
        }
        if parts.is_empty() {
            "setup (nothing)".into()
        } else {
            format!("setup: {}", parts.join("; "))
        }
    }

    fn setup(setup: &Setup, selection: &Selection) -> Result<State, Mismatch> {
        let ClockImpl { clocks, new_store } =
            implementations::vector_clocks(&selection.get(Stage::VectorClocks));
        let threshold = setup.threshold.unwrap_or(DEFAULT_THRESHOLD);
        Ok(State {
            clocks: clocks(),
            named: setup
                .clocks
                .iter()
                .map(|(name, c)| (name.clone(), c.value.clone()))
                .collect(),
            replicas: setup
                .replicas
                .iter()
                .map(|r| {
                    let own = setup.thresholds.get(&r.value).copied();
                    (r.value.clone(), new_store(own.unwrap_or(threshold)))
                })
                .collect(),
        })
    }

    fn step(state: &mut State, step: &Step, snapshots: &mut Snapshots) -> Result<(), Mismatch> {
        match step {
            Step::Increment {
                clock,
                actor,
                timestamp,
                save_as,
                expect,
            } => {
                let base = clock.as_deref().map(|c| state.clock(c)).unwrap_or_default();
                let next = state.clocks.increment(&base, actor, *timestamp);
                state.save(save_as, &next);
                expect.check(&Ok(next), snapshots)
            }
            Step::Compare { a, b, expect } => {
                let order = state.clocks.compare(&state.clock(a), &state.clock(b));
                expect.check(&Ok(order), snapshots)
            }
            Step::Merge {
                a,
                b,
                save_as,
                expect,
            } => {
                let merged = state.clocks.merge(&state.clock(a), &state.clock(b));
                state.save(save_as, &merged);
                expect.check(&Ok(merged), snapshots)
            }
            Step::MergeInEveryOrder {
                clocks,
                truncate,
                save_as,
                expect,
            } => {
                let merged = merge_in_every_order(state, clocks, *truncate)?;
                state.save(save_as, &merged);
                expect.check(&Ok(merged), snapshots)
            }
            Step::Truncate {
                clock,
                threshold,
                save_as,
                expect,
            } => {
                let kept = state.clocks.truncate(&state.clock(clock), *threshold);
                state.save(save_as, &kept);
                expect.check(&Ok(kept), snapshots)
            }
            Step::Put {
                on,
                context,
                value,
                actor,
                timestamp,
                save_as,
                expect,
            } => {
                let context = context.as_deref().map(|c| state.clock(c));
                let clock =
                    state
                        .replica(on)
                        .put(context.as_ref(), value.clone(), actor, *timestamp);
                state.save(save_as, &clock);
                expect.check(&Ok(clock), snapshots)
            }
            Step::Get { on, expect } => expect.check(&Ok(state.replica(on).get()), snapshots),
            Step::Values { on, expect } => {
                let values = state
                    .replica(on)
                    .get()
                    .into_iter()
                    .map(|v| v.value)
                    .collect();
                expect.check(&Ok(values), snapshots)
            }
            Step::Context {
                on,
                save_as,
                expect,
            } => {
                let context = state.replica(on).context();
                state.save(save_as, &context);
                expect.check(&Ok(context), snapshots)
            }
            Step::Reconcile {
                on,
                from,
                versions,
                expect,
            } => {
                let incoming = match (from, versions) {
                    (Some(from), _) => state.replica(&Some(from.clone())).get(),
                    (None, Some(v)) => v.clone(),
                    (None, None) => unreachable!("validation requires from or versions"),
                };
                let store = state.replica(on);
                store.reconcile(incoming);
                expect.check(&Ok(store.get()), snapshots)
            }
        }
    }
}

/// Folds `merge` over every permutation of the named clocks, both as `merge(acc, next)` and as
/// `merge(next, acc)`, and requires one answer.
fn merge_in_every_order(
    state: &State,
    names: &[String],
    truncate: Option<usize>,
) -> Result<VectorClock, Mismatch> {
    let mut results: BTreeMap<VectorClock, String> = BTreeMap::new();
    for order in permutations(names.len()) {
        for acc_first in [true, false] {
            let mut acc = VectorClock::new();
            for &i in &order {
                let next = state.clock(&names[i]);
                acc = if acc_first {
                    state.clocks.merge(&acc, &next)
                } else {
                    state.clocks.merge(&next, &acc)
                };
            }
            if let Some(t) = truncate {
                acc = state.clocks.truncate(&acc, t);
            }
            let shown: Vec<&str> = order.iter().map(|&i| names[i].as_str()).collect();
            let how = if acc_first {
                format!("merge(acc, next) over [{}]", shown.join(", "))
            } else {
                format!("merge(next, acc) over [{}]", shown.join(", "))
            };
            results.entry(acc).or_insert(how);
        }
    }
    let mut iter = results.into_iter();
    let Some((first, first_how)) = iter.next() else {
        return Ok(VectorClock::new());
    };
    match iter.next() {
        None => Ok(first),
        Some((second, second_how)) => Err(Mismatch::new(
            "the same clock whatever the order",
            format!(
                "{first_how} gives {}, but {second_how} gives {}",
                inline(&first),
                inline(&second)
            ),
        )),
    }
}

/// Every permutation of `0..n`, in lexicographic order.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, n - 1);
            out.push(p);
        }
    }
    out.sort();
    out
}

fn check_name(name: &str) -> Result<(), String> {
    crate::case::check_name(name).map_err(|e| format!("clock {e}"))
}
