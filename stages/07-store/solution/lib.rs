//! Your stage-7 solution as a crate of its own: `../src/solution.rs` compiled against
//! the contract crate `store`.
//!
//! The contract's items are re-exported at this crate's root, so `solution.rs` names them as
//! `crate::…` exactly as if it sat inside the contract crate. Keeping it out of the contract
//! crate means an edit to it recompiles only this small crate and the grader's thin case runner,
//! never the contract, the reference or the grader (see `docs/instructors.md`, "Crate layout").
//! You never need to edit this file.

pub use store::*;

// The learner's file: whether to document it is up to them, so missing docs there are no error.
#[allow(missing_docs, reason = "solution.rs belongs to the learner")]
#[path = "../src/solution.rs"]
pub mod solution;
