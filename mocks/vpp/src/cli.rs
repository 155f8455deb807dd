//! The CLI commands `vppctl` sends through `cli_inband`, printed the way VPP prints them.
//! Words may be abbreviated as in VPP (`sh int addr`). A command VPP would refuse answers
//! retval −1 and VPP's error text: ``unknown input `…'`` for a line no command takes,
//! `PATH: ERROR` (e.g. `show bridge-domain: No such bridge domain 4`) when the command
//! itself refuses.

mod bridges;
mod columns;
mod interfaces;
mod vhost;

use std::fmt::Write;

use crate::dataplane::show::{self, mac};
use crate::model::{Device, MemifRole, Vpp};

/// Runs one CLI line against the shared model, as both sockets do: `ping` waits for its
/// replies without holding the model; everything else runs under its lock.
pub fn execute(vpp: &std::sync::Arc<std::sync::Mutex<Vpp>>, line: &str) -> (i32, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"ping") {
        return crate::dataplane::ping(vpp, &words[1..]);
    }
    let mut model = vpp.lock().unwrap_or_else(|e| e.into_inner());
    run(&mut model, line)
}

/// Runs one CLI line: (retval, output).
pub fn run(vpp: &mut Vpp, line: &str) -> (i32, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match dispatch(vpp, &words) {
        Ok(out) => (0, out),
        Err(e) => (-1, format!("{}\n", e.trim_end())),
    }
}

/// A command's own refusal, under the command's path as VPP reports it.
fn refused(path: &str, e: String) -> String {
    format!("{path}: {}", e.trim_end())
}

fn dispatch(vpp: &mut Vpp, words: &[&str]) -> Result<String, String> {
    let starts = |pattern: &[&str]| {
        words.len() >= pattern.len() && matches(&words[..pattern.len()], pattern)
    };
    if words.is_empty() {
        Ok(String::new())
    } else if matches(words, &["show", "version"]) {
        Ok(format!(
            "vpp v{} built by userspace-cni on mock-vpp\n",
            crate::VERSION
        ))
    } else if starts(&["show", "interface"]) {
        show_interface(vpp, &words[2..]).map_err(|e| refused("show interface", e))
    } else if matches(words, &["show", "mode"]) {
        Ok(interfaces::mode(vpp))
    } else if matches(words, &["show", "memif"]) {
        Ok(show_memif(vpp))
    } else if starts(&["show", "l2fib"]) {
        show::l2fib(vpp, &words[2..]).map_err(|e| refused("show l2fib", e))
    } else if let Some(rest) = neighbors_command(words) {
        show::neighbors(vpp, rest).map_err(|e| refused("show ip neighbors", e))
    } else if starts(&["show", "bridge-domain"]) {
        bridges::show(vpp, &words[2..]).map_err(|e| refused("show bridge-domain", e))
    } else if starts(&["show", "vhost-user"]) {
        vhost::show(vpp, &words[2..]).map_err(|e| refused("show vhost-user", e))
    } else if starts(&["create", "vhost-user"]) {
        vhost::create(vpp, false, &words[2..]).map_err(|e| refused("create vhost-user", e))
    } else if starts(&["create", "virtio-user"]) {
        vhost::create(vpp, true, &words[2..]).map_err(|e| refused("create virtio-user", e))
    } else if starts(&["show"]) {
        Err(format!("show: unknown input `{}'", words[1..].join(" ")))
    } else {
        Err(format!("unknown input `{}'", words.join(" ")))
    }
}

/// `show interface [address] [NAME...]`.
fn show_interface(vpp: &Vpp, args: &[&str]) -> Result<String, String> {
    let (addresses, names) = match args.split_first() {
        Some((first, rest)) if first.len() >= 2 && "address".starts_with(first) => (true, rest),
        _ => (false, args),
    };
    if let Some(unknown) = names
        .iter()
        .find(|n| !vpp.interfaces.values().any(|i| i.name == **n))
    {
        return Err(format!("unknown input `{unknown}'"));
    }
    let text = if addresses {
        interfaces::addresses(vpp, names)
    } else {
        interfaces::show(vpp, names)
    };
    Ok(text)
}

/// The arguments of `show ip neighbors` (also `show ip neighbor`, `show ip4 neighbors`).
fn neighbors_command<'a>(words: &'a [&'a str]) -> Option<&'a [&'a str]> {
    if words.len() < 3 || !matches(&words[..1], &["show"]) {
        return None;
    }
    let family = matches!(words[1], "ip" | "ip4");
    let table = ["neighbors", "neighbor"]
        .iter()
        .any(|p| p.starts_with(words[2]) && words[2].len() >= 2);
    (family && table).then_some(&words[3..])
}

/// Each word is a prefix (at least two letters, or the whole word) of the pattern's.
fn matches(words: &[&str], pattern: &[&str]) -> bool {
    words.len() == pattern.len()
        && words
            .iter()
            .zip(pattern)
            .all(|(w, p)| p.starts_with(w) && (w.len() >= 2 || w.len() == p.len()))
}

fn show_memif(vpp: &Vpp) -> String {
    let mut s = String::from("sockets\n  id  listener    filename\n");
    for (id, sock) in &vpp.memif_sockets {
        let masters = vpp
            .interfaces
            .values()
            .filter(|i| {
                matches!(&i.device, Device::Memif(m) if m.socket_id == *id && m.role == MemifRole::Master)
            })
            .count();
        let listener = if masters > 0 && vpp.dataplane.is_some() {
            format!("yes ({masters})")
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
        let _ = writeln!(s, "  remote-name \"{}\"", m.remote_name);
        let _ = writeln!(s, "  remote-interface \"{}\"", m.remote_interface);
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

    #[rstest]
    #[case("sh l2fib", 0, "no l2fib entries\n")]
    #[case("show l2fib verbose", 0, "no l2fib entries\n")]
    #[case("show l2fib bd_id 9", 0, "no such bridge domain id\n")]
    #[case("show l2fib everything", -1, "show l2fib: unknown input `everything'\n")]
    #[case("show ip neighbors", 0, "")]
    #[case("sh ip4 neigh", 0, "")]
    #[case("show ip neighbors local0", 0, "")]
    #[case("show ip neighbors nosuch0", -1, "show ip neighbors: unknown input `nosuch0'\n")]
    fn data_plane_tables(#[case] line: &str, #[case] retval: i32, #[case] text: &str) {
        let mut vpp = Vpp::new(std::path::Path::new("/tmp"));
        assert_eq!(run(&mut vpp, line), (retval, text.to_string()));
    }

    #[rstest]
    #[case("frobnicate now", -1, "unknown input `frobnicate now'\n")]
    #[case("show frobs", -1, "show: unknown input `frobs'\n")]
    #[case("show bridge-domain 4", -1, "show bridge-domain: No such bridge domain 4\n")]
    #[case("show interface nosuch0", -1, "show interface: unknown input `nosuch0'\n")]
    #[case("", 0, "")]
    fn refusals_are_vpps(#[case] line: &str, #[case] retval: i32, #[case] text: &str) {
        let mut vpp = Vpp::new(std::path::Path::new("/tmp"));
        assert_eq!(run(&mut vpp, line), (retval, text.to_string()));
    }

    #[test]
    fn interface_commands_take_names() {
        let mut vpp = Vpp::new(std::path::Path::new("/tmp"));
        let (rv, text) = run(&mut vpp, "sh int local0");
        assert_eq!(rv, 0);
        assert_eq!(text.lines().count(), 2, "{text}");
        let (rv, text) = run(&mut vpp, "show int addr");
        assert_eq!((rv, text.as_str()), (0, "local0 (dn):\n"));
    }
}
