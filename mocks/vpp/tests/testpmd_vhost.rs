//! Interop with DPDK's own vhost-user implementations in `dpdk-testpmd` (Debian `dpdk`,
//! installed by ci/install-deps.sh), without hugepages:
//! - DPDK's front end (`net_virtio_user`) against mock-vpp's vhost-user back end, mock-vpp
//!   listening or connecting: testpmd's `icmpecho` answers a ping from mock-vpp, and its
//!   `io` forwarding carries a ping between two mock-vpps, counted on both sides;
//! - DPDK's back end (`net_vhost`) against a pod mock-vpp's virtio-user front end, in
//!   both socket roles.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Vpp;
use rstest::rstest;
use vpp_api::messages::*;

const TESTPMD: &str = "dpdk-testpmd";

/// One testpmd at a time: several starting together on two cores can take longer than
/// a test waits.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A testpmd on the given vdevs; stopped with SIGINT on drop.
struct Testpmd {
    child: Child,
    log: PathBuf,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Testpmd {
    fn start(dir: &Path, name: &str, vdevs: &[String], mode: &str) -> Testpmd {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {TESTPMD}")])
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "{TESTPMD} not found: run ci/install-deps.sh (Debian dpdk)"
        );
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let log = dir.join(format!("testpmd-{name}.log"));
        let prefix = format!("usrspvh{}{name}", std::process::id());
        let mut cmd = Command::new(TESTPMD);
        cmd.args(["-l", "0-1", "--no-huge", "-m", "512", "--no-pci"])
            .arg(format!("--file-prefix={prefix}"));
        for v in vdevs {
            cmd.arg(format!("--vdev={v}"));
        }
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .args([
                "--",
                "--total-num-mbufs=16384",
                &format!("--forward-mode={mode}"),
                "--auto-start",
                "--stats-period=1",
            ])
            .stdin(Stdio::null())
            .stderr(out.try_clone().unwrap())
            .stdout(out)
            .spawn()
            .unwrap();
        Testpmd {
            child,
            log,
            _turn: turn,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_socket(&self, sock: &Path) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sock.exists() {
            assert!(
                Instant::now() < deadline,
                "testpmd never listened\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Testpmd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child; SIGINT makes testpmd close its ports cleanly.
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

/// A vhost-user back end through the API, with an address, admin up.
fn vhost_port(vpp: &Vpp, sock: &Path, is_server: bool, cidr: &str) -> u32 {
    let r = vpp
        .client()
        .request(&CreateVhostUserIfV2 {
            is_server,
            sock_filename: vpp_api::wire::FixedString::new(sock.to_str().unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    vpp.address(r.sw_if_index, cidr);
    vpp.admin(r.sw_if_index, true);
    r.sw_if_index
}

/// A virtio-user front end through the CLI, with an address, admin up.
fn virtio_port(vpp: &Vpp, sock: &Path, server: bool, cidr: &str) -> u32 {
    let role = if server { " server" } else { "" };
    let name = vpp.cli(&format!(
        "create virtio-user socket {}{role}",
        sock.display()
    ));
    let all = vpp.client().dump(&SwInterfaceDump::default()).unwrap();
    let sw = all
        .iter()
        .find(|i| i.interface_name.as_str() == name.trim())
        .unwrap()
        .sw_if_index;
    vpp.address(sw, cidr);
    vpp.admin(sw, true);
    sw
}

fn wait_link(vpp: &Vpp, sw: u32, pmd: &Testpmd) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !vpp.link_up(sw) {
        assert!(
            Instant::now() < deadline,
            "link never up\n{}\n{}",
            vpp.cli("show vhost-user"),
            pmd.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pings `target` five times, once it answered a first ping: DPDK posts its receive
/// buffers a little after the link is up (frames before that are dropped, as on VPP), and
/// the first exchange also resolves ARP.
fn ping(vpp: &Vpp, target: &str) -> String {
    let mut first = String::new();
    for _ in 0..20 {
        first = vpp.cli(&format!("ping {target} repeat 1"));
        if first.contains("1 received") {
            break;
        }
    }
    let then = vpp.cli(&format!("ping {target} repeat 5 interval 0.05"));
    format!("{first}\n{then}")
}

#[rstest]
#[case::mock_vpp_listens(true)]
#[case::testpmd_listens(false)]
fn testpmd_virtio_user_answers_a_mock_vpp_ping(#[case] vpp_server: bool) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("vhost.sock");
    let host = Vpp::start(dir.path(), "host");
    let server = if vpp_server { "" } else { ",server=1" };
    let vdev = format!(
        "net_virtio_user0,path={}{server},queues=1,mac=02:00:00:00:00:09",
        sock.display()
    );
    let sw;
    let pmd;
    if vpp_server {
        sw = vhost_port(&host, &sock, true, "10.10.0.1/24");
        pmd = Testpmd::start(dir.path(), "echo", &[vdev], "icmpecho");
    } else {
        pmd = Testpmd::start(dir.path(), "echo", &[vdev], "icmpecho");
        pmd.wait_socket(&sock);
        sw = vhost_port(&host, &sock, false, "10.10.0.1/24");
    }
    wait_link(&host, sw, &pmd);
    let out = ping(&host, "10.10.0.9");
    assert!(
        out.contains("5 sent, 5 received, 0% packet loss"),
        "{out}\n{}\n{}\ntestpmd:\n{}",
        host.cli("show interface"),
        host.cli("show vhost-user"),
        pmd.log()
    );
    let c = host.counters(sw);
    assert!(c.rx_packets >= 6 && c.tx_packets >= 6, "{c:?}");
}

#[test]
fn testpmd_io_forwarding_carries_a_ping_between_two_mock_vpps() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let vpps = [Vpp::start(dir.path(), "a"), Vpp::start(dir.path(), "b")];
    let sws = [
        vhost_port(&vpps[0], &a, true, "10.11.0.1/24"),
        vhost_port(&vpps[1], &b, true, "10.11.0.2/24"),
    ];
    let vdevs = [
        format!("net_virtio_user0,path={},queues=1", a.display()),
        format!("net_virtio_user1,path={},queues=1", b.display()),
    ];
    let pmd = Testpmd::start(dir.path(), "io", &vdevs, "io");
    wait_link(&vpps[0], sws[0], &pmd);
    wait_link(&vpps[1], sws[1], &pmd);
    let out = ping(&vpps[0], "10.11.0.2");
    assert!(
        out.contains("5 sent, 5 received, 0% packet loss"),
        "{out}\ntestpmd:\n{}",
        pmd.log()
    );
    for (v, sw) in vpps.iter().zip(sws) {
        let c = v.counters(sw);
        assert!(c.rx_packets >= 6 && c.tx_packets >= 6, "{c:?}");
    }
}

#[rstest]
#[case::testpmd_listens(false)]
#[case::pod_listens(true)]
fn a_pod_virtio_user_reaches_testpmd_vhost(#[case] pod_server: bool) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("pmd-vhost.sock");
    let pod = Vpp::start(dir.path(), "pod");
    let client = if pod_server { ",client=1" } else { "" };
    let vdev = format!("net_vhost0,iface={}{client},queues=1", sock.display());
    let (sw, pmd);
    if pod_server {
        sw = virtio_port(&pod, &sock, true, "10.12.0.2/24");
        pmd = Testpmd::start(dir.path(), "vhost", &[vdev], "icmpecho");
    } else {
        pmd = Testpmd::start(dir.path(), "vhost", &[vdev], "icmpecho");
        pmd.wait_socket(&sock);
        sw = virtio_port(&pod, &sock, false, "10.12.0.2/24");
    }
    wait_link(&pod, sw, &pmd);
    let out = ping(&pod, "10.12.0.9");
    assert!(
        out.contains("5 sent, 5 received, 0% packet loss"),
        "{out}\ntestpmd:\n{}",
        pmd.log()
    );
}
