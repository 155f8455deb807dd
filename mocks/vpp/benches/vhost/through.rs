//! Like for like over vhost-user: the same traffic source and sink on either side of a
//! forwarder that serves two vhost-user sockets: mock-vpp bridging its two vhost-user
//! interfaces (server mode) in one bridge domain, or testpmd `io` forwarding between two
//! `net_vhost` ports on one forwarding lcore. Source and sink are one testpmd with two
//! `net_virtio_user` ports in `flowgen` mode (DPDK's own virtio-user driver), placed as
//! in the memif bench (`bridge/through.rs`): the forwarder on CPU 1, the endpoints on 0.
//! mock-vpp's forwarder is its data-plane thread and the ports' `vhost-N` threads (they
//! take what the endpoints transmit).

use std::path::Path;
use std::time::{Duration, Instant};

use vpp_api::messages::{CreateVhostUserIfV2, SwInterfaceSetFlags};
use vpp_api::types::IfStatusFlags;

use crate::cpu;
use crate::mock;
use crate::testpmd::{self, Testpmd};

/// The MACs of the endpoints' two ports; each sends to the other.
const END_MACS: [[u8; 6]; 2] = [[0x02, 0x5e, 0, 0, 0, 0x01], [0x02, 0x5e, 0, 0, 0, 0x02]];
const FORWARDER_CPU: usize = 1;
const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);
const TRAFFIC_TIMEOUT: Duration = Duration::from_secs(25);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarder {
    MockVpp,
    TestpmdIo,
}

/// What one run measured.
pub struct Through {
    /// Frames per second both endpoint ports received together, per one-second period.
    pub rates: Vec<f64>,
    /// The forwarder's CPU time per forwarded frame (ns) and its CPU use (1.0 = one CPU).
    pub forwarder_ns: f64,
    pub forwarder_cpu: f64,
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn wait_for(path: &Path, what: &str) -> Result<(), String> {
    let start = Instant::now();
    while !path.exists() {
        if start.elapsed() > LISTEN_TIMEOUT {
            return Err(format!("{what} did not listen"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The forwarder's side while it runs: what keeps it alive and how to read its CPU time.
enum Running {
    Mock(#[allow(dead_code)] mock_vpp::Server, Vec<i32>),
    Testpmd(Testpmd, Vec<i32>),
}

impl Running {
    fn cpu_seconds(&self) -> f64 {
        match self {
            Running::Mock(_, tids) => cpu::seconds(tids),
            Running::Testpmd(t, tids) => cpu::seconds_of(&t.child.id().to_string(), tids),
        }
    }
}

fn start_forwarder(
    binary: &Path,
    which: Forwarder,
    a: &Path,
    b: &Path,
    dir: &Path,
    tag: &str,
) -> Result<Running, String> {
    match which {
        Forwarder::MockVpp => {
            let ours = |c: &str| c == "dataplane" || c.starts_with("vhost-");
            let others = cpu::threads_of("self", ours);
            let host = mock_vpp::serve(&dir.join("api.sock")).map_err(|e| e.to_string())?;
            let mut api = mock::client(&host);
            for socket in [a, b] {
                let r = api
                    .request(&CreateVhostUserIfV2 {
                        is_server: true,
                        sock_filename: vpp_api::wire::FixedString::new(
                            &socket.display().to_string(),
                        ),
                        ..Default::default()
                    })
                    .map_err(|e| e.to_string())?;
                let up = api
                    .request(&SwInterfaceSetFlags {
                        sw_if_index: r.sw_if_index,
                        flags: IfStatusFlags::ADMIN_UP,
                    })
                    .map_err(|e| e.to_string())?;
                if r.retval != 0 || up.retval != 0 {
                    return Err(format!("vhost-user create: {} {}", r.retval, up.retval));
                }
                mock::join_bridge(&mut api, r.sw_if_index);
            }
            let mut tids = cpu::threads_of("self", ours);
            tids.retain(|t| !others.contains(t));
            for t in &tids {
                cpu::pin(*t, FORWARDER_CPU);
            }
            Ok(Running::Mock(host, tids))
        }
        Forwarder::TestpmdIo => {
            let vdev =
                |n: usize, s: &Path| format!("--vdev=net_vhost{n},iface={},queues=1", s.display());
            let cores = format!("--lcores=0@{FORWARDER_CPU},1@{FORWARDER_CPU}");
            let t = Testpmd::spawn_on(
                binary,
                format!("{tag}-fwd"),
                &[&cores],
                &[vdev(0, a), vdev(1, b)],
                &[],
                &["--forward-mode=io".into()],
                &dir.join("forwarder.log"),
            )
            .map_err(|e| e.to_string())?;
            wait_for(a, "testpmd io")?;
            wait_for(b, "testpmd io")?;
            // The forwarding lcore's thread (the main lcore is the process's first thread).
            let pid = t.child.id();
            let tids = cpu::threads_of(&pid.to_string(), |c| c.contains("worker"));
            Ok(Running::Testpmd(t, tids))
        }
    }
}

/// Frames per second received by both endpoint ports together, per statistics period
/// (testpmd prints one `Rx-pps` per port, port 0 first).
fn rates(log: &Path) -> Vec<f64> {
    let all = std::fs::read_to_string(log).unwrap_or_default();
    let per_port: Vec<f64> = all
        .lines()
        .filter_map(|l| l.split("Rx-pps:").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect();
    per_port
        .chunks_exact(2)
        .map(|p| p[0] + p[1])
        .filter(|r| *r > 0.0)
        .collect()
}

/// `len`-byte frames between the endpoints' two ports through `which`, both ways;
/// `samples` one-second rates.
pub fn run(which: Forwarder, len: usize, samples: usize) -> Result<Through, String> {
    let binary = testpmd::find().ok_or("dpdk-testpmd not installed")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let tag = format!("vhthru{}-{len}-{which:?}", std::process::id());
    let forwarder = start_forwarder(&binary, which, &a, &b, dir.path(), &tag)?;
    let ends_log = dir.path().join("ends.log");
    let vdev = |n: usize, socket: &Path, m: [u8; 6]| {
        format!(
            "--vdev=net_virtio_user{n},path={},queues=1,mac={}",
            socket.display(),
            mac(m)
        )
    };
    let mut ends = Testpmd::spawn_on(
        &binary,
        format!("{tag}-ends"),
        &["--lcores=0@0,1@0"],
        &[vdev(0, &a, END_MACS[0]), vdev(1, &b, END_MACS[1])],
        &[],
        &[
            "--forward-mode=flowgen".into(),
            format!("--txpkts={len}"),
            format!("--eth-peer=0,{}", mac(END_MACS[1])),
            format!("--eth-peer=1,{}", mac(END_MACS[0])),
        ],
        &ends_log,
    )
    .map_err(|e| e.to_string())?;
    // From the first period with traffic: CPU time at its end, then `samples` periods.
    let deadline = Instant::now() + TRAFFIC_TIMEOUT;
    let mut first = None;
    while Instant::now() < deadline {
        let n = rates(&ends_log).len();
        if n >= 1 && first.is_none() {
            first = Some((n, forwarder.cpu_seconds(), Instant::now()));
        }
        if let Some((n0, _, _)) = first {
            if n >= n0 + samples {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let end = (forwarder.cpu_seconds(), Instant::now());
    // Endpoints first, as in the memif bench.
    ends.stop();
    drop(forwarder);
    let Some((n0, cpu0, t0)) = first else {
        return Err(format!("no traffic: {}", testpmd::last_line(&ends_log)));
    };
    let rates: Vec<f64> = rates(&ends_log)
        .into_iter()
        .skip(n0)
        .take(samples)
        .collect();
    if rates.is_empty() {
        return Err(format!("no traffic: {}", testpmd::last_line(&ends_log)));
    }
    let seconds = (end.1 - t0).as_secs_f64();
    let frames = rates.iter().sum::<f64>() / rates.len() as f64 * seconds;
    Ok(Through {
        forwarder_ns: (end.0 - cpu0) * 1e9 / frames.max(1.0),
        forwarder_cpu: (end.0 - cpu0) / seconds,
        rates,
    })
}
