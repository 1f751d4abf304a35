//! Every operating-system call the grader makes without a safe wrapper in `std`, in one place:
//! process groups and signals (parent), limits, descriptors and hardening (case process).
//!
//! Unsafe code is denied in the workspace; this module is the single exception, one small
//! `unsafe` block per call, each with the reason it is sound. Off Linux/Unix the calls are no-ops
//! and the hardening reports itself unavailable.
#![cfg_attr(
    unix,
    expect(
        unsafe_code,
        reason = "libc calls (prctl, setrlimit, dup2, killpg, sigwait, seccomp) have no safe std wrapper"
    )
)]

#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
pub use other::*;

#[cfg(unix)]
mod unix {
    use std::io;

    fn check(ret: libc::c_int) -> io::Result<()> {
        if ret == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Parent: SIGKILL to every process of the group `pgid` (a case process and whatever it
    /// started). A group that is already gone is not an error.
    pub fn kill_group(pgid: u32) {
        let Ok(pgid) = libc::pid_t::try_from(pgid) else {
            return;
        };
        if pgid <= 1 {
            return;
        }
        // SAFETY: killpg only sends a signal; a positive pgid > 1 never means "every process".
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }

    /// Parent: routes SIGINT, SIGTERM and SIGHUP to a thread that calls `on_signal` (which kills
    /// every running case) and then exits with 128 + the signal, as the default action would.
    /// Must be called before any other thread starts, so that every thread inherits the mask.
    pub fn forward_termination(on_signal: fn()) {
        let mut set = empty_set();
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: `set` is a valid, initialised sigset_t owned by this frame.
            unsafe {
                libc::sigaddset(&mut set, sig);
            }
        }
        // SAFETY: `set` is valid; a null old-set pointer is allowed. Blocking only changes which
        // thread receives these signals: the one below, through sigwait.
        if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
            return;
        }
        std::thread::spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: both pointers are to valid locals; sigwait only writes `sig`.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                on_signal();
                std::process::exit(128 + sig);
            }
        });
    }

    fn empty_set() -> libc::sigset_t {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the whole set it is given.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            set.assume_init()
        }
    }

    /// Case process: undoes the parent's blocked signals (the mask survives exec) and asks the
    /// kernel to SIGKILL this process when the grader dies. Returns false when the grader is
    /// already gone (the process was re-parented before the request took effect).
    pub fn tie_to_parent(parent: u32) -> bool {
        let set = empty_set();
        // SAFETY: `set` is a valid initialised set; a null old-set pointer is allowed.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            }
        }
        // SAFETY: getppid cannot fail and touches no memory.
        let now = unsafe { libc::getppid() };
        u32::try_from(now).is_ok_and(|p| p == parent)
    }

    /// Case process: sends what the code under test prints on stdout to stderr (fd 2, the
    /// parent's output pipe) and gives it an empty stdin, after the caller has taken private
    /// copies of the original fds 0 and 1 (the channel).
    pub fn redirect_stdio() -> io::Result<()> {
        let null = std::fs::File::open("/dev/null")?;
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 on two open descriptors: fd 1 now refers to the stderr pipe.
        check(unsafe { libc::dup2(2, 1) })?;
        // SAFETY: `null` is open for this whole call; fd 0 now refers to /dev/null.
        check(unsafe { libc::dup2(null.as_raw_fd(), 0) })?;
        Ok(())
    }

    fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
        let value = value as libc::rlim_t;
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit reads a valid, initialised struct; it only changes this process.
        check(unsafe { libc::setrlimit(resource, &limit) })
    }

    /// Caps the address space, so runaway allocation fails inside the case process.
    pub fn limit_memory(megabytes: u64) -> io::Result<()> {
        set_limit(libc::RLIMIT_AS, megabytes.saturating_mul(1024 * 1024))
    }

    /// Caps CPU time: the kernel kills the process (SIGXCPU, then SIGKILL) past it, even if
    /// the grader's own clock is starved.
    pub fn limit_cpu(seconds: u64) -> io::Result<()> {
        set_limit(libc::RLIMIT_CPU, seconds.max(1))
    }

    /// No privilege gained through exec (set-user-id programs) from here on.
    pub fn no_new_privs() -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: PR_SET_NO_NEW_PRIVS takes integers and touches no memory.
            check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }
    }

    /// Installs a seccomp filter (requires no_new_privs) built by `crate::seccomp`.
    #[cfg(target_os = "linux")]
    pub fn seccomp(filter: &[libc::sock_filter]) -> io::Result<()> {
        let program = libc::sock_fprog {
            len: u16::try_from(filter.len()).map_err(io::Error::other)?,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: `program` points into `filter`, alive for the call; the kernel copies it.
        check(unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &program as *const libc::sock_fprog,
                0,
                0,
            )
        })
    }

    /// This process's id.
    pub fn pid() -> u32 {
        std::process::id()
    }
}

#[cfg(not(unix))]
mod other {
    use std::io;

    fn unsupported() -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    pub fn kill_group(_pgid: u32) {}
    pub fn forward_termination(_on_signal: fn()) {}
    pub fn tie_to_parent(_parent: u32) -> bool {
        true
    }
    pub fn redirect_stdio() -> io::Result<()> {
        unsupported()
    }
    pub fn limit_memory(_megabytes: u64) -> io::Result<()> {
        unsupported()
    }
    pub fn limit_cpu(_seconds: u64) -> io::Result<()> {
        unsupported()
    }
    pub fn no_new_privs() -> io::Result<()> {
        unsupported()
    }
    pub fn pid() -> u32 {
        std::process::id()
    }
}
