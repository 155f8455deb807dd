//! mock-vpp's side: a host bridging two memif masters in bridge domain 4, with two memif
//! slaves in this process (one sending, one receiving, each on its own thread); and ping
//! between two pod instances through that bridge.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use memif::{RxMode, Slave, SlaveConfig, SocketAddr};
use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::Prefix;
use vpp_api::Client;

use crate::cpu;

/// The bridge domain the host puts its memif masters in (as the userspace-cni demo does).
pub const BRIDGE: u32 = 4;
const SENDER_MAC: [u8; 6] = [0x02, 0xbe, 0, 0, 0, 0x01];
const RECEIVER_MAC: [u8; 6] = [0x02, 0xbe, 0, 0, 0, 0x02];
/// A local experimental EtherType: the bridge does not look past the MACs.
const ETHERTYPE: u16 = 0x88b5;
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Frames the sender and the receiver move per call, as DPDK applications do.
const BURST: usize = 32;

/// How the sender paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// As fast as its ring takes frames (bursts of [`BURST`]), retrying when it is full.
    Blast,
    /// Also holds back while a receive ring's worth of frames is sent but not yet received,
    /// so the bridge never meets a full receive ring and drops nothing.
    RingInFlight,
}

/// Threads whose CPU time a [`Sample`] reports: mock-vpp's data plane, then the two
/// memif endpoints of this benchmark.
pub const THREADS: [&str; 3] = ["dataplane", "bench-tx", "bench-rx"];

/// Counts over one sampling period.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Frames the sender put on its ring.
    pub sent: u64,
    /// Frames the receiver got.
    pub received: u64,
    /// Times the sender found its ring full and retried.
    pub ring_full: u64,
    pub seconds: f64,
    /// CPU used by each of [`THREADS`], in CPUs (1.0 = one CPU all the time).
    pub cpu: [f64; 3],
}

impl Sample {
    pub fn pps(&self) -> f64 {
        self.received as f64 / self.seconds
    }

    /// CPU time of the data-plane thread per frame received, in nanoseconds: its cost per
    /// frame whatever share of a CPU it got.
    pub fn dataplane_ns_per_frame(&self) -> f64 {
        self.cpu[0] * self.seconds * 1e9 / self.received.max(1) as f64
    }
}

/// One run through the bridge.
pub struct BridgeRun {
    pub samples: Vec<Sample>,
    /// Frames sent over the whole run (warm-up included).
    pub sent: u64,
    /// Frames received over the whole run, after the sender stopped and the rings drained.
    pub received: u64,
}

impl BridgeRun {
    /// Share of the sent frames that never arrived (the bridge drops a frame when the
    /// receiver's ring is full, as VPP does).
    pub fn loss(&self) -> f64 {
        1.0 - self.received as f64 / self.sent.max(1) as f64
    }
}

pub fn client(server: &mock_vpp::Server) -> Client {
    Client::connect(server.path(), "bench", SETUP_TIMEOUT).expect("connect to mock-vpp")
}

fn check(what: &str, retval: i32) {
    assert_eq!(retval, 0, "{what} failed with retval {retval}");
}

/// A memif (its socket registered first), admin up; returns its sw_if_index.
pub fn memif(c: &mut Client, socket: &Path, role: MemifRole) -> u32 {
    let s = c
        .request(&MemifSocketFilenameAddDelV2 {
            is_add: true,
            socket_id: u32::MAX,
            socket_filename: socket.display().to_string(),
        })
        .expect("memif_socket_filename_add_del_v2");
    check("memif socket add", s.retval);
    let m = c
        .request(&MemifCreateV2 {
            role,
            mode: MemifMode::ETHERNET,
            socket_id: s.socket_id,
            ..Default::default()
        })
        .expect("memif_create_v2");
    check("memif create", m.retval);
    let up = c
        .request(&SwInterfaceSetFlags {
            sw_if_index: m.sw_if_index,
            flags: IfStatusFlags::ADMIN_UP,
        })
        .expect("sw_interface_set_flags");
    check("admin up", up.retval);
    m.sw_if_index
}

pub fn join_bridge(c: &mut Client, sw_if_index: u32) {
    let r = c
        .request(&SwInterfaceSetL2Bridge {
            rx_sw_if_index: sw_if_index,
            bd_id: BRIDGE,
            port_type: L2PortType::NORMAL,
            shg: 0,
            enable: true,
        })
        .expect("sw_interface_set_l2_bridge");
    check("set_l2_bridge", r.retval);
}

fn ethernet(dst: [u8; 6], src: [u8; 6], len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ETHERTYPE.to_be_bytes());
    f
}

/// A slave on `socket`, receiving by polling (MASK_INT set, as DPDK does) so that the
/// bridge never has to signal it.
fn slave(socket: &Path, name: &str) -> Slave {
    let cfg = SlaveConfig {
        rx_mode: RxMode::Polling,
        ..SlaveConfig::new(0, name)
    };
    let mut s = Slave::new(SocketAddr::Path(socket.to_path_buf()), cfg).expect("slave config");
    s.connect(SETUP_TIMEOUT).expect("memif slave connect");
    s
}

/// Waits for one frame on a polling slave.
fn recv_one(s: &mut Slave) -> Option<Vec<u8>> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(f) = s.recv().expect("recv") {
            return Some(f);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// Counters shared between the threads and the clock.
#[derive(Default)]
struct Counters {
    stop_sending: AtomicBool,
    stop_receiving: AtomicBool,
    sent: AtomicU64,
    ring_full: AtomicU64,
    received: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> [u64; 3] {
        [&self.sent, &self.received, &self.ring_full].map(|c| c.load(Ordering::Relaxed))
    }
}

/// After the sender stops, the receiver drains until nothing arrived for this long...
const DRAIN_QUIET: Duration = Duration::from_millis(100);
/// ...or this long has passed.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// A thread with a name (profilers and `top -H` show it).
fn named<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .expect("spawn thread")
}

/// Sends `frame` until told to stop; with a limit, keeps at most `in_flight` frames
/// between sender and receiver.
fn spawn_sender(
    mut tx: Slave,
    frame: Vec<u8>,
    in_flight: Option<u64>,
    c: Arc<Counters>,
) -> JoinHandle<Slave> {
    named("bench-tx", move || {
        let limit = in_flight.unwrap_or(u64::MAX);
        let mut sent = 0u64;
        while !c.stop_sending.load(Ordering::Relaxed) {
            let room = limit - (sent - c.received.load(Ordering::Relaxed).min(sent)).min(limit);
            if room == 0 {
                std::thread::yield_now();
                continue;
            }
            let burst = room.min(BURST as u64) as usize;
            let conn = tx.connection_mut().expect("sender connected");
            match conn.send_burst(0, std::iter::repeat_n(frame.as_slice(), burst)) {
                Ok(n) => {
                    sent += n as u64;
                    c.sent.store(sent, Ordering::Relaxed);
                    if n < burst {
                        c.ring_full.fetch_add(1, Ordering::Relaxed);
                        std::thread::yield_now();
                    }
                }
                Err(e) => panic!("sender: {e}"),
            }
        }
        // Still connected: what is on its ring has yet to cross the bridge.
        tx
    })
}

/// Counts the `len`-byte frames that arrive until told to stop.
fn spawn_receiver(mut rx: Slave, len: usize, c: Arc<Counters>) -> JoinHandle<()> {
    named("bench-rx", move || {
        let mut received = 0u64;
        let mut frames = memif::Burst::default();
        while !c.stop_receiving.load(Ordering::Relaxed) {
            frames.clear();
            let conn = rx.connection_mut().expect("receiver connected");
            if conn.recv_burst(0, &mut frames, BURST).expect("receiver") == 0 {
                std::thread::yield_now();
                continue;
            }
            received += frames.iter().filter(|f| f.len() == len).count() as u64;
            c.received.store(received, Ordering::Relaxed);
        }
    })
}

/// `len`-byte frames from one slave to the other through the host's bridge: after
/// `warmup`, one [`Sample`] per `period`, `samples` times.
pub fn bridge(
    len: usize,
    pacing: Pacing,
    warmup: Duration,
    period: Duration,
    samples: usize,
) -> BridgeRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let others = cpu::threads_named(THREADS[0]);
    let host = mock_vpp::serve(&dir.path().join("api.sock")).expect("mock-vpp");
    let mut api = client(&host);
    let (a, b) = (dir.path().join("tx.sock"), dir.path().join("rx.sock"));
    for socket in [&a, &b] {
        let sw = memif(&mut api, socket, MemifRole::MASTER);
        join_bridge(&mut api, sw);
    }
    let mut tx = slave(&a, "bench-tx");
    let mut rx = slave(&b, "bench-rx");
    // The receiver speaks first so that the bridge learns its MAC; the sender seeing the
    // flooded frame proves it went through.
    rx.send(&ethernet([0xff; 6], RECEIVER_MAC, 60))
        .expect("receiver hello");
    let hello = recv_one(&mut tx).expect("the receiver's broadcast crossed the bridge");
    assert_eq!(hello[6..12], RECEIVER_MAC);
    let rx_ring = 1u64 << rx.connection().expect("connected").log2_ring_size();
    let in_flight = (pacing == Pacing::RingInFlight).then_some(rx_ring);

    let counters = Arc::new(Counters::default());
    let receiver = spawn_receiver(rx, len, counters.clone());
    let frame = ethernet(RECEIVER_MAC, SENDER_MAC, len);
    let sender = spawn_sender(tx, frame, in_flight, counters.clone());
    std::thread::sleep(warmup);
    // Named by now; the data plane's is the one that was not there before `serve`.
    let mut tids = THREADS.map(cpu::threads_named);
    tids[0].retain(|t| !others.contains(t));
    let cpu_seconds = || tids.each_ref().map(|t| cpu::seconds(t));
    let mut out = Vec::with_capacity(samples);
    let mut before = (counters.snapshot(), cpu_seconds(), Instant::now());
    for _ in 0..samples {
        std::thread::sleep(period);
        let now = (counters.snapshot(), cpu_seconds(), Instant::now());
        let [sent, received, ring_full] = [0, 1, 2].map(|i| now.0[i] - before.0[i]);
        let seconds = (now.2 - before.2).as_secs_f64();
        out.push(Sample {
            sent,
            received,
            ring_full,
            seconds,
            cpu: [0, 1, 2].map(|i| (now.1[i] - before.1[i]) / seconds),
        });
        before = now;
    }
    counters.stop_sending.store(true, Ordering::Relaxed);
    let tx = sender.join().expect("sender thread");
    // Until nothing more arrives: what is still missing then was dropped.
    let deadline = Instant::now() + DRAIN_MAX;
    let mut last = counters.received.load(Ordering::Relaxed);
    loop {
        std::thread::sleep(DRAIN_QUIET);
        let now = counters.received.load(Ordering::Relaxed);
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
    }
    counters.stop_receiving.store(true, Ordering::Relaxed);
    receiver.join().expect("receiver thread");
    drop(tx);
    host.stop();
    let [sent, received, _] = counters.snapshot();
    BridgeRun {
        samples: out,
        sent,
        received,
    }
}

/// Round-trip times (ms) of `count` pings from one pod's mock-vpp to another's, through a
/// host mock-vpp's bridge, after one ping that resolves the neighbour.
pub fn ping_rtt(count: u32) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = mock_vpp::serve(&dir.path().join("host.sock")).expect("host mock-vpp");
    let pods = [
        mock_vpp::serve(&dir.path().join("pod1.sock")).expect("pod mock-vpp"),
        mock_vpp::serve(&dir.path().join("pod2.sock")).expect("pod mock-vpp"),
    ];
    let mut host_api = client(&host);
    for (n, pod) in pods.iter().enumerate() {
        let socket = dir.path().join(format!("memif{n}.sock"));
        let sw = memif(&mut host_api, &socket, MemifRole::MASTER);
        join_bridge(&mut host_api, sw);
        let mut pod_api = client(pod);
        let pod_sw = memif(&mut pod_api, &socket, MemifRole::SLAVE);
        let r = pod_api
            .request(&SwInterfaceAddDelAddress {
                sw_if_index: pod_sw,
                is_add: true,
                del_all: false,
                prefix: Prefix::new(format!("10.9.0.{}", n + 1).parse().unwrap(), 24),
            })
            .expect("sw_interface_add_del_address");
        check("address add", r.retval);
    }
    let mut pod_api = client(&pods[1]);
    let mut ping = |cmd: String| {
        pod_api
            .request(&CliInband { cmd })
            .expect("cli_inband")
            .reply
    };
    // The pods' slaves connect in the background: retry the first ping until it answers.
    let deadline = Instant::now() + SETUP_TIMEOUT;
    while rtts(&ping("ping 10.9.0.1 repeat 1".into())).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no ping reply through the bridge"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = ping(format!("ping 10.9.0.1 repeat {count} interval 0.01"));
    let times = rtts(&out);
    assert_eq!(times.len(), count as usize, "lost pings:\n{out}");
    times
}

/// The `time=X ms` of each reply line of VPP's ping output.
fn rtts(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.trim_end_matches(" ms").trim().parse().ok())
        .collect()
}
