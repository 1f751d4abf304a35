//! The README's session through `cargo dynamo`'s own commands: `up` a cluster, write and read
//! with the small client, `kill` a node while writes go on, `revive` it and watch its hints flow
//! back, `status`, `down`, and `up` again on the same data; all addressed by `--base-port`, as a
//! second cluster on other ports would be.
//! Also what a user gets wrong: a second `up` over a running cluster, a port no cluster was
//! started on, and `status | head` closing the pipe early.
//!
//! Real processes on loopback (ports 21200..21204, no other test's), bounded polls; the guard
//! stops `up` and every node process it started, also when an assertion fails.

mod common;

use common::{eventually, finish_within};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_dynamo");
const BASE: &str = "21200";

/// The `up` process and the folder it runs in; stops the cluster when dropped.
struct Up {
    child: Child,
    dir: PathBuf,
}

impl Up {
    /// The data directory `up --base-port 21200` chose: `target/dynamo-21200`.
    fn data(&self) -> PathBuf {
        self.dir.join("target").join(format!("dynamo-{BASE}"))
    }

    /// Every node pid the state file names.
    fn pids(&self) -> Vec<u32> {
        let text = std::fs::read_to_string(self.data().join("cluster.json")).unwrap_or_default();
        let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        state["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .filter_map(|n| n["pid"].as_u64())
                    .filter(|pid| *pid != 0)
                    .map(|pid| pid as u32)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `dynamo up` with four reference nodes on [`BASE`] in `dir`, its output in `dir/LOG`.
fn start_up(dir: &Path, log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(BIN)
        .args([
            "up",
            "--nodes",
            "4",
            "--base-port",
            BASE,
            "--reference",
            "all",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start dynamo up")
}

/// Runs `dynamo ARGS` in `dir` to completion (30 s at most).
fn dynamo(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dynamo");
    let what = format!("`dynamo {}`", args.join(" "));
    finish_within(&mut child, Duration::from_secs(30), &what);
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Node `name`'s row of `status`.
fn row(status: &str, name: &str) -> String {
    status
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn up_kill_revive_status_by_base_port() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("supervisor");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let child = start_up(&dir, "up.log");
    let mut up = Up { child, dir };
    let dir = up.dir.clone();
    let all_up = eventually(Duration::from_secs(60), || (21201..=21204).all(answers));
    assert!(
        all_up,
        "four nodes answer: {}",
        std::fs::read_to_string(dir.join("up.log")).unwrap_or_default()
    );
    assert!(
        up.data().join("cluster.json").exists(),
        "up --base-port 21200 keeps its cluster in target/dynamo-21200"
    );

    // A second `up` over the running cluster is refused and leaves it running.
    let again = dynamo(&dir, &["up", "--nodes", "4", "--base-port", BASE]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("already running"), "{}", text(&again));
    assert!(
        (21201..=21204).all(answers),
        "the first cluster still serves"
    );

    // A port no cluster was started on, and the default cluster that is not there.
    let elsewhere = dynamo(&dir, &["status", "--base-port", "21300"]);
    assert_eq!(elsewhere.status.code(), Some(1), "{}", text(&elsewhere));
    assert!(
        text(&elsewhere).contains("no cluster started with --base-port 21300"),
        "{}",
        text(&elsewhere)
    );

    // The small client keeps the context; any node coordinates.
    let put = dynamo(&dir, &["put", "cart", "socks", "--base-port", BASE]);
    assert!(put.status.success(), "{}", text(&put));
    let got = dynamo(&dir, &["get", "cart", "--node", "C", "--base-port", BASE]);
    assert!(got.status.success(), "{}", text(&got));
    assert!(text(&got).contains("socks"), "{}", text(&got));

    // SIGKILL B: its port closes, status says so, and writes keep succeeding.
    let kill = dynamo(&dir, &["kill", "B", "--base-port", BASE]);
    assert!(kill.status.success(), "{}", text(&kill));
    assert!(
        eventually(Duration::from_secs(10), || !answers(21202)),
        "B's port closes"
    );
    let status = dynamo(&dir, &["status", "--base-port", BASE]);
    assert!(
        row(&text(&status), "B").contains("killed"),
        "{}",
        text(&status)
    );
    for i in 0..20 {
        let key = format!("k{i}");
        let put = dynamo(
            &dir,
            &[
                "put",
                &key,
                "v",
                "--node",
                "A",
                "--blind",
                "--base-port",
                BASE,
            ],
        );
        assert!(
            put.status.success(),
            "writes go on while B is down: {}",
            text(&put)
        );
    }

    // Revive B on its data: it serves again and the others' hints for it drain.
    let revive = dynamo(&dir, &["revive", "B", "--base-port", BASE]);
    assert!(revive.status.success(), "{}", text(&revive));
    assert!(answers(21202), "revive returns once B answers");
    let drained = eventually(Duration::from_secs(30), || {
        let status = text(&dynamo(&dir, &["status", "--base-port", BASE]));
        ["A", "B", "C", "D"].iter().all(|n| {
            let r = row(&status, n);
            r.contains("running") && r.split_whitespace().nth(5) == Some("0")
        })
    });
    let status = text(&dynamo(&dir, &["status", "--base-port", BASE]));
    assert!(drained, "every hint handed back to B: {status}");
    let got = dynamo(&dir, &["get", "cart", "--node", "B", "--base-port", BASE]);
    assert!(text(&got).contains("socks"), "{}", text(&got));

    // `status | head -1`: stdout closed before the table is written is no panic.
    let mut piped = Command::new(BIN)
        .args(["status", "--base-port", BASE])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(piped.stdout.take());
    let closed = piped.wait_with_output().unwrap();
    assert!(
        closed.status.success() || closed.status.code() == Some(141),
        "{:?} {}",
        closed.status,
        String::from_utf8_lossy(&closed.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&closed.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );

    // `down` stops every node, revived ones included, and `up` with them.
    let down = dynamo(&dir, &["down", "--base-port", BASE]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        text(&down).contains("stopped A, B, C, D"),
        "{}",
        text(&down)
    );
    let stopped = eventually(Duration::from_secs(20), || {
        up.child.try_wait().unwrap().is_some() && !(21201..=21204).any(answers)
    });
    assert!(stopped, "up and every node stop on `down`");
    let again = dynamo(&dir, &["down", "--base-port", BASE]);
    assert!(text(&again).contains("no node"), "{}", text(&again));

    // The stopped cluster starts again on its data (the first write is still there), and Ctrl-C
    // on `up` stops it.
    up.child = start_up(&dir, "up2.log");
    let all_up = eventually(Duration::from_secs(60), || (21201..=21204).all(answers));
    assert!(
        all_up,
        "four nodes answer again: {}",
        std::fs::read_to_string(dir.join("up2.log")).unwrap_or_default()
    );
    let got = dynamo(&dir, &["get", "cart", "--node", "D", "--base-port", BASE]);
    assert!(text(&got).contains("socks"), "{}", text(&got));
    let pid = up.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let stopped = eventually(Duration::from_secs(20), || {
        up.child.try_wait().unwrap().is_some() && !(21201..=21204).any(answers)
    });
    assert!(stopped, "up and every node stop on Ctrl-C");
}
