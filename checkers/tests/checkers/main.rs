//! Integration tests of the history checkers: hand-written histories whose verdict is worked out
//! in each test's doc comment, plus seeded randomized register histories. Everything is data: no
//! clock, no I/O, and the only randomness is the crate's seeded xorshift.

mod clock;
mod convergence;
mod linearizability;
mod lost_writes;
mod randomized;
mod render;
mod resurrection;
mod siblings;
mod util;
