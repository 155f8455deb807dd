//! Packets through mock-vpp: pods' memif slaves on a host's memif masters in a bridge
//! domain, pinging each other, as the userspace-cni demo does — all through the API.

use std::path::Path;
use std::time::{Duration, Instant};

use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::Prefix;
use vpp_api::Client;

struct Vpp {
    server: mock_vpp::Server,
}

impl Vpp {
    fn start(dir: &Path, name: &str) -> Vpp {
        Vpp {
            server: mock_vpp::serve(&dir.join(format!("{name}.api.sock"))).unwrap(),
        }
    }

    fn client(&self) -> Client {
        Client::connect(self.server.path(), "test", Duration::from_secs(5)).unwrap()
    }

    /// A memif on `socket` (registering it), admin up; returns its sw_if_index.
    fn memif(&self, socket: &Path, role: MemifRole) -> u32 {
        let mut c = self.client();
        let s = c
            .request(&MemifSocketFilenameAddDelV2 {
                is_add: true,
                socket_id: u32::MAX,
                socket_filename: socket.display().to_string(),
            })
            .unwrap();
        assert_eq!(s.retval, 0);
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

    fn address(&self, sw: u32, cidr: &str) {
        let (ip, len) = cidr.split_once('/').unwrap();
        let r = self
            .client()
            .request(&SwInterfaceAddDelAddress {
                sw_if_index: sw,
                is_add: true,
                del_all: false,
                prefix: Prefix::new(ip.parse().unwrap(), len.parse().unwrap()),
            })
            .unwrap();
        assert_eq!(r.retval, 0);
    }

    fn bridge(&self, sw: u32, bd: u32, vlan: Option<u32>) {
        let mut c = self.client();
        let r = c
            .request(&SwInterfaceSetL2Bridge {
                rx_sw_if_index: sw,
                bd_id: bd,
                port_type: L2PortType::NORMAL,
                shg: 0,
                enable: true,
            })
            .unwrap();
        assert_eq!(r.retval, 0);
        if let Some(tag) = vlan {
            let r = c
                .request(&L2InterfaceVlanTagRewrite {
                    sw_if_index: sw,
                    vtr_op: vtr_op::PUSH_1,
                    push_dot1q: 1,
                    tag1: tag,
                    tag2: 0,
                })
                .unwrap();
            assert_eq!(r.retval, 0);
        }
    }

    fn cli(&self, cmd: &str) -> String {
        let r = self
            .client()
            .request(&CliInband { cmd: cmd.into() })
            .unwrap();
        assert_eq!(r.retval, 0, "{cmd}: {}", r.reply);
        r.reply
    }

    fn link_up(&self, sw: u32) -> bool {
        let d = self
            .client()
            .dump(&SwInterfaceDump {
                sw_if_index: sw,
                ..Default::default()
            })
            .unwrap();
        d.first()
            .is_some_and(|i| i.flags.contains(IfStatusFlags::LINK_UP))
    }

    fn wait_link(&self, sw: u32, up: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.link_up(sw) != up {
            assert!(Instant::now() < deadline, "link of {sw} never went {up}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Host with two masters in bridge 4 (optionally as access ports), two pods with slaves.
struct Demo {
    dir: tempfile::TempDir,
    host: Vpp,
    pods: [Vpp; 2],
    host_ports: [u32; 2],
    pod_ports: [u32; 2],
}

fn demo(vlans: [Option<u32>; 2]) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let host = Vpp::start(dir.path(), "host");
    let pods = [
        Vpp::start(dir.path(), "pod1"),
        Vpp::start(dir.path(), "pod2"),
    ];
    let mut host_ports = [0; 2];
    let mut pod_ports = [0; 2];
    for n in 0..2 {
        let sock = dir.path().join(format!("memif-{n}.sock"));
        host_ports[n] = host.memif(&sock, MemifRole::MASTER);
        host.bridge(host_ports[n], 4, vlans[n]);
        pod_ports[n] = pods[n].memif(&sock, MemifRole::SLAVE);
        pods[n].address(pod_ports[n], &format!("192.168.210.{}/24", n + 2));
    }
    for n in 0..2 {
        pods[n].wait_link(pod_ports[n], true);
        host.wait_link(host_ports[n], true);
    }
    Demo {
        dir,
        host,
        pods,
        host_ports,
        pod_ports,
    }
}

fn ping(pod: &Vpp, ip: &str, n: u32) -> String {
    pod.cli(&format!("ping {ip} repeat {n} interval 0.01"))
}

#[test]
fn pods_ping_each_other_through_the_host_bridge() {
    let d = demo([None, None]);
    let out = ping(&d.pods[1], "192.168.210.2", 5);
    assert!(
        out.contains("Statistics: 5 sent, 5 received, 0% packet loss"),
        "{out}"
    );
    assert!(
        out.contains("116 bytes from 192.168.210.2: icmp_seq=1 ttl=64 time="),
        "{out}"
    );
    let back = ping(&d.pods[0], "192.168.210.3", 3);
    assert!(back.contains("3 sent, 3 received"), "{back}");
    let counters = d.host.cli("show interface");
    assert!(counters.contains("rx packets"), "{counters}");
    let neighbors = d.pods[1].cli("show memif");
    assert!(neighbors.contains("connected"), "{neighbors}");
}

#[test]
fn an_unknown_address_gets_no_answer() {
    let d = demo([None, None]);
    let out = ping(&d.pods[0], "192.168.210.77", 2);
    assert!(
        out.contains("Statistics: 2 sent, 0 received, 100% packet loss"),
        "{out}"
    );
}

#[test]
fn access_vlans_isolate_and_join() {
    let apart = demo([Some(100), Some(200)]);
    let out = ping(&apart.pods[1], "192.168.210.2", 2);
    assert!(
        out.contains("2 sent, 0 received"),
        "different VLANs must not talk: {out}"
    );
    let together = demo([Some(100), Some(100)]);
    let out = ping(&together.pods[1], "192.168.210.2", 2);
    assert!(out.contains("2 sent, 2 received"), "{out}");
}

#[test]
fn a_slave_reconnects_when_the_master_comes_back() {
    let d = demo([None, None]);
    let sock = d.dir.path().join("memif-0.sock");
    let mut c = d.host.client();
    assert_eq!(
        c.request(&MemifDelete {
            sw_if_index: d.host_ports[0]
        })
        .unwrap()
        .retval,
        0
    );
    d.pods[0].wait_link(d.pod_ports[0], false);
    let again = d.host.memif(&sock, MemifRole::MASTER);
    d.host.bridge(again, 4, None);
    d.pods[0].wait_link(d.pod_ports[0], true);
    let out = ping(&d.pods[1], "192.168.210.2", 2);
    assert!(out.contains("2 sent, 2 received"), "{out}");
}
