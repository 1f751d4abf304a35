//! The local cluster's supervisor: `up` starts one process per node; the fault commands act on
//! those processes through the state file `DATA/cluster.json` (names, addresses, pids, and each
//! node's exact command line, so `revive` restarts it on the same data directory).
//!
//! Every node runs in its own process group, so a signal meant for one node reaches only it;
//! `up` stops them all (including nodes revived since) on Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cli::NodeOptions;
use crate::client::{Http, node_names};

/// One node of the local cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: String,
    /// The process id, 0 when killed.
    pub pid: u32,
    /// Its data directory.
    pub data: PathBuf,
    /// Its command line after the binary.
    pub argv: Vec<String>,
}

impl NodeEntry {
    /// The node's pid while its process runs (or is paused) with this node's command line: a
    /// pid from a state file older than a reboot may belong to another process now, which no
    /// command must signal.
    pub fn running_pid(&self) -> Option<u32> {
        if !matches!(process_state(self.pid), "running" | "paused") {
            return None;
        }
        command_line_has(self.pid, self.data.display().to_string().as_bytes()).then_some(self.pid)
    }

    /// The node's process as `status` and the dashboard show it: running, paused, killed (by
    /// `kill`) or dead (ended otherwise, or its pid is another process's now).
    pub fn process(&self) -> &'static str {
        match self.running_pid() {
            Some(pid) => process_state(pid),
            None if self.pid == 0 => "killed",
            None => "dead",
        }
    }
}

/// Whether process `pid`'s command line has the argument `arg`.
fn command_line_has(pid: u32, arg: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|a| a == arg))
}

/// The state file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    /// The base port `up` started the cluster on (absent in files older than the option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_port: Option<u16>,
    /// The `up` process supervising the nodes (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_pid: Option<u32>,
    /// Every node, in name order.
    pub nodes: Vec<NodeEntry>,
}

impl State {
    /// The base port the cluster was started on: recorded, or node A's port minus one.
    fn started_on(&self) -> Option<u16> {
        self.base_port.or_else(|| {
            let a = self.nodes.iter().find(|n| n.name == node_name(0))?;
            let port: u16 = a.addr.rsplit_once(':')?.1.parse().ok()?;
            port.checked_sub(1)
        })
    }

    /// The nodes whose processes still run (or are paused): a cluster in use.
    fn running(&self) -> Vec<&NodeEntry> {
        self.nodes
            .iter()
            .filter(|n| n.running_pid().is_some())
            .collect()
    }
}

/// `--base-port P` on a command that addresses a running cluster: the cluster kept in `data` must
/// be the one `up --base-port P` started.
///
/// # Errors
/// When no cluster is kept in `data`, or it was started on another base port.
pub fn check_base_port(data: &Path, port: u16) -> Result<(), String> {
    let state = load(data).map_err(|_| {
        format!(
            "no cluster started with --base-port {port} in {} (start one with `cargo dynamo up \
             --base-port {port}`, or pass the --data it was started with)",
            data.display()
        )
    })?;
    match state.started_on() {
        Some(p) if p == port => Ok(()),
        Some(p) => Err(format!(
            "the cluster in {} was started with --base-port {p}, not {port}",
            data.display()
        )),
        None => Ok(()),
    }
}

fn state_path(data: &Path) -> PathBuf {
    data.join("cluster.json")
}

/// Reads the state file.
pub fn load(data: &Path) -> Result<State, String> {
    let path = state_path(data);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (is a cluster running? start one with `cargo dynamo up`)",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn save(data: &Path, state: &State) -> Result<(), String> {
    let path = state_path(data);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?,
    )
    .and_then(|()| std::fs::rename(&tmp, &path))
    .map_err(|e| format!("{}: {e}", path.display()))
}

fn entry<'a>(state: &'a mut State, name: &str) -> Result<&'a mut NodeEntry, String> {
    let known = node_names(state);
    state
        .nodes
        .iter_mut()
        .find(|n| n.name == name)
        .ok_or_else(|| format!("no node `{name}` (nodes: {known})"))
}

/// The name of node `i` (0-based): A..Z, then N26, N27, ...
pub fn node_name(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("N{i}")
    }
}

/// Spawns a node process with `argv`, its output going to `DATA/node.log`.
pub fn spawn(node_data: &Path, argv: &[String]) -> Result<Child, String> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(node_data).map_err(|e| format!("{}: {e}", node_data.display()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_data.join("node.log"))
        .map_err(|e| format!("{}: {e}", node_data.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(exe)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("start node: {e}"))
}

/// The command line of node `name` of a local cluster.
pub fn node_argv(
    name: &str,
    addr: &str,
    peers: &str,
    node_data: &Path,
    options: &NodeOptions,
) -> Vec<String> {
    let mut argv = vec![
        "node".to_string(),
        "--name".into(),
        name.into(),
        "--listen".into(),
        addr.into(),
        "--peers".into(),
        peers.into(),
        "--data".into(),
        node_data.display().to_string(),
        "--n".into(),
        options.n.to_string(),
        "--r".into(),
        options.r.to_string(),
        "--w".into(),
        options.w.to_string(),
        "--mode".into(),
        format!("{:?}", options.mode).to_lowercase(),
        "--vnodes".into(),
        options.vnodes.to_string(),
        "--reference".into(),
        options.reference_list(),
    ];
    if let Some(token) = &options.token {
        argv.extend(["--token".into(), token.clone()]);
    }
    argv
}

fn send_signal(pid: u32, signal: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("process {pid} is not running"))
    }
}

/// Waits until `addr` answers `/ping`, or `deadline` passes.
pub fn wait_ready(http: &Http, addr: &str, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if http
            .get(&format!("http://{addr}/ping"))
            .is_ok_and(|r| r.status == 200)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `cargo dynamo up`.
pub fn up(count: usize, base_port: u16, data: &Path, options: &NodeOptions) -> Result<(), String> {
    if count == 0 {
        return Err("--nodes must be at least 1".into());
    }
    if options.n > count {
        return Err(format!(
            "N={} needs at least {} nodes; --nodes is {count}",
            options.n, options.n
        ));
    }
    if let Ok(old) = load(data) {
        let running = old.running();
        if let Some(first) = running.first() {
            return Err(format!(
                "a cluster is already running from {} ({} on {}, pid {}{}): stop it (`cargo dynamo \
                 down`, or Ctrl-C where `cargo dynamo up` runs), or start this one elsewhere \
                 with --base-port P (data in target/dynamo-P) or --data DIR",
                data.display(),
                first.name,
                first.addr,
                first.pid,
                if running.len() > 1 {
                    format!(", and {} more", running.len() - 1)
                } else {
                    String::new()
                }
            ));
        }
    }
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let names: Vec<String> = (0..count).map(node_name).collect();
    let addrs: Vec<String> = (0..count)
        .map(|i| format!("127.0.0.1:{}", usize::from(base_port) + i + 1))
        .collect();
    let peers = names
        .iter()
        .zip(&addrs)
        .map(|(n, a)| format!("{n}={a}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut children = Vec::new();
    let mut state = State {
        base_port: Some(base_port),
        up_pid: Some(std::process::id()),
        nodes: Vec::new(),
    };
    for (name, addr) in names.iter().zip(&addrs) {
        let node_data = data.join(name);
        let argv = node_argv(name, addr, &peers, &node_data, options);
        let child = spawn(&node_data, &argv)?;
        state.nodes.push(NodeEntry {
            name: name.clone(),
            addr: addr.clone(),
            pid: child.id(),
            data: node_data,
            argv,
        });
        children.push(child);
    }
    save(data, &state)?;
    let http = Http::new(Duration::from_millis(500))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    for (node, child) in state.nodes.iter().zip(children.iter_mut()) {
        while !wait_ready(
            &http,
            &node.addr,
            Instant::now() + Duration::from_millis(200),
        ) {
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(node.data.join("node.log")).unwrap_or_default();
                stop_all(data);
                return Err(format!(
                    "node {} did not start:\n{}",
                    node.name,
                    log.trim_end()
                ));
            }
        }
    }
    println!(
        "Mini-Dynamo: {count} nodes, N={} R={} W={}, mode {:?}",
        options.n, options.r, options.w, options.mode
    );
    for node in &state.nodes {
        println!(
            "  {}  http://{}   (data {})",
            node.name,
            node.addr,
            node.data.display()
        );
    }
    println!("dashboard: http://{}/", state.nodes[0].addr);
    println!(
        "try: curl -X PUT {}/kv/cart --data-binary socks",
        state.nodes[0].addr
    );
    println!("Ctrl-C stops every node.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        let mut reap = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = reap.tick() => {
                    // Reap killed children so they do not linger as zombies.
                    for child in &mut children {
                        let _ = child.try_wait();
                    }
                }
            }
        }
        Ok::<(), String>(())
    })?;
    println!("\nstopping every node");
    stop_all(data);
    for child in &mut children {
        let _ = child.wait();
    }
    Ok(())
}

/// Kills every node of the state file that still runs (SIGKILL ends paused ones too).
pub fn stop_all(data: &Path) {
    if let Ok(mut state) = load(data) {
        for node in &mut state.nodes {
            if let Some(pid) = node.running_pid() {
                let _ = send_signal(pid, "KILL");
            }
            node.pid = 0;
        }
        let _ = save(data, &state);
    }
}

/// `cargo dynamo down`: stops every node, as Ctrl-C on `up` does, also when `up` is gone (its
/// terminal closed, or it was killed), and then `up` itself.
pub fn down(data: &Path) -> Result<(), String> {
    let state = load(data)?;
    let running: Vec<String> = state.running().iter().map(|n| n.name.clone()).collect();
    stop_all(data);
    // `up` ends on SIGTERM, once it has stopped the (already stopped) nodes.
    if let Some(pid) = state.up_pid.filter(|pid| command_line_has(*pid, b"up")) {
        let _ = send_signal(pid, "TERM");
    }
    if running.is_empty() {
        println!("no node of {} was running", data.display());
    } else {
        println!("stopped {}", running.join(", "));
    }
    Ok(())
}

/// `cargo dynamo kill NAME`.
pub fn kill(data: &Path, name: &str) -> Result<(), String> {
    let mut state = load(data)?;
    let node = entry(&mut state, name)?;
    let Some(pid) = node.running_pid() else {
        return Err(format!("{name} is not running"));
    };
    send_signal(pid, "KILL")?;
    node.pid = 0;
    save(data, &state)?;
    println!("{name} killed (SIGKILL); `cargo dynamo revive {name}` restarts it on its data");
    Ok(())
}

/// `cargo dynamo revive NAME`.
pub fn revive(data: &Path, name: &str) -> Result<(), String> {
    let mut state = load(data)?;
    let node = entry(&mut state, name)?;
    if let Some(pid) = node.running_pid() {
        return Err(format!("{name} is running (pid {pid})"));
    }
    let child = spawn(&node.data, &node.argv)?;
    node.pid = child.id();
    let addr = node.addr.clone();
    save(data, &state)?;
    let http = Http::new(Duration::from_millis(500))?;
    if !wait_ready(&http, &addr, Instant::now() + Duration::from_secs(20)) {
        return Err(format!(
            "{name} did not answer after restarting; see its node.log"
        ));
    }
    println!("{name} revived on its data directory; hints flow back within a few ticks");
    Ok(())
}

/// `cargo dynamo leave NAME [--addr ADDR]`: the node hands its ranges over and ends; a node of
/// the local cluster is then dropped from `cluster.json` (it cannot be revived: it left).
pub fn leave(data: &Path, name: &str, addr: Option<&str>) -> Result<(), String> {
    let mut state = if addr.is_some() {
        None
    } else {
        Some(load(data)?)
    };
    let addr = match (addr, &mut state) {
        (Some(addr), _) => addr.to_string(),
        (None, Some(state)) => {
            let node = entry(state, name)?;
            if node.pid == 0 {
                return Err(format!(
                    "{name} is not running: revive it first, then leave"
                ));
            }
            node.addr.clone()
        }
        (None, None) => unreachable!("the state is loaded when no address is given"),
    };
    // A hand-over sends every key of the ranges: allow it time.
    let http = Http::new(Duration::from_secs(60))?;
    let answer = http.send("POST", &format!("http://{addr}/admin/leave"), &[], None)?;
    if answer.status != 200 {
        return Err(format!("{name}: HTTP {} {}", answer.status, answer.body));
    }
    if let Some(mut state) = state {
        state.nodes.retain(|n| n.name != name);
        save(data, &state)?;
    }
    println!("{name} left: its ranges are with their new owners; its process ends");
    Ok(())
}

/// `cargo dynamo pause|resume NAME`.
pub fn signal(data: &Path, name: &str, signal: &str, done: &str) -> Result<(), String> {
    let mut state = load(data)?;
    let node = entry(&mut state, name)?;
    let Some(pid) = node.running_pid() else {
        return Err(format!("{name} is not running"));
    };
    send_signal(pid, signal)?;
    println!("{name} {done}");
    Ok(())
}

/// `cargo dynamo partition A,B C,D,E`.
pub fn partition(data: &Path, groups: &[String]) -> Result<(), String> {
    let state = load(data)?;
    let all: Vec<String> = state.nodes.iter().map(|n| n.name.clone()).collect();
    let mut sets: Vec<Vec<String>> = Vec::new();
    for g in groups {
        let set: Vec<String> = g
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for name in &set {
            if !all.contains(name) {
                return Err(format!("no node `{name}` (nodes: {})", all.join(", ")));
            }
            if sets.iter().any(|s| s.contains(name)) {
                return Err(format!("`{name}` is in two groups"));
            }
        }
        sets.push(set);
    }
    let rest: Vec<String> = all
        .iter()
        .filter(|n| !sets.iter().any(|s| s.contains(n)))
        .cloned()
        .collect();
    if !rest.is_empty() {
        sets.push(rest);
    }
    let http = Http::new(Duration::from_secs(2))?;
    for node in &state.nodes {
        let group = sets
            .iter()
            .find(|s| s.contains(&node.name))
            .cloned()
            .unwrap_or_default();
        let refuse: Vec<&String> = all.iter().filter(|n| !group.contains(n)).collect();
        let body = serde_json::json!({ "refuse": refuse }).to_string();
        match http.send(
            "POST",
            &format!("http://{}/admin/partition", node.addr),
            &[("content-type", "application/json".into())],
            Some(body),
        ) {
            Ok(r) if r.status == 204 => {}
            Ok(r) => eprintln!("{}: HTTP {} {}", node.name, r.status, r.body),
            Err(e) => eprintln!(
                "{}: {e} (down? it will refuse nothing when revived)",
                node.name
            ),
        }
    }
    let shown: Vec<String> = sets
        .iter()
        .map(|s| format!("{{{}}}", s.join(",")))
        .collect();
    println!("partitioned: {}", shown.join(" | "));
    Ok(())
}

/// `cargo dynamo heal`.
pub fn heal(data: &Path) -> Result<(), String> {
    let state = load(data)?;
    let http = Http::new(Duration::from_secs(2))?;
    for node in &state.nodes {
        if let Err(e) = http.send(
            "POST",
            &format!("http://{}/admin/heal", node.addr),
            &[],
            None,
        ) {
            eprintln!("{}: {e}", node.name);
        }
    }
    println!("healed: every node talks to every node");
    Ok(())
}

/// A process's state as the supervisor sees it: running, paused, killed or dead.
pub fn process_state(pid: u32) -> &'static str {
    if pid == 0 {
        return "killed";
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => match stat
            .rsplit(')')
            .next()
            .map(str::trim_start)
            .and_then(|s| s.chars().next())
        {
            Some('T') => "paused",
            Some('Z') | None => "dead",
            Some(_) => "running",
        },
        Err(_) => "dead",
    }
}

/// `cargo dynamo status`.
pub fn status(data: &Path) -> Result<(), String> {
    let state = load(data)?;
    let http = Http::new(Duration::from_millis(700))?;
    println!(
        "{:<5} {:<16} {:<8} {:<8} {:>6}  {:<10} view of the others",
        "node", "address", "pid", "process", "keys", "hints"
    );
    for node in &state.nodes {
        let process = node.process();
        let info = http
            .get(&format!("http://{}/cluster", node.addr))
            .ok()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok());
        let (keys, hints, view) = match &info {
            Some(v) => {
                let hints: u64 = v["hints"]
                    .as_object()
                    .map(|m| m.values().filter_map(|x| x.as_u64()).sum())
                    .unwrap_or(0);
                let view = v["members"]
                    .as_array()
                    .map(|ms| {
                        ms.iter()
                            .filter(|m| m["name"] != node.name.as_str())
                            .map(|m| {
                                format!(
                                    "{}:{}",
                                    m["name"].as_str().unwrap_or("?"),
                                    m["state"].as_str().unwrap_or("?")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                (v["keys"].to_string(), hints.to_string(), view)
            }
            None => ("-".into(), "-".into(), "(not answering)".into()),
        };
        let pid = if node.pid == 0 {
            "-".to_string()
        } else {
            node.pid.to_string()
        };
        println!(
            "{:<5} {:<16} {:<8} {:<8} {:>6}  {:<10} {}",
            node.name, node.addr, pid, process, keys, hints, view
        );
    }
    Ok(())
}
