//! `cargo dynamo`: the real Mini-Dynamo cluster.
//!
//! One binary plays every part: `node` is one Dynamo node (HTTP API, peer traffic, redb
//! storage), `up` supervises a local cluster of node processes, `kill`/`revive`/`pause`/`resume`/
//! `partition`/`heal`/`status` inject faults into it, `put`/`get`/`delete` are a small client that
//! keeps contexts for you, `demo` narrates the paper's shopping cart, and `bench` measures
//! throughput and latency (optionally against etcd).

mod bench;
mod cli;
mod client;
mod dashboard;
mod http;
mod node;
mod peer;
mod serve;
mod stages;
mod storage;
mod supervisor;
mod versions;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dynamo: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
