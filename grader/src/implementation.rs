//! Which implementation serves each stage: the learner's `solution.rs`, the reference, or (for
//! the grader's own tests and self-check) a deliberately faulty one.

use std::collections::BTreeMap;
use std::fmt;

use crate::stage::Stage;

/// Who implements a stage in this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// `stages/NN-name/src/solution.rs`.
    Learner,
    /// `reference/src/<stage>.rs`.
    Reference,
    /// A deliberately faulty implementation from `grader/src/mutants`, by name.
    Mutant(String),
}

impl Implementation {
    /// The spelling used by the child-process protocol: `learner`, `reference`, `mutant:NAME`.
    pub fn to_arg(&self) -> String {
        match self {
            Implementation::Learner => "learner".into(),
            Implementation::Reference => "reference".into(),
            Implementation::Mutant(name) => format!("mutant:{name}"),
        }
    }

    pub fn from_arg(s: &str) -> Option<Self> {
        match s {
            "learner" => Some(Implementation::Learner),
            "reference" => Some(Implementation::Reference),
            _ => s
                .strip_prefix("mutant:")
                .map(|m| Implementation::Mutant(m.to_string())),
        }
    }
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Implementation::Learner => f.write_str("learner"),
            Implementation::Reference => f.write_str("reference"),
            Implementation::Mutant(name) => write!(f, "mutant {name}"),
        }
    }
}

/// The implementation chosen for every stage; stages not mentioned use the learner's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection(BTreeMap<Stage, Implementation>);

impl Selection {
    pub fn get(&self, stage: Stage) -> Implementation {
        self.0
            .get(&stage)
            .cloned()
            .unwrap_or(Implementation::Learner)
    }

    pub fn set(&mut self, stage: Stage, implementation: Implementation) {
        self.0.insert(stage, implementation);
    }

    /// Parses `--reference`'s value: `all`, or a comma-separated list of stages.
    pub fn with_reference_list(mut self, list: &str) -> Result<Self, String> {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "all" {
                for stage in Stage::ALL {
                    self.set(stage, Implementation::Reference);
                }
            } else {
                self.set(item.parse()?, Implementation::Reference);
            }
        }
        Ok(self)
    }

    /// `hash-ring=reference,quorum=learner`: how the parent tells a child process.
    pub fn to_arg(&self) -> String {
        self.0
            .iter()
            .map(|(s, i)| format!("{}={}", s.name(), i.to_arg()))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_arg(arg: &str) -> Result<Self, String> {
        let mut selection = Selection::default();
        for pair in arg.split(',').filter(|s| !s.is_empty()) {
            let (stage, implementation) = pair
                .split_once('=')
                .ok_or_else(|| format!("expected STAGE=IMPLEMENTATION, got `{pair}`"))?;
            let implementation = Implementation::from_arg(implementation)
                .ok_or_else(|| format!("unknown implementation `{implementation}`"))?;
            selection.set(stage.parse()?, implementation);
        }
        Ok(selection)
    }
}
