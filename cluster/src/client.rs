//! The small client: `cargo dynamo put|get|delete` keep the context for you, and `demo cart`
//! narrates the paper's shopping cart across a partition.
//!
//! Contexts are saved per key under `DATA/contexts/` (the key hex-encoded as the file name): a
//! get saves the context it read, a put sends it and saves the new version's, a delete sends it
//! and forgets it. That is exactly what a Dynamo client library does for its caller.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::Method;

use crate::http_client::HttpClient;
use crate::supervisor::{State, load};

/// An HTTP answer.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The `X-Dynamo-Context` header, when present.
    pub context: Option<String>,
    /// The body as text.
    pub body: String,
}

/// A blocking HTTP client for the command-line tools (a small runtime around
/// [`HttpClient`]).
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: HttpClient,
}

impl Http {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            runtime,
            client: HttpClient::with_timeout(timeout),
        })
    }

    /// GET `url`.
    pub fn get(&self, url: &str) -> Result<Answer, String> {
        self.send("GET", url, &[], None)
    }

    /// Sends a request.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<Answer, String> {
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| format!("{url}: {e}"))?;
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(name, value.clone());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = self
            .runtime
            .block_on(request.send())
            .map_err(|e| e.to_string())?;
        Ok(Answer {
            status: response.status,
            context: response.header(crate::http::CONTEXT).map(str::to_string),
            body: response.text(),
        })
    }
}

/// `A, B, C` for messages.
pub fn node_names(state: &State) -> String {
    state
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn address(state: &State, node: Option<&str>) -> Result<String, String> {
    match node {
        None => state
            .nodes
            .iter()
            .find(|n| n.pid != 0)
            .or(state.nodes.first())
            .map(|n| n.addr.clone())
            .ok_or_else(|| "the cluster has no nodes".into()),
        Some(name) => state
            .nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.addr.clone())
            .ok_or_else(|| format!("no node `{name}` (nodes: {})", node_names(state))),
    }
}

fn context_file(data: &Path, key: &str) -> PathBuf {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    data.join("contexts").join(hex)
}

fn save_context(data: &Path, key: &str, context: Option<&str>) {
    let path = context_file(data, key);
    match context {
        Some(c) => {
            let _ = std::fs::create_dir_all(path.parent().unwrap_or(data));
            let _ = std::fs::write(path, c);
        }
        None => {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn saved_context(data: &Path, key: &str) -> Option<String> {
    std::fs::read_to_string(context_file(data, key)).ok()
}

fn url(addr: &str, key: &str) -> String {
    let encoded: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("http://{addr}/kv/{encoded}")
}

fn check(answer: &Answer) -> Result<(), String> {
    if (200..300).contains(&answer.status) {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", answer.status, answer.body.trim()))
    }
}

/// `cargo dynamo put`.
pub fn put(
    data: &Path,
    node: Option<&str>,
    key: &str,
    value: &str,
    blind: bool,
) -> Result<(), String> {
    let state = load(data)?;
    let addr = address(&state, node)?;
    let http = Http::new(Duration::from_secs(5))?;
    let context = if blind {
        None
    } else {
        saved_context(data, key)
    };
    let headers: Vec<(&str, String)> = context
        .iter()
        .map(|c| (crate::http::CONTEXT, c.clone()))
        .collect();
    let answer = http.send("PUT", &url(&addr, key), &headers, Some(value.to_string()))?;
    check(&answer)?;
    save_context(data, key, answer.context.as_deref());
    let how = if context.is_some() {
        "with your last context"
    } else {
        "blind: adds a sibling"
    };
    println!("stored {key} = {value} via {addr} ({how})");
    Ok(())
}

/// `cargo dynamo get`.
pub fn get(data: &Path, node: Option<&str>, key: &str) -> Result<(), String> {
    let state = load(data)?;
    let addr = address(&state, node)?;
    let http = Http::new(Duration::from_secs(5))?;
    let answer = http.get(&url(&addr, key))?;
    save_context(data, key, answer.context.as_deref());
    match answer.status {
        404 => {
            println!("{key}: not found");
            Ok(())
        }
        _ => {
            check(&answer)?;
            let body: serde_json::Value =
                serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
            let values = body["values"].as_array().cloned().unwrap_or_default();
            if values.len() > 1 {
                println!(
                    "{key}: {} siblings (a put now reconciles them):",
                    values.len()
                );
            }
            for v in values {
                println!("  {}", v.as_str().unwrap_or_default());
            }
            Ok(())
        }
    }
}

/// `cargo dynamo delete`.
pub fn delete(data: &Path, node: Option<&str>, key: &str) -> Result<(), String> {
    let state = load(data)?;
    let addr = address(&state, node)?;
    let http = Http::new(Duration::from_secs(5))?;
    let Some(context) = saved_context(data, key) else {
        return Err(format!(
            "no context saved for {key}: run `cargo dynamo get {key}` first"
        ));
    };
    let answer = http.send(
        "DELETE",
        &url(&addr, key),
        &[(crate::http::CONTEXT, context)],
        None,
    )?;
    check(&answer)?;
    save_context(data, key, None);
    println!("deleted {key} (a tombstone that replaces the versions you read)");
    Ok(())
}

/// `cargo dynamo demo cart`.
pub fn demo_cart(data: &Path) -> Result<(), String> {
    let state = load(data)?;
    if state.nodes.len() < 4 {
        return Err("the cart demo needs at least 4 nodes (cargo dynamo up)".into());
    }
    let http = Http::new(Duration::from_secs(5))?;
    let a = state.nodes[0].addr.clone();
    let last = state.nodes[state.nodes.len() - 1].addr.clone();
    let key = format!("cart-demo-{}", std::process::id());
    let say = |s: &str| println!("\n> {s}");
    say(&format!("A shopper adds socks to {key} through node A."));
    let r = http.send("PUT", &url(&a, &key), &[], Some("socks".into()))?;
    check(&r)?;
    let ctx = r.context.unwrap_or_default();
    println!("  PUT -> {} (context {} bytes)", r.status, ctx.len());
    let first = &state.nodes[0].name;
    let second = &state.nodes[1].name;
    let rest: Vec<&str> = state.nodes[2..].iter().map(|n| n.name.as_str()).collect();
    say(&format!(
        "The network splits: {{{first},{second}}} | {{{}}}.",
        rest.join(",")
    ));
    crate::supervisor::partition(data, &[format!("{first},{second}"), rest.join(",")])?;
    std::thread::sleep(Duration::from_millis(1500));
    say("On each side the shopper adds an item, from the same cart they read (same context).");
    let left = http.send(
        "PUT",
        &url(&a, &key),
        &[(crate::http::CONTEXT, ctx.clone())],
        Some("socks, book".into()),
    )?;
    println!(
        "  via {first}: PUT socks, book -> {} (sloppy quorum: fallbacks on this side)",
        left.status
    );
    let right = http.send(
        "PUT",
        &url(&last, &key),
        &[(crate::http::CONTEXT, ctx)],
        Some("socks, pen".into()),
    )?;
    println!(
        "  via {}: PUT socks, pen -> {}",
        state.nodes[state.nodes.len() - 1].name,
        right.status
    );
    say("The partition heals; anti-entropy and handoff carry both versions everywhere.");
    crate::supervisor::heal(data)?;
    std::thread::sleep(Duration::from_secs(3));
    let read = http.get(&url(&a, &key))?;
    println!("  GET -> {}", read.body.trim());
    say(
        "Two siblings: neither write saw the other. The client merges them (union of items) and writes back with the read's context.",
    );
    let merged = http.send(
        "PUT",
        &url(&a, &key),
        &[(crate::http::CONTEXT, read.context.unwrap_or_default())],
        Some("socks, book, pen".into()),
    )?;
    check(&merged)?;
    let after = http.get(&url(&last, &key))?;
    println!("  GET via the other side -> {}", after.body.trim());
    say(
        "One version again: the merged write's clock descends from both siblings. Nothing the shopper added was lost.",
    );
    Ok(())
}
