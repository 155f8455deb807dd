//! Ethernet, 802.1Q, ARP, IPv4 and ICMP echo: just what an L2 bridge and a pinging
//! endpoint need, built and parsed by hand.

use std::net::Ipv4Addr;

pub const BROADCAST: [u8; 6] = [0xff; 6];
pub const ETH_IP4: u16 = 0x0800;
pub const ETH_ARP: u16 = 0x0806;
pub const ETH_VLAN: u16 = 0x8100;

pub fn dst(f: &[u8]) -> Option<[u8; 6]> {
    f.get(0..6).map(|b| b.try_into().expect("6 bytes"))
}

pub fn src(f: &[u8]) -> Option<[u8; 6]> {
    f.get(6..12).map(|b| b.try_into().expect("6 bytes"))
}

pub fn ethertype(f: &[u8]) -> Option<u16> {
    f.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

pub fn is_group(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 1
}

/// The VLAN id of a single-tagged frame (one too short to hold the tag and the inner
/// ethertype has none).
pub fn vlan(f: &[u8]) -> Option<u16> {
    let tci = f.get(14..18)?;
    (ethertype(f)? == ETH_VLAN).then(|| u16::from_be_bytes([tci[0], tci[1]]) & 0x0fff)
}

pub fn push_vlan(f: &[u8], id: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(f.len() + 4);
    out.extend_from_slice(&f[..12]);
    out.extend_from_slice(&ETH_VLAN.to_be_bytes());
    out.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    out.extend_from_slice(&f[12..]);
    out
}

pub fn pop_vlan(f: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(f.len() - 4);
    out.extend_from_slice(&f[..12]);
    out.extend_from_slice(&f[16..]);
    out
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len().max(46));
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    while f.len() < 60 {
        f.push(0);
    }
    f
}

/// An ARP packet's fields (Ethernet/IPv4 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: Ipv4Addr,
    pub tha: [u8; 6],
    pub tpa: Ipv4Addr,
}

pub const ARP_REQUEST: u16 = 1;
pub const ARP_REPLY: u16 = 2;

pub fn parse_arp(f: &[u8]) -> Option<Arp> {
    if ethertype(f)? != ETH_ARP || f.len() < 42 {
        return None;
    }
    let p = &f[14..42];
    if p[0..2] != [0, 1] || p[2..4] != [8, 0] || p[4] != 6 || p[5] != 4 {
        return None;
    }
    Some(Arp {
        op: u16::from_be_bytes([p[6], p[7]]),
        sha: p[8..14].try_into().ok()?,
        spa: Ipv4Addr::new(p[14], p[15], p[16], p[17]),
        tha: p[18..24].try_into().ok()?,
        tpa: Ipv4Addr::new(p[24], p[25], p[26], p[27]),
    })
}

pub fn arp(dst: [u8; 6], a: Arp) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4];
    p.extend_from_slice(&a.op.to_be_bytes());
    p.extend_from_slice(&a.sha);
    p.extend_from_slice(&a.spa.octets());
    p.extend_from_slice(&a.tha);
    p.extend_from_slice(&a.tpa.octets());
    eth(dst, a.sha, ETH_ARP, &p)
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request or reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub reply: bool,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub id: u16,
    pub seq: u16,
    pub data: Vec<u8>,
}

impl Echo {
    /// The IPv4 total length of this packet.
    pub fn ip_len(&self) -> usize {
        20 + 8 + self.data.len()
    }
}

pub fn parse_echo(f: &[u8]) -> Option<Echo> {
    if ethertype(f)? != ETH_IP4 {
        return None;
    }
    let ip = f.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || ip.len() < ihl + 8 || ip[9] != 1 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    let icmp = &ip[ihl..total];
    let reply = match icmp[0] {
        0 => true,
        8 => false,
        _ => return None,
    };
    Some(Echo {
        reply,
        src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        ttl: ip[8],
        id: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
        data: icmp[8..].to_vec(),
    })
}

pub fn echo(dst_mac: [u8; 6], src_mac: [u8; 6], e: &Echo) -> Vec<u8> {
    let mut icmp = vec![if e.reply { 0 } else { 8 }, 0, 0, 0];
    icmp.extend_from_slice(&e.id.to_be_bytes());
    icmp.extend_from_slice(&e.seq.to_be_bytes());
    icmp.extend_from_slice(&e.data);
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, e.ttl, 1, 0, 0]);
    ip.extend_from_slice(&e.src.octets());
    ip.extend_from_slice(&e.dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    eth(dst_mac, src_mac, ETH_IP4, &ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn echo_round_trip(id: u16, seq: u16, ttl: u8, data in proptest::collection::vec(any::<u8>(), 0..200), reply: bool) {
            let e = Echo { reply, src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2), ttl, id, seq, data };
            let f = echo([2; 6], [4; 6], &e);
            prop_assert_eq!(parse_echo(&f), Some(e));
        }

        #[test]
        fn arp_round_trip(op in 1u16..=2, a: [u8; 4], b: [u8; 4]) {
            let x = Arp { op, sha: [2, 0, 0, 0, 0, 1], spa: a.into(), tha: [0; 6], tpa: b.into() };
            prop_assert_eq!(parse_arp(&arp(BROADCAST, x)), Some(x));
        }

        #[test]
        fn vlan_push_pop(id in 1u16..4095, body in proptest::collection::vec(any::<u8>(), 14..100)) {
            let tagged = push_vlan(&body, id);
            prop_assert_eq!(vlan(&tagged), Some(id));
            prop_assert_eq!(pop_vlan(&tagged), body);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse_echo(&bytes);
            let _ = parse_arp(&bytes);
            let _ = vlan(&bytes);
        }
    }

    #[test]
    fn a_tagged_frame_cut_short_has_no_vlan() {
        let tagged = push_vlan(&[0u8; 60], 100);
        assert_eq!(vlan(&tagged), Some(100));
        for len in 0..18 {
            assert_eq!(vlan(&tagged[..len]), None, "{len} bytes");
        }
    }

    #[test]
    fn checksum_is_valid() {
        let e = Echo {
            reply: false,
            src: Ipv4Addr::new(192, 168, 1, 1),
            dst: Ipv4Addr::new(192, 168, 1, 2),
            ttl: 64,
            id: 1,
            seq: 1,
            data: vec![0; 56],
        };
        let f = echo([0; 6], [0; 6], &e);
        assert_eq!(checksum(&f[14..34]), 0, "IP header sums to zero");
        assert_eq!(checksum(&f[34..34 + 64]), 0, "ICMP sums to zero");
    }
}
