//! The grader's case runner: the grader library (built against the stage contracts only) plus the
//! learner's implementations (`dynamo-learner`, one feature per stage). `cargo grade` builds it with
//! `cargo build -p grader-child` and starts one per case as `grader-child __run-case --parent PID`.
//!
//! It is deliberately nothing but this `main`: an edit to a `solution.rs` recompiles that stage's
//! solution package and `dynamo-learner`, then relinks this binary, and nothing else.

fn main() {
    std::process::exit(grader::case_process(dynamo_learner::table()));
}

/// The grader's own allocator choice (see `grader/src/main.rs`): the case process spends a fifth
/// of a stage-7 simulation in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
