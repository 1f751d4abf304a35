//! The seccomp filter a case process installs before the code under test runs (Linux, x86_64
//! and aarch64): no new programs or processes, no filesystem changes or opening of files, no
//! sockets, no signals to other processes, no tracing of them. Threads stay allowed (`clone` with
//! `CLONE_THREAD`), so does every other call; a refused call fails with an error code, so the
//! code under test sees an ordinary I/O error (and the case its consequences), not a kill.
//!
//! The program is plain data (classic BPF); `crate::sys::seccomp` hands it to the kernel.

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub fn filter(own_pid: u32) -> Vec<libc::sock_filter> {
    use libc::*;

    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const JSET_K: u16 = 0x45;
    const RET_K: u16 = 0x06;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    const OFF_NR: u32 = 0;
    const OFF_ARCH: u32 = 4;
    const OFF_ARG0: u32 = 16;
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7;

    fn op(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
        sock_filter { code, jt, jf, k }
    }
    fn errno(e: c_int) -> u32 {
        0x0005_0000 | (e as u32 & 0xffff)
    }
    let nr = |n: c_long| n as u32;

    let mut refused: Vec<(c_long, c_int)> = vec![
        (SYS_execve, EPERM),
        (SYS_execveat, EPERM),
        (SYS_clone3, ENOSYS), // libc falls back to `clone`, filtered below
        (SYS_ptrace, EPERM),
        (SYS_process_vm_readv, EPERM),
        (SYS_process_vm_writev, EPERM),
        (SYS_tkill, EPERM),
        (SYS_setsid, EPERM),
        (SYS_setpgid, EPERM),
        (SYS_socket, EACCES),
        (SYS_openat, EACCES),
        (SYS_openat2, EACCES),
        (SYS_unlinkat, EACCES),
        (SYS_renameat, EACCES),
        (SYS_renameat2, EACCES),
        (SYS_mkdirat, EACCES),
        (SYS_linkat, EACCES),
        (SYS_symlinkat, EACCES),
        (SYS_truncate, EACCES),
        (SYS_fchmodat, EACCES),
        (SYS_fchownat, EACCES),
        (SYS_mknodat, EACCES),
    ];
    #[cfg(target_arch = "x86_64")]
    refused.extend([
        (SYS_fork, EPERM),
        (SYS_vfork, EPERM),
        (SYS_open, EACCES),
        (SYS_creat, EACCES),
        (SYS_unlink, EACCES),
        (SYS_rename, EACCES),
        (SYS_mkdir, EACCES),
        (SYS_rmdir, EACCES),
        (SYS_link, EACCES),
        (SYS_symlink, EACCES),
        (SYS_chmod, EACCES),
        (SYS_chown, EACCES),
        (SYS_lchown, EACCES),
        (SYS_mknod, EACCES),
    ]);

    let mut program = vec![
        op(LD_W_ABS, 0, 0, OFF_ARCH),
        op(JEQ_K, 1, 0, ARCH),
        op(RET_K, 0, 0, RET_KILL_PROCESS),
        op(LD_W_ABS, 0, 0, OFF_NR),
        // x32 system calls on x86_64 (and anything out of range elsewhere).
        op(JGE_K, 0, 1, 0x4000_0000),
        op(RET_K, 0, 0, errno(EPERM)),
    ];
    for (call, e) in refused {
        program.push(op(JEQ_K, 0, 1, nr(call)));
        program.push(op(RET_K, 0, 0, errno(e)));
    }
    // clone: threads only.
    program.extend([
        op(JEQ_K, 0, 4, nr(SYS_clone)),
        op(LD_W_ABS, 0, 0, OFF_ARG0),
        op(JSET_K, 1, 0, CLONE_THREAD as u32),
        op(RET_K, 0, 0, errno(EPERM)),
        op(RET_K, 0, 0, RET_ALLOW),
    ]);
    // kill and tgkill: only to this process (abort and panics signal themselves).
    for call in [SYS_kill, SYS_tgkill] {
        program.extend([
            op(JEQ_K, 0, 4, nr(call)),
            op(LD_W_ABS, 0, 0, OFF_ARG0),
            op(JEQ_K, 1, 0, own_pid),
            op(RET_K, 0, 0, errno(EPERM)),
            op(RET_K, 0, 0, RET_ALLOW),
        ]);
    }
    program.push(op(RET_K, 0, 0, RET_ALLOW));
    program
}
