//! The stages the grader knows, each in its own module, behind one trait.
//!
//! Adding a stage to the grader means: a module here with its case types (track, setup, steps)
//! and a [`StagePlugin`] impl, one line in [`parse`], and its implementations in
//! `crate::implementations`. Loading, validation, the child process, reports and snapshots are
//! shared and need no change.
//!
//! # Acting and judging
//! A case runs in two processes (see `crate::runner`). The child *acts*: it receives the setup and
//! the steps with every `expect` emptied to `{}`, and runs [`StagePlugin::setup`] and
//! [`StagePlugin::step`] on the code under test. The parent *judges*: it holds the real
//! expectations and snapshots. The two meet in one call, `expect.check(&actual, snapshots)`:
//! in the child, `snapshots` is `Snapshots::Report`, and `check` only sends `actual` to the
//! parent and returns its verdict; in the parent, [`Expectation::judge`] decodes the value as
//! the same type and runs the same `check` against the real expectation.
//!
//! So a step is written once, in the style every plugin already uses, under one rule: **a step
//! checks its result only through `expect.check(&actual, snapshots)`, exactly once, with one
//! serializable value** (`Serialize + DeserializeOwned`). Reading `expect`'s fields in `step`
//! sees an empty expectation in the child, so a step that compares by hand passes nothing: the
//! parent counts a step without a reported value as a failure, and `cargo grade self-check`
//! (the reference must pass) catches it at once. An operation the step needs that fails on its
//! own (`owner` erroring inside a `load` measurement) may still return `Err(Mismatch)` from
//! `step`: it can only fail the case, never pass it.
//!
//! ## Porting a step written in the old style
//! - `expect.check(&x, snapshots)` with `Expect`/`ListExpect`: nothing to change.
//! - A custom expectation type (`LoadExpect`) whose comparisons were inline in `step`: put what
//!   the step measured in one struct deriving `Serialize, Deserialize` (it usually exists:
//!   `Load`), move the comparisons into `impl LoadExpect { fn check(&self, actual: &Load,
//!   snapshots: &mut Snapshots) -> Result<(), Mismatch> }` starting with
//!   `if let Some(verdict) = snapshots.report(actual) { return verdict; }`, add
//!   `fn judge(&self, observed, snapshots) { judge_as(observed, |a| self.check(a, snapshots)) }`
//!   to its `Expectation` impl, and end the step with `expect.check(&load, snapshots)`.
//! - Text the failure message needs that is not the value (the latency, the message trace) goes
//!   into the value too, or, for the trace, `.map_err(|m| m.with_trace(...))` after `check` as
//!   today: the child attaches it to the failure it reports.
//! - `snapshots.check(name, &x)` called directly: route it through an expectation's `check`.
//! - A setting of the run rather than of the case (the store's `--seeds`): never the environment;
//!   it travels in `Start` as [`RunOptions`], and the plugin reads it in
//!   [`StagePlugin::setup_with`].

pub mod anti_entropy;
mod cluster;
pub mod fault_tolerance;
pub mod hash_ring;
pub mod quorum;
pub mod read_repair;
pub mod store;
pub mod vector_clocks;

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_saphyr::{Location, Spanned};

use crate::case::{CaseFile, CaseMeta, check_name};
use crate::diag::Diagnostic;
use crate::expect::{Expectation, Mismatch, Observed};
use crate::implementation::Selection;
use crate::snapshot::{self, Snapshots};
use crate::stage::Stage;

/// A stage as the grader sees it: the YAML types of its cases and how to run them.
pub trait StagePlugin: 'static {
    const STAGE: Stage;
    /// Every track, in teaching order; `Track` must serialize to exactly these names.
    const TRACKS: &'static [&'static str];
    type Track: DeserializeOwned + Serialize + JsonSchema + Send + Sync;
    type Setup: DeserializeOwned + Default + JsonSchema + Send + Sync;
    type Step: DeserializeOwned + JsonSchema + Send + Sync;
    /// What the steps act on: a ring, a cluster, a clock store.
    type State;

    /// Checks a case beyond its types (for example that every node a step names exists).
    fn validate(setup: &Self::Setup, steps: &[Spanned<Self::Step>]) -> Vec<(Location, String)>;
    /// Parent side, after validation: hands expectations what they need from the case to
    /// judge (read repair's version names, the store's case name for its rerun command). The
    /// case process never runs it.
    fn prepare(_name: &str, _setup: &Self::Setup, _steps: &mut [Spanned<Self::Step>]) {}
    /// The step's expectation.
    fn expectation(step: &Self::Step) -> &dyn Expectation;
    /// Whether the step runs once per seed of a sweep (the store's workloads), so the runner
    /// may split a sweep of its case over several case processes.
    fn seeded(_step: &Self::Step) -> bool {
        false
    }
    /// A short description of the step for reports: `owner "user-42"`.
    fn label(step: &Self::Step) -> String;
    /// What the setup does, for reports: `setup: new(4), add_node A, B, C`.
    fn setup_label(setup: &Self::Setup) -> String;
    /// Builds the starting state with the selected implementations.
    fn setup(setup: &Self::Setup, selection: &Selection) -> Result<Self::State, Mismatch>;
    /// The same, for a run with options beyond the case file (the store's seeds); only a
    /// stage that has such options overrides it.
    fn setup_with(
        setup: &Self::Setup,
        selection: &Selection,
        _options: &RunOptions,
    ) -> Result<Self::State, Mismatch> {
        Self::setup(setup, selection)
    }
    /// Runs one step and checks its expectation.
    fn step(
        state: &mut Self::State,
        step: &Self::Step,
        snapshots: &mut Snapshots,
    ) -> Result<(), Mismatch>;
}

/// How a run varies its cases beyond their files, sent to the case process inside `Start`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunOptions {
    /// The seeds of the store's workloads (`--seeds N`, `--seed S`).
    #[serde(default)]
    pub seeds: store::Seeds,
}

/// Why a case failed: at which step, doing what, and the mismatch.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Failure {
    /// 0-based; `None` when the setup failed.
    pub step: Option<usize>,
    pub label: String,
    pub mismatch: Mismatch,
}

/// Called before each step (`None` = setup) with its label and expectation, so a panic, crash or
/// hang can still be placed and explained.
pub type StepHook<'a> = &'a mut dyn FnMut(Option<usize>, &str, Option<String>);

/// A parsed, validated case of any stage.
pub trait LoadedCase: Send + Sync {
    fn meta(&self) -> &CaseMeta;
    /// Runs the case in this process, checking as it goes (recording snapshots, where the code
    /// under test is the trusted reference).
    fn run(
        &self,
        selection: &Selection,
        snapshots: &mut Snapshots,
        on_step: StepHook<'_>,
    ) -> Result<(), Failure>;
    /// What the case process receives: `setup` and `steps` as JSON, every `expect` emptied
    /// (worked out on first use, since only runs need it).
    fn acting_input(&self) -> Result<&str, String>;
    fn step_count(&self) -> usize;
    /// Whether a step of the case runs once per seed of a sweep ([`StagePlugin::seeded`]).
    fn seeded(&self) -> bool;
    fn setup_label(&self) -> String;
    fn step_label(&self, step: usize) -> String;
    /// Step `step`'s expectation as written.
    fn expected(&self, step: usize) -> String;
    /// Judges the value the case process reported for step `step`.
    fn judge(
        &self,
        step: usize,
        observed: &Observed,
        snapshots: &mut Snapshots,
    ) -> Result<(), Mismatch>;
}

struct Loaded<P: StagePlugin> {
    meta: CaseMeta,
    case: CaseFile<P::Track, P::Setup, P::Step>,
    text: String,
    acting: std::sync::OnceLock<Result<String, String>>,
}

impl<P: StagePlugin> LoadedCase for Loaded<P> {
    fn meta(&self) -> &CaseMeta {
        &self.meta
    }

    fn run(
        &self,
        selection: &Selection,
        snapshots: &mut Snapshots,
        on_step: StepHook<'_>,
    ) -> Result<(), Failure> {
        run_steps::<P>(
            &self.case.setup,
            &self.case.steps,
            selection,
            &RunOptions::default(),
            snapshots,
            on_step,
        )
    }

    fn acting_input(&self) -> Result<&str, String> {
        self.acting
            .get_or_init(|| acting_input(&self.text))
            .as_ref()
            .map(String::as_str)
            .map_err(Clone::clone)
    }

    fn step_count(&self) -> usize {
        self.case.steps.len()
    }

    fn seeded(&self) -> bool {
        self.case.steps.iter().any(|s| P::seeded(&s.value))
    }

    fn setup_label(&self) -> String {
        P::setup_label(&self.case.setup)
    }

    fn step_label(&self, step: usize) -> String {
        self.case
            .steps
            .get(step)
            .map_or_else(String::new, |s| P::label(&s.value))
    }

    fn expected(&self, step: usize) -> String {
        self.case
            .steps
            .get(step)
            .map_or_else(String::new, |s| P::expectation(&s.value).describe())
    }

    fn judge(
        &self,
        step: usize,
        observed: &Observed,
        snapshots: &mut Snapshots,
    ) -> Result<(), Mismatch> {
        match self.case.steps.get(step) {
            Some(s) => P::expectation(&s.value).judge(observed, snapshots),
            None => Err(Mismatch::new(
                format!("at most {} steps", self.case.steps.len()),
                format!("a value for step {}", step + 1),
            )),
        }
    }
}

fn run_steps<P: StagePlugin>(
    setup: &P::Setup,
    steps: &[Spanned<P::Step>],
    selection: &Selection,
    options: &RunOptions,
    snapshots: &mut Snapshots,
    on_step: StepHook<'_>,
) -> Result<(), Failure> {
    let label = P::setup_label(setup);
    on_step(None, &label, None);
    let mut state = P::setup_with(setup, selection, options).map_err(|mismatch| Failure {
        step: None,
        label,
        mismatch,
    })?;
    for (i, step) in steps.iter().enumerate() {
        let label = P::label(&step.value);
        on_step(
            Some(i),
            &label,
            Some(P::expectation(&step.value).describe()),
        );
        P::step(&mut state, &step.value, snapshots).map_err(|mismatch| Failure {
            step: Some(i),
            label,
            mismatch,
        })?;
    }
    Ok(())
}

/// The part of a case the case process receives.
#[derive(serde::Deserialize)]
struct ActingCase<Setup, Step> {
    #[serde(default)]
    setup: Setup,
    steps: Vec<Spanned<Step>>,
}

/// `setup` and `steps` of a case file's text as JSON, with every step's `expect` replaced by
/// `{}` (every expectation type accepts an empty mapping, all its checks being optional).
/// Untyped, YAML would read `y` or `no` as booleans; only `true` and `false` are, here.
fn acting_input(text: &str) -> Result<String, String> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let case: serde_json::Value =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| e.to_string())?;
    let mut steps = case.get("steps").cloned().unwrap_or_default();
    for step in steps.as_array_mut().into_iter().flatten() {
        for (_, fields) in step.as_object_mut().into_iter().flatten() {
            if let Some(expect) = fields.get_mut("expect") {
                *expect = serde_json::json!({});
            }
        }
    }
    let mut acting = serde_json::json!({ "steps": steps });
    if let Some(setup) = case.get("setup") {
        acting["setup"] = setup.clone();
    }
    Ok(acting.to_string())
}

/// The case process's side: runs `input` (from [`LoadedCase::acting_input`]) as a case of
/// `stage` with `options`, reporting through `snapshots`. `Err` when `input` does not parse (a
/// grader bug).
pub fn act(
    stage: Stage,
    input: &str,
    selection: &Selection,
    options: &RunOptions,
    snapshots: &mut Snapshots,
    on_step: StepHook<'_>,
) -> Result<Result<(), Failure>, String> {
    fn go<P: StagePlugin>(
        input: &str,
        selection: &Selection,
        options: &RunOptions,
        snapshots: &mut Snapshots,
        on_step: StepHook<'_>,
    ) -> Result<Result<(), Failure>, String> {
        let case: ActingCase<P::Setup, P::Step> =
            serde_saphyr::from_str(input).map_err(|e| e.to_string())?;
        Ok(run_steps::<P>(
            &case.setup,
            &case.steps,
            selection,
            options,
            snapshots,
            on_step,
        ))
    }
    let (i, sel, o) = (input, selection, options);
    match stage {
        Stage::HashRing => go::<hash_ring::Plugin>(i, sel, o, snapshots, on_step),
        Stage::Quorum => go::<quorum::Plugin>(i, sel, o, snapshots, on_step),
        Stage::FaultTolerance => go::<fault_tolerance::Plugin>(i, sel, o, snapshots, on_step),
        Stage::VectorClocks => go::<vector_clocks::Plugin>(i, sel, o, snapshots, on_step),
        Stage::AntiEntropy => go::<anti_entropy::Plugin>(i, sel, o, snapshots, on_step),
        Stage::ReadRepair => go::<read_repair::Plugin>(i, sel, o, snapshots, on_step),
        Stage::Store => go::<store::Plugin>(i, sel, o, snapshots, on_step),
    }
}

/// The stage-independent fields of a parsed case, handed back to the loader.
pub struct Common {
    pub track: String,
    pub name: String,
    pub description: Option<String>,
    pub hint: Option<String>,
    pub step_hints: Vec<Option<String>>,
    pub points: Option<f64>,
    pub visibility: Option<crate::case::Visibility>,
}

type MetaFn<'a> = &'a dyn Fn(Common) -> CaseMeta;

/// Parses and validates `text` as a case of `stage`. With `snapshot_dir`, every snapshot the case
/// names must be recorded there; without, snapshots are not checked (while recording them).
pub fn parse(
    stage: Stage,
    text: &str,
    file: &Path,
    snapshot_dir: Option<&Path>,
    meta: MetaFn<'_>,
) -> Result<Box<dyn LoadedCase>, Vec<Diagnostic>> {
    match stage {
        Stage::HashRing => parse_as::<hash_ring::Plugin>(text, file, snapshot_dir, meta),
        Stage::Quorum => parse_as::<quorum::Plugin>(text, file, snapshot_dir, meta),
        Stage::FaultTolerance => {
            parse_as::<fault_tolerance::Plugin>(text, file, snapshot_dir, meta)
        }
        Stage::VectorClocks => parse_as::<vector_clocks::Plugin>(text, file, snapshot_dir, meta),
        Stage::AntiEntropy => parse_as::<anti_entropy::Plugin>(text, file, snapshot_dir, meta),
        Stage::ReadRepair => parse_as::<read_repair::Plugin>(text, file, snapshot_dir, meta),
        Stage::Store => parse_as::<store::Plugin>(text, file, snapshot_dir, meta),
    }
}

/// The stages the grader can run, in course order: all seven.
pub fn known() -> impl Iterator<Item = Stage> {
    Stage::ALL.into_iter()
}

/// Adds the schema of `stage`'s case files to `generator` and returns a reference to it.
pub fn schema(stage: Stage, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    fn of<P: StagePlugin>(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        g.subschema_for::<CaseFile<P::Track, P::Setup, P::Step>>()
    }
    match stage {
        Stage::HashRing => of::<hash_ring::Plugin>(generator),
        Stage::Quorum => of::<quorum::Plugin>(generator),
        Stage::FaultTolerance => of::<fault_tolerance::Plugin>(generator),
        Stage::VectorClocks => of::<vector_clocks::Plugin>(generator),
        Stage::AntiEntropy => of::<anti_entropy::Plugin>(generator),
        Stage::ReadRepair => of::<read_repair::Plugin>(generator),
        Stage::Store => of::<store::Plugin>(generator),
    }
}

/// The track names of a stage, in teaching order.
pub fn tracks(stage: Stage) -> &'static [&'static str] {
    match stage {
        Stage::HashRing => hash_ring::Plugin::TRACKS,
        Stage::Quorum => quorum::Plugin::TRACKS,
        Stage::FaultTolerance => fault_tolerance::Plugin::TRACKS,
        Stage::VectorClocks => vector_clocks::Plugin::TRACKS,
        Stage::AntiEntropy => anti_entropy::Plugin::TRACKS,
        Stage::ReadRepair => read_repair::Plugin::TRACKS,
        Stage::Store => store::Plugin::TRACKS,
    }
}

fn parse_as<P: StagePlugin>(
    text: &str,
    file: &Path,
    snapshot_dir: Option<&Path>,
    meta: MetaFn<'_>,
) -> Result<Box<dyn LoadedCase>, Vec<Diagnostic>> {
    // A misspelt track is worth its own words ("unknown track"), not serde's "unknown variant".
    let header: TrackHeader =
        crate::diag::parse_yaml(text).map_err(|e| vec![Diagnostic::from_yaml(file, &e)])?;
    if let Some(track) = header.track
        && !P::TRACKS.contains(&track.value.as_str())
    {
        return Err(vec![Diagnostic::at_spanned(
            file,
            &track,
            format!(
                "unknown track `{}`; the tracks of {} are {}",
                track.value,
                P::STAGE,
                P::TRACKS.join(", ")
            ),
        )]);
    }
    let mut case: CaseFile<P::Track, P::Setup, P::Step> =
        crate::diag::parse_yaml(text).map_err(|e| vec![Diagnostic::from_yaml(file, &e)])?;
    let mut problems: Vec<(Location, String)> = Vec::new();
    if case.stage.value != P::STAGE.name() {
        problems.push((
            case.stage.referenced,
            format!("expected `stage: {}`", P::STAGE),
        ));
    }
    if let Err(e) = check_name(&case.name.value) {
        problems.push((case.name.referenced, e));
    }
    if let Some(p) = &case.points
        && !(p.value.is_finite() && p.value >= 0.0)
    {
        problems.push((
            p.referenced,
            format!("points must be a number >= 0, not {}", p.value),
        ));
    }
    if case.steps.is_empty() {
        problems.push((case.name.referenced, "the case has no steps".into()));
    }
    for step in &case.steps {
        let expectation = P::expectation(&step.value);
        if let Err(e) = expectation.validate() {
            problems.push((step.referenced, e));
        }
        if let Some(name) = expectation.snapshot() {
            if let Err(e) = check_name(name) {
                problems.push((step.referenced, format!("snapshot {e}")));
            } else if let Some(dir) = snapshot_dir {
                let path = snapshot::file(dir, name);
                if !path.is_file() {
                    problems.push((
                        step.referenced,
                        format!(
                            "snapshot `{name}` is not recorded (tests/snapshots/{}/{name}.snap is \
                             missing); record it with `cargo insta test -p grader --test \
                             snapshots` and accept it with `cargo insta review`",
                            P::STAGE.dir()
                        ),
                    ));
                }
            }
        }
    }
    problems.extend(P::validate(&case.setup, &case.steps));
    if !problems.is_empty() {
        problems.sort_by_key(|(loc, _)| (loc.line(), loc.column()));
        return Err(problems
            .into_iter()
            .map(|(loc, msg)| Diagnostic::at(file, loc, msg))
            .collect());
    }
    P::prepare(&case.name.value, &case.setup, &mut case.steps);
    let track = track_name(&case.track);
    let meta = meta(Common {
        track,
        name: case.name.value.clone(),
        description: case.description.clone(),
        hint: case.hint.clone(),
        step_hints: case
            .steps
            .iter()
            .map(|s| P::expectation(&s.value).hint().map(str::to_string))
            .collect(),
        points: case.points.as_ref().map(|p| p.value),
        visibility: case.visibility,
    });
    Ok(Box::new(Loaded::<P> {
        meta,
        case,
        text: text.to_string(),
        acting: std::sync::OnceLock::new(),
    }))
}

/// Just the `track:` of a case, read before the whole case.
#[derive(serde::Deserialize)]
struct TrackHeader {
    track: Option<Spanned<String>>,
}

fn track_name<T: Serialize>(track: &T) -> String {
    match serde_json::to_value(track) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("?"),
    }
}
