//! `cargo grade`: the grader's parent process (see the library's docs for the layout).

fn main() {
    std::process::exit(grader::main());
}

/// mimalloc rather than glibc's malloc. This binary is also the case process when every stage is
/// the reference (`--reference all`, self-check), and a stage-7 simulation allocates and frees
/// small objects at every message (envelopes, sibling sets, vector clocks, futures): glibc's
/// malloc and free were about a fifth of its CPU. `cargo grade store --reference all --seeds 100`
/// took 16-19 s of CPU with mimalloc and 21-24 s without (three alternated runs each, 2026-11-22).
/// The learner's case runner (`grader-child`) uses the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
