//! The forwarding decisions on a model without the data-plane thread: frames in, frames out.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use memif::Burst;
use proptest::prelude::{prop, Strategy};
use rstest::rstest;

use super::*;
use crate::model::{BridgeParams, MemifParams, MemifRole, TagRewrite};

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const C: [u8; 6] = [2, 0, 0, 0, 0, 0xc];

/// A bridge `bd` with `ports` memif ports (admin and link up); their sw_if_indexes.
fn bridged(vpp: &mut Vpp, bd: u32, params: BridgeParams, shgs: &[u8]) -> Vec<u32> {
    vpp.bridge_add_del(true, bd, params).unwrap();
    shgs.iter()
        .map(|shg| {
            let sw = port(vpp);
            vpp.set_l2_bridge(sw, bd, *shg, 0, true).unwrap();
            sw
        })
        .collect()
}

fn port(vpp: &mut Vpp) -> u32 {
    let id = vpp.interfaces.len() as u32;
    let sw = vpp
        .memif_create(MemifParams {
            role: MemifRole::Master,
            mode: 0,
            rx_queues: 1,
            tx_queues: 1,
            id,
            socket_id: 0,
            ring_size: 0,
            buffer_size: 0,
            no_zero_copy: false,
            hw_addr: [0; 6],
            secret: String::new(),
        })
        .unwrap();
    vpp.set_admin(sw, true).unwrap();
    vpp.interfaces.get_mut(&sw).unwrap().link_up = true;
    sw
}

fn defaults() -> BridgeParams {
    BridgeParams {
        flood: true,
        uu_flood: true,
        forward: true,
        learn: true,
        ..BridgeParams::default()
    }
}

fn eth(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(&0x88b5u16.to_be_bytes());
    f.resize(60, 0);
    f
}

fn ports(out: &Out) -> Vec<u32> {
    let mut p: Vec<u32> = out.iter().map(|(sw, _)| *sw).collect();
    p.sort();
    p
}

fn model() -> Vpp {
    Vpp::new(Path::new("/nonexistent-run-dir"))
}

#[rstest]
#[case::unknown_unicast_floods(true, true, B, &[1, 2])]
#[case::unknown_unicast_dropped_without_uu_flood(true, false, B, &[])]
#[case::broadcast_floods(true, false, frame::BROADCAST, &[1, 2])]
#[case::broadcast_dropped_without_flood(false, true, frame::BROADCAST, &[])]
fn flooding(
    #[case] flood: bool,
    #[case] uu_flood: bool,
    #[case] dst: [u8; 6],
    #[case] want: &[usize],
) {
    let mut vpp = model();
    let params = BridgeParams {
        flood,
        uu_flood,
        ..defaults()
    };
    let sw = bridged(&mut vpp, 4, params, &[0, 0, 0]);
    let out = input(&mut vpp, sw[0], eth(dst, A), &Pings::default());
    let want: Vec<u32> = want.iter().map(|n| sw[*n]).collect();
    assert_eq!(ports(&out), want);
}

#[test]
fn a_learned_station_gets_its_frames_alone() {
    let mut vpp = model();
    let sw = bridged(&mut vpp, 4, defaults(), &[0, 0, 0]);
    let pings = Pings::default();
    input(&mut vpp, sw[1], eth(A, B), &pings);
    let out = input(&mut vpp, sw[0], eth(B, A), &pings);
    assert_eq!(ports(&out), vec![sw[1]]);
    assert_eq!(out[0].1, eth(B, A), "forwarded unchanged");
    let out = input(&mut vpp, sw[2], eth(A, C), &pings);
    assert_eq!(ports(&out), vec![sw[0]], "A was learned on its first frame");
    let c = vpp.interfaces[&sw[0]].counters;
    assert_eq!(
        (c.rx_packets, c.tx_packets),
        (1, 2),
        "one flooded and one forwarded out"
    );
    assert_eq!((c.rx_bytes, c.tx_bytes), (60, 120));
}

#[test]
fn without_learning_unicast_keeps_flooding() {
    let mut vpp = model();
    let params = BridgeParams {
        learn: false,
        ..defaults()
    };
    let sw = bridged(&mut vpp, 4, params, &[0, 0, 0]);
    let pings = Pings::default();
    input(&mut vpp, sw[1], eth(A, B), &pings);
    let out = input(&mut vpp, sw[0], eth(B, A), &pings);
    assert_eq!(ports(&out), vec![sw[1], sw[2]]);
    assert!(vpp.l2fib.is_empty());
}

#[rstest]
#[case::not_aging(0, 3600, true)]
#[case::young(1, 59, true)]
#[case::old(1, 61, false)]
#[case::old_for_ten_minutes(10, 599, true)]
fn mac_age(#[case] minutes: u8, #[case] idle_s: u64, #[case] kept: bool) {
    let mut vpp = model();
    let params = BridgeParams {
        mac_age: minutes,
        ..defaults()
    };
    let sw = bridged(&mut vpp, 4, params, &[0, 0, 0]);
    let now = Instant::now();
    let Some(learned) = now.checked_sub(Duration::from_secs(idle_s)) else {
        return; // the clock started too recently to go back that far
    };
    vpp.l2fib.insert((4, B), (sw[1], learned));
    // Forwarding ignores a stale entry...
    let out = input(&mut vpp, sw[0], eth(B, A), &Pings::default());
    let want = if kept {
        vec![sw[1]]
    } else {
        vec![sw[1], sw[2]]
    };
    assert_eq!(ports(&out), want);
    // ...and the scan removes it.
    vpp.l2fib.insert((4, B), (sw[1], learned));
    age(&mut vpp, now);
    assert_eq!(vpp.l2fib.contains_key(&(4, B)), kept);
}

#[test]
fn split_horizon_groups_do_not_talk_among_themselves() {
    let mut vpp = model();
    let sw = bridged(&mut vpp, 4, defaults(), &[1, 1, 0]);
    let out = input(&mut vpp, sw[0], eth(frame::BROADCAST, A), &Pings::default());
    assert_eq!(ports(&out), vec![sw[2]]);
    let out = input(&mut vpp, sw[2], eth(frame::BROADCAST, C), &Pings::default());
    assert_eq!(ports(&out), vec![sw[0], sw[1]]);
}

fn access(vpp: &mut Vpp, sw: u32, vlan: u32) {
    let vtr = TagRewrite {
        op: VTR_PUSH_1,
        push_dot1q: 1,
        tag1: vlan,
        tag2: 0,
    };
    vpp.vlan_tag_rewrite(sw, vtr).unwrap();
}

#[test]
fn access_ports_carry_their_vlan_only() {
    let mut vpp = model();
    let sw = bridged(&mut vpp, 4, defaults(), &[0, 0, 0, 0]);
    access(&mut vpp, sw[0], 100);
    access(&mut vpp, sw[1], 100);
    access(&mut vpp, sw[2], 200);
    let out = input(&mut vpp, sw[0], eth(frame::BROADCAST, A), &Pings::default());
    // The trunk port (no rewrite) sees the tag; the same VLAN gets it untagged.
    assert_eq!(ports(&out), vec![sw[1], sw[3]]);
    for (port, f) in &out {
        if *port == sw[1] {
            assert_eq!(*f, eth(frame::BROADCAST, A));
        } else {
            assert_eq!(frame::vlan(f), Some(100));
        }
    }
    let tagged = frame::push_vlan(&eth(frame::BROADCAST, A), 100);
    let out = input(&mut vpp, sw[0], tagged, &Pings::default());
    assert!(out.is_empty(), "an access port drops tagged frames");
    assert_eq!(vpp.interfaces[&sw[0]].counters.drops, 1);
}

#[test]
fn admin_down_ports_neither_receive_nor_send() {
    let mut vpp = model();
    let sw = bridged(&mut vpp, 4, defaults(), &[0, 0]);
    vpp.set_admin(sw[1], false).unwrap();
    let out = input(&mut vpp, sw[0], eth(frame::BROADCAST, A), &Pings::default());
    assert!(out.is_empty());
    assert_eq!(vpp.interfaces[&sw[1]].counters.drops, 1);
    let out = input(&mut vpp, sw[1], eth(frame::BROADCAST, B), &Pings::default());
    assert!(out.is_empty());
    assert_eq!(vpp.interfaces[&sw[1]].counters.rx_packets, 0);
}

/// An L3 port with 10.0.0.1/24; its sw_if_index and MAC.
fn endpoint_port(vpp: &mut Vpp) -> (u32, [u8; 6]) {
    let sw = port(vpp);
    vpp.address(sw, true, false, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24)
        .unwrap();
    (sw, vpp.interfaces[&sw].mac)
}

#[test]
fn an_endpoint_answers_arp_and_echo() {
    let mut vpp = model();
    let (sw, mac) = endpoint_port(&mut vpp);
    let peer = Ipv4Addr::new(10, 0, 0, 9);
    let request = frame::Arp {
        op: frame::ARP_REQUEST,
        sha: B,
        spa: peer,
        tha: [0; 6],
        tpa: Ipv4Addr::new(10, 0, 0, 1),
    };
    let out = input(
        &mut vpp,
        sw,
        frame::arp(frame::BROADCAST, request),
        &Pings::default(),
    );
    let reply = frame::parse_arp(&out[0].1).unwrap();
    assert_eq!(
        (reply.op, reply.sha, reply.tpa),
        (frame::ARP_REPLY, mac, peer)
    );
    assert_eq!(
        vpp.neighbors[&(sw, peer)].mac,
        B,
        "learned from the request"
    );
    let echo = frame::Echo {
        reply: false,
        src: peer,
        dst: Ipv4Addr::new(10, 0, 0, 1),
        ttl: 64,
        id: 7,
        seq: 1,
        data: vec![1, 2, 3],
    };
    let out = input(&mut vpp, sw, frame::echo(mac, B, &echo), &Pings::default());
    let answer = frame::parse_echo(&out[0].1).unwrap();
    assert!(answer.reply);
    assert_eq!((answer.dst, answer.id, answer.seq), (peer, 7, 1));
    assert_eq!(frame::dst(&out[0].1), Some(B));
}

#[test]
fn an_endpoint_drops_frames_for_other_macs() {
    let mut vpp = model();
    let (sw, _) = endpoint_port(&mut vpp);
    let echo = frame::Echo {
        reply: false,
        src: Ipv4Addr::new(10, 0, 0, 9),
        dst: Ipv4Addr::new(10, 0, 0, 1),
        ttl: 64,
        id: 7,
        seq: 1,
        data: vec![],
    };
    let out = input(&mut vpp, sw, frame::echo(C, B, &echo), &Pings::default());
    assert!(out.is_empty());
    assert_eq!(vpp.interfaces[&sw].counters.drops, 1);
}

/// A bridge port's setup in the burst-against-frame-by-frame property.
#[derive(Debug, Clone)]
struct PortSetup {
    shg: u8,
    access: Option<u32>,
    admin_up: bool,
    link_up: bool,
}

fn port_setup() -> impl Strategy<Value = PortSetup> {
    (
        0u8..2,
        prop::option::of(prop::sample::select(vec![100u32, 200])),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(shg, access, admin_up, link_up)| PortSetup {
            shg,
            access,
            admin_up,
            link_up,
        })
}

/// (ingress port, dst, src, VLAN tag, length)
type FrameSpec = (usize, usize, usize, Option<u16>, usize);

const MACS: [[u8; 6]; 5] = [A, B, C, frame::BROADCAST, [1, 0, 0x5e, 0, 0, 1]];

fn build(setup: &[PortSetup], params: &BridgeParams) -> (Vpp, Vec<u32>) {
    let mut vpp = model();
    let shgs: Vec<u8> = setup.iter().map(|p| p.shg).collect();
    let sw = bridged(&mut vpp, 4, params.clone(), &shgs);
    for (p, s) in setup.iter().zip(&sw) {
        if let Some(vlan) = p.access {
            access(&mut vpp, *s, vlan);
        }
        vpp.set_admin(*s, p.admin_up).unwrap();
        vpp.interfaces.get_mut(s).unwrap().link_up = p.link_up;
    }
    (vpp, sw)
}

fn make_frame(&(_, dst, src, tag, len): &FrameSpec) -> Vec<u8> {
    let mut f = eth(MACS[dst], MACS[src]);
    if let Some(tag) = tag {
        f = frame::push_vlan(&f, tag);
    }
    f.truncate(len);
    f
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// The burst path decides exactly what the frame-by-frame path does: the same frames
    /// out of the same ports in the same order, the same counters, the same learned MACs.
    #[test]
    fn a_burst_is_forwarded_as_its_frames_one_by_one(
        setup in proptest::collection::vec(port_setup(), 2..5),
        learn in proptest::bool::ANY,
        flood in proptest::bool::ANY,
        uu_flood in proptest::bool::ANY,
        frames in proptest::collection::vec(
            (0usize..5, 0usize..5, 0usize..5, proptest::option::of(prop::sample::select(vec![100u16, 200, 300])), prop::sample::select(vec![10usize, 13, 14, 60, 200])),
            1..40,
        ),
        burst_len in 1usize..8,
    ) {
        let params = BridgeParams { learn, flood, uu_flood, forward: true, ..BridgeParams::default() };
        let (mut one, sw) = build(&setup, &params);
        let (mut many, _) = build(&setup, &params);
        let pings = Pings::default();
        let now = Instant::now();
        let frames: Vec<FrameSpec> = frames.into_iter().map(|(p, d, s, t, l)| (p % sw.len(), d, s, t, l)).collect();
        let mut want = Vec::new();
        let mut got = Vec::new();
        // Consecutive frames from one port make a burst, at most burst_len long.
        for chunk in frames.chunk_by(|a, b| a.0 == b.0) {
            for part in chunk.chunks(burst_len) {
                let ingress = sw[part[0].0];
                for spec in part {
                    want.extend(input_at(&mut one, ingress, make_frame(spec), &pings, now));
                }
                let burst: Burst = part.iter().map(make_frame).collect::<Vec<_>>().iter().map(Vec::as_slice).collect();
                let mut out = Egress::new();
                input_burst(&mut many, ingress, 0, &burst, &pings, now, &mut out);
                got.extend(out.into_iter().map(|(p, payload)| match payload {
                    Payload::Received { burst: 0, frame } => (p, burst.get(frame).to_vec()),
                    Payload::Received { .. } => panic!("refers to another burst"),
                    Payload::Made(f) => (p, f),
                }));
            }
        }
        proptest::prop_assert_eq!(got, want);
        for s in &sw {
            proptest::prop_assert_eq!(many.interfaces[s].counters, one.interfaces[s].counters, "counters of {}", s);
        }
        proptest::prop_assert_eq!(&many.l2fib, &one.l2fib);
    }
}
