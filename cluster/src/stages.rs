//! Which implementation serves each stage the node uses: the learner's `solution.rs` or the
//! reference, chosen with `--reference LIST|all` exactly as `cargo grade` spells it.
//!
//! The real node uses stage 1 (placement: the ring's preference lists) and stage 4 (versions:
//! vector clocks), taken from the shared implementation table (`dynamo-select`), the same one the
//! grader uses. Stage objects need not be `Send` (learner code is plain Rust), so the node never
//! moves one between threads: the table hands out `fn` pointers, clocks are created per use (a
//! field-less struct) and each thread keeps its own copy of the ring, rebuilt when the membership
//! changes ([`Stages::with_ring`]). Learner code may still be a `todo!()` stub, so every call into a stage goes
//! through [`guard`], which turns a panic into a [`StageError`] naming the stage and who
//! implements it, and [`Stages::probe`] exercises both stages once at start-up so that a node
//! built on unfinished stages refuses to start with a clear message instead of failing requests.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dynamo_common::NodeId;
use dynamo_select::hash_ring::RingImpl;
use dynamo_select::vector_clocks::ClockImpl;
use hash_ring::HashRing;
use vector_clocks::{VectorClock, VectorClocks};

/// Every stage name the grader knows, so `--reference` accepts the same list.
const ALL_STAGES: [&str; 6] = [
    "hash-ring",
    "quorum",
    "fault-tolerance",
    "vector-clocks",
    "anti-entropy",
    "read-repair",
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
            } else if ALL_STAGES.contains(&item) || item == "store" {
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
    /// Who implements stage 1.
    pub ring_impl: Implementation,
    clocks: ClockImpl,
    /// Who implements stage 4.
    pub clocks_impl: Implementation,
}

thread_local! {
    /// This thread's ring: the membership generation it was built for, and the ring.
    static RING: RefCell<Option<(u64, Box<dyn HashRing>)>> = const { RefCell::new(None) };
}

impl Stages {
    /// The implementations `selection` names, from the shared table (`dynamo-select`).
    pub fn select(selection: &Selection) -> Self {
        let ring_impl = selection.get("hash-ring");
        let clocks_impl = selection.get("vector-clocks");
        Self {
            ring: match ring_impl {
                Implementation::Learner => dynamo_select::hash_ring::learner(),
                Implementation::Reference => dynamo_select::hash_ring::reference(),
            },
            ring_impl,
            clocks: match clocks_impl {
                Implementation::Learner => dynamo_select::vector_clocks::learner(),
                Implementation::Reference => dynamo_select::vector_clocks::reference(),
            },
            clocks_impl,
        }
    }

    /// Builds the ring of `members` with `vnodes` tokens each.
    pub fn ring(
        &self,
        vnodes: u32,
        members: impl IntoIterator<Item = NodeId>,
    ) -> Result<Box<dyn HashRing>, StageError> {
        let contract = |e: hash_ring::RingError| StageError {
            stage: "hash-ring",
            implementation: self.ring_impl,
            problem: format!("returned an error: {e}"),
        };
        guard("hash-ring", self.ring_impl, || -> Result<_, StageError> {
            let mut ring = (self.ring.new)(vnodes).map_err(contract)?;
            for node in members {
                ring.add_node(node).map_err(contract)?;
            }
            Ok(ring)
        })?
    }

    /// Runs `f` on this thread's ring for membership `generation`, building it from `members`
    /// first when this thread has none or an older one.
    pub fn with_ring<T>(
        &self,
        generation: u64,
        vnodes: u32,
        members: impl FnOnce() -> Vec<NodeId>,
        f: impl FnOnce(&dyn HashRing) -> T,
    ) -> Result<T, StageError> {
        RING.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.as_ref().is_none_or(|(g, _)| *g != generation) {
                *cell = Some((generation, self.ring(vnodes, members())?));
            }
            let (_, ring) = cell.as_ref().expect("built above");
            guard("hash-ring", self.ring_impl, || f(ring.as_ref()))
        })
    }

    /// The first `n` distinct nodes for `key` on `ring`.
    pub fn preference_list(
        &self,
        ring: &dyn HashRing,
        key: &str,
        n: usize,
    ) -> Result<Vec<NodeId>, StageError> {
        guard("hash-ring", self.ring_impl, || ring.preference_list(key, n))?.map_err(|e| {
            StageError {
                stage: "hash-ring",
                implementation: self.ring_impl,
                problem: format!("returned an error: {e}"),
            }
        })
    }

    /// The stage-4 rules.
    pub fn clocks(&self) -> ClockRules<'_> {
        ClockRules(self)
    }

    /// Exercises both stages once, so a node on unfinished stages fails at start-up, naming them.
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
        let rules = self.clocks();
        if let Err(e) = rules
            .increment(&VectorClock::new(), &members[0], 1)
            .and_then(|a| rules.compare(&a, &VectorClock::new()))
        {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Stage 4's operations with panics turned into [`StageError`]s.
pub struct ClockRules<'a>(&'a Stages);

impl ClockRules<'_> {
    fn run<T>(&self, f: impl FnOnce(&dyn VectorClocks) -> T) -> Result<T, StageError> {
        let new = self.0.clocks.clocks;
        guard("vector-clocks", self.0.clocks_impl, || f(new().as_ref()))
    }

    /// `clock` after one more write by `actor` at `timestamp`.
    pub fn increment(
        &self,
        clock: &VectorClock,
        actor: &NodeId,
        timestamp: u64,
    ) -> Result<VectorClock, StageError> {
        self.run(|c| c.increment(clock, actor, timestamp))
    }

    /// How `a` relates to `b`.
    pub fn compare(
        &self,
        a: &VectorClock,
        b: &VectorClock,
    ) -> Result<vector_clocks::ClockOrder, StageError> {
        self.run(|c| c.compare(a, b))
    }

    /// The least clock descending from both.
    pub fn merge(&self, a: &VectorClock, b: &VectorClock) -> Result<VectorClock, StageError> {
        self.run(|c| c.merge(a, b))
    }

    /// `clock` truncated to `threshold` entries.
    pub fn truncate(
        &self,
        clock: &VectorClock,
        threshold: usize,
    ) -> Result<VectorClock, StageError> {
        self.run(|c| c.truncate(clock, threshold))
    }
}
