//! What happens to a frame that arrives on an interface: L2 bridging (learning, flooding,
//! access-port tag rewrite) for bridge ports, an ARP/ICMP endpoint for L3 interfaces.
//! Runs under the model lock; returns the frames to send and where.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::frame::{self, Arp, Echo};
use super::Pings;
use crate::model::Vpp;

/// (egress sw_if_index, frame)
pub type Out = Vec<(u32, Vec<u8>)>;

const VTR_PUSH_1: u32 = 1;

pub fn input(vpp: &mut Vpp, sw: u32, f: Vec<u8>, pings: &Pings) -> Out {
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
        Some((bd, _)) => bridge(vpp, sw, bd, f),
        None => endpoint(vpp, sw, &f, pings),
    };
    transmit(vpp, out)
}

/// Counts what leaves, drops what cannot (admin or link down).
pub fn transmit(vpp: &mut Vpp, out: Out) -> Out {
    out.into_iter()
        .filter(|(sw, f)| match vpp.interfaces.get_mut(sw) {
            Some(i) if i.admin_up && i.link_up => {
                i.counters.tx_packets += 1;
                i.counters.tx_bytes += f.len() as u64;
                true
            }
            Some(i) => {
                i.counters.drops += 1;
                false
            }
            None => false,
        })
        .collect()
}

fn bridge(vpp: &mut Vpp, sw: u32, bd: u32, f: Vec<u8>) -> Out {
    let vtr = vpp.interfaces[&sw].vtr;
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
    let (learn, flood, uu_flood, members) = (b.learn, b.flood, b.uu_flood, b.members.clone());
    if learn && !frame::is_group(&src) {
        vpp.l2fib.insert((bd, src), (sw, Instant::now()));
    }
    let known = (!frame::is_group(&dst))
        .then(|| vpp.l2fib.get(&(bd, dst)).map(|(port, _)| *port))
        .flatten();
    let ports: Vec<u32> = match known {
        Some(port) if port == sw => Vec::new(),
        Some(port) => vec![port],
        None if frame::is_group(&dst) && !flood => Vec::new(),
        None if !frame::is_group(&dst) && !uu_flood => Vec::new(),
        None => members.into_iter().filter(|m| *m != sw).collect(),
    };
    ports
        .into_iter()
        .filter_map(|port| {
            let i = vpp.interfaces.get(&port)?;
            if i.vtr.op == VTR_PUSH_1 {
                // Egress of an access port: only its own VLAN, untagged.
                (frame::vlan(&f) == Some(i.vtr.tag1 as u16)).then(|| (port, frame::pop_vlan(&f)))
            } else {
                Some((port, f.clone()))
            }
        })
        .collect()
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
    if let Some(a) = frame::parse_arp(f) {
        if mine.contains(&a.tpa) || a.op == frame::ARP_REPLY {
            vpp.neighbors.insert((sw, a.spa), a.sha);
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
    let peer_mac = frame::src(f).expect("checked length");
    vpp.neighbors.insert((sw, e.src), peer_mac);
    if e.reply {
        pings.deliver(e.id, e.seq, e.ttl, e.ip_len());
        return Vec::new();
    }
    let reply = Echo {
        reply: true,
        src: e.dst,
        dst: e.src,
        ttl: 64,
        ..e
    };
    vec![(sw, frame::echo(peer_mac, mac, &reply))]
}
