//! The data plane's tables as VPP's CLI prints them: `show l2fib` and `show ip neighbors`.

use std::fmt::Write;
use std::time::Instant;

use crate::model::Vpp;

/// VPP's default learn limit (64 Ki buckets x 64).
const LEARN_LIMIT: u32 = 64 * 1024 * 64;

pub fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// VPP's internal index of a bridge domain (0 is the built-in one).
fn bd_index(vpp: &Vpp, bd_id: u32) -> usize {
    vpp.bridges.keys().take_while(|id| **id != bd_id).count() + 1
}

/// `show l2fib [verbose | bd_id N]`: the count line, and with `verbose` or `bd_id` every
/// learned MAC.
pub fn l2fib(vpp: &Vpp, args: &[&str]) -> Result<String, String> {
    let (verbose, only) = match args {
        [] => (false, None),
        [v] if "verbose".starts_with(v) && v.len() >= 2 => (true, None),
        ["bd_id", id] => {
            let id: u32 = id.parse().map_err(|_| format!("unknown input `{id}'\n"))?;
            if !vpp.bridges.contains_key(&id) {
                return Ok("no such bridge domain id\n".into());
            }
            (true, Some(id))
        }
        _ => return Err(format!("unknown input `{}'\n", args.join(" "))),
    };
    let mut entries: Vec<_> = vpp.l2fib.iter().collect();
    entries.sort_by_key(|((bd, mac), _)| (*bd, *mac));
    let now = Instant::now();
    let mut s = String::new();
    if verbose && !entries.is_empty() {
        let _ = writeln!(
            s,
            "{:^19}{:^7}{:^7}{:^8}{:^9}{:^7}{:^7}{:^5}{:^30}",
            "Mac-Address",
            "BD-Idx",
            "If-Idx",
            "BSN-ISN",
            "Age(min)",
            "static",
            "filter",
            "bvi",
            "Interface-Name"
        );
        for ((bd, m), (sw, learned)) in &entries {
            if only.is_some_and(|o| o != *bd) {
                continue;
            }
            let aging = vpp.bridges.get(bd).is_some_and(|b| b.mac_age != 0);
            let age = if aging {
                (now.saturating_duration_since(*learned).as_secs() / 60).to_string()
            } else {
                "-".into()
            };
            let name = vpp
                .interfaces
                .get(sw)
                .map_or("Stale".to_string(), |i| i.name.clone());
            let _ = writeln!(
                s,
                "{:^19}{:^7}{:^7} {:>3}/{:<3}{:^9}{:^7}{:^7}{:^5}{:^30}",
                mac(m),
                bd_index(vpp, *bd),
                sw,
                0,
                0,
                age,
                "-",
                "-",
                "-",
                name
            );
        }
    }
    if entries.is_empty() {
        s.push_str("no l2fib entries\n");
    } else {
        let _ = writeln!(
            s,
            "L2FIB total/learned entries: {0}/{0}  Last scan time: 0.0000e0sec  Learn limit: {LEARN_LIMIT} ",
            entries.len()
        );
    }
    Ok(s)
}

/// `show ip neighbors [interface]`: the ARP table, oldest first.
pub fn neighbors(vpp: &Vpp, args: &[&str]) -> Result<String, String> {
    let only = match args {
        [] => None,
        [name] => Some(
            vpp.interfaces
                .values()
                .find(|i| i.name == *name)
                .map(|i| i.sw_if_index)
                .ok_or_else(|| format!("unknown input `{name}'\n"))?,
        ),
        _ => return Err(format!("unknown input `{}'\n", args.join(" "))),
    };
    let mut rows: Vec<_> = vpp
        .neighbors
        .iter()
        .filter(|((sw, _), _)| only.is_none() || only == Some(*sw))
        .collect();
    if rows.is_empty() {
        return Ok(String::new());
    }
    rows.sort_by_key(|((sw, ip), _)| (*sw, *ip));
    let mut s = format!(
        "{:^12}{:^40}{:^6}{:^20}{:^24}\n",
        "Time", "IP", "Flags", "Ethernet", "Interface"
    );
    for ((sw, ip), n) in rows {
        let t = n
            .updated
            .saturating_duration_since(vpp.started)
            .as_secs_f64();
        let name = vpp.interfaces.get(sw).map_or("", |i| i.name.as_str());
        let _ = writeln!(
            s,
            "{:^12}{:^40}{:^6}{:^20}{name}",
            format!("{t:.4}"),
            ip.to_string(),
            "D",
            mac(&n.mac)
        );
    }
    Ok(s)
}
