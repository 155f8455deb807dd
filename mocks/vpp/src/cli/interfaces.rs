//! `show interface`, `show interface address` and `show mode`, laid out as VPP's
//! interface_cli.c, interface_format.c and l2_input.c print them.

use std::fmt::Write;

use super::columns::{center, left};
use crate::model::{Interface, Vpp};

/// Where the counter columns start: after the name, Idx, State and MTU columns.
const COUNTER_INDENT: usize = 32 + 5 + 10 + 21;

/// The named interfaces in the order given, or all of them sorted by name as VPP
/// sorts them for display.
fn selected<'a>(vpp: &'a Vpp, names: &[&str]) -> Vec<&'a Interface> {
    if !names.is_empty() {
        let named = |n: &&str| vpp.interfaces.values().find(|i| i.name == *n);
        return names.iter().filter_map(named).collect();
    }
    let mut all: Vec<&Interface> = vpp.interfaces.values().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn state(i: &Interface) -> &'static str {
    if i.admin_up {
        "up"
    } else {
        "down"
    }
}

/// `show interface`: one line per interface, then one per further non-zero counter.
pub fn show(vpp: &Vpp, names: &[&str]) -> String {
    let mut s = format!(
        "{}{}{}{}{}{}\n",
        center("Name", 32),
        center("Idx", 5),
        center("State", 10),
        center("MTU (L3/IP4/IP6/MPLS)", 21),
        center("Counter", 16),
        center("Count", 16)
    );
    for i in selected(vpp, names) {
        let _ = write!(
            s,
            "{}{}{}{}",
            left(&i.name, 32),
            center(&i.sw_if_index.to_string(), 5),
            center(state(i), 10),
            center(&format!("{}/0/0/0", i.mtu), 21)
        );
        let c = i.counters;
        let counters = [
            ("rx packets", c.rx_packets, c.rx_packets),
            ("rx bytes", c.rx_bytes, c.rx_packets),
            ("tx packets", c.tx_packets, c.tx_packets),
            ("tx bytes", c.tx_bytes, c.tx_packets),
            ("drops", c.drops, c.drops),
        ];
        // VPP prints a combined counter's packets and bytes when it counted packets.
        let shown = counters.iter().filter(|(_, _, gate)| *gate > 0);
        for (n, (name, value, _)) in shown.enumerate() {
            if n > 0 {
                let _ = write!(s, "\n{}", " ".repeat(COUNTER_INDENT));
            }
            let _ = write!(s, "{name:<16}{value:>16}");
        }
        s.push('\n');
    }
    s
}

/// The L2 line of `show interface address` (VPP's `format_l2_input`), empty for L3.
fn l2_line(vpp: &Vpp, i: &Interface) -> Option<String> {
    let (bd_id, shg) = i.bridge?;
    let index = vpp.bridges.get(&bd_id).map_or(0, |b| b.index);
    let bvi = vpp.bridges.get(&bd_id).and_then(|b| b.bvi) == Some(i.sw_if_index);
    let mark = if bvi { "bvi" } else { " " };
    Some(format!(
        "  L2 bridge bd-id {bd_id} idx {index} shg {shg} {mark}"
    ))
}

/// `show interface address`: per interface its state, bridge port and addresses
/// (IPv4 before IPv6).
pub fn addresses(vpp: &Vpp, names: &[&str]) -> String {
    let mut s = String::new();
    for i in selected(vpp, names) {
        let st = if i.admin_up { "up" } else { "dn" };
        let _ = writeln!(s, "{} ({st}):", i.name);
        if let Some(l2) = l2_line(vpp, i) {
            let _ = writeln!(s, "{l2}");
        }
        let v4 = i.addresses.iter().filter(|(a, _)| a.is_ipv4());
        let v6 = i.addresses.iter().filter(|(a, _)| a.is_ipv6());
        for (ip, len) in v4.chain(v6) {
            let _ = writeln!(s, "  L3 {ip}/{len}");
        }
    }
    s
}

/// `show mode`: each interface's forwarding mode, by sw_if_index.
pub fn mode(vpp: &Vpp) -> String {
    let mut s = String::new();
    for i in vpp.interfaces.values() {
        match i.bridge {
            Some((bd_id, shg)) => {
                let bvi = vpp.bridges.get(&bd_id).and_then(|b| b.bvi) == Some(i.sw_if_index);
                let bvi = if bvi { " bvi" } else { "" };
                let _ = writeln!(s, "l2 bridge {} bd_id {bd_id}{bvi} shg {shg}", i.name);
            }
            None => {
                let _ = writeln!(s, "l3 {}  ", i.name);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn model() -> Vpp {
        let mut vpp = Vpp::new(std::path::Path::new("/nonexistent"));
        let sw = vpp
            .vhost_create(crate::model::VhostParams {
                sock_filename: "/nonexistent/v.sock".into(),
                ..Default::default()
            })
            .unwrap();
        vpp.set_admin(sw, true).unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        vpp.address(sw, true, false, ip, 24).unwrap();
        vpp.address(sw, true, false, "fd00::1".parse().unwrap(), 64)
            .unwrap();
        vpp
    }

    #[test]
    fn interface_table_is_vpps() {
        let vpp = model();
        let text = show(&vpp, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "              Name               Idx    State  MTU (L3/IP4/IP6/MPLS)     Counter          Count     "
        );
        assert_eq!(
            lines[1],
            "VirtualEthernet0/0/0              1      up          9000/0/0/0     "
        );
        assert!(lines[2].starts_with("local0                            0     down"));
    }

    #[test]
    fn counters_continue_under_the_counter_column() {
        let mut vpp = model();
        let c = &mut vpp.interfaces.get_mut(&1).unwrap().counters;
        (c.rx_packets, c.rx_bytes, c.drops) = (3, 180, 1);
        let text = show(&vpp, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].ends_with("rx packets                     3"),
            "{text}"
        );
        assert_eq!(
            lines[2],
            format!("{}rx bytes{}180", " ".repeat(68), " ".repeat(21))
        );
        assert!(lines[3].ends_with("drops                          1"));
    }

    #[test]
    fn addresses_and_modes() {
        let mut vpp = model();
        assert_eq!(
            addresses(&vpp, &[]),
            "VirtualEthernet0/0/0 (up):\n  L3 10.0.0.1/24\n  L3 fd00::1/64\nlocal0 (dn):\n"
        );
        vpp.set_l2_bridge(1, 7, 2, 0, true).unwrap();
        assert!(addresses(&vpp, &[]).contains("  L2 bridge bd-id 7 idx 1 shg 2  \n"));
        assert_eq!(
            mode(&vpp),
            "l3 local0  \nl2 bridge VirtualEthernet0/0/0 bd_id 7 shg 2\n"
        );
    }
}
