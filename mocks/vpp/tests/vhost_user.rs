//! Packets over vhost-user: pods' virtio-user front ends on a host's vhost-user back
//! ends in a bridge domain, in both socket roles, pinging each other; a front end that
//! leaves takes the link down, and a client back end reconnects.

mod common;

use std::path::Path;

use common::{ping, Vpp};
use vpp_api::messages::*;

/// A host vhost-user interface through the API, admin up.
fn host_port(host: &Vpp, sock: &Path, is_server: bool) -> u32 {
    let r = host
        .client()
        .request(&CreateVhostUserIfV2 {
            is_server,
            sock_filename: vpp_api::wire::FixedString::new(sock.to_str().unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    host.admin(r.sw_if_index, true);
    r.sw_if_index
}

fn sw_by_name(vpp: &Vpp, name: &str) -> u32 {
    let all = vpp.client().dump(&SwInterfaceDump::default()).unwrap();
    all.iter()
        .find(|i| i.interface_name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .sw_if_index
}

/// A pod's virtio-user interface through the CLI, admin up, with an address.
fn pod_port(pod: &Vpp, sock: &Path, server: bool, ip: &str) -> u32 {
    let role = if server { " server" } else { "" };
    let name = pod.cli(&format!(
        "create virtio-user socket {}{role}",
        sock.display()
    ));
    let sw = sw_by_name(pod, name.trim());
    pod.address(sw, ip);
    pod.admin(sw, true);
    sw
}

struct Bed {
    _dir: tempfile::TempDir,
    host: Vpp,
    pods: [Vpp; 2],
    host_ports: [u32; 2],
    pod_ports: [u32; 2],
}

/// Two pods on bridge 4 of the host; `host_server`: the host listens (the pods connect).
fn bed(host_server: [bool; 2]) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let host = Vpp::start(dir.path(), "host");
    let pods = [
        Vpp::start(dir.path(), "pod1"),
        Vpp::start(dir.path(), "pod2"),
    ];
    let mut host_ports = [0; 2];
    let mut pod_ports = [0; 2];
    for n in 0..2 {
        let sock = dir.path().join(format!("vhost-{n}.sock"));
        host_ports[n] = host_port(&host, &sock, host_server[n]);
        host.bridge(host_ports[n], 4, None);
        let ip = format!("192.168.220.{}/24", n + 2);
        pod_ports[n] = pod_port(&pods[n], &sock, !host_server[n], &ip);
    }
    for n in 0..2 {
        host.wait_link(host_ports[n], true);
        pods[n].wait_link(pod_ports[n], true);
    }
    Bed {
        _dir: dir,
        host,
        pods,
        host_ports,
        pod_ports,
    }
}

#[test]
fn pods_ping_each_other_through_vhost_user_ports() {
    let b = bed([true, false]);
    let out = ping(&b.pods[0], "192.168.220.3", 5);
    assert!(out.contains("5 sent, 5 received, 0% packet loss"), "{out}");
    let back = ping(&b.pods[1], "192.168.220.2", 3);
    assert!(back.contains("3 sent, 3 received"), "{back}");
    let c = b.host.counters(b.host_ports[0]);
    assert!(c.rx_packets >= 8 && c.tx_packets >= 8, "{c:?}");
    let show = b.host.cli("show vhost-user");
    assert!(
        show.contains("Interface: VirtualEthernet0/0/0 (ifindex 1)"),
        "{show}"
    );
    assert!(show.contains("   VIRTIO_F_VERSION_1 (32)"), "{show}");
    assert!(show.contains(" Memory regions (total 1)"), "{show}");
    assert!(show.contains("type server errno \"Success\""), "{show}");
    assert!(show.contains("type client errno \"Success\""), "{show}");
    let l2fib = b.host.cli("show l2fib");
    assert!(
        l2fib.contains("entries: 2/2 "),
        "both pods learned: {l2fib}"
    );
}

#[test]
fn a_front_end_that_leaves_takes_the_link_down_and_a_client_reconnects() {
    let b = bed([false, true]);
    // Pod 1 listens (the host connects as client): it goes away and comes back.
    let r = b.pods[0]
        .client()
        .request(&DeleteVhostUserIf {
            sw_if_index: b.pod_ports[0],
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    b.host.wait_link(b.host_ports[0], false);
    let sock = b._dir.path().join("vhost-0.sock");
    let again = pod_port(&b.pods[0], &sock, true, "192.168.220.2/24");
    b.host.wait_link(b.host_ports[0], true);
    b.pods[0].wait_link(again, true);
    let out = ping(&b.pods[1], "192.168.220.2", 3);
    assert!(out.contains("3 sent, 3 received"), "{out}");
}

#[test]
fn deleting_the_host_port_takes_the_pod_link_down() {
    let b = bed([true, true]);
    let r = b
        .host
        .client()
        .request(&DeleteVhostUserIf {
            sw_if_index: b.host_ports[1],
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    b.pods[1].wait_link(b.pod_ports[1], false);
    assert!(!b._dir.path().join("vhost-1.sock").exists());
}
