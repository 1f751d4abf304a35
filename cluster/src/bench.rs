//! `cargo dynamo bench`: a closed-loop load generator, against a fresh local cluster and
//! optionally against a 3-node etcd cluster on the same machine, with the same load.
//!
//! C clients each loop until the duration ends: pick a key uniformly among K, read it or write a
//! value of B bytes by the mix, record the latency in an HDR histogram (microseconds, 3
//! significant digits). Dynamo clients carry contexts as a real client does (each client keeps
//! the context of its last read or write of a key), so siblings stay bounded. etcd is driven
//! through its v3 JSON gateway (`/v3/kv/put`, `/v3/kv/range`), spreading clients over its three
//! members; its writes are fsynced by Raft, as ours are by redb.

use std::collections::HashMap;
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
use crate::http_client::{Config, HttpClient};
use crate::supervisor::{node_argv, node_name, spawn, wait_ready};

/// `cargo dynamo bench`'s options.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Seconds of load (after a one-second warm-up).
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
    /// CPU time (user + system) the system's server processes spent per operation during the
    /// measured seconds, in ms: the cost of an operation whatever else runs on the machine.
    pub server_cpu_ms_per_op: f64,
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
    let dynamo = {
        let (processes, addrs) = start_dynamo(args, &root)?;
        let figures = load(args, mix, Target::Dynamo, &addrs, &processes.pids())?;
        drop(processes);
        figures
    };
    let etcd = if args.etcd {
        let (processes, addrs) = start_etcd(args, &root)?;
        let figures = load(args, mix, Target::Etcd, &addrs, &processes.pids())?;
        drop(processes);
        Some(figures)
    } else {
        None
    };
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
                "; etcd: 3 members, default settings (Raft fsync, linearizable reads)"
            } else {
                ""
            }
        );
        println!("cpu ms/op: user + system CPU of the server processes per operation");
        println!(
            "{:<8} {:>12} {:>9} {:>9} {:>9} {:>8} {:>11}",
            "system", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "cpu ms/op"
        );
        let row = |name: &str, f: &Figures| {
            println!(
                "{:<8} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>11.3}",
                name, f.ops_per_s, f.p50_ms, f.p99_ms, f.p999_ms, f.errors, f.server_cpu_ms_per_op
            );
        };
        row("dynamo", &dynamo);
        if let Some(e) = &etcd {
            row("etcd", e);
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

fn load(
    args: &BenchArgs,
    mix: (u32, u32),
    target: Target,
    addrs: &[String],
    pids: &[u32],
) -> Result<Figures, String> {
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
    let addrs: Arc<Vec<String>> = Arc::new(addrs.to_vec());
    let warmup = Duration::from_secs(1);
    let duration = Duration::from_secs(args.duration.max(1));
    runtime.block_on(async move {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..args.clients {
            let client = client.clone();
            let addrs = addrs.clone();
            let value = value.clone();
            let keys = args.keys;
            tasks.push(tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((c as u64 + 1) * 0x1234_5678_9abc));
                let mut contexts: HashMap<usize, String> = HashMap::new();
                let mut errors = 0u64;
                let mut ops = 0u64;
                loop {
                    let now = Instant::now();
                    if now - start >= warmup + duration {
                        break;
                    }
                    let key = (rng.next() % keys as u64) as usize;
                    let addr = &addrs[(rng.next() % addrs.len() as u64) as usize];
                    let is_get = (rng.next() % u64::from(mix.0 + mix.1)) < u64::from(mix.0);
                    let t0 = Instant::now();
                    let ok = match target {
                        Target::Dynamo => {
                            dynamo_op(&client, addr, key, is_get, &value, &mut contexts).await
                        }
                        Target::Etcd => etcd_op(&client, addr, key, is_get, &value).await,
                    };
                    let elapsed = t0.elapsed();
                    if t0 - start >= warmup {
                        if ok {
                            ops += 1;
                            let _ = hist.record(elapsed.as_micros().max(1) as u64);
                        } else {
                            errors += 1;
                        }
                    }
                }
                (hist, ops, errors)
            }));
        }
        tokio::time::sleep(warmup).await;
        let cpu_before = cpu_ms(pids);
        let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
        let (mut ops, mut errors) = (0u64, 0u64);
        for t in tasks {
            let (h, o, e) = t.await.map_err(|e| e.to_string())?;
            total.add(&h).map_err(|e| e.to_string())?;
            ops += o;
            errors += e;
        }
        let cpu = cpu_ms(pids) - cpu_before;
        let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
        Ok(Figures {
            server_cpu_ms_per_op: if ops == 0 { 0.0 } else { cpu / ops as f64 },
            ops_per_s: ops as f64 / duration.as_secs_f64(),
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            errors,
        })
    })
}

async fn dynamo_op(
    client: &HttpClient,
    addr: &str,
    key: usize,
    is_get: bool,
    value: &Bytes,
    contexts: &mut HashMap<usize, String>,
) -> bool {
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
    match request.send().await {
        Ok(response) => {
            if let Some(c) = response.header(crate::http::CONTEXT) {
                contexts.insert(key, c.to_string());
            }
            response.status == 200 || (is_get && response.status == 404)
        }
        Err(_) => false,
    }
}

async fn etcd_op(client: &HttpClient, addr: &str, key: usize, is_get: bool, value: &[u8]) -> bool {
    let k = STANDARD.encode(format!("bench-{key}"));
    let (path, body) = if is_get {
        ("range", serde_json::json!({ "key": k }))
    } else {
        (
            "put",
            serde_json::json!({ "key": k, "value": STANDARD.encode(value) }),
        )
    };
    client
        .request(Method::POST, format!("http://{addr}/v3/kv/{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .is_ok_and(|response| response.is_success())
}
