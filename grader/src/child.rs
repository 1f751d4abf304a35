//! The case process, `grader-child __run-case --parent PID` (the case runner with the learner's
//! code, `crate::build`; or `grader __run-case …` when only the reference and mutants run): it ties
//! itself to the grader, takes its private channel (the original stdin and stdout, see
//! `crate::runner`), hardens itself, and runs what the parent sends: the setup and steps of one
//! case without their expectations. It reports each step's actual value, waits for the parent's
//! verdict, and reports panics and failures; it never judges anything itself.

use std::os::fd::AsFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use crate::implementation::Selection;
use crate::protocol::{Reporter, ToParent, send};
use crate::snapshot::Snapshots;
use crate::stage::Stage;
use crate::sys;

/// The last panic's message and location, recorded by our hook.
static LAST_PANIC: Mutex<Option<(String, Option<String>)>> = Mutex::new(None);

/// Takes the hook's record of the latest panic (`None` outside a case process, which has no hook):
/// for code that catches a learner's panic and reports it later (`stages::store::panics`).
pub(crate) fn take_last_panic() -> Option<(String, Option<String>)> {
    LAST_PANIC.lock().ok().and_then(|mut last| last.take())
}

/// Unwinds with a panic caught earlier, as if raised now with `message` at `location`: the hook
/// does not run for it, so the case reports this message and the original place.
pub(crate) fn resume_panic(message: String, location: Option<String>) -> ! {
    if let Ok(mut last) = LAST_PANIC.lock() {
        *last = Some((message.clone(), location));
    }
    std::panic::resume_unwind(Box::new(message))
}

/// Runs one case for the grader `parent`. Returns the process exit code.
pub fn run(parent: u32) -> i32 {
    if !sys::tie_to_parent(parent) {
        return 3;
    }
    // The channel: private copies (close-on-exec, above fd 2) of the fds the parent piped.
    let channel = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .and_then(|out| Ok((out, std::io::stdin().as_fd().try_clone_to_owned()?)));
    let Ok((out, input)) = channel else {
        eprintln!("error: the case process has no channel to the grader");
        return 3;
    };
    if let Err(e) = sys::redirect_stdio() {
        eprintln!("error: the case process cannot redirect its output: {e}");
        return 3;
    }
    let mut reporter = Reporter::new(out, input);
    let Ok(mut begin_out) = reporter.writer() else {
        return 3;
    };
    let start = match reporter.start() {
        Ok(start) => start,
        Err(message) => {
            reporter.send(&ToParent::Refused { message });
            return 0;
        }
    };
    let stage: Stage = match start.stage.parse() {
        Ok(stage) => stage,
        Err(message) => {
            reporter.send(&ToParent::Refused { message });
            return 0;
        }
    };
    let selection = match Selection::from_arg(&start.selection) {
        Ok(s) => s,
        Err(message) => {
            reporter.send(&ToParent::Refused { message });
            return 0;
        }
    };
    let (applied, unavailable) = harden(start.memory_mb, start.cpu_seconds);
    reporter.send(&ToParent::Hardened {
        applied,
        unavailable,
    });

    panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => (*s).to_string(),
            None => match info.payload().downcast_ref::<String>() {
                Some(s) => s.clone(),
                None => "a panic with a non-string payload".into(),
            },
        };
        // Paths into solution.rs run through its crate folder (`solution/../src/`): tidied.
        let location = info
            .location()
            .map(|l| crate::build::tidy_path(&l.to_string()));
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some((message, location));
        }
    }));

    let mut snapshots = Snapshots::Report(reporter);
    let mut on_step = |step: Option<usize>, _: &str, _: Option<String>| {
        let _ = send(&mut begin_out, &ToParent::Begin { step });
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        crate::stages::act(
            stage,
            &start.case,
            &selection,
            &start.options,
            &mut snapshots,
            &mut on_step,
        )
    }));
    let message = match result {
        Ok(Ok(Ok(()))) => ToParent::Finished,
        Ok(Ok(Err(failure))) => ToParent::Failed {
            mismatch: failure.mismatch,
        },
        Ok(Err(message)) => ToParent::Refused { message },
        Err(_) => {
            let (message, location) = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_else(|| ("unknown panic".into(), None));
            ToParent::Panicked { message, location }
        }
    };
    if let Snapshots::Report(reporter) = &mut snapshots {
        reporter.send(&message);
    }
    0
}

/// Applies every limit and hardening measure this kernel allows; returns what it applied and
/// what it could not.
fn harden(memory_mb: u64, cpu_seconds: u64) -> (Vec<String>, Vec<String>) {
    let mut applied = Vec::new();
    let mut unavailable = Vec::new();
    let mut note = |what: &str, result: std::io::Result<()>| match result {
        Ok(()) => applied.push(what.to_string()),
        Err(e) => unavailable.push(format!("{what} ({e})")),
    };
    note("memory cap (RLIMIT_AS)", sys::limit_memory(memory_mb));
    note("CPU-time cap (RLIMIT_CPU)", sys::limit_cpu(cpu_seconds));
    let no_new_privs = sys::no_new_privs();
    let privs_ok = no_new_privs.is_ok();
    note("no new privileges", no_new_privs);
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        let result = if privs_ok {
            sys::seccomp(&crate::seccomp::filter(sys::pid()))
        } else {
            Err(std::io::Error::other("needs no new privileges"))
        };
        note(
            "seccomp filter (no exec, fork, file access, sockets, signals to others)",
            result,
        );
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        let _ = privs_ok;
        note(
            "seccomp filter",
            Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
        );
    }
    (applied, unavailable)
}
