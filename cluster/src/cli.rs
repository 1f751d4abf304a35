//! The command line: every `cargo dynamo` subcommand and its options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Consistency mode, as the stage-7 node defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Dynamo: sloppy quorum with hinted handoff, always writeable.
    Eventual,
    /// Primaries only, majority reads before writes: each key linearizable, unavailable without
    /// a majority of its replicas.
    Strict,
}

impl From<Mode> for store::Mode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Eventual => store::Mode::Eventual,
            Mode::Strict => store::Mode::Strict,
        }
    }
}

/// The real Mini-Dynamo cluster: node processes on loopback, built from your stages or the
/// reference's.
#[derive(Parser, Debug)]
#[command(name = "dynamo", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by every command that addresses a running local cluster: which one, by its
/// data directory or by the base port `up` started it on.
#[derive(Args, Debug, Clone)]
pub struct Where {
    /// The cluster's data directory (holds `cluster.json`, one folder per node, saved contexts)
    /// [default: `target/dynamo`, or `target/dynamo-P` for `--base-port P`].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The base port the cluster was started with (`up --base-port P`): addresses that cluster.
    #[arg(long)]
    pub base_port: Option<u16>,
}

impl Where {
    /// The data directory of the cluster this command addresses.
    ///
    /// # Errors
    /// When `--base-port` names a port the cluster kept there was not started on.
    pub fn dir(&self) -> Result<PathBuf, String> {
        let Some(port) = self.base_port else {
            return Ok(self
                .data
                .clone()
                .unwrap_or_else(|| default_data(DEFAULT_BASE_PORT)));
        };
        let dir = self.data.clone().unwrap_or_else(|| default_data(port));
        crate::supervisor::check_base_port(&dir, port)?;
        Ok(dir)
    }
}

/// `up`'s base port when none is given: nodes on 7001, 7002, ...
pub const DEFAULT_BASE_PORT: u16 = 7000;

/// Where `up --base-port P` keeps its cluster when `--data` is not given: `target/dynamo` for the
/// default port, `target/dynamo-P` otherwise, so that clusters on different ports never share
/// a data directory.
pub fn default_data(base_port: u16) -> PathBuf {
    if base_port == DEFAULT_BASE_PORT {
        PathBuf::from("target/dynamo")
    } else {
        PathBuf::from(format!("target/dynamo-{base_port}"))
    }
}

/// How nodes are built and configured.
#[derive(Args, Debug, Clone)]
pub struct NodeOptions {
    /// Replicas per key.
    #[arg(long, default_value_t = 3)]
    pub n: usize,
    /// Read quorum.
    #[arg(long, default_value_t = 2)]
    pub r: usize,
    /// Write quorum.
    #[arg(long, default_value_t = 2)]
    pub w: usize,
    /// `eventual` (sloppy quorum, hinted handoff) or `strict` (primaries only, linearizable keys).
    #[arg(long, value_enum, default_value_t = Mode::Eventual)]
    pub mode: Mode,
    /// Tokens per node on the ring.
    #[arg(long, default_value_t = 16)]
    pub vnodes: u32,
    /// Stages served by the reference instead of your solution: `all` or a comma list, as in
    /// `cargo grade --reference`.
    #[arg(long, default_value = "")]
    pub reference: String,
    /// Use the reference for every stage the node needs except the last one you are working on
    /// (as `cargo grade --reference-deps`: here, the reference's six stages under your store).
    #[arg(long)]
    pub reference_deps: bool,
    /// Admin token: with it, admin endpoints answer any host that sends it.
    #[arg(long)]
    pub token: Option<String>,
}

impl NodeOptions {
    /// The `--reference` list after `--reference-deps`.
    pub fn reference_list(&self) -> String {
        if self.reference_deps && self.reference.is_empty() {
            "hash-ring,quorum,fault-tolerance,vector-clocks,anti-entropy,read-repair".into()
        } else {
            self.reference.clone()
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a local cluster: one process per node on 127.0.0.1, Ctrl-C stops them all.
    Up {
        /// How many nodes (named A, B, C, ...).
        #[arg(long, default_value_t = 5)]
        nodes: usize,
        /// Node i listens on port base-port + i (A on base-port + 1).
        #[arg(long, default_value_t = DEFAULT_BASE_PORT)]
        base_port: u16,
        /// The cluster's data directory (holds `cluster.json`, one folder per node, saved
        /// contexts) [default: `target/dynamo`, or `target/dynamo-P` for `--base-port P`].
        #[arg(long)]
        data: Option<PathBuf>,
        #[command(flatten)]
        options: NodeOptions,
    },
    /// Run one node (what `up` starts; also for nodes on other hosts).
    Node {
        /// The node's name.
        #[arg(long)]
        name: String,
        /// Address to listen on, such as 127.0.0.1:7001.
        #[arg(long)]
        listen: String,
        /// Address other nodes reach this one at (defaults to --listen).
        #[arg(long)]
        advertise: Option<String>,
        /// Known peers, `NAME=ADDR,...`.
        #[arg(long, default_value = "")]
        peers: String,
        /// A running node to join: it and its gossip tell this node the other members.
        #[arg(long)]
        join: Option<String>,
        /// The node's data directory.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        options: NodeOptions,
    },
    /// SIGKILL a node of the local cluster.
    Kill {
        /// The node's name.
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// Restart a killed node on its data directory.
    Revive {
        /// The node's name.
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// SIGSTOP a node: it stops answering without closing its connections.
    Pause {
        /// The node's name.
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// SIGCONT a paused node.
    Resume {
        /// The node's name.
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// Split the cluster: each group (`A,B`) talks only within itself. Nodes in no group form one
    /// more group.
    Partition {
        /// Groups of node names, such as `A,B C,D,E`.
        #[arg(required = true)]
        groups: Vec<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Undo any partition.
    Heal {
        #[command(flatten)]
        at: Where,
    },
    /// A node leaves the cluster for good: it hands its ranges to the others (stage 1's
    /// transfers), tells every member, and its process ends.
    Leave {
        /// The node's name.
        name: String,
        /// The node's address, for a node `up` did not start (otherwise read from cluster.json).
        #[arg(long)]
        addr: Option<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Stop every node of the cluster, as Ctrl-C on `up` does (also when `up` is gone).
    Down {
        #[command(flatten)]
        at: Where,
    },
    /// A table of members, liveness, keys and hints.
    Status {
        #[command(flatten)]
        at: Where,
    },
    /// Write a value; uses (and then updates) the context saved by your last get of the key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The node to ask (default: the first).
        #[arg(long)]
        node: Option<String>,
        /// Ignore the saved context: a blind write, which adds a sibling.
        #[arg(long)]
        blind: bool,
        #[command(flatten)]
        at: Where,
    },
    /// Read a key and save its context for your next put or delete.
    Get {
        /// The key.
        key: String,
        /// The node to ask (default: the first).
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Delete a key with the context saved by your last get.
    Delete {
        /// The key.
        key: String,
        /// The node to ask (default: the first).
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Narrated demos on the running local cluster.
    Demo {
        /// Which demo: `cart` (the paper's shopping cart across a partition).
        #[arg(value_parser = ["cart"])]
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// Load test: throughput and latency percentiles, optionally against etcd.
    Bench(crate::bench::BenchArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    use crate::{client, serve, supervisor};
    match cli.command {
        Command::Up {
            nodes,
            base_port,
            data,
            options,
        } => supervisor::up(
            nodes,
            base_port,
            &data.unwrap_or_else(|| default_data(base_port)),
            &options,
        ),
        Command::Node {
            name,
            listen,
            advertise,
            peers,
            join,
            data,
            options,
        } => serve::run(serve::NodeArgs {
            name,
            listen: listen.clone(),
            advertise: advertise.unwrap_or(listen),
            peers,
            join,
            data,
            options,
        }),
        Command::Kill { name, at } => supervisor::kill(&at.dir()?, &name),
        Command::Revive { name, at } => supervisor::revive(&at.dir()?, &name),
        Command::Pause { name, at } => supervisor::signal(&at.dir()?, &name, "STOP", "paused"),
        Command::Resume { name, at } => supervisor::signal(&at.dir()?, &name, "CONT", "resumed"),
        Command::Partition { groups, at } => supervisor::partition(&at.dir()?, &groups),
        Command::Heal { at } => supervisor::heal(&at.dir()?),
        Command::Leave { name, addr, at } => supervisor::leave(&at.dir()?, &name, addr.as_deref()),
        Command::Down { at } => supervisor::down(&at.dir()?),
        Command::Status { at } => supervisor::status(&at.dir()?),
        Command::Put {
            key,
            value,
            node,
            blind,
            at,
        } => client::put(&at.dir()?, node.as_deref(), &key, &value, blind),
        Command::Get { key, node, at } => client::get(&at.dir()?, node.as_deref(), &key),
        Command::Delete { key, node, at } => client::delete(&at.dir()?, node.as_deref(), &key),
        Command::Demo { at, .. } => client::demo_cart(&at.dir()?),
        Command::Bench(args) => crate::bench::run(&args),
    }
}
