//! The table from "stage + implementation" to code, one module per stage.
//!
//! Stage contracts put constructors on the trait (`HashRing::new`) so learners write plain
//! `impl HashRing for Ring`. Here each implementation is turned into plain function pointers (or
//! trait objects), so the rest of the grader, and later stages that use earlier ones, never need
//! to be generic over who implements a stage.

mod anti_entropy;
mod fault_tolerance;
mod hash_ring;
mod quorum;
mod read_repair;
mod store;
mod vector_clocks;

pub use anti_entropy::{ReplicaImpl, anti_entropy};
pub use fault_tolerance::{DynSloppy, SloppyImpl, fault_tolerance};
pub use hash_ring::{RingImpl, hash_ring};
pub use quorum::{DynCoordinator, QuorumImpl, quorum};
pub use read_repair::{DynReadRepair, ReadRepairImpl, read_repair};
pub use store::store;
pub use vector_clocks::{ClockImpl, vector_clocks};
