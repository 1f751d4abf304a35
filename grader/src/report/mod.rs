//! What a run found, grouped stage → track → case, and its formats.
//!
//! - [`human`]: for a terminal; colour only when stdout is one and `NO_COLOR` is unset.
//! - [`json`]: the stable machine format other tools read (documented in `docs/instructors.md`).
//! - [`junit`], [`gradescope`], [`exercism`]: what CI systems and graders import.
//! - [`html`]: one self-contained page, with each failing networked case's messages drawn.

pub mod exercism;
pub mod gradescope;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::build::CompileError;
use crate::case::CaseMeta;
use crate::implementation::{Implementation, Selection};
use crate::integrity::Integrity;
use crate::outcome::{CaseOutcome, Status};
use crate::runner::Ran;
use crate::stage::Stage;
use crate::stages;

/// A whole run.
pub struct Report {
    pub stages: Vec<StageReport>,
    pub elapsed: Duration,
    /// Official files that differ from the manifest.
    pub integrity: Integrity,
    /// Who served every stage in this run, graded or not.
    pub selection: Selection,
    /// The options to repeat when telling the learner how to rerun (`--reference-deps`,
    /// `--filter wrap`, …), already quoted for a shell.
    pub rerun: Vec<String>,
    /// Learner stages whose `solution.rs` does not compile, with the compiler's first error: the
    /// reference served them to the stages that use them.
    pub broken: BTreeMap<Stage, CompileError>,
}

pub struct StageReport {
    pub stage: Stage,
    pub implementation: Implementation,
    pub tracks: Vec<TrackReport>,
}

pub struct TrackReport {
    pub track: String,
    pub cases: Vec<CaseReport>,
}

pub struct CaseReport {
    pub meta: CaseMeta,
    pub outcome: CaseOutcome,
    pub duration: Duration,
}

impl TrackReport {
    pub fn passed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome.status == Status::Pass)
            .count()
    }

    /// A track passes when it has cases and every one passes.
    pub fn is_green(&self) -> bool {
        !self.cases.is_empty() && self.passed() == self.cases.len()
    }
}
impl CaseReport {
    /// The advice for this failure: another stage's when the failure happened in that stage's
    /// code (this case's hint would be about something else), else the failed step's own hint,
    /// else the case's.
    pub fn hint(&self) -> Option<String> {
        if self.outcome.status == Status::DoesNotCompile {
            return Some(format!(
                "Fix the compiler's first error, then grade again: `cargo build -p {}-solution` \
                 lists every error. The other stages are graded meanwhile.",
                self.meta.stage.name()
            ));
        }
        if let Some(advice) = other_stage_advice(self.meta.stage, &self.outcome) {
            return Some(advice);
        }
        self.outcome
            .step
            .and_then(|i| self.meta.step_hints.get(i).cloned().flatten())
            .or_else(|| self.meta.hint.clone())
    }
}

/// When a failure's message places it in another stage's `solution.rs` (a stage-1 panic inside
/// a stage-2 case), the advice to fix that stage first.
pub fn other_stage_advice(own: Stage, outcome: &CaseOutcome) -> Option<String> {
    let text = [Some(&outcome.message), outcome.actual.as_ref()];
    let culprit = Stage::ALL.into_iter().filter(|s| *s != own).find(|s| {
        let file = format!("stages/{}/src/solution.rs", s.dir());
        text.iter().flatten().any(|t| t.contains(&file))
    })?;
    Some(format!(
        "This failed inside stage {} {culprit} (stages/{}/src/solution.rs), which this case \
         builds on. Make `cargo grade {culprit}` pass first, or grade {own} on the reference's \
         earlier stages: `cargo grade {own} --reference-deps`.",
        culprit.number(),
        culprit.dir()
    ))
}

impl StageReport {
    /// Tracks with at least one case in this run: a `--filter` can leave a track with none, and
    /// such a track neither passes nor fails.
    pub fn tracks_run(&self) -> usize {
        self.tracks.iter().filter(|t| !t.cases.is_empty()).count()
    }
}

impl StageReport {
    pub fn tracks_passed(&self) -> usize {
        self.tracks.iter().filter(|t| t.is_green()).count()
    }

    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.tracks.iter().flat_map(|t| &t.cases)
    }
}

impl Report {
    /// The compiler's first error when `stage` is the learner's and does not compile.
    pub fn compile_error(&self, stage: &StageReport) -> Option<&CompileError> {
        self.broken
            .get(&stage.stage)
            .filter(|_| stage.implementation == Implementation::Learner)
    }

    /// Who actually ran `stage` for the stages that use it: the selection, except that the
    /// reference stands in for a learner stage that does not compile.
    pub fn served(&self, stage: Stage) -> Implementation {
        match self.selection.get(stage) {
            Implementation::Learner if self.broken.contains_key(&stage) => {
                Implementation::Reference
            }
            who => who,
        }
    }

    /// Groups results by stage (in course order) and track (in teaching order; unknown tracks
    /// last), keeping file order within a track.
    pub fn build(
        stages_run: &[Stage],
        cases: Vec<CaseMeta>,
        ran: Vec<Ran>,
        selection: &Selection,
        elapsed: Duration,
    ) -> Self {
        let mut pairs: Vec<(CaseMeta, Ran)> = cases.into_iter().zip(ran).collect();
        let stages = stages_run
            .iter()
            .map(|&stage| {
                let mut tracks: Vec<TrackReport> = stages::tracks(stage)
                    .iter()
                    .map(|t| TrackReport {
                        track: (*t).to_string(),
                        cases: Vec::new(),
                    })
                    .collect();
                let (mine, rest): (Vec<_>, Vec<_>) =
                    pairs.drain(..).partition(|(m, _)| m.stage == stage);
                pairs = rest;
                for (meta, ran) in mine {
                    let report = CaseReport {
                        outcome: ran.outcome,
                        duration: ran.duration,
                        meta,
                    };
                    match tracks.iter_mut().find(|t| t.track == report.meta.track) {
                        Some(t) => t.cases.push(report),
                        None => tracks.push(TrackReport {
                            track: report.meta.track.clone(),
                            cases: vec![report],
                        }),
                    }
                }
                StageReport {
                    stage,
                    implementation: selection.get(stage),
                    tracks,
                }
            })
            .collect();
        Report {
            stages,
            elapsed,
            integrity: Integrity::default(),
            selection: selection.clone(),
            rerun: Vec::new(),
            broken: BTreeMap::new(),
        }
    }

    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.stages.iter().flat_map(StageReport::cases)
    }

    pub fn all_passed(&self) -> bool {
        self.cases().all(|c| c.outcome.status == Status::Pass)
    }
}
