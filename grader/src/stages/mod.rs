//! The stages the grader knows, each in its own module, behind one trait.
//!
//! Adding a stage to the grader means: a module here with its case types (track, setup, steps)
//! and a [`StagePlugin`] impl, one line in [`parse`], and its implementations in
//! `crate::implementations`. Loading, validation, the child process, reports and snapshots are
//! shared and need no change.

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
use crate::expect::{Expectation, Mismatch};
use crate::implementation::Selection;
use crate::snapshot::{self, Snapshots};
use crate::stage::Stage;

/// A stage as the grader sees it: the YAML types of its cases and how to run them.
pub trait StagePlugin: 'static {
    const STAGE: Stage;
    /// Every track, in teaching order; `Track` must serialize to exactly these names.
    const TRACKS: &'static [&'static str];
    type Track: DeserializeOwned + Serialize + JsonSchema;
    type Setup: DeserializeOwned + Default + JsonSchema;
    type Step: DeserializeOwned + JsonSchema;
    /// What the steps act on: a ring, a cluster, a clock store.
    type State;

    /// Checks a case beyond its types (for example that every node a step names exists).
    fn validate(setup: &Self::Setup, steps: &[Spanned<Self::Step>]) -> Vec<(Location, String)>;
    /// The step's expectation.
    fn expectation(step: &Self::Step) -> &dyn Expectation;
    /// A short description of the step for reports: `owner "user-42"`.
    fn label(step: &Self::Step) -> String;
    /// What the setup does, for reports: `setup: new(4), add_node A, B, C`.
    fn setup_label(setup: &Self::Setup) -> String;
    /// Builds the starting state with the selected implementations.
    fn setup(setup: &Self::Setup, selection: &Selection) -> Result<Self::State, Mismatch>;
    /// Runs one step and checks its expectation.
    fn step(
        state: &mut Self::State,
        step: &Self::Step,
        snapshots: &mut Snapshots,
    ) -> Result<(), Mismatch>;
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
pub trait LoadedCase {
    fn meta(&self) -> &CaseMeta;
    fn run(
        &self,
        selection: &Selection,
        snapshots: &mut Snapshots,
        on_step: StepHook<'_>,
    ) -> Result<(), Failure>;
}

struct Loaded<P: StagePlugin> {
    meta: CaseMeta,
    case: CaseFile<P::Track, P::Setup, P::Step>,
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
        let label = P::setup_label(&self.case.setup);
        on_step(None, &label, None);
        let mut state = P::setup(&self.case.setup, selection).map_err(|mismatch| Failure {
            step: None,
            label,
            mismatch,
        })?;
        for (i, step) in self.case.steps.iter().enumerate() {
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
}

/// The stage-independent fields of a parsed case, handed back to the loader.
pub struct Common {
    pub track: String,
    pub name: String,
    pub description: Option<String>,
    pub hint: Option<String>,
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
    let case: CaseFile<P::Track, P::Setup, P::Step> =
        serde_saphyr::from_str(text).map_err(|e| vec![Diagnostic::from_yaml(file, &e)])?;
    let mut problems: Vec<(Location, String)> = Vec::new();
    if case.stage != P::STAGE.name() {
        problems.push((
            case.name.referenced,
            format!("expected `stage: {}`", P::STAGE),
        ));
    }
    if let Err(e) = check_name(&case.name.value) {
        problems.push((case.name.referenced, e));
    }
    if let Some(p) = case.points
        && !(p.is_finite() && p >= 0.0)
    {
        problems.push((
            case.name.referenced,
            format!("points must be a number >= 0, not {p}"),
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
    let track = track_name(&case.track);
    let meta = meta(Common {
        track,
        name: case.name.value.clone(),
        description: case.description.clone(),
        hint: case.hint.clone(),
        points: case.points,
        visibility: case.visibility,
    });
    Ok(Box::new(Loaded::<P> { meta, case }))
}

fn track_name<T: Serialize>(track: &T) -> String {
    match serde_json::to_value(track) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("?"),
    }
}
