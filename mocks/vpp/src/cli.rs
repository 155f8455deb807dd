//! The CLI commands `vppctl` sends through `cli_inband`, printed the way VPP prints them.
//! Words may be abbreviated as in VPP (`sh int addr`).

use std::fmt::Write;

use crate::model::{Device, Interface, MemifRole, Vpp};

/// Runs one CLI line: (retval, output). Unknown input is refused with retval -1.
pub fn run(vpp: &mut Vpp, line: &str) -> (i32, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let is = |pattern: &[&str]| matches(&words, pattern);
    let out = if words.is_empty() {
        String::new()
    } else if is(&["show", "version"]) {
        format!(
            "vpp {} built by userspace-cni on mock-vpp\n",
            crate::VERSION
        )
    } else if is(&["show", "interface", "address"]) {
        show_addresses(vpp)
    } else if is(&["show", "interface"]) {
        show_interfaces(vpp)
    } else if is(&["show", "mode"]) {
        show_mode(vpp)
    } else if is(&["show", "memif"]) {
        show_memif(vpp)
    } else if words.len() >= 2 && matches(&words[..2], &["show", "bridge-domain"]) {
        match show_bridges(vpp, &words[2..]) {
            Ok(s) => s,
            Err(e) => return (-1, e),
        }
    } else {
        return (-1, format!("unknown input `{line}'\n"));
    };
    (0, out)
}

/// Each word is a prefix (at least two letters, or the whole word) of the pattern's.
fn matches(words: &[&str], pattern: &[&str]) -> bool {
    words.len() == pattern.len()
        && words
            .iter()
            .zip(pattern)
            .all(|(w, p)| p.starts_with(w) && (w.len() >= 2 || w.len() == p.len()))
}

fn state(i: &Interface) -> &'static str {
    if i.admin_up {
        "up"
    } else {
        "down"
    }
}

fn show_interfaces(vpp: &Vpp) -> String {
    let mut s = format!(
        "{:<32} {:>4} {:>7} {:>21} {:<24} {:>10}\n",
        "Name", "Idx", "State", "MTU (L3/IP4/IP6/MPLS)", "Counter", "Count"
    );
    for i in vpp.interfaces.values() {
        let mtu = format!("{}/0/0/0", i.mtu);
        let c = i.counters;
        let mut counters: Vec<(&str, u64)> = Vec::new();
        for (name, v) in [
            ("rx packets", c.rx_packets),
            ("rx bytes", c.rx_bytes),
            ("tx packets", c.tx_packets),
            ("tx bytes", c.tx_bytes),
            ("drops", c.drops),
        ] {
            if v > 0 {
                counters.push((name, v));
            }
        }
        let first = counters.first().copied();
        let _ = writeln!(
            s,
            "{:<32} {:>4} {:>7} {:>21} {:<24} {:>10}",
            i.name,
            i.sw_if_index,
            state(i),
            mtu,
            first.map_or("", |c| c.0),
            first.map_or(String::new(), |c| c.1.to_string())
        );
        for (name, v) in counters.iter().skip(1) {
            let _ = writeln!(
                s,
                "{:<32} {:>4} {:>7} {:>21} {name:<24} {v:>10}",
                "", "", "", ""
            );
        }
    }
    s
}

fn show_addresses(vpp: &Vpp) -> String {
    let mut s = String::new();
    for i in vpp.interfaces.values() {
        let st = if i.admin_up { "up" } else { "dn" };
        let _ = writeln!(s, "{} ({st}):", i.name);
        if let Some((bd, shg)) = i.bridge {
            let _ = writeln!(s, "  L2 bridge bd-id {bd} idx {bd} shg {shg}");
        }
        for (ip, len) in &i.addresses {
            let _ = writeln!(s, "  L3 {ip}/{len}");
        }
    }
    s
}

fn show_mode(vpp: &Vpp) -> String {
    let mut s = String::new();
    for i in vpp.interfaces.values() {
        match i.bridge {
            Some((bd, shg)) => {
                let _ = writeln!(s, "l2 bridge {} bd_id {bd} shg {shg}", i.name);
            }
            None => {
                let _ = writeln!(s, "l3 {}", i.name);
            }
        }
    }
    s
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn show_memif(vpp: &Vpp) -> String {
    let mut s = String::from("sockets\n  id  listener    filename\n");
    for (id, sock) in &vpp.memif_sockets {
        let users = vpp
            .interfaces
            .values()
            .filter(|i| matches!(&i.device, Device::Memif(m) if m.socket_id == *id))
            .count();
        let listener = if sock.listener.is_some() {
            format!("yes ({users})")
        } else {
            "no".into()
        };
        let _ = writeln!(s, "  {id:<3} {listener:<11} {}", sock.filename);
    }
    for i in vpp.interfaces.values() {
        let Device::Memif(m) = &i.device else {
            continue;
        };
        let role = if m.role == MemifRole::Master {
            "master"
        } else {
            "slave"
        };
        let mode = ["ethernet", "ip", "punt/inject"]
            .get(m.mode as usize)
            .unwrap_or(&"?");
        let _ = writeln!(s, "\ninterface {}", i.name);
        let _ = writeln!(s, "  remote-name \"\"\n  remote-interface \"\"");
        let _ = writeln!(s, "  socket-id {} id {} mode {mode}", m.socket_id, m.id);
        let mut flags = Vec::new();
        if i.admin_up {
            flags.push("admin-up");
        }
        if m.role == MemifRole::Slave {
            flags.push("slave");
        }
        if m.zero_copy {
            flags.push("zero-copy");
        }
        if i.link_up {
            flags.push("connected");
        }
        let _ = writeln!(s, "  flags {}", flags.join(" "));
        let _ = writeln!(s, "  role {role} hw-addr {}", mac(&i.mac));
        let _ = writeln!(
            s,
            "  num-s2m-rings {} num-m2s-rings {} buffer-size {} ring-size {}",
            m.rx_queues, m.tx_queues, m.buffer_size, m.ring_size
        );
    }
    s
}

fn show_bridges(vpp: &Vpp, args: &[&str]) -> Result<String, String> {
    let (id, detail) = match args {
        [] => (None, false),
        [id] => (Some(*id), false),
        [id, d] if "detail".starts_with(d) && d.len() >= 2 => (Some(*id), true),
        _ => return Err(format!("unknown input `{}'\n", args.join(" "))),
    };
    let id = match id {
        None => None,
        Some(t) => Some(
            t.parse::<u32>()
                .map_err(|_| format!("unknown input `{t}'\n"))?,
        ),
    };
    if let Some(id) = id {
        if !vpp.bridges.contains_key(&id) {
            return Err(format!("No such bridge domain {id}\n"));
        }
    }
    let on = |b: bool| if b { "on" } else { "off" };
    let mut s = format!(
        "  {:>5} {:>6} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
        "BD-ID",
        "Index",
        "BSN",
        "Age(min)",
        "Learning",
        "U-Forwrd",
        "UU-Flood",
        "Flooding",
        "ARP-Term",
        "arp-ufwd",
        "BVI-Intf"
    );
    for (n, b) in vpp.bridges.values().enumerate() {
        if id.is_some_and(|i| i != b.bd_id) {
            continue;
        }
        let age = if b.mac_age == 0 {
            "off".to_string()
        } else {
            b.mac_age.to_string()
        };
        let bvi = b
            .bvi
            .and_then(|sw| vpp.interfaces.get(&sw))
            .map_or("N/A".to_string(), |i| i.name.clone());
        let _ = writeln!(
            s,
            "  {:>5} {:>6} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            b.bd_id,
            n + 1,
            0,
            age,
            on(b.learn),
            on(b.forward),
            if b.uu_flood { "flood" } else { "drop" },
            on(b.flood),
            on(b.arp_term),
            on(b.arp_ufwd),
            bvi
        );
        if detail {
            let _ = writeln!(
                s,
                "\n  {:>24} {:>6} {:>4} {:>4} {:>4} {:>8} {:>24}",
                "Interface", "If-idx", "ISN", "SHG", "BVI", "TxFlood", "VLAN-Tag-Rewrite"
            );
            for sw in &b.members {
                let Some(i) = vpp.interfaces.get(sw) else {
                    continue;
                };
                let shg = i.bridge.map_or(0, |(_, s)| s);
                let vtr = match i.vtr.op {
                    0 => "none".to_string(),
                    1 => format!("push-1 dot1q {}", i.vtr.tag1),
                    2 => format!("push-2 dot1q {} {}", i.vtr.tag1, i.vtr.tag2),
                    3 => "pop-1".to_string(),
                    4 => "pop-2".to_string(),
                    op => format!("op {op}"),
                };
                let bvi = if b.bvi == Some(*sw) { "*" } else { "-" };
                let _ = writeln!(
                    s,
                    "  {:>24} {:>6} {:>4} {:>4} {:>4} {:>8} {:>24}",
                    i.name, sw, 1, shg, bvi, "*", vtr
                );
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("sh int", &["show", "interface"], true)]
    #[case("show interface addr", &["show", "interface", "address"], true)]
    #[case("s int", &["show", "interface"], false)]
    #[case("show interfaces", &["show", "interface"], false)]
    #[case("show", &["show", "interface"], false)]
    fn abbreviations(#[case] line: &str, #[case] pattern: &[&str], #[case] want: bool) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(matches(&words, pattern), want);
    }

    #[test]
    fn unknown_input_is_refused() {
        let mut vpp = Vpp::new(std::path::Path::new("/tmp"));
        let (rv, text) = run(&mut vpp, "frobnicate now");
        assert_eq!(rv, -1);
        assert_eq!(text, "unknown input `frobnicate now'\n");
        let (rv, text) = run(&mut vpp, "show interface");
        assert_eq!(rv, 0);
        assert!(text.contains("local0"), "{text}");
        let (rv, text) = run(&mut vpp, "show bridge-domain 4");
        assert_eq!(rv, -1);
        assert_eq!(text, "No such bridge domain 4\n");
    }
}
