//! The data plane polls while frames flow and sleeps on interrupts once they stop: pings
//! keep crossing the bridge, and afterwards the data-plane threads use no CPU to speak of.

mod common;

use std::time::Duration;

use common::{demo, ping};

/// CPU seconds used so far by this process's threads called `dataplane`.
fn dataplane_cpu() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks: u64 = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "dataplane")
        })
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let f: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
            Some(f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?)
        })
        .sum();
    ticks as f64 / hz
}

#[test]
fn traffic_is_polled_and_an_idle_data_plane_sleeps() {
    let d = demo([None, None]);
    let out = ping(&d.pods[1], "192.168.210.2", 20);
    assert!(out.contains("20 sent, 20 received"), "{out}");
    std::thread::sleep(Duration::from_millis(100));
    let before = dataplane_cpu();
    std::thread::sleep(Duration::from_millis(1000));
    let used = dataplane_cpu() - before;
    // Three mock-vpps (host and two pods); a spinning one would use a whole second.
    assert!(used < 0.2, "idle data planes used {used} s of CPU in 1 s");
    let out = ping(&d.pods[0], "192.168.210.3", 3);
    assert!(out.contains("3 sent, 3 received"), "{out}");
}
