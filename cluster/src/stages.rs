//! Which implementation serves each stage the node uses: the learner's `solution.rs` or the
//! reference, chosen with `--reference LIST|all` exactly as `cargo grade` spells it.
//!
//! The real node is the stage-7 node (`store`, the learner's or the reference's) composed of the
//! six stages, every one taken from the shared implementation table (`dynamo-select`), the same
//! one the grader uses (the learner's half from `dynamo-learner`), so the cluster runs exactly the code `cargo grade` grades. The table hands
//! out `fn` pointers, so nothing here needs to be `Send`. Learner code may still be a `todo!()`
//! stub, so [`Stages::probe`] exercises the stages once at start-up through [`guard`], which turns
//! a panic into a [`StageError`] naming the stage and who implements it: a node built on
//! unfinished stages refuses to start with a clear message instead of failing requests.

use std::collections::BTreeSet;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dynamo_common::NodeId;
use dynamo_select::hash_ring::RingImpl;
use dynamo_select::vector_clocks::ClockImpl;
use store::{HashRing, NewNode, VectorClock};

/// Every stage name the grader knows, so `--reference` accepts the same list.
const ALL_STAGES: [&str; 7] = [
    "hash-ring",
    "quorum",
    "fault-tolerance",
    "vector-clocks",
    "anti-entropy",
    "read-repair",
    "store",
];

/// Who implements a stage in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// `stages/NN-name/src/solution.rs`.
    Learner,
    /// `reference/src/<stage>.rs`.
    Reference,
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Implementation::Learner => "learner",
            Implementation::Reference => "reference",
        })
    }
}

/// The stages chosen for the reference, parsed from `--reference` (`all` or a comma list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    reference: BTreeSet<String>,
}

impl Selection {
    /// Parses `--reference`'s value; unknown stage names are an error that lists the known ones.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut reference = BTreeSet::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "all" {
                reference.extend(ALL_STAGES.iter().map(|s| s.to_string()));
            } else if ALL_STAGES.contains(&item) {
                reference.insert(item.to_string());
            } else {
                return Err(format!(
                    "unknown stage `{item}` in --reference (known: all, {})",
                    ALL_STAGES.join(", ")
                ));
            }
        }
        Ok(Self { reference })
    }

    /// Who implements `stage`.
    pub fn get(&self, stage: &str) -> Implementation {
        if self.reference.contains(stage) {
            Implementation::Reference
        } else {
            Implementation::Learner
        }
    }
}

/// A stage's code failed (a `todo!()` stub or a panic) or broke its contract.
#[derive(Clone, Debug, thiserror::Error)]
#[error("stage {stage} ({implementation}) {problem}")]
pub struct StageError {
    /// The grader's name of the stage, such as `hash-ring`.
    pub stage: &'static str,
    /// Who implements it in this process.
    pub implementation: Implementation,
    /// What went wrong, such as `panicked: not yet implemented: ...`.
    pub problem: String,
}

/// Runs `f`, turning a panic into a [`StageError`] for `stage`.
pub fn guard<T>(
    stage: &'static str,
    implementation: Implementation,
    f: impl FnOnce() -> T,
) -> Result<T, StageError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into());
        StageError {
            stage,
            implementation,
            problem: format!("panicked: {message}"),
        }
    })
}

/// The implementations serving this node's stages: the table's function pointers.
#[derive(Clone, Copy)]
pub struct Stages {
    ring: RingImpl,
    clocks: ClockImpl,
    /// The six stages as the node takes them.
    pub stages: store::Stages,
    /// The node's constructor (stage 7).
    pub new_node: NewNode,
    /// Who implements each stage, by the grader's name.
    pub who: [(&'static str, Implementation); 7],
}

/// Picks the learner's or the reference's implementation of one stage. `cargo dynamo` builds
/// `dynamo-learner` with every stage, so the learner's entry is always there.
fn pick<T>(who: Implementation, learner: Option<T>, reference: fn() -> T) -> T {
    match (who, learner) {
        (Implementation::Learner, Some(learner)) => learner,
        (Implementation::Learner, None) => unreachable!("cluster/ builds every learner stage"),
        (Implementation::Reference, _) => reference(),
    }
}

impl Stages {
    /// The implementations `selection` names, from the shared table (`dynamo-select`).
    pub fn select(selection: &Selection) -> Self {
        use dynamo_select::{anti_entropy, fault_tolerance, hash_ring, read_repair, vector_clocks};
        let learner = dynamo_learner::table();
        let who = ALL_STAGES.map(|stage| (stage, selection.get(stage)));
        let get = |stage: &str| selection.get(stage);
        let ring = pick(get("hash-ring"), learner.hash_ring, hash_ring::reference);
        let clocks = pick(
            get("vector-clocks"),
            learner.vector_clocks,
            vector_clocks::reference,
        );
        let stages = dynamo_select::store::stages(
            ring,
            pick(
                get("fault-tolerance"),
                learner.fault_tolerance,
                fault_tolerance::reference,
            ),
            clocks,
            pick(
                get("anti-entropy"),
                learner.anti_entropy,
                anti_entropy::reference,
            ),
            pick(
                get("read-repair"),
                learner.read_repair,
                read_repair::reference,
            ),
        );
        let new_node = pick(get("store"), learner.store, dynamo_select::store::reference);
        Self {
            ring,
            clocks,
            stages,
            new_node,
            who,
        }
    }

    /// Who implements `stage`.
    pub fn implementation(&self, stage: &str) -> Implementation {
        self.who
            .iter()
            .find(|(s, _)| *s == stage)
            .map_or(Implementation::Learner, |(_, who)| *who)
    }

    /// Builds the ring of `members` with `vnodes` tokens each (for introspection: the node keeps
    /// its own).
    pub fn ring(
        &self,
        vnodes: u32,
        members: impl IntoIterator<Item = NodeId>,
    ) -> Result<Box<dyn HashRing>, StageError> {
        let who = self.implementation("hash-ring");
        let contract = |e: store::RingError| StageError {
            stage: "hash-ring",
            implementation: who,
            problem: format!("returned an error: {e}"),
        };
        guard("hash-ring", who, || -> Result<_, StageError> {
            let mut ring = (self.ring.new)(vnodes).map_err(contract)?;
            for node in members {
                ring.add_node(node).map_err(contract)?;
            }
            Ok(ring)
        })?
    }

    /// The first `n` distinct nodes for `key` on `ring`.
    pub fn preference_list(
        &self,
        ring: &dyn HashRing,
        key: &str,
        n: usize,
    ) -> Result<Vec<NodeId>, StageError> {
        let who = self.implementation("hash-ring");
        guard("hash-ring", who, || ring.preference_list(key, n))?.map_err(|e| StageError {
            stage: "hash-ring",
            implementation: who,
            problem: format!("returned an error: {e}"),
        })
    }

    /// Exercises the stages once, so a node on unfinished stages fails at start-up, naming them.
    pub fn probe(&self) -> Result<(), Vec<StageError>> {
        // The errors name each failing stage; the default hook's backtrace note would only bury
        // them. Start-up is single-threaded, so swapping the global hook here is safe.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = self.probe_quietly();
        std::panic::set_hook(hook);
        result
    }

    fn probe_quietly(&self) -> Result<(), Vec<StageError>> {
        let mut errors = Vec::new();
        let members = [NodeId::new("A"), NodeId::new("B")];
        if let Err(e) = self
            .ring(4, members.clone())
            .and_then(|ring| self.preference_list(ring.as_ref(), "probe", 2))
        {
            errors.push(e);
        }
        let clocks = self.clocks.clocks;
        if let Err(e) = guard(
            "vector-clocks",
            self.implementation("vector-clocks"),
            || {
                let c = clocks();
                let a = c.increment(&VectorClock::new(), &members[0], 1);
                c.compare(&a, &VectorClock::new())
            },
        ) {
            errors.push(e);
        }
        let replica = self.stages.replica;
        if let Err(e) = guard("anti-entropy", self.implementation("anti-entropy"), || {
            replica(2).node(0, 0)
        }) {
            errors.push(e);
        }
        let read_repair = self.stages.read_repair;
        if let Err(e) = guard("read-repair", self.implementation("read-repair"), || {
            drop(read_repair(1))
        }) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
