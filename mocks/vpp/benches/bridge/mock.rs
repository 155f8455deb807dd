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

/// The bridge domain the host puts its memif masters in (as the userspace-cni demo does).
const BRIDGE: u32 = 4;
const SENDER_MAC: [u8; 6] = [0x02, 0xbe, 0, 0, 0, 0x01];
const RECEIVER_MAC: [u8; 6] = [0x02, 0xbe, 0, 0, 0, 0x02];
/// A local experimental EtherType: the bridge does not look past the MACs.
const ETHERTYPE: u16 = 0x88b5;
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// What one run through the bridge gave.
pub struct BridgeRun {
    /// Frames the receiver got during the measured window.
    pub received: u64,
    /// Frames the sender put on its ring during the same window.
    pub sent: u64,
    /// Times the sender found its ring full and retried.
    pub ring_full: u64,
    pub seconds: f64,
}

impl BridgeRun {
    pub fn pps(&self) -> f64 {
        self.received as f64 / self.seconds
    }
}

fn client(server: &mock_vpp::Server) -> Client {
    Client::connect(server.path(), "bench", SETUP_TIMEOUT).expect("connect to mock-vpp")
}

fn check(what: &str, retval: i32) {
    assert_eq!(retval, 0, "{what} failed with retval {retval}");
}

/// A memif (its socket registered first), admin up; returns its sw_if_index.
fn memif(c: &mut Client, socket: &Path, role: MemifRole) -> u32 {
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

fn join_bridge(c: &mut Client, sw_if_index: u32) {
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
    stop: AtomicBool,
    sent: AtomicU64,
    ring_full: AtomicU64,
    received: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.ring_full.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

fn spawn_sender(mut tx: Slave, frame: Vec<u8>, c: Arc<Counters>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        pin(0, 0);
        while !c.stop.load(Ordering::Relaxed) {
            match tx.send(&frame) {
                Ok(()) => {
                    c.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(memif::Error::RingFull) => {
                    c.ring_full.fetch_add(1, Ordering::Relaxed);
                    std::thread::yield_now();
                }
                Err(e) => panic!("sender: {e}"),
            }
        }
    })
}

fn spawn_receiver(mut rx: Slave, len: usize, c: Arc<Counters>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        pin(0, 0);
        while !c.stop.load(Ordering::Relaxed) {
            match rx.recv().expect("receiver") {
                Some(f) if f.len() == len => {
                    c.received.fetch_add(1, Ordering::Relaxed);
                }
                Some(_) => {}
                None => std::thread::yield_now(),
            }
        }
    })
}

/// `len`-byte frames from one slave to the other through the host's bridge, counted over
/// `window` after `warmup`.
pub fn bridge(len: usize, warmup: Duration, window: Duration) -> BridgeRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = mock_vpp::serve(&dir.path().join("api.sock")).expect("mock-vpp");
    let mut api = client(&host);
    let (a, b) = (dir.path().join("tx.sock"), dir.path().join("rx.sock"));
    for socket in [&a, &b] {
        let sw = memif(&mut api, socket, MemifRole::MASTER);
        join_bridge(&mut api, sw);
    }
    let mut tx = slave(&a, "bench-tx");
    let rx = slave(&b, "bench-rx");
    // The receiver speaks first so that the bridge learns its MAC; the sender seeing the
    // flooded frame proves it went through.
    let mut rx = rx;
    rx.send(&ethernet([0xff; 6], RECEIVER_MAC, 60))
        .expect("receiver hello");
    let hello = recv_one(&mut tx).expect("the receiver's broadcast crossed the bridge");
    assert_eq!(hello[6..12], RECEIVER_MAC);

    if std::env::var_os("PIN").is_some() {
        pin(dataplane_tid(), 1);
    }
    let counters = Arc::new(Counters::default());
    let receiver = spawn_receiver(rx, len, counters.clone());
    let sender = spawn_sender(
        tx,
        ethernet(RECEIVER_MAC, SENDER_MAC, len),
        counters.clone(),
    );
    std::thread::sleep(warmup);
    let (sent0, full0, got0) = counters.snapshot();
    let start = Instant::now();
    std::thread::sleep(window);
    let (sent1, full1, got1) = counters.snapshot();
    let seconds = start.elapsed().as_secs_f64();
    counters.stop.store(true, Ordering::Relaxed);
    sender.join().expect("sender thread");
    receiver.join().expect("receiver thread");
    host.stop();
    BridgeRun {
        received: got1 - got0,
        sent: sent1 - sent0,
        ring_full: full1 - full0,
        seconds,
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

fn dataplane_tid() -> i32 {
    for e in std::fs::read_dir("/proc/self/task").unwrap() {
        let e = e.unwrap();
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap();
        if comm.trim() == "dataplane" {
            return e.file_name().to_str().unwrap().parse().unwrap();
        }
    }
    panic!("no dataplane thread")
}

fn pin(tid: i32, cpu: usize) {
    if std::env::var_os("PIN").is_none() {
        return;
    }
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(tid, std::mem::size_of_val(&set), &set),
            0
        );
    }
}
