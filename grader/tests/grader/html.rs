//! `--output html=FILE`: the self-contained page, checked as text (structure, escaping, every
//! failing networked case's trace embedded as data) and in a real browser (headless Chromium
//! draws one arrow per message).
//!
//! The failing cases come from mutants the course keeps (`first-reply` for quorum,
//! `ignores-late-replies` for read repair, whose diagram includes the client's answer) and from a
//! private case whose key and value are markup, so escaping is tested on what learner code and
//! case authors can really put in a message. Every run is on simulated time, so the page is the
//! same on every machine; the browser runs with a hard wall-clock limit and is killed past it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{cases, code, course_root, grader, scratch, stderr};

/// A key and value that would break out of a `<script>` or inject an element if not escaped.
const NASTY_KEY: &str = "</script><img src=x onerror=alert(1)>";
const NASTY_VALUE: &str = "<b>&amp;\"'</b>";

/// A private quorum case that fails on any correct implementation (the expectation names a value
/// nobody wrote), so its trace, full of markup, reaches the report.
fn nasty_case(dir: &Path) {
    let case = format!(
        "stage: quorum\ntrack: read-quorum\nname: markup-in-messages\nhint: 'a <hint> & more'\n\
         setup:\n  nodes: [A, B, C]\n  quorum: {{n: 3, r: 2, w: 2}}\n  latency_ms: {{A: 10, B: 20, C: 30}}\n\
         steps:\n  - put: {{key: {key:?}, value: {value:?}, version: 1, expect: {{ok: true}}}}\n  \
         - get: {{key: {key:?}, expect: {{equals: {{value: other, version: 1}}}}}}\n",
        key = NASTY_KEY,
        value = NASTY_VALUE,
    );
    std::fs::write(dir.join("markup.yaml"), case).expect("write the private case");
}

/// Grades quorum and read repair with mutants (and the private case), writing the HTML report;
/// returns the page, the JSON report of the same run, and the folder holding `report.html`.
fn report(name: &str) -> (String, Value, crate::util::Scratch) {
    let dir = scratch(name);
    nasty_case(&dir);
    let page = dir.join("report.html");
    let out = grader(&[
        "quorum",
        "read-repair",
        "--reference-deps",
        "--mutant",
        "quorum=first-reply",
        "--mutant",
        "read-repair=ignores-late-replies",
        "--cases",
        dir.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--no-progress",
        "--output",
        &format!("html={}", page.display()),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let html = std::fs::read_to_string(&page).expect("the HTML report was written");
    (html, json, dir)
}

/// The JSON inside each `<figure class="sequence">`, in page order.
fn figures(html: &str) -> Vec<Value> {
    html.split("<figure class=\"sequence\"")
        .skip(1)
        .map(|part| {
            let start = part
                .find("<script type=\"application/json\">")
                .expect("a figure carries its data")
                + "<script type=\"application/json\">".len();
            let end = start + part[start..].find("</script>").expect("closed");
            serde_json::from_str(&part[start..end]).expect("the figure's data is JSON")
        })
        .collect()
}

/// The report holds every stage and track, and for each failing case its step, expected,
/// actual and hint; each failing networked case's trace is embedded, item for item, as data.
#[test]
fn html_report_embeds_each_failing_networked_trace() {
    let (html, json, _) = report("html-structure");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"stage-quorum\"") && html.contains("id=\"stage-read-repair\""));
    for track in ["write-quorum", "read-quorum", "stale-detection", "repair"] {
        assert!(html.contains(&format!("<td>{track}</td>")), "track {track}");
    }
    let failing: Vec<Value> = cases(&json)
        .into_iter()
        .map(|(_, _, c)| c)
        .filter(|c| c["status"] != "pass")
        .collect();
    assert!(failing.len() >= 3, "the mutants fail cases");
    for case in &failing {
        let name = case["name"].as_str().expect("name");
        assert!(html.contains(&format!("<b>{}</b>", name)), "case {name}");
    }
    // One figure per failing case with a trace, in report order, each the same trace.
    let traces: Vec<&Vec<Value>> = failing
        .iter()
        .filter_map(|c| c["trace"].as_array())
        .collect();
    let drawn = figures(&html);
    assert_eq!(drawn.len(), traces.len());
    let mut answers = 0;
    for (items, lines) in drawn.iter().zip(&traces) {
        let items = items.as_array().expect("a list");
        assert_eq!(items.len(), lines.len());
        for item in items {
            if item.get("answer").is_some() {
                answers += 1;
            } else {
                for field in ["sent_ms", "from", "to", "kind", "detail", "fate"] {
                    assert!(item.get(field).is_some(), "{field} in {item}");
                }
            }
        }
    }
    assert!(
        answers > 0,
        "read repair's diagrams show the client's answer"
    );
    // Self-contained: nothing is fetched.
    for outside in ["<link", " src=\"", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(outside), "{outside}");
    }
}

/// Markup in keys, values and hints is shown as text: escaped in HTML, `\u003c` in the JSON,
/// and read back to the exact original strings.
#[test]
fn html_report_escapes_what_messages_carry() {
    let (html, _, _) = report("html-escaping");
    assert!(!html.contains("<img"), "no element can be injected");
    assert!(!html.contains("<b>&amp;"), "a value is never raw markup");
    assert_eq!(
        html.matches("</script>").count(),
        html.matches("<script").count(),
        "every script ends where it should"
    );
    assert!(
        html.contains("a &lt;hint&gt; &amp; more"),
        "the hint is escaped"
    );
    let nasty = figures(&html)
        .into_iter()
        .find(|f| f.to_string().contains("onerror"))
        .expect("the private case's trace is drawn");
    let details: Vec<&str> = nasty
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["detail"].as_str())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains(NASTY_KEY) && d.contains(NASTY_VALUE)),
        "{details:?}"
    );
}

/// Two runs of the same code write the same page, byte for byte.
#[test]
fn html_report_is_deterministic() {
    // The same folder both times: the private case's path is part of the page.
    let (first, _, _) = report("html-determinism");
    let (second, _, _) = report("html-determinism");
    assert!(first == second, "the HTML report differs between runs");
}

const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// Runs headless Chromium on a page with `extra` arguments, stdout to `stdout_file`; kills its
/// whole process group if it outlives [`BROWSER_LIMIT`].
fn chromium(page: &Path, extra: &[String], stdout_file: &Path) {
    use std::os::unix::process::CommandExt;
    let profile = scratch("html-browser-profile");
    let stdout = std::fs::File::create(stdout_file).expect("create the browser's output file");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_LIMIT {
            // The browser's helpers share its process group (created above): end them all.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            panic!("chromium did not finish within {BROWSER_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_dir_all(&profile);
    assert!(status.success(), "chromium failed: {status}");
}

/// In a real browser the script draws every diagram: one lifeline per node (and the client when
/// it is answered), one arrow per message of the case's trace, nothing injected. A screenshot is
/// kept in target/test-artifacts/ for people to look at. Skipped where Chromium is not installed
/// (`.ci/run` installs it).
#[test]
fn html_report_draws_the_diagrams_in_a_browser() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install chromium)");
        return;
    }
    let (html, _, dir) = report("html-browser");
    let page = dir.join("report.html");
    let artifacts = course_root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("create target/test-artifacts");
    std::fs::copy(&page, artifacts.join("grade-report.html")).expect("keep the page");
    let dom_file = artifacts.join("grade-report.dom.html");
    chromium(&page, &["--dump-dom".to_string()], &dom_file);
    let dom = std::fs::read_to_string(&dom_file).expect("the dumped DOM");

    let data = figures(&html);
    let svgs: Vec<&str> = dom
        .split("<svg class=\"sequence-diagram\"")
        .skip(1)
        .collect();
    assert_eq!(svgs.len(), data.len(), "one diagram per figure");
    for (svg, items) in svgs.iter().zip(&data) {
        let svg = &svg[..svg.find("</svg>").expect("a closed svg")];
        let items = items.as_array().expect("a list");
        let messages = items.iter().filter(|i| i.get("answer").is_none()).count();
        let answers = items.len() - messages;
        let mut nodes: Vec<String> = Vec::new();
        for item in items {
            for end in ["from", "to"] {
                if let Some(n) = item[end].as_str()
                    && !nodes.iter().any(|m| m == n)
                {
                    nodes.push(n.to_string());
                }
            }
        }
        let lifelines = nodes.len() + usize::from(answers > 0);
        assert_eq!(svg.matches("<g class=\"msg ").count(), messages, "arrows");
        assert_eq!(
            svg.matches("<g class=\"answer\"").count(),
            answers,
            "answers"
        );
        assert_eq!(
            svg.matches("<g class=\"lifeline").count(),
            lifelines,
            "lifelines"
        );
        let lost = items
            .iter()
            .filter(|i| {
                matches!(
                    i["fate"].as_str(),
                    Some("dropped" | "partitioned" | "lost-node-down")
                )
            })
            .count();
        assert_eq!(svg.matches("<g class=\"msg lost").count(), lost, "lost");
        // Late: an answer nobody waited for, or a message sent before the client's answer that
        // arrived after it (the answer of its request; here each list has at most one).
        let answered_at = items
            .iter()
            .find_map(|i| i["answer"].as_str().and(i["at_ms"].as_u64()));
        let arrival = |i: &Value| {
            let fate = &i["fate"];
            fate["arrives"]["at_ms"]
                .as_u64()
                .or(fate["arrives-unheard"]["at_ms"].as_u64())
        };
        let after_answer = |i: &Value| {
            answered_at.is_some_and(|a| {
                i["sent_ms"].as_u64().is_some_and(|s| s < a) && arrival(i).is_some_and(|t| t > a)
            })
        };
        let late = items
            .iter()
            .filter(|i| i["fate"].get("arrives-unheard").is_some() || after_answer(i))
            .count();
        assert_eq!(svg.matches("<g class=\"msg unheard").count(), late, "late");
        let after = items.iter().filter(|i| after_answer(i)).count();
        assert_eq!(
            svg.matches("<g class=\"msg unheard late").count(),
            after,
            "after the answer"
        );
    }
    assert!(!dom.contains("<img"), "nothing injected into the page");
    assert!(
        !dom.contains("class=\"sequence-error\""),
        "every diagram drew"
    );

    let shot = artifacts.join("grade-report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,2400".to_string(),
        ],
        &artifacts.join("grade-report.screenshot.log"),
    );
    assert!(shot.exists(), "chromium wrote {}", shot.display());
    eprintln!("screenshot: {}", shot.display());
}

/// Stage 7's diagrams are exact: every message the report draws for a failing store case belongs
/// to a client request the diagram answers (its request id, carried by every message the request
/// caused), and every request that reached a replica has that replica's answer with the same id
/// (acks and replies carry it too), so nothing in a diagram is guessed from keys or times.
#[test]
fn html_report_draws_each_store_request_from_its_own_messages() {
    let dir = scratch("html-store");
    let page = dir.join("report.html");
    let out = grader(&[
        "store",
        "--reference-deps",
        "--mutant",
        "store=delete-removes",
        "--filter",
        "crash-recover-workload",
        "--format",
        "json",
        "--no-progress",
        "--output",
        &format!("html={}", page.display()),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("the HTML report was written");
    let drawn = figures(&html);
    assert_eq!(drawn.len(), 1, "one failing case, one diagram");
    let items = drawn[0].as_array().expect("a list");
    let answered: Vec<&str> = items
        .iter()
        .filter_map(|i| i.get("answer").and(i["request"].as_str()))
        .collect();
    assert!(
        !answered.is_empty(),
        "the diagram shows the client's answer"
    );
    let messages: Vec<&Value> = items.iter().filter(|i| i.get("answer").is_none()).collect();
    assert!(!messages.is_empty());
    for m in &messages {
        let request = m["request"]
            .as_str()
            .expect("every message names its request");
        assert!(
            answered.contains(&request),
            "{m} belongs to an answered request"
        );
    }
    for m in &messages {
        let asks = ["put", "get", "hint", "repair"].contains(&m["kind"].as_str().unwrap_or(""));
        if asks && m["fate"].get("arrives").is_some() {
            let answer = messages.iter().find(|a| {
                a["from"] == m["to"]
                    && a["to"] == m["from"]
                    && a["request"] == m["request"]
                    && ["ack", "reply"].contains(&a["kind"].as_str().unwrap_or(""))
            });
            assert!(answer.is_some(), "the answer to {m} carries its request id");
        }
    }
}
