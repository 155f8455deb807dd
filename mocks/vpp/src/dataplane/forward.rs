//! What happens to a frame that arrives on an interface: L2 bridging (learning, flooding,
//! access-port tag rewrite) for bridge ports, an ARP/ICMP endpoint for L3 interfaces.
//! Runs under the model lock; returns the frames to send and where.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use memif::Burst;

use super::frame::{self, Arp, Echo};
use super::Pings;
use crate::model::{Interface, L2Fib, Neighbor, Vpp};

/// (egress sw_if_index, frame)
pub type Out = Vec<(u32, Vec<u8>)>;

/// A frame to send: one of the bursts received in this round (by position in the round's
/// list and in its burst), or one made here (a rewritten or locally generated frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Received { burst: usize, frame: usize },
    Made(Vec<u8>),
}

/// (egress sw_if_index, frame)
pub type Egress = Vec<(u32, Payload)>;

const VTR_PUSH_1: u32 = 1;

#[cfg(test)]
pub fn input(vpp: &mut Vpp, sw: u32, f: Vec<u8>, pings: &Pings) -> Out {
    input_at(vpp, sw, f, pings, Instant::now())
}

/// [`input`] with the time of arrival, read once for a whole batch of frames.
pub fn input_at(vpp: &mut Vpp, sw: u32, f: Vec<u8>, pings: &Pings, now: Instant) -> Out {
    let Some(i) = vpp.interfaces.get_mut(&sw) else {
        return Vec::new();
    };
    if !i.admin_up || f.len() < 14 {
        i.counters.drops += 1;
        return Vec::new();
    }
    i.counters.rx_packets += 1;
    i.counters.rx_bytes += f.len() as u64;
    let out = match i.bridge {
        Some((bd, _)) => bridge(vpp, sw, bd, f, now),
        None => endpoint(vpp, sw, &f, pings),
    };
    transmit(vpp, out)
}

/// A burst of frames that arrived together on `sw` (burst number `b` of this round): as
/// [`input_at`] frame by frame, with the interface, bridge and counters looked up once per
/// burst and received frames passed on by reference instead of copied. Bridge ports without
/// tag rewrite or split horizon take this path; the others go frame by frame.
pub fn input_burst(
    vpp: &mut Vpp,
    sw: u32,
    b: usize,
    burst: &Burst,
    pings: &Pings,
    now: Instant,
    out: &mut Egress,
) {
    let Some(i) = vpp.interfaces.get(&sw) else {
        return;
    };
    let bd = match i.bridge {
        Some((bd, 0)) if i.admin_up && !is_access(i) => bd,
        _ => {
            for f in burst.iter() {
                let made = input_at(vpp, sw, f.into_owned(), pings, now);
                out.extend(made.into_iter().map(|(p, f)| (p, Payload::Made(f))));
            }
            return;
        }
    };
    let start = out.len();
    let (mut packets, mut bytes, mut drops) = (0, 0, 0);
    let bridge = vpp.bridges.get(&bd);
    let mut last_src = None;
    for n in 0..burst.len() {
        // The addresses from the frame's head: a frame left in its ring is not read here.
        let f = burst.frame(n);
        if f.len() < 14 {
            drops += 1;
            continue;
        }
        let src = frame::src(f.head()).expect("checked length");
        let dst = frame::dst(f.head()).expect("checked length");
        packets += 1;
        bytes += f.len() as u64;
        let Some(bridge) = bridge else {
            continue;
        };
        if bridge.learn && !frame::is_group(&src) && last_src != Some(src) {
            vpp.l2fib.insert((bd, src), (sw, now));
            last_src = Some(src);
        }
        let frame = Payload::Received { burst: b, frame: n };
        match learned_port(&mut vpp.l2fib, bd, &dst, bridge.mac_age, now) {
            Some(port) if port == sw => {}
            Some(port) => out.push((port, frame)),
            None if !floods(&dst, bridge.flood, bridge.uu_flood) => {}
            None => out.extend(
                bridge
                    .members
                    .iter()
                    .filter(|m| **m != sw)
                    .map(|m| (*m, frame.clone())),
            ),
        }
    }
    let i = vpp.interfaces.get_mut(&sw).expect("looked up above");
    i.counters.rx_packets += packets;
    i.counters.rx_bytes += bytes;
    i.counters.drops += drops;
    leave(vpp, burst, out, start);
}

/// What leaves through each port: counted, rewritten for access ports, dropped when the
/// port is down. Consecutive frames to the same port share one lookup.
fn leave(vpp: &mut Vpp, burst: &Burst, out: &mut Egress, start: usize) {
    let mut kept = start;
    let mut port: Option<(u32, Option<&mut Interface>)> = None;
    for k in start..out.len() {
        let sw = out[k].0;
        if port.as_ref().is_none_or(|(p, _)| *p != sw) {
            port = Some((sw, vpp.interfaces.get_mut(&sw)));
        }
        let Some((_, Some(i))) = port.as_mut() else {
            continue;
        };
        if let Payload::Received { frame, .. } = out[k].1 {
            if is_access(i) {
                let Some(untagged) = access_egress(i, &burst.get(frame)) else {
                    continue;
                };
                out[k].1 = Payload::Made(untagged);
            }
        }
        let len = match &out[k].1 {
            Payload::Received { frame, .. } => burst.frame(*frame).len(),
            Payload::Made(f) => f.len(),
        };
        if !leaves(i, len) {
            continue;
        }
        out.swap(kept, k);
        kept += 1;
    }
    out.truncate(kept);
}

/// Frames counted as sent on `sw` that its peer's full ring refused: drops, not tx.
pub fn unsent(vpp: &mut Vpp, sw: u32, frames: u64, bytes: u64) {
    if let Some(i) = vpp.interfaces.get_mut(&sw) {
        let c = &mut i.counters;
        c.tx_packets = c.tx_packets.saturating_sub(frames);
        c.tx_bytes = c.tx_bytes.saturating_sub(bytes);
        c.drops += frames;
    }
}

/// Counts what leaves, drops what cannot (admin or link down).
pub fn transmit(vpp: &mut Vpp, out: Out) -> Out {
    out.into_iter()
        .filter(|(sw, f)| {
            vpp.interfaces
                .get_mut(sw)
                .is_some_and(|i| leaves(i, f.len()))
        })
        .collect()
}

/// Counts a frame of `len` bytes leaving through `i`, or drops it when `i` is down
/// (admin or link); whether it leaves.
fn leaves(i: &mut Interface, len: usize) -> bool {
    if !(i.admin_up && i.link_up) {
        i.counters.drops += 1;
        return false;
    }
    i.counters.tx_packets += 1;
    i.counters.tx_bytes += len as u64;
    true
}

/// An access port: it pushes its VLAN tag on ingress and pops it on egress.
fn is_access(i: &Interface) -> bool {
    i.vtr.op == VTR_PUSH_1
}

/// Egress of an access port: only its own VLAN, untagged.
fn access_egress(i: &Interface, f: &[u8]) -> Option<Vec<u8>> {
    (frame::vlan(f) == Some(i.vtr.tag1 as u16)).then(|| frame::pop_vlan(f))
}

/// The port `dst` was learned on in bridge domain `bd`; an entry older than `mac_age`
/// (see [`expired`]) is forgotten. Group addresses are never learned.
fn learned_port(
    l2fib: &mut L2Fib,
    bd: u32,
    dst: &[u8; 6],
    mac_age: u8,
    now: Instant,
) -> Option<u32> {
    if frame::is_group(dst) {
        return None;
    }
    match l2fib.get(&(bd, *dst)) {
        Some((_, learned)) if expired(mac_age, *learned, now) => {
            l2fib.remove(&(bd, *dst));
            None
        }
        known => known.map(|(port, _)| *port),
    }
}

/// Whether a bridge with these flags floods a frame to `dst` that no port learned:
/// broadcast and multicast with `flood`, unknown unicast with `uu_flood`.
fn floods(dst: &[u8; 6], flood: bool, uu_flood: bool) -> bool {
    if frame::is_group(dst) {
        flood
    } else {
        uu_flood
    }
}

/// Whether a learned entry of a bridge with this mac_age (minutes, 0 = never) is too old.
fn expired(mac_age: u8, learned: Instant, now: Instant) -> bool {
    mac_age != 0
        && now.saturating_duration_since(learned) >= Duration::from_secs(60 * u64::from(mac_age))
}

/// Forgets learned MACs older than their bridge's mac_age.
pub fn age(vpp: &mut Vpp, now: Instant) {
    let bridges = &vpp.bridges;
    vpp.l2fib.retain(|(bd, _), (_, learned)| {
        !bridges
            .get(bd)
            .is_some_and(|b| expired(b.mac_age, *learned, now))
    });
}

fn bridge(vpp: &mut Vpp, sw: u32, bd: u32, f: Vec<u8>, now: Instant) -> Out {
    let (vtr, shg) = {
        let i = &vpp.interfaces[&sw];
        (i.vtr, i.bridge.map_or(0, |(_, shg)| shg))
    };
    let f = if vtr.op == VTR_PUSH_1 {
        if frame::vlan(&f).is_some() {
            // An access port takes untagged frames only.
            vpp.interfaces.get_mut(&sw).expect("present").counters.drops += 1;
            return Vec::new();
        }
        frame::push_vlan(&f, vtr.tag1 as u16)
    } else {
        f
    };
    let (Some(src), Some(dst)) = (frame::src(&f), frame::dst(&f)) else {
        return Vec::new();
    };
    let Some(b) = vpp.bridges.get(&bd) else {
        return Vec::new();
    };
    let (learn, flood, uu_flood, mac_age) = (b.learn, b.flood, b.uu_flood, b.mac_age);
    if learn && !frame::is_group(&src) {
        vpp.l2fib.insert((bd, src), (sw, now));
    }
    let ports: Vec<u32> = match learned_port(&mut vpp.l2fib, bd, &dst, mac_age, now) {
        Some(port) if port == sw => Vec::new(),
        Some(port) => vec![port],
        None if !floods(&dst, flood, uu_flood) => Vec::new(),
        None => vpp.bridges[&bd]
            .members
            .iter()
            .copied()
            .filter(|m| *m != sw)
            .collect(),
    };
    let mut out = Vec::with_capacity(ports.len());
    let mut f = Some(f);
    let last = ports.len().saturating_sub(1);
    for (n, port) in ports.into_iter().enumerate() {
        let Some(i) = vpp.interfaces.get(&port) else {
            continue;
        };
        // Split horizon: members of one non-zero group do not talk to each other.
        if shg != 0 && i.bridge.map_or(0, |(_, g)| g) == shg {
            continue;
        }
        let frame = f.as_ref().expect("kept until the last port");
        if is_access(i) {
            out.extend(access_egress(i, frame).map(|f| (port, f)));
        } else if n == last {
            out.push((port, f.take().expect("present")));
        } else {
            out.push((port, frame.clone()));
        }
    }
    out
}

fn own_v4(vpp: &Vpp, sw: u32) -> Vec<Ipv4Addr> {
    vpp.interfaces[&sw]
        .addresses
        .iter()
        .filter_map(|(ip, _)| match ip {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
        .collect()
}

fn endpoint(vpp: &mut Vpp, sw: u32, f: &[u8], pings: &Pings) -> Out {
    let mine = own_v4(vpp, sw);
    let mac = vpp.interfaces[&sw].mac;
    let dst = frame::dst(f).expect("checked length");
    if !frame::is_group(&dst) && dst != mac {
        // As VPP's ethernet-input on an L3 interface: "l3 mac mismatch".
        vpp.interfaces.get_mut(&sw).expect("present").counters.drops += 1;
        return Vec::new();
    }
    if let Some(a) = frame::parse_arp(f) {
        if mine.contains(&a.tpa) || a.op == frame::ARP_REPLY {
            learn_neighbor(vpp, pings, sw, a.spa, a.sha);
        }
        if a.op == frame::ARP_REQUEST && mine.contains(&a.tpa) {
            let reply = Arp {
                op: frame::ARP_REPLY,
                sha: mac,
                spa: a.tpa,
                tha: a.sha,
                tpa: a.spa,
            };
            return vec![(sw, frame::arp(a.sha, reply))];
        }
        return Vec::new();
    }
    let Some(e) = frame::parse_echo(f) else {
        return Vec::new();
    };
    if !mine.contains(&e.dst) {
        return Vec::new();
    }
    if e.reply {
        pings.deliver(e.id, e.seq, e.ttl, e.ip_len());
        return Vec::new();
    }
    // The sender ARPed for us first, so it is normally known; else answer its MAC.
    let peer_mac = match vpp.neighbors.get(&(sw, e.src)) {
        Some(n) => n.mac,
        None => frame::src(f).expect("checked length"),
    };
    let reply = Echo {
        reply: true,
        src: e.dst,
        dst: e.src,
        ttl: 64,
        ..e
    };
    vec![(sw, frame::echo(peer_mac, mac, &reply))]
}

fn learn_neighbor(vpp: &mut Vpp, pings: &Pings, sw: u32, ip: Ipv4Addr, mac: [u8; 6]) {
    let updated = Instant::now();
    vpp.neighbors.insert((sw, ip), Neighbor { mac, updated });
    pings.resolved(sw, ip, mac);
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
