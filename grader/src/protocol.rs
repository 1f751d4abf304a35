//! The private channel between the grader and one case process: newline-separated JSON messages.
//!
//! The parent writes one [`Start`] (what to run: the stage, the implementations, the limits and
//! the case *without its expectations*) and then one [`Verdict`] per reported value; the child
//! writes [`ToParent`] messages. How the channel is made private, and why a forged message gains
//! nothing, is explained in `crate::runner`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};

use crate::expect::{Mismatch, Observed};

/// What the child needs to act, and nothing more.
#[derive(Debug, Serialize, Deserialize)]
pub struct Start {
    /// The stage's name (`hash-ring`).
    pub stage: String,
    /// Who serves each stage, as `Selection::to_arg` writes it.
    pub selection: String,
    pub memory_mb: u64,
    /// CPU seconds the case may burn (`RLIMIT_CPU`), a backstop for the wall-clock deadline.
    pub cpu_seconds: u64,
    /// The case's `setup` and `steps` as JSON, every step's `expect` replaced by `{}`.
    pub case: String,
    /// What the run varies beyond the case file (the store's seeds).
    #[serde(default)]
    pub options: crate::stages::RunOptions,
}

/// A message from the case process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToParent {
    /// Which hardening measures the kernel accepted, and which it refused.
    Hardened {
        applied: Vec<String>,
        unavailable: Vec<String>,
    },
    /// About to run the setup (`None`) or a step.
    Begin { step: Option<usize> },
    /// The actual value of the current step, as given to its expectation's `check`.
    Observed { value: Box<Observed> },
    /// The current step (or setup) failed: on its own (an operation it needed failed), or after
    /// a `Fail` verdict, with the simulated message trace to show.
    Failed { mismatch: Mismatch },
    /// The code under test panicked.
    Panicked {
        message: String,
        location: Option<String>,
    },
    /// Every step ran.
    Finished,
    /// The child could not start the case (a grader bug, never the learner's code).
    Refused { message: String },
}

/// The parent's judgement of an `Observed` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
}

/// Writes one message as a line of JSON.
pub fn send<T: Serialize>(out: &mut impl Write, message: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// The longest message read: more is a broken channel, not a reason to exhaust memory.
pub const MAX_LINE: u64 = 64 << 20;

/// Reads one message; `Ok(None)` at the end of the stream.
pub fn receive<T: serde::de::DeserializeOwned>(
    input: &mut impl BufRead,
) -> Result<Option<T>, String> {
    let mut line = String::new();
    match Read::take(&mut *input, MAX_LINE).read_line(&mut line) {
        Ok(0) => Ok(None),
        Ok(_) => serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| format!("an unreadable message ({e})")),
        Err(e) => Err(format!("a broken channel ({e})")),
    }
}

/// The child's end of the channel, handed to the steps inside `Snapshots::Report`.
pub struct Reporter {
    out: std::fs::File,
    input: BufReader<std::fs::File>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reporter")
    }
}

impl Reporter {
    pub fn new(out: OwnedFd, input: OwnedFd) -> Self {
        Reporter {
            out: out.into(),
            input: BufReader::new(input.into()),
        }
    }

    /// A second handle on the outgoing side, for the messages that mark each step's start.
    pub fn writer(&self) -> std::io::Result<std::fs::File> {
        self.out.try_clone()
    }

    /// Sends a message; a broken channel means the parent is gone or has judged already, and
    /// the process is about to be killed, so there is nothing better to do than go on.
    pub fn send(&mut self, message: &ToParent) {
        let _ = send(&mut self.out, message);
    }

    /// Reads the `Start` message.
    pub fn start(&mut self) -> Result<Start, String> {
        receive(&mut self.input)?.ok_or_else(|| "no start message".to_string())
    }

    /// Reports the current step's actual value and returns the parent's verdict: `Ok` to go on,
    /// or a placeholder mismatch (the parent keeps the real one) so the step stops as it did
    /// when the child judged by itself.
    pub fn observe<T: Serialize>(&mut self, actual: &T) -> Result<(), Mismatch> {
        // `ToParent::Observed { value }`, written straight from `actual`: a store sweep's
        // report is large, and going through a `serde_json::Value` first doubled its cost.
        let mut line = br#"{"observed":{"value":"#.to_vec();
        if let Err(e) = serde_json::to_writer(&mut line, actual) {
            return Err(Mismatch::new(
                "a result the grader can report",
                format!("one it cannot encode: {e}"),
            ));
        }
        line.extend_from_slice(b"}}\n");
        let _ = self.out.write_all(&line).and_then(|()| self.out.flush());
        match receive::<Verdict>(&mut self.input) {
            Ok(Some(Verdict::Pass)) => Ok(()),
            _ => Err(Mismatch::new(
                "(judged by the grader)",
                "(judged by the grader)",
            )),
        }
    }
}
