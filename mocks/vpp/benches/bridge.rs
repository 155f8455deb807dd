//! Frames per second through mock-vpp's L2 bridge between two memif interfaces, next to
//! DPDK testpmd forwarding over memif on the same machine in the same run, and ping
//! round-trip times through the bridge.
//!
//! `cargo bench -p mock-vpp --bench bridge` prints a table; with `BENCH_JSON=FILE` the
//! figures are also written to FILE as JSON. Takes about half a minute.

#[path = "bridge/mock.rs"]
mod mock;
#[path = "bridge/testpmd.rs"]
mod testpmd;

use std::time::Duration;

use serde_json::{json, Value};

const FRAME_SIZES: [usize; 2] = [64, 1500];
/// Traffic runs this long before counting starts (connections settle, caches warm).
const WARMUP: Duration = Duration::from_secs(1);
/// How long frames are counted.
const WINDOW: Duration = Duration::from_secs(3);
const PINGS: u32 = 20;

/// Frames/s and frame length → Gbit/s of frame bytes (memif carries no preamble or CRC).
fn gbps(pps: f64, len: usize) -> f64 {
    pps * len as f64 * 8.0 / 1e9
}

/// nproc and the CPU model, as /proc/cpuinfo names it.
fn machine() -> (usize, String) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    (cpus, model)
}

struct Row {
    len: usize,
    mock: mock::BridgeRun,
    testpmd: testpmd::Outcome,
}

impl Row {
    fn testpmd_pps(&self) -> Option<f64> {
        match self.testpmd {
            testpmd::Outcome::Rate(r) => Some(r),
            _ => None,
        }
    }

    fn testpmd_text(&self) -> String {
        match &self.testpmd {
            testpmd::Outcome::Rate(r) => {
                format!("{:.3} Mpps {:.2} Gbit/s", r / 1e6, gbps(*r, self.len))
            }
            testpmd::Outcome::NotInstalled => "not installed (run ci/install-deps.sh)".into(),
            testpmd::Outcome::Failed(why) => format!("failed: {why}"),
        }
    }

    fn ratio(&self) -> Option<f64> {
        self.testpmd_pps().map(|t| self.mock.pps() / t)
    }

    fn print(&self) {
        let m = &self.mock;
        let loss = 100.0 * (1.0 - m.received as f64 / m.sent.max(1) as f64);
        println!(
            "{:>6} B | {:>8.3} Mpps {:>6.2} Gbit/s ({:.1}% of sent lost) | {:<34} | {}",
            self.len,
            m.pps() / 1e6,
            gbps(m.pps(), self.len),
            loss.max(0.0),
            self.testpmd_text(),
            self.ratio().map_or("-".into(), |r| format!("{r:.4}")),
        );
    }

    fn json(&self) -> Value {
        let m = &self.mock;
        json!({
            "frame_bytes": self.len,
            "mock_vpp": {
                "pps": m.pps(),
                "gbps": gbps(m.pps(), self.len),
                "received": m.received,
                "sent": m.sent,
                "ring_full_retries": m.ring_full,
                "seconds": m.seconds,
            },
            "testpmd": match &self.testpmd {
                testpmd::Outcome::Rate(r) => json!({"pps": r, "gbps": gbps(*r, self.len)}),
                testpmd::Outcome::NotInstalled => json!({"error": "not installed"}),
                testpmd::Outcome::Failed(why) => json!({"error": why}),
            },
            "ratio_mock_to_testpmd": self.ratio(),
        })
    }
}

fn main() {
    // `cargo test --benches` and friends list targets first; nothing to list here.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (cpus, cpu_model) = machine();
    println!("machine: {cpus} CPUs, {cpu_model}; {WARMUP:?} warm-up, {WINDOW:?} counted per row");
    println!(
        "{:>8} | {:<47} | {:<34} | mock/testpmd",
        "frame",
        "mock-vpp bridge (memif slave -> bd 4 -> slave)",
        "testpmd memif (txonly -> rxonly)"
    );
    let mut rows = Vec::new();
    for len in FRAME_SIZES {
        let row = Row {
            len,
            mock: mock::bridge(len, WARMUP, WINDOW),
            testpmd: testpmd::forward(len, WARMUP, WINDOW),
        };
        row.print();
        rows.push(row);
    }
    let rtt = mock::ping_rtt(PINGS);
    let min = rtt.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rtt.iter().copied().fold(0.0, f64::max);
    let avg = rtt.iter().sum::<f64>() / rtt.len() as f64;
    println!(
        "ping pod -> host bridge -> pod ({} replies, interval 0.01 s): rtt min/avg/max {min:.3}/{avg:.3}/{max:.3} ms",
        rtt.len()
    );
    if let Ok(path) = std::env::var("BENCH_JSON") {
        let doc = json!({
            "machine": {"cpus": cpus, "cpu_model": cpu_model},
            "warmup_s": WARMUP.as_secs_f64(),
            "window_s": WINDOW.as_secs_f64(),
            "bridge": rows.iter().map(Row::json).collect::<Vec<_>>(),
            "ping_ms": {"count": rtt.len(), "min": min, "avg": avg, "max": max, "all": rtt},
        });
        let text = serde_json::to_string_pretty(&doc).expect("JSON");
        if let Err(e) = std::fs::write(&path, text + "\n") {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
}
