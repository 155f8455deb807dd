//! Helpers for the data-plane tests: mock-vpp instances driven through the API, and the
//! demo topology (a host with two memif masters in bridge 4, two pods with slaves).
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::Prefix;
use vpp_api::Client;

pub struct Vpp {
    pub server: mock_vpp::Server,
}

impl Vpp {
    pub fn start(dir: &Path, name: &str) -> Vpp {
        Vpp {
            server: mock_vpp::serve(&dir.join(format!("{name}.api.sock"))).unwrap(),
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.server.path(), "test", Duration::from_secs(5)).unwrap()
    }

    /// A memif on `socket` (registering it), admin up; returns its sw_if_index.
    pub fn memif(&self, socket: &Path, role: MemifRole) -> u32 {
        let sw = self.memif_down(socket, role);
        self.admin(sw, true);
        sw
    }

    /// Sets an interface admin up or down.
    pub fn admin(&self, sw: u32, up: bool) {
        let flags = if up {
            IfStatusFlags::ADMIN_UP
        } else {
            IfStatusFlags(0)
        };
        let r = self
            .client()
            .request(&SwInterfaceSetFlags {
                sw_if_index: sw,
                flags,
            })
            .unwrap();
        assert_eq!(r.retval, 0);
    }

    pub fn memif_delete(&self, sw: u32) {
        let r = self
            .client()
            .request(&MemifDelete { sw_if_index: sw })
            .unwrap();
        assert_eq!(r.retval, 0);
    }

    /// Takes an interface out of its bridge.
    pub fn unbridge(&self, sw: u32) {
        let r = self
            .client()
            .request(&SwInterfaceSetL2Bridge {
                rx_sw_if_index: sw,
                bd_id: 0,
                port_type: L2PortType::NORMAL,
                shg: 0,
                enable: false,
            })
            .unwrap();
        assert_eq!(r.retval, 0);
    }

    /// An interface's name, read from the model.
    pub fn name(&self, sw: u32) -> String {
        let vpp = self.server.vpp();
        let vpp = vpp.lock().unwrap();
        vpp.interfaces[&sw].name.clone()
    }

    /// An interface's MAC as VPP prints it, read from the model.
    pub fn mac(&self, sw: u32) -> String {
        let vpp = self.server.vpp();
        let vpp = vpp.lock().unwrap();
        mock_vpp::dataplane::show::mac(&vpp.interfaces[&sw].mac)
    }

    /// An interface's counters, read from the model.
    pub fn counters(&self, sw: u32) -> mock_vpp::model::Counters {
        let vpp = self.server.vpp();
        let vpp = vpp.lock().unwrap();
        vpp.interfaces[&sw].counters
    }

    /// A memif on `socket` (registering it), left admin down; returns its sw_if_index.
    pub fn memif_down(&self, socket: &Path, role: MemifRole) -> u32 {
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
        m.sw_if_index
    }

    pub fn address(&self, sw: u32, cidr: &str) {
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

    pub fn bridge(&self, sw: u32, bd: u32, vlan: Option<u32>) {
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

    pub fn cli(&self, cmd: &str) -> String {
        let r = self
            .client()
            .request(&CliInband { cmd: cmd.into() })
            .unwrap();
        assert_eq!(r.retval, 0, "{cmd}: {}", r.reply);
        r.reply
    }

    pub fn link_up(&self, sw: u32) -> bool {
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

    pub fn wait_link(&self, sw: u32, up: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.link_up(sw) != up {
            assert!(Instant::now() < deadline, "link of {sw} never went {up}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Host with two masters in bridge 4 (optionally as access ports), two pods with slaves.
pub struct Demo {
    pub dir: tempfile::TempDir,
    pub host: Vpp,
    pub pods: [Vpp; 2],
    pub host_ports: [u32; 2],
    pub pod_ports: [u32; 2],
}

pub fn demo(vlans: [Option<u32>; 2]) -> Demo {
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

pub fn ping(pod: &Vpp, ip: &str, n: u32) -> String {
    pod.cli(&format!("ping {ip} repeat {n} interval 0.01"))
}
