//! Packets through mock-vpp: pods' memif slaves on a host's memif masters in a bridge
//! domain, pinging each other, as the userspace-cni demo does — all through the API.

mod common;

use common::{demo, ping};
use vpp_api::messages::*;
use vpp_api::types::MemifRole;

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
