//! The host's bridge seen from outside: counters, learned MACs and their flushing,
//! admin-down ports, the pods' ARP tables — on the demo topology, through the API.

mod common;

use common::{demo, ping};

/// A ping from pod 2 to pod 1 is one ARP request and five echo requests in, one ARP reply
/// and five echo replies back, every frame counted on both host ports.
#[test]
fn host_counters_follow_the_frames() {
    let d = demo([None, None]);
    let before = d.host_ports.map(|sw| d.host.counters(sw));
    let out = ping(&d.pods[1], "192.168.210.2", 5);
    assert!(out.contains("5 sent, 5 received"), "{out}");
    let after = d.host_ports.map(|sw| d.host.counters(sw));
    // ARP frames are padded to 60 bytes; an echo is 116 IP bytes + 14 of Ethernet.
    let bytes = 60 + 5 * 130;
    for n in 0..2 {
        let (b, a) = (before[n], after[n]);
        assert_eq!(a.rx_packets - b.rx_packets, 6, "host port {n} rx");
        assert_eq!(a.tx_packets - b.tx_packets, 6, "host port {n} tx");
        assert_eq!(a.rx_bytes - b.rx_bytes, bytes, "host port {n} rx bytes");
        assert_eq!(a.tx_bytes - b.tx_bytes, bytes, "host port {n} tx bytes");
        assert_eq!(a.drops, b.drops, "host port {n} drops");
    }
    let shown = d.host.cli("show interface");
    let rx = after[1].rx_packets.to_string();
    assert!(
        shown
            .lines()
            .any(|l| l.contains("rx packets") && l.trim_end().ends_with(&rx)),
        "{shown}"
    );
}

fn pod_mac(d: &common::Demo, n: usize) -> String {
    d.pods[n].mac(d.pod_ports[n])
}

#[test]
fn learned_macs_go_when_their_port_leaves() {
    let d = demo([None, None]);
    let out = ping(&d.pods[0], "192.168.210.3", 1);
    assert!(out.contains("1 sent, 1 received"), "{out}");
    let macs = [pod_mac(&d, 0), pod_mac(&d, 1)];
    let table = d.host.cli("show l2fib verbose");
    for (n, m) in macs.iter().enumerate() {
        let line = table.lines().find(|l| l.contains(m.as_str()));
        let line = line.unwrap_or_else(|| panic!("{m} not learned:\n{table}"));
        let port = d.host.name(d.host_ports[n]);
        assert!(line.contains(&port), "{line}");
    }
    assert!(
        d.host
            .cli("show l2fib")
            .contains("L2FIB total/learned entries: 2/2"),
        "{table}"
    );

    d.host.memif_delete(d.host_ports[0]);
    let table = d.host.cli("show l2fib verbose");
    assert!(
        !table.contains(&macs[0]),
        "deleted port's MAC stays:\n{table}"
    );
    assert!(table.contains(&macs[1]), "{table}");

    d.host.unbridge(d.host_ports[1]);
    assert_eq!(d.host.cli("show l2fib verbose"), "no l2fib entries\n");
}

#[test]
fn admin_down_ports_neither_send_nor_receive() {
    let d = demo([None, None]);
    let out = ping(&d.pods[1], "192.168.210.2", 1);
    assert!(out.contains("1 sent, 1 received"), "{out}");

    d.host.admin(d.host_ports[0], false);
    let table = d.host.cli("show l2fib verbose");
    assert!(
        !table.contains(&pod_mac(&d, 0)),
        "flushed at admin down:\n{table}"
    );
    let drops = d.host.counters(d.host_ports[0]).drops;
    let out = ping(&d.pods[1], "192.168.210.2", 2);
    assert!(out.contains("2 sent, 0 received"), "{out}");
    assert!(d.host.counters(d.host_ports[0]).drops > drops);

    d.host.admin(d.host_ports[0], true);
    let out = ping(&d.pods[1], "192.168.210.2", 2);
    assert!(out.contains("2 sent, 2 received"), "{out}");

    // The pod's own interface down: no answer either, and its neighbours are flushed.
    d.pods[0].admin(d.pod_ports[0], false);
    assert!(!d.pods[0].cli("show ip neighbors").contains("192.168.210.3"));
    let out = ping(&d.pods[1], "192.168.210.2", 1);
    assert!(out.contains("1 sent, 0 received"), "{out}");
}

#[test]
fn pods_keep_arp_tables() {
    let d = demo([None, None]);
    assert_eq!(d.pods[1].cli("show ip neighbors"), "");
    let out = ping(&d.pods[1], "192.168.210.2", 1);
    assert!(out.contains("1 sent, 1 received"), "{out}");
    let table = d.pods[1].cli("show ip neighbors");
    let line = table
        .lines()
        .find(|l| l.contains("192.168.210.2"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains(&pod_mac(&d, 0)), "{line}");
    assert!(line.contains(&d.pods[1].name(d.pod_ports[1])), "{line}");
    // The answering pod learned the asker from its ARP request.
    let name = d.pods[0].name(d.pod_ports[0]);
    let other = d.pods[0].cli(&format!("show ip neighbors {name}"));
    assert!(other.contains("192.168.210.3"), "{other}");
    assert!(other.contains(&pod_mac(&d, 1)), "{other}");
}
