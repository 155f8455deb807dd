//! `show bridge-domain [ID [detail|det] [int] [bd-tag]]`, laid out as VPP's `bd_show`
//! (l2_bd.c) prints it.

use std::fmt::Write;

use super::columns::center;
use crate::model::{BridgeDomain, Vpp};

/// VPP's default per-bridge learn limit (L2FIB_NUM_BUCKETS * 64).
const LEARN_LIMIT: u32 = 256 * 1024 * 64;

/// The bridge's feature bits VPP lists in `detail`, highest bit first: (bit, node name).
/// A bridge starts with every bit set but ARP-term, UU-fwd and ARP-ufwd, then its flags
/// switch flood, uu-flood, forward, learn, arp-term and arp-ufwd.
const FEATURES: [(u32, &str); 19] = [
    (19, "span-l2-input"),
    (18, "l2-input-classify"),
    (17, "l2-input-feat-arc"),
    (16, "l2-policer-classify"),
    (15, "l2-policer-input"),
    (14, "l2-input-acl"),
    (13, "vpath-input-l2"),
    (12, "l2-ip-qos-record"),
    (11, "l2-input-vtr"),
    (10, "sr-pl-rewrite-encaps-l2"),
    (9, "l2-learn"),
    (8, "l2-rw"),
    (7, "l2-fwd"),
    (6, "l2-uu-fwd"),
    (5, "l2-flood"),
    (4, "arp-term-l2bd"),
    (3, "l2-uu-fwd"),
    (2, "l2-flood"),
    (1, "l2-output"),
];

fn feature_on(b: &BridgeDomain, bit: u32) -> bool {
    match bit {
        2 => b.flood,
        3 => b.arp_ufwd,
        4 => b.arp_term,
        5 => b.uu_flood,
        6 => b.uu_fwd.is_some(),
        7 => b.forward,
        9 => b.learn,
        _ => true,
    }
}

fn on(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn name(vpp: &Vpp, sw: Option<u32>) -> String {
    match sw {
        None => "N/A".into(),
        Some(sw) => vpp
            .interfaces
            .get(&sw)
            .map_or("Stale".into(), |i| i.name.clone()),
    }
}

/// The command's output, or its error text (without the `show bridge-domain: ` prefix).
pub fn show(vpp: &Vpp, args: &[&str]) -> Result<String, String> {
    let mut bridges: Vec<&BridgeDomain> = vpp.bridges.values().filter(|b| b.bd_id != 0).collect();
    bridges.sort_by_key(|b| b.index);
    let (mut detail, mut members, mut tag) = (false, false, false);
    if let Some((id, opts)) = args.split_first() {
        let id: u32 = id
            .parse()
            .map_err(|_| format!("unknown input `{}'", args.join(" ")))?;
        for o in opts {
            match *o {
                "detail" | "det" => detail = true,
                "int" => members = true,
                "bd-tag" => tag = true,
                "arp" => {}
                other => return Err(format!("unknown input `{other}'")),
            }
        }
        if id == 0 {
            return Err("No operations on the default bridge domain are supported".into());
        }
        bridges.retain(|b| b.bd_id == id);
        if bridges.is_empty() {
            return Err(format!("No such bridge domain {id}"));
        }
    }
    if bridges.is_empty() {
        return Ok("no bridge-domains in use\n".into());
    }
    let widths = [8, 7, 4, 9, 9, 9, 11, 9, 9, 9, 8, 8, 11];
    let row = |cells: [String; 13]| -> String {
        let cells: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| center(c, w))
            .collect();
        cells.join(" ")
    };
    let header = [
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
        "Learn-count",
        "Learn-limit",
        "BVI-Intf",
    ];
    let mut s = row(header.map(String::from));
    s.push('\n');
    for b in bridges {
        let age = match b.mac_age {
            0 => "off".to_string(),
            n => n.to_string(),
        };
        let uu = match (b.uu_fwd, b.uu_flood) {
            (Some(sw), _) => name(vpp, Some(sw)),
            (None, true) => "flood".into(),
            (None, false) => "drop".into(),
        };
        let learned = vpp.l2fib.keys().filter(|(bd, _)| *bd == b.bd_id).count();
        let cells = [
            b.bd_id.to_string(),
            b.index.to_string(),
            "0".into(),
            age,
            on(b.learn).into(),
            on(b.forward).into(),
            uu,
            on(b.flood).into(),
            on(b.arp_term).into(),
            on(b.arp_ufwd).into(),
            learned.to_string(),
            LEARN_LIMIT.to_string(),
            name(vpp, b.bvi),
        ];
        let _ = writeln!(s, "{}", row(cells));
        if detail {
            let on: Vec<&str> = FEATURES
                .iter()
                .filter(|(bit, _)| feature_on(b, *bit))
                .map(|(_, n)| *n)
                .collect();
            let _ = writeln!(s, "{} ", on.join(" "));
        }
        if detail || members {
            member_table(vpp, b, &mut s);
        }
        if (detail || tag) && !b.tag.is_empty() {
            let _ = writeln!(s, "\n  BD-Tag: {}", b.tag);
        }
    }
    Ok(s)
}

fn member_table(vpp: &Vpp, b: &BridgeDomain, s: &mut String) {
    let cols = [30, 7, 5, 5, 5, 9, 30];
    let line = |cells: [String; 7]| -> String {
        cells.iter().zip(cols).map(|(c, w)| center(c, w)).collect()
    };
    for (n, sw) in b.members.iter().enumerate() {
        if n == 0 {
            let head = [
                "Interface",
                "If-idx",
                "ISN",
                "SHG",
                "BVI",
                "TxFlood",
                "VLAN-Tag-Rewrite",
            ];
            let _ = writeln!(s, "\n{}", line(head.map(String::from)));
        }
        let Some(i) = vpp.interfaces.get(sw) else {
            continue;
        };
        let shg = i.bridge.map_or(0, |(_, g)| g);
        let bvi = if b.bvi == Some(*sw) { "*" } else { "-" };
        let cells = [
            i.name.clone(),
            sw.to_string(),
            "1".into(),
            shg.to_string(),
            bvi.into(),
            "*".into(),
            vtr(i.vtr),
        ];
        let _ = writeln!(s, "{}", line(cells));
    }
    if let Some(sw) = b.uu_fwd {
        let cells = [
            name(vpp, Some(sw)),
            sw.to_string(),
            "0".into(),
            "0".into(),
            "uu".into(),
            "-".into(),
            "None".into(),
        ];
        let _ = writeln!(s, "{}", line(cells));
    }
}

/// VPP's `format_vtr`.
fn vtr(v: crate::model::TagRewrite) -> String {
    let kind = if v.push_dot1q != 0 { "dot1q" } else { "dot1ad" };
    match v.op {
        1 => format!("push-1 {kind} {}", v.tag1),
        2 => format!("push-2 {kind} {} {}", v.tag1, v.tag2),
        3 => "pop-1".into(),
        4 => "pop-2".into(),
        _ => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BridgeParams, TagRewrite};

    fn model() -> Vpp {
        let mut vpp = Vpp::new(std::path::Path::new("/nonexistent"));
        let p = BridgeParams {
            flood: true,
            uu_flood: true,
            forward: true,
            learn: true,
            tag: "pods".into(),
            ..BridgeParams::default()
        };
        vpp.bridge_add_del(true, 4, p).unwrap();
        vpp
    }

    #[test]
    fn table_and_errors() {
        let vpp = model();
        let text = show(&vpp, &[]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "  BD-ID   Index   BSN  Age(min)  Learning  U-Forwrd   UU-Flood   Flooding  ARP-Term  arp-ufwd Learn-co Learn-li   BVI-Intf "
        );
        assert_eq!(
            lines[1],
            "    4       1      0     off        on        on       flood        on       off       off        0    16777216     N/A    "
        );
        assert_eq!(show(&vpp, &["5"]), Err("No such bridge domain 5".into()));
        assert!(show(&vpp, &["0"]).unwrap_err().starts_with("No operations"));
        let empty = Vpp::new(std::path::Path::new("/nonexistent"));
        assert_eq!(show(&empty, &[]).unwrap(), "no bridge-domains in use\n");
    }

    #[test]
    fn detail_lists_features_members_and_tag() {
        let mut vpp = model();
        let sw = vpp
            .vhost_create(crate::model::VhostParams {
                sock_filename: "/nonexistent/v.sock".into(),
                ..Default::default()
            })
            .unwrap();
        vpp.set_l2_bridge(sw, 4, 0, 0, true).unwrap();
        let push = TagRewrite {
            op: 1,
            push_dot1q: 1,
            tag1: 100,
            tag2: 0,
        };
        vpp.vlan_tag_rewrite(sw, push).unwrap();
        let text = show(&vpp, &["4", "detail"]).unwrap();
        assert!(text.contains("\nspan-l2-input "), "{text}");
        assert!(text.contains(" l2-learn l2-rw l2-fwd l2-flood l2-flood l2-output \n"));
        assert!(text.contains("VirtualEthernet0/0/0"), "{text}");
        assert!(text.contains("push-1 dot1q 100"), "{text}");
        assert!(text.ends_with("\n  BD-Tag: pods\n"), "{text}");
        let brief = show(&vpp, &["4"]).unwrap();
        assert_eq!(brief.lines().count(), 2, "{brief}");
    }
}
