//! The dashboard in a real browser: headless Chromium, driven over WebDriver by `chromedriver`,
//! against a real five-node cluster started with `dynamo up` on loopback.
//!
//! One test walks the views a newcomer uses, in order, on one cluster: the ring shows five nodes;
//! the kill button marks a node down within the stated time (3 s: the page refreshes every
//! second); a put from the console shows the key's replicas and their clocks and draws the
//! request's sequence diagram, which is exactly the messages carrying the request's id as the
//! nodes recorded them (compared arrow for arrow with `/dash/api/request/{id}`); a partition with
//! writes on both sides shows the replicas disagreeing, the write's diagram shows the copies the
//! partition swallowed, and the key's range shows the different Merkle roots its replicas report
//! themselves; after heal they agree on both siblings and report equal roots; a delete shows a
//! tombstone on every replica; a key and a value made of HTML tags show as text and inject
//! nothing; pause and resume show as such. Screenshots of each step are kept in
//! `target/test-artifacts/dashboard/`.
//!
//! The WebDriver client is the dozen W3C endpoints the test needs, over the same small blocking
//! HTTP client style as `tests/cluster.rs`, so the test adds no dependency. Where Chromium or
//! chromedriver is missing (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them)
//! the test prints why and passes without running. Every process it starts (the supervisor,
//! the nodes, chromedriver and its browser) is stopped by [`Guard`]'s `Drop`, also on failure,
//! and every wait is a bounded poll.

mod common;

use common::{dechunk, eventually};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dynamo");
const CHROMIUM: &str = "/usr/bin/chromium";
/// Ports: nodes on BASE+1..BASE+5, chromedriver on BASE+90 (a block no other test uses).
const BASE: u16 = 21500;
/// How soon the dashboard must show a killed node as down.
const KILL_SHOWN_WITHIN: Duration = Duration::from_secs(3);

fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A blocking HTTP/1.1 exchange; `None` when nothing answered.
fn http(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Option<(u16, String)> {
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let body = body.unwrap_or("");
    let text = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).ok()?;
    // Read until the declared length is in (chromedriver keeps connections open), the peer
    // closes, or the timeout passes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        if complete(&raw) {
            break;
        }
    }
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Some((status, body))
}

/// Whether `raw` holds a whole response with a `content-length` (chunked ones end at close).
fn complete(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let Some((head, rest)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .is_some_and(|n| rest.len() >= n)
}

/// The folder, inside the test's data, that chromedriver and Chromium use as `TMPDIR`.
const BROWSER_TMP: &str = "browser-tmp";

/// Stops everything the test started.
struct Guard {
    data: PathBuf,
    up: Option<Child>,
    driver: Option<Child>,
    session: Option<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s) = &self.session {
            let _ = http(
                "DELETE",
                &driver_addr(),
                &format!("/session/{s}"),
                None,
                Duration::from_secs(10),
            );
        }
        if let Some(mut d) = self.driver.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
        // Chromium's own scratch folders (it leaves some behind when its driver is killed).
        let _ = std::fs::remove_dir_all(self.data.join(BROWSER_TMP));
        if let Some(mut up) = self.up.take() {
            // SIGTERM: the supervisor stops every node it started or revived, then exits.
            let _ = Command::new("kill")
                .args(["-TERM", &up.id().to_string()])
                .status();
            let stopped = eventually(Duration::from_secs(10), || {
                up.try_wait().ok().flatten().is_some()
            });
            if !stopped {
                let _ = up.kill();
                let _ = up.wait();
            }
        }
        // Whatever the supervisor could not stop (it was killed itself, say).
        if let Ok(text) = std::fs::read_to_string(self.data.join("cluster.json"))
            && let Ok(state) = serde_json::from_str::<Value>(&text)
        {
            for node in state["nodes"].as_array().into_iter().flatten() {
                if let Some(pid) = node["pid"].as_u64().filter(|p| *p != 0) {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .stderr(Stdio::null())
                        .status();
                }
            }
        }
    }
}

fn driver_addr() -> String {
    format!("127.0.0.1:{}", BASE + 90)
}

fn node_addr(i: u16) -> String {
    format!("127.0.0.1:{}", BASE + 1 + i)
}

/// A WebDriver session.
struct Browser {
    session: String,
    shots: PathBuf,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = if method == "GET" {
            None
        } else {
            Some(body.to_string())
        };
        let (status, text) = http(
            method,
            &driver_addr(),
            &path,
            body.as_deref(),
            Duration::from_secs(30),
        )
        .unwrap_or_else(|| panic!("chromedriver did not answer {method} {path}"));
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        assert_eq!(status, 200, "{method} {path}: {text}");
        value["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        v["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        // The page rebuilds its panels every second, so an element found just before a refresh
        // can be stale by the time it is clicked: find it again and retry, a bounded few times.
        for _ in 0..5 {
            let id = self.element(css);
            let path = format!("/session/{}/element/{id}/click", self.session);
            let answer = http(
                "POST",
                &driver_addr(),
                &path,
                Some("{}"),
                Duration::from_secs(30),
            );
            match answer {
                Some((200, _)) => return,
                Some((_, text)) if text.contains("stale element") => continue,
                other => panic!("click {css}: {other:?}"),
            }
        }
        panic!("click {css}: the element kept going stale");
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/clear"), json!({}));
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    /// Polls a script until it returns `true`.
    fn until(&self, limit: Duration, what: &str, script: &str) {
        let ok = eventually(limit, || self.script(script) == json!(true));
        if !ok {
            self.screenshot(&format!("failed-{}", what.replace(' ', "-")));
        }
        assert!(ok, "the dashboard did not show {what} within {limit:?}");
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.call("GET", "/screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("screenshot data"))
            .expect("base64 screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }
}

fn replica_siblings(node: &str) -> String {
    format!(
        "(function(){{var r=document.querySelector('#replicas tr[data-replica=\"{node}\"]');return r?Number(r.getAttribute('data-siblings')):-1;}})()"
    )
}

/// The id of the request the console just made (`request id: A#…` in its output).
fn console_request(browser: &Browser) -> String {
    browser.until(
        Duration::from_secs(10),
        "the console's request id",
        "return /request id: \\S+/.test(document.getElementById('c-out').textContent);",
    );
    let text = browser.script("return document.getElementById('c-out').textContent;");
    let text = text.as_str().expect("the console's text");
    let at = text.find("request id: ").expect("a request id") + "request id: ".len();
    text[at..]
        .split_whitespace()
        .next()
        .expect("the id")
        .to_string()
}

/// What the cluster joins, from every node's record, for request `id` (`/dash/api/request`).
fn request_items(id: &str) -> Vec<Value> {
    let path = format!("/dash/api/request/{}", id.replace('#', "%23"));
    let (status, body) =
        http("GET", &node_addr(0), &path, None, Duration::from_secs(5)).expect("A answers");
    assert_eq!(status, 200, "{path}: {body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Request `id`'s diagram on the page is exactly its messages as the nodes recorded them: one
/// arrow per message, in order, each with its sender, receiver, kind, send time, fate and the
/// request's id, and the client's answer. Returns the items.
fn exact_diagram(browser: &Browser, id: &str) -> Vec<Value> {
    let drawn_rows = "return Array.prototype.map.call(document.querySelectorAll('#diagram g.msg'), function (g) { return [g.getAttribute('data-from'), g.getAttribute('data-to'), g.getAttribute('data-kind'), g.getAttribute('data-sent'), g.getAttribute('data-fate'), g.getAttribute('data-request')].join(' '); });";
    let mut last = (Vec::new(), Value::Null);
    let same = eventually(Duration::from_secs(15), || {
        let shown = browser
            .script("return document.getElementById('diagram').getAttribute('data-request');");
        if shown != json!(id) {
            return false;
        }
        let items = request_items(id);
        let expected: Vec<Value> = items
            .iter()
            .filter(|i| i.get("answer").is_none())
            .map(|i| {
                let fate = match &i["fate"] {
                    Value::String(s) => s.clone(),
                    other => other
                        .as_object()
                        .and_then(|o| o.keys().next().cloned())
                        .unwrap_or_default(),
                };
                json!(format!(
                    "{} {} {} {} {fate} {}",
                    i["from"].as_str().unwrap_or(""),
                    i["to"].as_str().unwrap_or(""),
                    i["kind"].as_str().unwrap_or(""),
                    i["sent_ms"],
                    i["request"].as_str().unwrap_or("")
                ))
            })
            .collect();
        let drawn = browser.script(drawn_rows);
        let answered =
            browser.script("return document.querySelectorAll('#diagram g.answer').length;");
        let ok = drawn == json!(expected) && answered == json!(1);
        last = (items, drawn);
        if !ok {
            // Late records may have come in after the page drew: draw again.
            browser.script("document.getElementById('requests').dispatchEvent(new Event('change')); return true;");
        }
        ok
    });
    assert!(
        same,
        "the page's diagram of {id} is not the nodes' record: drawn {} vs {:?}",
        last.1, last.0
    );
    let items = last.0;
    assert!(
        items.iter().all(|i| i["request"] == id),
        "every item is the request's: {items:?}"
    );
    // Late is drawn exactly for the messages sent before the client's answer (strictly) that
    // arrived after it.
    let answered_at = items
        .iter()
        .find_map(|i| i.get("answer").and(i["at_ms"].as_i64()))
        .expect("the client's answer");
    let late: Vec<bool> = items
        .iter()
        .filter(|i| i.get("answer").is_none())
        .map(|i| {
            let fate = &i["fate"];
            let at = fate["arrives"]["at_ms"]
                .as_i64()
                .or(fate["arrives-unheard"]["at_ms"].as_i64());
            i["sent_ms"].as_i64().is_some_and(|s| s < answered_at)
                && at.is_some_and(|a| a > answered_at)
        })
        .collect();
    let drawn_late = browser.script("return Array.prototype.map.call(document.querySelectorAll('#diagram g.msg'), function (g) { return g.getAttribute('data-late') === 'after-answer'; });");
    assert_eq!(drawn_late, json!(late), "late arrows");
    assert_eq!(
        items[0]["from"], "client",
        "the client's request comes first"
    );
    // Every request that reached a replica has that replica's answer, carrying the same id.
    for m in &items {
        let asks = ["put", "get", "hint", "repair"].contains(&m["kind"].as_str().unwrap_or(""))
            && m["from"] != "client";
        if asks && m["fate"].get("arrives").is_some() {
            let answered = items.iter().any(|a| {
                a["from"] == m["to"]
                    && a["to"] == m["from"]
                    && ["ack", "reply"].contains(&a["kind"].as_str().unwrap_or(""))
            });
            assert!(answered, "the answer to {m}");
        }
    }
    items
}

/// The first ring position at or after `position` among the range ends (wrapping): the end of
/// the range holding it.
fn range_end(ends: &[u64], position: u64) -> u64 {
    let mut ends = ends.to_vec();
    ends.sort_unstable();
    ends.iter()
        .copied()
        .find(|e| *e >= position)
        .unwrap_or(ends[0])
}

/// The Merkle root each node reports for the range ending at `end` (its own `NodeStatus`).
fn reported_roots(end: u64) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for i in 0..5 {
        let Some((200, body)) = http(
            "GET",
            &node_addr(i),
            "/dash/api/node",
            None,
            Duration::from_secs(5),
        ) else {
            continue;
        };
        let v: Value = serde_json::from_str(&body).expect("json");
        for r in v["ranges"].as_array().into_iter().flatten() {
            if r["end"].as_str() == Some(end.to_string().as_str()) {
                let name = v["name"].as_str().unwrap_or_default().to_string();
                out.insert(name, r["root"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

/// The end of the range that holds `key`, from the cluster's own answers.
fn range_of_key(key: &str) -> u64 {
    let get = |path: &str| -> Value {
        let (_, body) =
            http("GET", &node_addr(0), path, None, Duration::from_secs(5)).expect("A answers");
        serde_json::from_str(&body).expect("json")
    };
    let position = get(&format!("/dash/api/key/{key}"))["position"]
        .as_u64()
        .expect("position");
    let overview = get("/dash/api/overview");
    let ends: Vec<u64> = overview["ranges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["end"].as_str()?.parse().ok())
        .collect();
    assert!(!ends.is_empty(), "the nodes report their ranges");
    range_end(&ends, position)
}

/// The page shows, for the range ending at `end`, exactly the roots the nodes report, and they
/// are equal (`equal`) or not.
fn roots_shown(browser: &Browser, end: u64, equal: bool, what: &str) {
    let mut last = Default::default();
    let ok = eventually(Duration::from_secs(30), || {
        let reported = reported_roots(end);
        let values: std::collections::BTreeSet<&String> = reported.values().collect();
        if reported.len() < 3 || (values.len() == 1) != equal {
            last = reported;
            return false;
        }
        let shown = browser.script(&format!("var out = {{}}; Array.prototype.forEach.call(document.querySelectorAll('#ranges-table tr[data-range=\"{end}\"] span.root'), function (s) {{ out[s.getAttribute('data-node')] = s.getAttribute('data-root'); }}); var tr = document.querySelector('#ranges-table tr[data-range=\"{end}\"]'); return [out, tr ? tr.getAttribute('data-equal') : null];"));
        let page: std::collections::BTreeMap<String, String> =
            serde_json::from_value(shown[0].clone()).unwrap_or_default();
        last = reported.clone();
        page == reported && shown[1] == json!(if equal { "yes" } else { "no" })
    });
    if !ok {
        browser.screenshot(&format!("failed-{}", what.replace(' ', "-")));
    }
    assert!(
        ok,
        "{what}: the page and the nodes' own roots for range …{end}: {last:?}"
    );
}

fn artifacts() -> PathBuf {
    // CARGO_TARGET_TMPDIR is target/tmp; the artifacts live next to it.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts")
        .join("dashboard");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

#[test]
fn dashboard_ring_kill_put_partition_heal_in_headless_chromium() {
    let Some(driver) = chromedriver() else {
        println!("skipped: no chromedriver (install Debian's chromium-driver; .ci/run does)");
        return;
    };
    if !Path::new(CHROMIUM).exists() {
        println!("skipped: no {CHROMIUM} (install Debian's chromium; .ci/run does)");
        return;
    }
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-cluster");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data dir");
    let log = std::fs::File::create(data.join("up.log")).expect("up log");
    let mut guard = Guard {
        data: data.clone(),
        up: None,
        driver: None,
        session: None,
    };
    guard.up = Some(
        Command::new(BIN)
            .args([
                "up",
                "--nodes",
                "5",
                "--base-port",
                &BASE.to_string(),
                "--reference",
                "all",
                "--data",
            ])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dynamo up"),
    );
    let all_up = eventually(Duration::from_secs(60), || {
        (0..5).all(|i| {
            http("GET", &node_addr(i), "/ping", None, Duration::from_secs(2))
                .is_some_and(|(s, _)| s == 200)
        }) && data.join("cluster.json").exists()
    });
    assert!(
        all_up,
        "the cluster did not start: {}",
        std::fs::read_to_string(data.join("up.log")).unwrap_or_default()
    );

    // The browser's temporary folders go under the test's data, not the machine's /tmp.
    let browser_tmp = data.join(BROWSER_TMP);
    std::fs::create_dir_all(&browser_tmp).expect("browser tmp dir");
    guard.driver = Some(
        Command::new(&driver)
            .arg(format!("--port={}", BASE + 90))
            .env("TMPDIR", &browser_tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let ready = eventually(Duration::from_secs(20), || {
        http(
            "GET",
            &driver_addr(),
            "/status",
            None,
            Duration::from_secs(2),
        )
        .is_some_and(|(s, _)| s == 200)
    });
    assert!(ready, "chromedriver did not start");
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1500,1400"] }
    } } });
    let (status, text) = http(
        "POST",
        &driver_addr(),
        "/session",
        Some(&capabilities.to_string()),
        Duration::from_secs(60),
    )
    .expect("chromedriver answers a new session");
    assert_eq!(status, 200, "new session: {text}");
    let session = serde_json::from_str::<Value>(&text).expect("session json")["value"]["sessionId"]
        .as_str()
        .expect("session id")
        .to_string();
    guard.session = Some(session.clone());
    let browser = Browser {
        session,
        shots: artifacts(),
    };

    // 1. The ring shows five nodes, all up, each with its tokens.
    browser.open(&format!("http://{}/", node_addr(0)));
    browser.until(Duration::from_secs(15), "five nodes up", "return document.querySelectorAll('#legend li[data-liveness=\"up\"]').length === 5 && document.querySelectorAll('#ring circle.token').length === 5 * 16;");
    browser.screenshot("01-ring");

    // 2. Kill E from its button: marked down within the stated time.
    browser.click(".node-card[data-node=\"E\"] button[data-action=\"kill\"]");
    let clicked = Instant::now();
    browser.until(KILL_SHOWN_WITHIN, "E down", "return document.querySelector('#legend li[data-node=\"E\"]').getAttribute('data-liveness') === 'down';");
    println!("E shown down {:?} after the click", clicked.elapsed());
    browser.screenshot("02-killed-E");

    // 3. A put from the console: the key's replicas and their clocks, and the request's diagram.
    browser.type_into("#c-key", "cart");
    browser.type_into("#c-value", "socks");
    browser.click("#c-put");
    browser.until(Duration::from_secs(10), "the put's replicas", "var rows = document.querySelectorAll('#replicas tr[data-siblings=\"1\"]'); return rows.length === 3 && document.getElementById('key-agree').textContent === 'replicas agree' && Array.prototype.every.call(rows, function (r) { return /\\{.*: 1@/.test(r.querySelector('.clock').textContent) && r.querySelector('.value').textContent === 'socks'; });");
    browser.until(Duration::from_secs(10), "the put's diagram", "return /carries context|context/.test(document.getElementById('c-out').textContent) && document.querySelectorAll('#diagram svg').length === 1 && document.getElementById('diagram').textContent.indexOf('cart') >= 0;");
    browser.screenshot("03-put-replicas-clocks-diagram");
    // The put's diagram is exactly its own messages: found by the request id they all carry.
    let id = console_request(&browser);
    let items = exact_diagram(&browser, &id);
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "put" && i["from"] == "A" && i["to"] != "A"),
        "{items:?}"
    );
    browser.script("document.getElementById('diagram-panel').scrollIntoView(); return true;");
    browser.screenshot("03b-put-request-diagram");
    browser.script("window.scrollTo(0, 0); return true;");

    // 4. Revive E, partition {A,B} | {C,D,E}, write on both sides: the replicas disagree.
    browser.click(".node-card[data-node=\"E\"] button[data-action=\"revive\"]");
    browser.until(Duration::from_secs(25), "E up again", "return document.querySelector('#legend li[data-node=\"E\"]').getAttribute('data-liveness') === 'up';");
    browser.type_into("#p-groups", "A,B C,D,E");
    browser.click("#partition");
    browser.until(
        Duration::from_secs(10),
        "the partition",
        "return /partitioned/.test(document.getElementById('status').textContent);",
    );
    // Side {A,B}: the console, carrying the context of the first put (it supersedes socks).
    browser.type_into("#c-value", "shoes");
    browser.click("#c-put");
    browser.until(Duration::from_secs(10), "the write on A's side", "return /HTTP 200/.test(document.getElementById('c-out').textContent) && /shoes/.test(document.getElementById('c-out').textContent);");
    // Its diagram shows the copies the partition swallowed: sent, never received.
    let id = console_request(&browser);
    let items = exact_diagram(&browser, &id);
    assert!(
        items.iter().any(|i| i["fate"] == "partitioned"),
        "a lost message in {items:?}"
    );
    browser.until(Duration::from_secs(5), "the lost arrows", "return document.querySelectorAll('#diagram g.msg.lost[data-fate=\"partitioned\"]').length > 0;");
    browser.script("document.getElementById('diagram-panel').scrollIntoView(); return true;");
    browser.screenshot("04b-partitioned-request-lost-messages");
    browser.script("window.scrollTo(0, 0); return true;");
    // Side {C,D,E}: a blind write through C, concurrent with everything.
    let (status, body) = http(
        "PUT",
        &node_addr(2),
        "/kv/cart",
        Some("hat"),
        Duration::from_secs(5),
    )
    .expect("C answers");
    assert_eq!(status, 200, "write through C: {body}");
    browser.until(
        Duration::from_secs(10),
        "disagreeing replicas",
        // From A, C and D are out of reach: A itself stands in for one of them (sloppy quorum).
        "return document.getElementById('key-agree').textContent === 'replicas disagree' && /A \\(standing in for [CD]\\)/.test(document.getElementById('targets').textContent);",
    );
    browser.screenshot("04-partitioned-disagree-fallback");
    // The key's replicas report different Merkle roots for its range, and the page shows theirs.
    let cart_range = range_of_key("cart");
    roots_shown(
        &browser,
        cart_range,
        false,
        "different roots while partitioned",
    );
    browser.script("document.getElementById('ranges').scrollIntoView(); return true;");
    browser.screenshot("04c-partitioned-roots-differ");
    browser.script("window.scrollTo(0, 0); return true;");

    // 5. Heal: hints and anti-entropy bring every replica to the same two siblings.
    browser.click("#heal");
    let healed = format!(
        "return document.getElementById('key-agree').textContent === 'replicas agree' && {} === 2 && {} === 2 && {} === 2;",
        replica_siblings("B"),
        replica_siblings("C"),
        replica_siblings("D")
    );
    browser.until(
        Duration::from_secs(30),
        "agreement on two siblings after heal",
        &healed,
    );
    browser.screenshot("05-healed-siblings-agree");
    roots_shown(&browser, cart_range, true, "equal roots after heal");
    browser.script("document.getElementById('ranges').scrollIntoView(); return true;");
    browser.screenshot("05b-healed-roots-equal");
    browser.script("window.scrollTo(0, 0); return true;");

    // 5c. Read both siblings, delete with that context: every replica holds a tombstone, marked.
    browser.click("#c-get");
    browser.until(Duration::from_secs(10), "the read of both siblings", "var t = document.getElementById('c-out').textContent; return /^GET/.test(t) && /HTTP 200/.test(t) && /shoes/.test(t) && /hat/.test(t);");
    browser.click("#c-delete");
    browser.until(Duration::from_secs(20), "tombstones on the three primaries", "var rows = document.querySelectorAll('#replicas tr'); var n = 0; Array.prototype.forEach.call(rows, function (r) { var v = r.querySelectorAll('.version'); if (v.length === 1 && v[0].classList.contains('tomb') && /tombstone/.test(v[0].textContent)) { n += 1; } }); return n === 3 && document.getElementById('key-agree').textContent === 'replicas agree';");
    browser.screenshot("05c-deleted-tombstones");

    // 6. User data is text, never markup: a key and a value made of tags stay visible as typed.
    let key = "<b id=k>k</b>";
    let value = "<img id=xss src=x onerror=\"document.title='owned'\">";
    browser.type_into("#c-key", key);
    browser.type_into("#c-value", value);
    browser.type_into("#c-context", "");
    browser.click("#c-put");
    let escaped = format!(
        "return document.getElementById('key-name') !== null && document.getElementById('key-name').textContent === {key:?} && Array.prototype.some.call(document.querySelectorAll('#replicas .value'), function (v) {{ return v.textContent === {value:?}; }}) && document.getElementById('xss') === null && document.getElementById('k') === null && document.title !== 'owned';"
    );
    browser.until(Duration::from_secs(10), "tags as text", &escaped);
    browser.screenshot("06-user-data-as-text");

    // 7. Pause D (SIGSTOP) and resume it from its buttons.
    browser.click(".node-card[data-node=\"D\"] button[data-action=\"pause\"]");
    browser.until(
        Duration::from_secs(5),
        "D paused",
        "return document.querySelector('#legend li[data-node=\"D\"]').getAttribute('data-liveness') === 'paused';",
    );
    let shot = browser.screenshot("07-paused-D");
    browser.click(".node-card[data-node=\"D\"] button[data-action=\"resume\"]");
    browser.until(
        Duration::from_secs(10),
        "D up after resume",
        "return document.querySelector('#legend li[data-node=\"D\"]').getAttribute('data-liveness') === 'up';",
    );
    println!("screenshots in {}", shot.parent().expect("dir").display());
}
