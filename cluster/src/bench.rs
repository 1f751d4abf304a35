//! `cargo dynamo bench`: a closed-loop load generator, against a fresh local cluster and
//! optionally against a 3-node etcd cluster on the same machine, with the same load.
//!
//! C clients each loop until the duration ends: pick a key uniformly among K, read it or write a
//! value of B bytes by the mix, record the latency in an HDR histogram (microseconds, 3
//! significant digits). Dynamo clients carry contexts as a real client does (each client keeps
//! the context of its last read or write of a key), so siblings stay bounded. etcd is driven
//! through its v3 JSON gateway (`/v3/kv/put`, `/v3/kv/range`), spreading clients over its three
//! members; its writes are fsynced by Raft, as ours are by redb.
//!
//! With `--etcd` both clusters run for the whole benchmark and the load alternates between them
//! in slices of about two seconds (see [`measure`]), so that the ratio of one run compares the
//! two systems under the same conditions of a shared machine.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use hyper::Method;
use serde::Serialize;

use crate::cli::Mode;
use crate::cli::NodeOptions;
use crate::client::Http;
use crate::http_client::{Config, HttpClient, HttpError};
use crate::supervisor::{node_argv, node_name, spawn, wait_ready};

/// `cargo dynamo bench`'s options.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Measured seconds of load per system (after a one-second warm-up; with `--etcd`, in
    /// alternating slices of about two seconds).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Reads to writes, `GET:PUT`.
    #[arg(long, default_value = "1:1")]
    pub mix: String,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Distinct keys.
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// `text` or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Also run the same load against a 3-node etcd cluster (installs `etcd-server` when missing).
    #[arg(long)]
    pub etcd: bool,
    /// Nodes in the Dynamo cluster under test (N=3, R=2, W=2).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Ports used: Dynamo nodes at base+1.., etcd at base+101...
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Stages served by the reference (default all, so the bench measures the reference node).
    #[arg(long, default_value = "all")]
    pub reference: String,
}

/// One system's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Operations per second.
    pub ops_per_s: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Operations that failed (counted, not timed).
    pub errors: u64,
    /// The failures by kind: the HTTP status of an error answer (`"503"`), or `"timeout"`,
    /// `"connect"`, `"exchange"` when no answer came.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// CPU time (user + system) the system's server processes spent per operation during the
    /// measured seconds, in ms: the cost of an operation whatever else runs on the machine.
    pub server_cpu_ms_per_op: f64,
    /// CPU time the load generator (this process) spent per operation, in ms: on a machine whose
    /// cores the servers and the generator share, what the generator takes is not the servers'.
    pub load_cpu_ms_per_op: f64,
}

/// Kills the processes it holds when dropped, whatever happened.
struct Processes(Vec<Child>);

impl Processes {
    fn pids(&self) -> Vec<u32> {
        self.0.iter().map(Child::id).collect()
    }
}

/// User + system CPU time of `pids` so far, in ms (from `/proc/PID/stat`; 0 where unreadable).
fn cpu_ms(pids: &[u32]) -> f64 {
    // utime and stime are fields 14 and 15, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 * 10.0)
        })
        .sum()
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The two systems' shapes of request.
#[derive(Clone, Copy)]
enum Target {
    Dynamo,
    Etcd,
}

fn parse_mix(mix: &str) -> Result<(u32, u32), String> {
    let (g, p) = mix
        .split_once(':')
        .ok_or_else(|| format!("--mix: expected GET:PUT such as 1:1, got `{mix}`"))?;
    let g: u32 = g
        .trim()
        .parse()
        .map_err(|_| format!("--mix: bad number `{g}`"))?;
    let p: u32 = p
        .trim()
        .parse()
        .map_err(|_| format!("--mix: bad number `{p}`"))?;
    if g + p == 0 {
        return Err("--mix: at least one of GET and PUT must be positive".into());
    }
    Ok((g, p))
}

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let mix = parse_mix(&args.mix)?;
    if args.clients == 0 || args.keys == 0 || args.nodes < 3 {
        return Err("--clients and --keys must be positive, --nodes at least 3".into());
    }
    let root = PathBuf::from("target/dynamo-bench");
    let _ = std::fs::remove_dir_all(&root);
    // Both clusters run for the whole benchmark (each is idle while the other is loaded), so the
    // load can alternate between them: see `measure`.
    let (dynamo_processes, dynamo_addrs) = start_dynamo(args, &root)?;
    let mut systems = vec![Under::new(
        Target::Dynamo,
        &dynamo_addrs,
        dynamo_processes.pids(),
        args,
    )];
    let etcd_processes = if args.etcd {
        let (processes, addrs) = start_etcd(args, &root)?;
        systems.push(Under::new(Target::Etcd, &addrs, processes.pids(), args));
        Some(processes)
    } else {
        None
    };
    let figures = measure(args, mix, systems)?;
    drop(etcd_processes);
    drop(dynamo_processes);
    let dynamo = figures[0].clone();
    let etcd = figures.get(1).cloned();
    if args.format == "json" {
        let mut out = serde_json::json!({ "dynamo": dynamo });
        if let Some(e) = &etcd {
            out["etcd"] = serde_json::to_value(e).map_err(|e| e.to_string())?;
        }
        println!("{out}");
    } else {
        println!(
            "load: {} clients, {} s, mix get:put {}, {} keys, {} B values; Dynamo N=3 R=2 W=2 on {} nodes, writes durable before acks (group commit){}",
            args.clients,
            args.duration,
            args.mix,
            args.keys,
            args.value_size,
            args.nodes,
            if args.etcd {
                "; etcd: 3 members, default settings (Raft fsync, linearizable reads); the load alternates between the two in slices of about 2 s"
            } else {
                ""
            }
        );
        println!(
            "cpu ms/op: user + system CPU of the server processes per operation (load: of this \
             load generator)"
        );
        println!(
            "{:<8} {:>12} {:>9} {:>9} {:>9} {:>8} {:>11} {:>10}",
            "system", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "cpu ms/op", "load ms/op"
        );
        let row = |name: &str, f: &Figures| {
            println!(
                "{:<8} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>11.3} {:>10.3}",
                name,
                f.ops_per_s,
                f.p50_ms,
                f.p99_ms,
                f.p999_ms,
                f.errors,
                f.server_cpu_ms_per_op,
                f.load_cpu_ms_per_op
            );
        };
        row("dynamo", &dynamo);
        if let Some(e) = &etcd {
            row("etcd", e);
        }
        let kinds = |f: &Figures| {
            f.errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (name, f) in [("dynamo", Some(&dynamo)), ("etcd", etcd.as_ref())] {
            if let Some(f) = f.filter(|f| f.errors > 0) {
                println!("{name} errors: {}", kinds(f));
            }
        }
    }
    Ok(())
}

fn start_dynamo(args: &BenchArgs, root: &Path) -> Result<(Processes, Vec<String>), String> {
    let options = NodeOptions {
        n: 3,
        r: 2,
        w: 2,
        mode: Mode::Eventual,
        vnodes: 16,
        reference: args.reference.clone(),
        reference_deps: false,
        token: None,
    };
    let names: Vec<String> = (0..args.nodes).map(node_name).collect();
    let addrs: Vec<String> = (0..args.nodes)
        .map(|i| format!("127.0.0.1:{}", usize::from(args.base_port) + i + 1))
        .collect();
    let peers = names
        .iter()
        .zip(&addrs)
        .map(|(n, a)| format!("{n}={a}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut processes = Processes(Vec::new());
    for (name, addr) in names.iter().zip(&addrs) {
        let dir = root.join(name);
        processes
            .0
            .push(spawn(&dir, &node_argv(name, addr, &peers, &dir, &options))?);
    }
    let http = Http::new(Duration::from_millis(500))?;
    for (name, addr) in names.iter().zip(&addrs) {
        if !wait_ready(&http, addr, Instant::now() + Duration::from_secs(20)) {
            let log = std::fs::read_to_string(root.join(name).join("node.log")).unwrap_or_default();
            return Err(format!("bench node {name} did not start:\n{log}"));
        }
    }
    Ok((processes, addrs))
}

fn ensure_etcd() -> Result<String, String> {
    let found = |p: &str| Path::new(p).exists().then(|| p.to_string());
    if let Some(p) = found("/usr/bin/etcd") {
        return Ok(p);
    }
    eprintln!("etcd not found: installing Debian's etcd-server (apt-get)");
    let ok = std::process::Command::new("sh")
        .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server"])
        .status()
        .map_err(|e| e.to_string())?
        .success();
    match found("/usr/bin/etcd") {
        Some(p) if ok => Ok(p),
        _ => Err("could not install etcd-server (apt-get install etcd-server)".into()),
    }
}

fn start_etcd(args: &BenchArgs, root: &Path) -> Result<(Processes, Vec<String>), String> {
    let etcd = ensure_etcd()?;
    let base = usize::from(args.base_port) + 100;
    let client = |i: usize| format!("127.0.0.1:{}", base + 1 + i);
    let peer = |i: usize| format!("http://127.0.0.1:{}", base + 11 + i);
    let cluster = (0..3)
        .map(|i| format!("e{i}={}", peer(i)))
        .collect::<Vec<_>>()
        .join(",");
    let mut processes = Processes(Vec::new());
    for i in 0..3 {
        let dir = root.join(format!("etcd{i}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("etcd.log")).map_err(|e| e.to_string())?;
        let child = std::process::Command::new(&etcd)
            .args([
                "--name".to_string(),
                format!("e{i}"),
                "--data-dir".into(),
                dir.join("data").display().to_string(),
                "--listen-client-urls".into(),
                format!("http://{}", client(i)),
                "--advertise-client-urls".into(),
                format!("http://{}", client(i)),
                "--listen-peer-urls".into(),
                peer(i),
                "--initial-advertise-peer-urls".into(),
                peer(i),
                "--initial-cluster".into(),
                cluster.clone(),
                "--initial-cluster-state".into(),
                "new".into(),
                "--log-level".into(),
                "error".into(),
            ])
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start etcd: {e}"))?;
        processes.0.push(child);
    }
    let http = Http::new(Duration::from_millis(500))?;
    let addrs: Vec<String> = (0..3).map(client).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    for addr in &addrs {
        loop {
            let healthy = http
                .get(&format!("http://{addr}/health"))
                .is_ok_and(|r| r.body.contains("true"));
            if healthy {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "etcd at {addr} did not become healthy (see target/dynamo-bench/etcd*/etcd.log)"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok((processes, addrs))
}

/// A small xorshift generator: the load's key and operation choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One system under load: its servers, and what its clients keep from one slice of load to the
/// next (their generators, and the contexts Dynamo clients hold), with the tallies so far.
struct Under {
    target: Target,
    addrs: Arc<Vec<String>>,
    pids: Vec<u32>,
    clients: Vec<ClientState>,
    hist: Histogram<u64>,
    ops: u64,
    errors: BTreeMap<String, u64>,
    /// Server CPU (ms): during its own measured seconds, and while the other system was loaded.
    cpu_ms: f64,
    /// This process's CPU (ms) during the system's measured seconds.
    load_cpu_ms: f64,
    measured: Duration,
}

/// One client's state between slices.
struct ClientState {
    rng: Rng,
    contexts: HashMap<usize, String>,
}

impl Under {
    fn new(target: Target, addrs: &[String], pids: Vec<u32>, args: &BenchArgs) -> Self {
        let clients = (0..args.clients)
            .map(|c| ClientState {
                rng: Rng(0x9e37_79b9_7f4a_7c15 ^ ((c as u64 + 1) * 0x1234_5678_9abc)),
                contexts: HashMap::new(),
            })
            .collect();
        Under {
            target,
            addrs: Arc::new(addrs.to_vec()),
            pids,
            clients,
            hist: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds"),
            ops: 0,
            errors: BTreeMap::new(),
            cpu_ms: 0.0,
            load_cpu_ms: 0.0,
            measured: Duration::ZERO,
        }
    }

    fn figures(&self) -> Figures {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        let per_op = |cpu: f64| {
            if self.ops == 0 {
                0.0
            } else {
                cpu / self.ops as f64
            }
        };
        Figures {
            server_cpu_ms_per_op: per_op(self.cpu_ms),
            load_cpu_ms_per_op: per_op(self.load_cpu_ms),
            ops_per_s: self.ops as f64 / self.measured.as_secs_f64().max(f64::MIN_POSITIVE),
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            errors: self.errors.values().sum(),
            errors_by_kind: self.errors.clone(),
        }
    }
}

/// Seconds per slice when the load alternates between systems.
const SLICE_S: u64 = 2;
/// Each system's first slice starts with a warm-up of its own; later slices start with a ramp
/// (clients reconnecting to a warm cluster) that is not measured either.
const WARMUP: Duration = Duration::from_secs(1);
const RAMP: Duration = Duration::from_millis(200);

/// Loads each system in turn for `--duration` measured seconds in all. With one system that is
/// one slice (a one-second warm-up, then the duration). With etcd beside it, the duration is cut
/// into slices of about `SLICE_S` seconds and the load alternates, Dynamo then etcd, slice by
/// slice: a disturbance of a shared machine (another job, a slow disk, a noisy neighbour) that
/// lasts seconds then falls on both systems alike instead of on whichever ran at that moment,
/// and the ratio of one run means something. A system's server CPU counts its measured seconds
/// and all it spent while the other was loaded (work it deferred, such as flushing, is its own).
fn measure(
    args: &BenchArgs,
    mix: (u32, u32),
    mut systems: Vec<Under>,
) -> Result<Vec<Figures>, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = HttpClient::new(Config {
        timeout: Some(Duration::from_secs(5)),
        nodelay: true,
        max_idle_per_host: args.clients,
        ..Config::default()
    });
    let value = Bytes::from("v".repeat(args.value_size));
    let duration = args.duration.max(1);
    let slices = if systems.len() > 1 {
        (duration / SLICE_S).max(1)
    } else {
        1
    };
    let per_slice = Duration::from_secs(duration).div_f64(slices as f64);
    let me = [std::process::id()];
    runtime.block_on(async {
        for i in 0..slices {
            for s in 0..systems.len() {
                let warm = if i == 0 { WARMUP } else { RAMP };
                let u = &mut systems[s];
                let tasks = start_clients(u, &client, &value, mix, args.keys, warm, per_slice);
                tokio::time::sleep(warm).await;
                let cpu_before: Vec<f64> = systems.iter().map(|u| cpu_ms(&u.pids)).collect();
                let load_before = cpu_ms(&me);
                let u = &mut systems[s];
                for t in tasks {
                    let (state, hist, ops, errors) = t.await.map_err(|e| e.to_string())?;
                    u.clients.push(state);
                    u.hist.add(&hist).map_err(|e| e.to_string())?;
                    u.ops += ops;
                    for (kind, n) in errors {
                        *u.errors.entry(kind).or_default() += n;
                    }
                }
                u.measured += per_slice;
                u.load_cpu_ms += cpu_ms(&me) - load_before;
                for (u, before) in systems.iter_mut().zip(cpu_before) {
                    u.cpu_ms += cpu_ms(&u.pids) - before;
                }
            }
        }
        Ok(systems.iter().map(Under::figures).collect())
    })
}

/// A client task's result: its state for the next slice, its latencies, its ops and its errors
/// by kind.
type ClientRun = (ClientState, Histogram<u64>, u64, BTreeMap<String, u64>);

/// Starts `u`'s clients for one slice: `warm` unmeasured, then `measured`. Each loops until the
/// slice ends; an operation counts when it starts within the measured part.
fn start_clients(
    u: &mut Under,
    client: &HttpClient,
    value: &Bytes,
    mix: (u32, u32),
    keys: usize,
    warm: Duration,
    measured: Duration,
) -> Vec<tokio::task::JoinHandle<ClientRun>> {
    let start = Instant::now();
    let target = u.target;
    std::mem::take(&mut u.clients)
        .into_iter()
        .map(|mut state| {
            let (client, addrs, value) = (client.clone(), u.addrs.clone(), value.clone());
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
                let (mut ops, mut errors) = (0u64, BTreeMap::<String, u64>::new());
                let ClientState { rng, contexts } = &mut state;
                loop {
                    if start.elapsed() >= warm + measured {
                        break;
                    }
                    let key = (rng.next() % keys as u64) as usize;
                    let addr = &addrs[(rng.next() % addrs.len() as u64) as usize];
                    let is_get = (rng.next() % u64::from(mix.0 + mix.1)) < u64::from(mix.0);
                    let t0 = Instant::now();
                    let outcome = match target {
                        Target::Dynamo => {
                            dynamo_op(&client, addr, key, is_get, &value, contexts).await
                        }
                        Target::Etcd => etcd_op(&client, addr, key, is_get, &value).await,
                    };
                    let elapsed = t0.elapsed();
                    if t0 - start >= warm {
                        match outcome {
                            Ok(()) => {
                                ops += 1;
                                let _ = hist.record(elapsed.as_micros().max(1) as u64);
                            }
                            Err(kind) => *errors.entry(kind).or_default() += 1,
                        }
                    }
                }
                (state, hist, ops, errors)
            })
        })
        .collect()
}

/// Why an operation failed, in a word: the status of an error answer, or how the exchange failed.
fn failure(e: &HttpError) -> String {
    match e {
        HttpError::Timeout { .. } => "timeout",
        HttpError::Connect { .. } => "connect",
        HttpError::Exchange { .. } => "exchange",
        HttpError::Invalid { .. } => "invalid",
    }
    .to_string()
}

async fn dynamo_op(
    client: &HttpClient,
    addr: &str,
    key: usize,
    is_get: bool,
    value: &Bytes,
    contexts: &mut HashMap<usize, String>,
) -> Result<(), String> {
    let url = format!("http://{addr}/kv/bench-{key}");
    let request = if is_get {
        client.get(url)
    } else {
        let mut r = client.request(Method::PUT, url).body(value.clone());
        if let Some(c) = contexts.get(&key) {
            r = r.header(crate::http::CONTEXT, c.clone());
        }
        r
    };
    let response = request.send().await.map_err(|e| failure(&e))?;
    if let Some(c) = response.header(crate::http::CONTEXT) {
        contexts.insert(key, c.to_string());
    }
    if response.status == 200 || (is_get && response.status == 404) {
        Ok(())
    } else {
        Err(response.status.to_string())
    }
}

async fn etcd_op(
    client: &HttpClient,
    addr: &str,
    key: usize,
    is_get: bool,
    value: &[u8],
) -> Result<(), String> {
    let k = STANDARD.encode(format!("bench-{key}"));
    let (path, body) = if is_get {
        ("range", serde_json::json!({ "key": k }))
    } else {
        (
            "put",
            serde_json::json!({ "key": k, "value": STANDARD.encode(value) }),
        )
    };
    let response = client
        .request(Method::POST, format!("http://{addr}/v3/kv/{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| failure(&e))?;
    if response.is_success() {
        Ok(())
    } else {
        Err(response.status.to_string())
    }
}
