//! CPU time of this process's threads, from /proc/self/task: shows whether the data-plane
//! thread was saturated or waiting while frames were counted.

use std::path::Path;

/// Thread ids of this process's threads called `name`.
pub fn threads_named(name: &str) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .filter_map(|t| t.file_name().to_str()?.parse().ok())
        .collect()
}

/// CPU seconds (user + system) used so far by these threads; a thread that has ended
/// counts as 0.
pub fn seconds(tids: &[i32]) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks: u64 = tids
        .iter()
        .filter_map(|tid| {
            let stat = Path::new("/proc/self/task")
                .join(tid.to_string())
                .join("stat");
            user_and_system_ticks(&std::fs::read_to_string(stat).ok()?)
        })
        .sum();
    ticks as f64 / ticks_per_second
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
