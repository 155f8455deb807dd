//! `rss-launch PROGRAM [ARGS...]`: runs PROGRAM (same environment, stdin and stdout; its
//! stderr to /dev/null) and reports on stderr `wall_ns=N maxrss_kib=N inherited_kib=N`
//! — the wall time from fork to its exit and its peak RSS (`wait4`).
//!
//! Why a launcher: a process's peak RSS starts from its parent's at fork and survives
//! exec, so a program exec'd by the harness (tens of MiB of its own) reports the
//! harness's high-water mark, not its own. Forked from this small process (a plain
//! fork: only anonymous memory carries over) it inherits at most this launcher's
//! anonymous memory, reported as `inherited_kib`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::Instant;

fn rss_anon_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(-1)
}

fn main() {
    let args: Vec<CString> = std::env::args_os()
        .skip(1)
        .map(|a| CString::new(a.as_bytes()).expect("no NUL in arguments"))
        .collect();
    if args.is_empty() {
        eprintln!("usage: rss-launch PROGRAM [ARGS...]");
        std::process::exit(2);
    }
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let devnull = c"/dev/null";
    let inherited = rss_anon_kib();
    let start = Instant::now();
    // SAFETY: this process is single-threaded, so the child may run anything; it only
    // calls open, dup2, execv and _exit before the exec replaces it.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; every pointer is valid until the exec.
        unsafe {
            let fd = libc::open(devnull.as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                libc::dup2(fd, 2);
            }
            libc::execv(argv[0], argv.as_ptr());
            libc::_exit(127);
        }
    }
    if pid < 0 {
        eprintln!("rss-launch: fork: {}", std::io::Error::last_os_error());
        std::process::exit(2);
    }
    let mut status = 0;
    // SAFETY: rusage is plain integers, so all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with out-pointers valid for the call (nix has no
    // wait4, and the child's own rusage is what is measured).
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if rc < 0 {
        eprintln!("rss-launch: wait4: {}", std::io::Error::last_os_error());
        std::process::exit(2);
    }
    eprintln!(
        "wall_ns={} maxrss_kib={} inherited_kib={inherited}",
        wall.as_nanos(),
        usage.ru_maxrss
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    std::process::exit(code);
}
