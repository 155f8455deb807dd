//! Frames per second through mock-vpp's L2 bridge between two memif interfaces, next to
//! DPDK testpmd `io` forwarding between two memif ports, with the same testpmd endpoints
//! on both (see `bridge/through.rs`); then mock-vpp with this bench's own memif endpoints,
//! testpmd txonly -> rxonly directly, and ping round-trip times through the bridge.
//! `BRIDGE_BENCH=through` runs only the like-for-like rows: five pairs of runs per frame
//! size, the two forwarders taking turns, with the median ratio and its spread.
//!
//! `cargo bench -p mock-vpp --bench bridge` prints a table; with `BENCH_JSON=FILE` the
//! figures are also written to FILE as JSON. Takes about five minutes.
//!
//! Every rate is the median of one-second samples (the machine is usually shared); the
//! JSON keeps every sample. Columns: `lost` is the share of sent frames that never
//! arrived (the bridge drops a frame when the receiver's ring is full, as VPP does);
//! `CPU% dp/tx/rx` is the CPU used by mock-vpp's data-plane thread, the sending and the
//! receiving endpoint; `dp ns/f` is the data-plane thread's CPU time per frame; `vs pmd`
//! is mock-vpp's rate over testpmd's.

#[path = "bridge/cpu.rs"]
mod cpu;
#[path = "bridge/mock.rs"]
mod mock;
#[path = "bridge/testpmd.rs"]
mod testpmd;
#[path = "bridge/through.rs"]
mod through;

use std::time::Duration;

use serde_json::{json, Value};

use mock::Pacing;

const FRAME_SIZES: [usize; 2] = [64, 1500];
/// Traffic runs this long before counting starts (connections settle, caches warm).
const WARMUP: Duration = Duration::from_secs(1);
const PERIOD: Duration = Duration::from_secs(1);
const SAMPLES: usize = 3;
const PINGS: u32 = 20;

/// Frames/s and frame length → Gbit/s of frame bytes (memif carries no preamble or CRC).
fn gbps(pps: f64, len: usize) -> f64 {
    pps * len as f64 * 8.0 / 1e9
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
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

/// One frame size: mock-vpp with both pacings, and testpmd.
struct Size {
    len: usize,
    blast: mock::BridgeRun,
    paced: mock::BridgeRun,
    testpmd: testpmd::Outcome,
}

fn mock_pps(run: &mock::BridgeRun) -> f64 {
    median(
        &run.samples
            .iter()
            .map(mock::Sample::pps)
            .collect::<Vec<_>>(),
    )
}

/// Median CPU time of mock-vpp's data-plane thread per frame.
fn dataplane_ns(run: &mock::BridgeRun) -> f64 {
    median(
        &run.samples
            .iter()
            .map(mock::Sample::dataplane_ns_per_frame)
            .collect::<Vec<_>>(),
    )
}

/// Median CPU use of each of [`mock::THREADS`].
fn mock_cpu(run: &mock::BridgeRun) -> [f64; 3] {
    [0, 1, 2].map(|i| median(&run.samples.iter().map(|s| s.cpu[i]).collect::<Vec<_>>()))
}

impl Size {
    fn measure(len: usize) -> Size {
        let mock = |pacing| mock::bridge(len, pacing, WARMUP, PERIOD, SAMPLES);
        Size {
            len,
            blast: mock(Pacing::Blast),
            paced: mock(Pacing::RingInFlight),
            testpmd: testpmd::forward(len, SAMPLES),
        }
    }

    fn testpmd_pps(&self) -> Option<f64> {
        match &self.testpmd {
            testpmd::Outcome::Rates(r) => Some(median(r)),
            _ => None,
        }
    }

    fn ratio(&self, run: &mock::BridgeRun) -> Option<f64> {
        self.testpmd_pps().map(|t| mock_pps(run) / t)
    }

    fn print(&self) {
        let mock_row = |what: &str, run: &mock::BridgeRun| {
            let pps = mock_pps(run);
            let cpu = mock_cpu(run).map(|c| format!("{:.0}", c * 100.0)).join("/");
            println!(
                "{:>6} B  {what:<34} {:>8.3} {:>7.2} {:>6.2}% {cpu:>13} {:>8.0} {:>8}",
                self.len,
                pps / 1e6,
                gbps(pps, self.len),
                100.0 * run.loss(),
                dataplane_ns(run),
                self.ratio(run).map_or("-".into(), |r| format!("{r:.4}")),
            );
        };
        mock_row("mock-vpp, blast (retry when full)", &self.blast);
        mock_row("mock-vpp, <= 1 ring in flight", &self.paced);
        let what = "testpmd txonly -> rxonly";
        match &self.testpmd {
            testpmd::Outcome::Rates(_) => {
                let pps = self.testpmd_pps().unwrap_or(f64::NAN);
                let gb = gbps(pps, self.len);
                println!("{:>6} B  {what:<34} {:>8.3} {gb:>7.2}", self.len, pps / 1e6);
            }
            testpmd::Outcome::NotInstalled => println!(
                "{:>6} B  {what:<34} not installed (run ci/install-deps.sh)",
                self.len
            ),
            testpmd::Outcome::Failed(why) => {
                println!("{:>6} B  {what:<34} failed: {why}", self.len)
            }
        }
    }

    fn json(&self) -> Value {
        let mock = |run: &mock::BridgeRun| {
            let pps = mock_pps(run);
            let cpu = mock_cpu(run);
            json!({
                "pps": pps,
                "gbps": gbps(pps, self.len),
                "sent": run.sent,
                "received": run.received,
                "loss": run.loss(),
                "cpu": {"dataplane": cpu[0], "sender": cpu[1], "receiver": cpu[2]},
                "dataplane_ns_per_frame": dataplane_ns(run),
                "ratio_to_testpmd": self.ratio(run),
                "samples": run.samples.iter().map(|s| json!({
                    "sent": s.sent,
                    "received": s.received,
                    "ring_full_retries": s.ring_full,
                    "seconds": s.seconds,
                    "cpu": s.cpu,
                })).collect::<Vec<_>>(),
            })
        };
        json!({
            "frame_bytes": self.len,
            "mock_vpp_blast": mock(&self.blast),
            "mock_vpp_ring_in_flight": mock(&self.paced),
            "testpmd": match &self.testpmd {
                testpmd::Outcome::Rates(r) => {
                    let pps = median(r);
                    json!({"pps": pps, "gbps": gbps(pps, self.len), "samples_pps": r})
                }
                testpmd::Outcome::NotInstalled => json!({"error": "not installed"}),
                testpmd::Outcome::Failed(why) => json!({"error": why}),
            },
        })
    }
}

struct Rtt {
    all: Vec<f64>,
    min: f64,
    avg: f64,
    max: f64,
}

impl Rtt {
    fn of(all: Vec<f64>) -> Rtt {
        Rtt {
            min: all.iter().copied().fold(f64::INFINITY, f64::min),
            max: all.iter().copied().fold(0.0, f64::max),
            avg: all.iter().sum::<f64>() / all.len() as f64,
            all,
        }
    }
}

/// Like-for-like runs per frame size: mock-vpp and testpmd io taking turns, this many
/// times each, so that whatever else the machine does weighs on both alike.
const PAIRS: usize = 5;

/// Median, lowest and highest.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(values), lo, hi)
}

/// testpmd txonly -> forwarder -> testpmd rxonly, for both forwarders and both sizes,
/// [`PAIRS`] interleaved pairs each: printed, and returned as JSON.
fn like_for_like() -> Value {
    println!(
        "\nlike for like: testpmd flowgen, two memif client ports <-> FORWARDER (two memif \
         masters), frames both ways;\nforwarder alone on CPU 1, the endpoints' testpmd on \
         CPU 0; a run's rate = Rx-pps of both endpoint ports, median of {SAMPLES} one-second \
         periods;\n{PAIRS} pairs of runs per size, mock-vpp and testpmd taking turns (each \
         pair's first run alternates); rows give medians over the runs, `runs` the range of \
         their rates"
    );
    println!(
        "{:>8}  {:<28} {:>8} {:>7} {:>9} {:>9} {:>12}",
        "frame", "forwarder", "Mpps", "Gbit/s", "fwd CPU%", "fwd ns/f", "runs Mpps"
    );
    let mut out = Vec::new();
    let forwarders = [through::Forwarder::MockVpp, through::Forwarder::TestpmdIo];
    for len in FRAME_SIZES {
        // pairs[k] = [mock-vpp, testpmd io]
        let mut pairs: Vec<[Result<through::Through, String>; 2]> = Vec::new();
        for k in 0..PAIRS {
            let order = if k % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut pair: [Result<through::Through, String>; 2] =
                [Err("not run".into()), Err("not run".into())];
            for i in order {
                pair[i] = through::run(forwarders[i], len, SAMPLES);
            }
            pairs.push(pair);
        }
        let pps = |r: &Result<through::Through, String>| r.as_ref().ok().map(|t| median(&t.rates));
        let ratios: Vec<f64> = pairs
            .iter()
            .filter_map(|[m, t]| Some(pps(m)? / pps(t)?))
            .collect();
        for (i, f) in forwarders.iter().enumerate() {
            let what = match f {
                through::Forwarder::MockVpp => "mock-vpp bridge (bd 4)",
                through::Forwarder::TestpmdIo => "testpmd io, one fwd lcore",
            };
            let ok: Vec<&through::Through> =
                pairs.iter().filter_map(|p| p[i].as_ref().ok()).collect();
            for e in pairs.iter().filter_map(|p| p[i].as_ref().err()) {
                println!("{len:>6} B  {what:<28} a run failed: {e}");
            }
            if ok.is_empty() {
                continue;
            }
            let rates: Vec<f64> = ok.iter().map(|t| median(&t.rates)).collect();
            let (p, lo, hi) = spread(&rates);
            let cpu = median(&ok.iter().map(|t| t.forwarder_cpu).collect::<Vec<_>>());
            let ns = median(&ok.iter().map(|t| t.forwarder_ns).collect::<Vec<_>>());
            println!(
                "{len:>6} B  {what:<28} {:>8.3} {:>7.2} {:>8.0}% {:>9.0} {:>12}",
                p / 1e6,
                gbps(p, len),
                cpu * 100.0,
                ns,
                format!("{:.2}-{:.2}", lo / 1e6, hi / 1e6),
            );
        }
        let ratio = (!ratios.is_empty()).then(|| spread(&ratios));
        match ratio {
            Some((m, lo, hi)) => println!(
                "{len:>6} B  mock-vpp / testpmd: median {m:.3} over {} pairs, spread \
                 {lo:.3}-{hi:.3} ({})",
                ratios.len(),
                ratios
                    .iter()
                    .map(|r| format!("{r:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            None => println!("{len:>6} B  mock-vpp / testpmd: no complete pair"),
        }
        let row = |r: &Result<through::Through, String>| match r {
            Ok(t) => json!({
                "pps": median(&t.rates),
                "samples_pps": t.rates,
                "forwarder_cpu": t.forwarder_cpu,
                "forwarder_ns_per_frame": t.forwarder_ns,
            }),
            Err(e) => json!({"error": e}),
        };
        out.push(json!({
            "frame_bytes": len,
            "pairs": pairs.iter().map(|[m, t]| json!({
                "mock_vpp": row(m),
                "testpmd_io": row(t),
                "ratio_mock_to_testpmd": pps(m).zip(pps(t)).map(|(m, t)| m / t),
            })).collect::<Vec<_>>(),
            "ratio_mock_to_testpmd": ratio.map(|(m, lo, hi)| json!({
                "median": m, "min": lo, "max": hi, "pairs": ratios.len(),
            })),
        }));
    }
    Value::Array(out)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, without it.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("a benchmark (about 5 min): cargo bench -p mock-vpp --bench bridge");
        return;
    }
    let (cpus, cpu_model) = machine();
    println!("machine: {cpus} CPUs, {cpu_model}");
    let like_for_like = like_for_like();
    if std::env::var("BRIDGE_BENCH").is_ok_and(|v| v == "through") {
        return;
    }
    println!(
        "\nmock-vpp with this bench's own memif endpoints (threads of this process): per row \
         {WARMUP:?} warm-up, then the median of {SAMPLES} samples of {PERIOD:?}"
    );
    println!(
        "{:>8}  {:<34} {:>8} {:>7} {:>7} {:>13} {:>8} {:>8}",
        "frame", "path", "Mpps", "Gbit/s", "lost", "CPU% dp/tx/rx", "dp ns/f", "vs pmd"
    );
    let mut sizes = Vec::new();
    for len in FRAME_SIZES {
        let size = Size::measure(len);
        size.print();
        sizes.push(size);
    }
    let rtt = Rtt::of(mock::ping_rtt(PINGS));
    println!(
        "ping pod -> host bridge -> pod, {} replies at 0.01 s intervals: \
         rtt min/avg/max {:.3}/{:.3}/{:.3} ms",
        rtt.all.len(),
        rtt.min,
        rtt.avg,
        rtt.max
    );
    if let Ok(path) = std::env::var("BENCH_JSON") {
        let doc = json!({
            "machine": {"cpus": cpus, "cpu_model": cpu_model},
            "like_for_like": like_for_like,
            "warmup_s": WARMUP.as_secs_f64(),
            "sample_s": PERIOD.as_secs_f64(),
            "samples": SAMPLES,
            "bridge": sizes.iter().map(Size::json).collect::<Vec<_>>(),
            "ping_ms": {
                "count": rtt.all.len(),
                "min": rtt.min,
                "avg": rtt.avg,
                "max": rtt.max,
                "all": rtt.all,
            },
        });
        let text = serde_json::to_string_pretty(&doc).expect("JSON");
        if let Err(e) = std::fs::write(&path, text + "\n") {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
}
