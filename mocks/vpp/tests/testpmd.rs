//! Interop with an independent memif implementation: DPDK's net_memif in `dpdk-testpmd`
//! (Debian `dpdk`, installed by ci/install-deps.sh), answering ARP and ping in `icmpecho`
//! mode. mock-vpp is the master with testpmd as slave (through a host bridge domain), and
//! the slave of a testpmd master.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::Prefix;
use vpp_api::Client;

const TESTPMD: &str = "dpdk-testpmd";

/// A testpmd answering ping on one memif port; stopped with SIGINT on drop.
struct Testpmd {
    child: Child,
    log: PathBuf,
}

impl Testpmd {
    fn start(dir: &Path, role: &str, socket: &Path) -> Testpmd {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {TESTPMD}")])
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "{TESTPMD} not found: run ci/install-deps.sh (Debian dpdk, dpdk-dev)"
        );
        let log = dir.join(format!("testpmd-{role}.log"));
        let prefix = format!("usrsp{}{role}", std::process::id());
        let vdev = format!(
            "net_memif0,role={role},socket={},socket-abstract=no,mac=02:00:00:00:00:09",
            socket.display()
        );
        let child = Command::new(TESTPMD)
            .args(["-l", "0-1", "--no-huge", "-m", "512", "--no-pci"])
            .arg(format!("--file-prefix={prefix}"))
            .arg(format!("--vdev={vdev}"))
            .args([
                "--",
                "--total-num-mbufs=16384",
                "--forward-mode=icmpecho",
                "--auto-start",
                "--stats-period=1",
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Testpmd { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Testpmd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child; SIGINT makes testpmd close its port cleanly.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

fn client(server: &mock_vpp::Server) -> Client {
    Client::connect(server.path(), "test", Duration::from_secs(5)).unwrap()
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
    assert_eq!(m.retval, 0);
    let up = c
        .request(&SwInterfaceSetFlags {
            sw_if_index: m.sw_if_index,
            flags: IfStatusFlags::ADMIN_UP,
        })
        .unwrap();
    assert_eq!(up.retval, 0);
    m.sw_if_index
}

fn wait_link(c: &mut Client, sw: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = c
            .dump(&SwInterfaceDump {
                sw_if_index: sw,
                ..Default::default()
            })
            .unwrap();
        if d[0].flags.contains(IfStatusFlags::LINK_UP) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: memif never connected");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A pod-side interface with an address, pinging `target`.
fn pod_pings(pod: &mock_vpp::Server, socket: &Path, cidr: &str, target: &str) -> String {
    let mut c = client(pod);
    let sw = memif(&mut c, socket, MemifRole::SLAVE);
    let (ip, len) = cidr.split_once('/').unwrap();
    let r = c
        .request(&SwInterfaceAddDelAddress {
            sw_if_index: sw,
            is_add: true,
            del_all: false,
            prefix: Prefix::new(ip.parse().unwrap(), len.parse().unwrap()),
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    wait_link(&mut c, sw, "pod");
    // The first exchange also resolves ARP and wakes the busy-polling peer.
    c.request(&CliInband {
        cmd: format!("ping {target} repeat 1"),
    })
    .unwrap();
    c.request(&CliInband {
        cmd: format!("ping {target} repeat 5 interval 0.2"),
    })
    .unwrap()
    .reply
}

#[test]
fn testpmd_slave_answers_through_a_mock_vpp_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let host = mock_vpp::serve(&dir.path().join("host.sock")).unwrap();
    let mut c = client(&host);
    let (pod_sock, pmd_sock) = (dir.path().join("pod.sock"), dir.path().join("pmd.sock"));
    for sock in [&pod_sock, &pmd_sock] {
        let sw = memif(&mut c, sock, MemifRole::MASTER);
        let r = c
            .request(&SwInterfaceSetL2Bridge {
                rx_sw_if_index: sw,
                bd_id: 4,
                port_type: L2PortType::NORMAL,
                shg: 0,
                enable: true,
            })
            .unwrap();
        assert_eq!(r.retval, 0);
    }
    let pmd = Testpmd::start(dir.path(), "client", &pmd_sock);
    wait_link(&mut c, 2, &format!("testpmd client\n{}", pmd.log()));
    let pod = mock_vpp::serve(&dir.path().join("pod-api.sock")).unwrap();
    let out = pod_pings(&pod, &pod_sock, "192.168.210.2/24", "192.168.210.9");
    assert!(
        out.contains("5 sent, 5 received, 0% packet loss"),
        "{out}\ntestpmd:\n{}",
        pmd.log()
    );
}

#[test]
fn mock_vpp_slave_of_a_testpmd_master() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("pmd-server.sock");
    let pmd = Testpmd::start(dir.path(), "server", &sock);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sock.exists() {
        assert!(
            Instant::now() < deadline,
            "testpmd server never listened\n{}",
            pmd.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pod = mock_vpp::serve(&dir.path().join("pod-api.sock")).unwrap();
    let out = pod_pings(&pod, &sock, "10.0.0.2/24", "10.0.0.9");
    assert!(
        out.contains("5 sent, 5 received, 0% packet loss"),
        "{out}\ntestpmd:\n{}",
        pmd.log()
    );
}
