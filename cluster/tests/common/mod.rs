//! Helpers the cluster test binaries share: the tests talk plain HTTP/1.1 over loopback sockets
//! and poll with a bound, so these small pieces live here once.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// The body of a `Transfer-Encoding: chunked` response, chunks joined.
#[allow(
    dead_code,
    reason = "each test binary compiles this module; not every one reads chunks"
)]
pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `f` every 100 ms until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Waits for `child` to exit, `limit` at most; past that, kills it and panics naming `what`.
#[allow(
    dead_code,
    reason = "each test binary compiles this module; not every one runs commands to completion"
)]
pub fn finish_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
