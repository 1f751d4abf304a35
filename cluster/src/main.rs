//! `cargo dynamo`: the real Mini-Dynamo cluster.
//!
//! One binary plays every part: `node` hosts one stage-7 Dynamo node (the learner's or the
//! reference's, exactly as the grader runs it) with an HTTP API, peer traffic and redb storage, `up` supervises a local cluster of node processes, `kill`/`revive`/`pause`/`resume`/
//! `partition`/`heal`/`status` inject faults into it, `put`/`get`/`delete` are a small client that
//! keeps contexts for you, `demo` narrates the paper's shopping cart, and `bench` measures
//! throughput and latency (optionally against etcd).

mod actor;
mod bench;
mod cli;
mod client;
mod dashboard;
mod http;
mod http_client;
mod link;
mod peer;
mod serve;
mod stages;
mod storage;
mod supervisor;
mod transport;
mod wal;
mod wire;

use clap::Parser;

/// mimalloc rather than the system allocator: a node allocates and frees many small buffers per
/// request (HTTP, envelopes, sibling sets), and glibc's malloc/free took about a fifth of the
/// cluster's CPU under `cargo dynamo bench` (perf, docs/cluster.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `cargo dynamo status | head` closes stdout early, and that is not a crash. Rust ignores
/// SIGPIPE, so `println!` panics on the closed pipe: end instead as a process killed by SIGPIPE
/// would, quietly, with the shell's status for it (128 + 13).
fn quiet_on_a_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> std::process::ExitCode {
    quiet_on_a_closed_stdout();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dynamo: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
