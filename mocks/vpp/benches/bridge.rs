//! Frames per second through mock-vpp's L2 bridge between two memif interfaces, next to
//! DPDK testpmd forwarding over memif on the same machine in the same run; and ping
//! round-trip time through the bridge. `cargo bench -p mock-vpp --bench bridge`.
//! Set BENCH_JSON=FILE to also get the figures as JSON.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memif::{Slave, SlaveConfig, SocketAddr};
use serde_json::json;
use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::Prefix;
use vpp_api::Client;

const RUN: Duration = Duration::from_secs(3);

fn client(s: &mock_vpp::Server) -> Client {
    Client::connect(s.path(), "bench", Duration::from_secs(5)).unwrap()
}

fn memif(c: &mut Client, socket: &Path, role: MemifRole) -> u32 {
    let s = c
        .request(&MemifSocketFilenameAddDelV2 {
            is_add: true,
            socket_id: u32::MAX,
            socket_filename: socket.display().to_string(),
        })
        .unwrap();
    let m = c
        .request(&MemifCreateV2 {
            role,
            mode: MemifMode::ETHERNET,
            socket_id: s.socket_id,
            ..Default::default()
        })
        .unwrap();
    c.request(&SwInterfaceSetFlags {
        sw_if_index: m.sw_if_index,
        flags: IfStatusFlags::ADMIN_UP,
    })
    .unwrap();
    m.sw_if_index
}

fn eth(dst: [u8; 6], src: [u8; 6], len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    f
}

/// Frames/s from one slave to another through a host bridge domain.
fn mock_bridge(len: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let host = mock_vpp::serve(&dir.path().join("api.sock")).unwrap();
    let mut c = client(&host);
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    for s in [&a, &b] {
        let sw = memif(&mut c, s, MemifRole::MASTER);
        c.request(&SwInterfaceSetL2Bridge {
            rx_sw_if_index: sw,
            bd_id: 4,
            port_type: L2PortType::NORMAL,
            shg: 0,
            enable: true,
        })
        .unwrap();
    }
    let (mac_tx, mac_rx) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let connect = |p: &Path, name: &str| {
        let cfg = SlaveConfig {
            buffer_size: 2048,
            ..SlaveConfig::new(0, name)
        };
        let mut s = Slave::new(SocketAddr::Path(p.to_path_buf()), cfg).unwrap();
        s.connect(Duration::from_secs(5)).unwrap();
        s
    };
    let mut tx = connect(&a, "tx");
    let mut rx = connect(&b, "rx");
    // Let the bridge learn both ends.
    rx.send(&eth([0xff; 6], mac_rx, 60)).unwrap();
    tx.send(&eth([0xff; 6], mac_tx, 60)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    while rx.recv().ok().flatten().is_some() {}
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(AtomicU64::new(0));
    let receiver = {
        let (stop, got) = (stop.clone(), got.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match rx.recv() {
                    Ok(Some(_)) => {
                        got.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => std::thread::yield_now(),
                }
            }
        })
    };
    let frame = eth(mac_rx, mac_tx, len);
    let start = Instant::now();
    let counted_from = got.load(Ordering::Relaxed);
    while start.elapsed() < RUN {
        if tx.send(&frame).is_err() {
            std::thread::yield_now();
        }
    }
    let received = got.load(Ordering::Relaxed) - counted_from;
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    receiver.join().unwrap();
    received as f64 / secs
}

/// testpmd txonly (memif client) into testpmd rxonly (memif server): frames/s received.
fn testpmd(len: usize) -> Option<f64> {
    let found = Command::new("sh")
        .args(["-c", "command -v dpdk-testpmd"])
        .output()
        .ok()?;
    if !found.status.success() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("pmd.sock");
    let pmd = |role: &str, mode: &str, log: &Path| {
        let mut args = vec![
            "-l".to_string(),
            "0-1".into(),
            "--no-huge".into(),
            "-m".into(),
            "512".into(),
            "--no-pci".into(),
            format!("--file-prefix=bench{role}{}", std::process::id()),
            format!(
                "--vdev=net_memif0,role={role},socket={},socket-abstract=no",
                sock.display()
            ),
            "--".into(),
            "--total-num-mbufs=16384".into(),
            format!("--forward-mode={mode}"),
            "--auto-start".into(),
            "--stats-period=1".into(),
        ];
        if mode == "txonly" {
            args.push(format!("--txpkts={len}"));
        }
        Command::new("dpdk-testpmd")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (rx_log, tx_log) = (dir.path().join("rx.log"), dir.path().join("tx.log"));
    let mut rx = pmd("server", "rxonly", &rx_log);
    let t0 = Instant::now();
    while !sock.exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut tx = pmd("client", "txonly", &tx_log);
    std::thread::sleep(Duration::from_secs(2));
    let rx_before = rx_packets(&std::fs::read_to_string(&rx_log).unwrap_or_default());
    let start = Instant::now();
    std::thread::sleep(RUN);
    let rx_after = rx_packets(&std::fs::read_to_string(&rx_log).unwrap_or_default());
    let secs = start.elapsed().as_secs_f64();
    for c in [&mut tx, &mut rx] {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
        let _ = c.wait();
    }
    Some(rx_after.saturating_sub(rx_before) as f64 / secs)
}

fn rx_packets(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| l.split("RX-packets:").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// Ping RTTs (ms) between two pods through a host bridge.
fn ping_rtt() -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    let host = mock_vpp::serve(&dir.path().join("host.sock")).unwrap();
    let pods = [
        mock_vpp::serve(&dir.path().join("p1.sock")).unwrap(),
        mock_vpp::serve(&dir.path().join("p2.sock")).unwrap(),
    ];
    let mut hc = client(&host);
    let mut pod_sw = Vec::new();
    for (n, pod) in pods.iter().enumerate() {
        let sock = dir.path().join(format!("m{n}.sock"));
        let sw = memif(&mut hc, &sock, MemifRole::MASTER);
        hc.request(&SwInterfaceSetL2Bridge {
            rx_sw_if_index: sw,
            bd_id: 4,
            port_type: L2PortType::NORMAL,
            shg: 0,
            enable: true,
        })
        .unwrap();
        let mut pc = client(pod);
        let psw = memif(&mut pc, &sock, MemifRole::SLAVE);
        pc.request(&SwInterfaceAddDelAddress {
            sw_if_index: psw,
            is_add: true,
            del_all: false,
            prefix: Prefix::new(format!("10.9.0.{}", n + 1).parse().unwrap(), 24),
        })
        .unwrap();
        pod_sw.push(psw);
    }
    std::thread::sleep(Duration::from_millis(500));
    let out = client(&pods[1])
        .request(&CliInband {
            cmd: "ping 10.9.0.1 repeat 21 interval 0.01".into(),
        })
        .unwrap()
        .reply;
    out.lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.trim_end_matches(" ms").parse::<f64>().ok())
        .skip(1)
        .collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut rows = Vec::new();
    println!(
        "{:<34} {:>12} {:>12} {:>8}",
        "frames through a memif bridge", "mock-vpp", "testpmd", "ratio"
    );
    for len in [64usize, 1500] {
        let mock = mock_bridge(len);
        let pmd = testpmd(len);
        let ratio = pmd.map(|p| mock / p);
        println!(
            "{:<34} {:>8.3} Mpps {:>8} {:>8}",
            format!("{len}-byte frames"),
            mock / 1e6,
            pmd.map_or(
                "not installed (run ci/install-deps.sh)".into(),
                |p| format!("{:.3} Mpps", p / 1e6)
            ),
            ratio.map_or("-".into(), |r| format!("{r:.2}")),
        );
        rows.push(
            json!({"frame_bytes": len, "mock_vpp_pps": mock, "testpmd_pps": pmd, "ratio": ratio}),
        );
    }
    let rtt = ping_rtt();
    let (min, max) = rtt
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let avg = rtt.iter().sum::<f64>() / rtt.len().max(1) as f64;
    println!(
        "ping through the bridge: {} replies, rtt min/avg/max {min:.3}/{avg:.3}/{max:.3} ms",
        rtt.len()
    );
    if let Ok(path) = std::env::var("BENCH_JSON") {
        let doc = json!({"bridge": rows, "ping_ms": {"min": min, "avg": avg, "max": max, "n": rtt.len()}});
        std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }
}
