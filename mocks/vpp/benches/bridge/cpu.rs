//! CPU time of this process's threads, from /proc/self/task: shows whether the data-plane
//! thread was saturated or waiting while frames were counted.

use std::path::Path;

/// Thread ids of this process's threads called `name`.
pub fn threads_named(name: &str) -> Vec<i32> {
    threads_of("self", |c| c == name)
}

/// Thread ids of process `pid` ("self" for this one) whose name passes `wanted`.
pub fn threads_of(pid: &str, wanted: impl Fn(&str) -> bool) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| wanted(c.trim_end()))
        })
        .filter_map(|t| t.file_name().to_str()?.parse().ok())
        .collect()
}

/// CPU seconds (user + system) used so far by these threads; a thread that has ended
/// counts as 0.
pub fn seconds(tids: &[i32]) -> f64 {
    seconds_of("self", tids)
}

/// As [`seconds`], for threads of process `pid`.
pub fn seconds_of(pid: &str, tids: &[i32]) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks: u64 = tids
        .iter()
        .filter_map(|tid| {
            let stat = Path::new("/proc")
                .join(pid)
                .join("task")
                .join(tid.to_string())
                .join("stat");
            user_and_system_ticks(&std::fs::read_to_string(stat).ok()?)
        })
        .sum();
    ticks as f64 / ticks_per_second
}

/// Pins thread `tid` (0: the calling one) to CPU `cpu`.
pub fn pin(tid: i32, cpu: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes inside it; sched_setaffinity reads
    // it for the given size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// utime + stime from a `stat` line (fields 14 and 15; the name in parentheses may hold
/// spaces, so count from the closing parenthesis).
fn user_and_system_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(field(14)? + field(15)?)
}
