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

use std::time::Duration;

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

impl StageReport {
    pub fn tracks_passed(&self) -> usize {
        self.tracks.iter().filter(|t| t.is_green()).count()
    }

    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.tracks.iter().flat_map(|t| &t.cases)
    }
}

impl Report {
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
        }
    }

    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.stages.iter().flat_map(StageReport::cases)
    }

    pub fn all_passed(&self) -> bool {
        self.cases().all(|c| c.outcome.status == Status::Pass)
    }
}
