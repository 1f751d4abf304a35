//! The stages of the course (six, and the capstone), and how a user names them on the command line.

use std::fmt;
use std::str::FromStr;

/// One stage of the course. The order is the teaching order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    HashRing,
    Quorum,
    FaultTolerance,
    VectorClocks,
    AntiEntropy,
    ReadRepair,
    /// Stage 7, the capstone: the six composed into one Dynamo node.
    Store,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::HashRing,
        Stage::Quorum,
        Stage::FaultTolerance,
        Stage::VectorClocks,
        Stage::AntiEntropy,
        Stage::ReadRepair,
        Stage::Store,
    ];

    /// The name used in case files, reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Stage::HashRing => "hash-ring",
            Stage::Quorum => "quorum",
            Stage::FaultTolerance => "fault-tolerance",
            Stage::VectorClocks => "vector-clocks",
            Stage::AntiEntropy => "anti-entropy",
            Stage::ReadRepair => "read-repair",
            Stage::Store => "store",
        }
    }

    /// 1 to 7.
    pub fn number(self) -> usize {
        Stage::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// The stage's folder under `stages/`, `tests/cases/` and `tests/snapshots/`.
    pub fn dir(self) -> String {
        format!("{:02}-{}", self.number(), self.name())
    }

    /// The earlier stages whose implementation this stage's cases run on (through the selection),
    /// besides its own: a stage-7 case builds whole nodes out of stages 1 and 3 to 6.
    pub fn uses(self) -> &'static [Stage] {
        match self {
            Stage::HashRing | Stage::VectorClocks => &[],
            Stage::Quorum | Stage::FaultTolerance => &[Stage::HashRing],
            Stage::AntiEntropy => &[Stage::VectorClocks],
            Stage::ReadRepair => &[Stage::HashRing, Stage::VectorClocks],
            Stage::Store => &[
                Stage::HashRing,
                Stage::FaultTolerance,
                Stage::VectorClocks,
                Stage::AntiEntropy,
                Stage::ReadRepair,
            ],
        }
    }

    pub fn names() -> String {
        Stage::ALL.map(Stage::name).join(", ")
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = String;

    /// Accepts `hash-ring`, `1`, `01` and `01-hash-ring`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Stage::ALL
            .into_iter()
            .find(|st| {
                s == st.name()
                    || s == st.dir()
                    || s.parse::<usize>().is_ok_and(|n| n == st.number())
            })
            .ok_or_else(|| {
                format!(
                    "unknown stage `{s}`; the stages are {} (or 1 to 7)",
                    Stage::names()
                )
            })
    }
}
