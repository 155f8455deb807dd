//! The installed programs end to end: three `mock-vpp` processes (a host and two pods)
//! configured only through the binary API in the order the CNI plugin and its container
//! side use, then `vppctl` pinging from one pod to the other through the host's bridge.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::{MacAddress, Prefix};
use vpp_api::Client;

/// A `mock-vpp` process, stopped with SIGTERM on drop.
struct MockVpp {
    child: Child,
    api: PathBuf,
}

impl MockVpp {
    fn start(dir: &Path, name: &str) -> MockVpp {
        let api = dir.join(format!("{name}.api.sock"));
        let child = Command::new(env!("CARGO_BIN_EXE_mock-vpp"))
            .arg("--api-socket")
            .arg(&api)
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !api.exists() {
            assert!(Instant::now() < deadline, "{name}: mock-vpp never served");
            std::thread::sleep(Duration::from_millis(10));
        }
        MockVpp { child, api }
    }

    fn client(&self) -> Client {
        Client::connect(&self.api, "usrsp-test", Duration::from_secs(5)).unwrap()
    }

    fn vppctl(&self, cmd: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vppctl"))
            .arg("-s")
            .arg(&self.api)
            .args(cmd.split_whitespace())
            .output()
            .unwrap()
    }

    fn vppctl_ok(&self, cmd: &str) -> String {
        let out = self.vppctl(cmd);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "vppctl {cmd}: {text}");
        text
    }
}

impl Drop for MockVpp {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn socket_id(c: &mut Client, path: &Path) -> u32 {
    let r = c
        .request(&MemifSocketFilenameAddDelV2 {
            is_add: true,
            socket_id: u32::MAX,
            socket_filename: path.display().to_string(),
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    r.socket_id
}

fn admin_up(c: &mut Client, sw: u32) {
    let r = c
        .request(&SwInterfaceSetFlags {
            sw_if_index: sw,
            flags: IfStatusFlags::ADMIN_UP,
        })
        .unwrap();
    assert_eq!(r.retval, 0);
}

/// The host side of one attachment: socket, memif master, bridge 4, membership, up.
fn host_side(host: &MockVpp, socket: &Path) -> u32 {
    let mut c = host.client();
    let socket_id = socket_id(&mut c, socket);
    let m = c
        .request(&MemifCreateV2 {
            role: MemifRole::MASTER,
            mode: MemifMode::ETHERNET,
            socket_id,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(m.retval, 0);
    let bd = c
        .request(&BridgeDomainAddDelV2 {
            bd_id: 4,
            flood: true,
            uu_flood: true,
            forward: true,
            learn: true,
            is_add: true,
            ..Default::default()
        })
        .unwrap();
    assert!(bd.retval == 0 || bd.retval == -119, "{}", bd.retval);
    let r = c
        .request(&SwInterfaceSetL2Bridge {
            rx_sw_if_index: m.sw_if_index,
            bd_id: 4,
            port_type: L2PortType::NORMAL,
            shg: 0,
            enable: true,
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    admin_up(&mut c, m.sw_if_index);
    m.sw_if_index
}

/// The container side: socket, memif slave with its MAC, address, up.
fn pod_side(pod: &MockVpp, socket: &Path, mac: [u8; 6], cidr: &str) {
    let mut c = pod.client();
    let socket_id = socket_id(&mut c, socket);
    let m = c
        .request(&MemifCreateV2 {
            role: MemifRole::SLAVE,
            mode: MemifMode::ETHERNET,
            socket_id,
            hw_addr: MacAddress(mac),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(m.retval, 0);
    let (ip, len) = cidr.split_once('/').unwrap();
    let r = c
        .request(&SwInterfaceAddDelAddress {
            sw_if_index: m.sw_if_index,
            is_add: true,
            del_all: false,
            prefix: Prefix::new(ip.parse().unwrap(), len.parse().unwrap()),
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    admin_up(&mut c, m.sw_if_index);
}

#[test]
fn vppctl_pings_between_pods_of_separate_mock_vpp_processes() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockVpp::start(dir.path(), "host");
    let pods = [
        MockVpp::start(dir.path(), "pod1"),
        MockVpp::start(dir.path(), "pod2"),
    ];
    let macs = [[2, 0, 0, 0, 0x21, 1], [2, 0, 0, 0, 0x21, 2]];
    for (n, pod) in pods.iter().enumerate() {
        let socket = dir.path().join(format!("memif-{n}.sock"));
        host_side(&host, &socket);
        pod_side(pod, &socket, macs[n], &format!("192.168.210.{}/24", n + 2));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pods
        .iter()
        .all(|p| p.vppctl_ok("show memif").contains("connected"))
    {
        assert!(
            Instant::now() < deadline,
            "the pods' memifs never connected"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let out = pods[1].vppctl_ok("ping 192.168.210.2 repeat 3 interval 0.1");
    assert!(
        out.contains("116 bytes from 192.168.210.2: icmp_seq=3 ttl=64 time="),
        "{out}"
    );
    assert!(
        out.ends_with("\n\nStatistics: 3 sent, 3 received, 0% packet loss\n"),
        "{out}"
    );
    let fib = host.vppctl_ok("show l2fib verbose");
    for m in ["02:00:00:00:21:01", "02:00:00:00:21:02"] {
        assert!(fib.contains(m), "{m} not learned:\n{fib}");
    }
    let neighbors = pods[1].vppctl_ok("show ip neighbors");
    assert!(neighbors.contains("02:00:00:00:21:01"), "{neighbors}");
    let lost = pods[1].vppctl_ok("ping 192.168.210.9 repeat 1");
    assert!(
        lost.contains("1 sent, 0 received, 100% packet loss"),
        "{lost}"
    );
}
