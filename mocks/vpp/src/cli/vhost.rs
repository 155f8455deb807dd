//! `show vhost-user` in the layout of VPP's vhost plugin, and the commands that make
//! vhost-user and virtio-user interfaces from the CLI (`create vhost-user socket PATH
//! [server] [hwaddr MAC]`, as VPP; `create virtio-user socket PATH [server] [hwaddr
//! MAC]`, a pod's driver side, which VPP itself leaves to DPDK's `net_virtio_user`).

use std::fmt::Write;

use crate::dataplane::show::mac;
use crate::model::{Device, VhostParams, Vpp};

const FEATURES: [(u32, &str); 3] = [
    (15, "VIRTIO_NET_F_MRG_RXBUF"),
    (30, "VHOST_USER_F_PROTOCOL_FEATURES"),
    (32, "VIRTIO_F_VERSION_1"),
];

/// `show vhost-user [NAME...]`: the back ends (and virtio-user front ends, briefly).
pub fn show(vpp: &Vpp, names: &[&str]) -> Result<String, String> {
    if let Some(unknown) = names
        .iter()
        .find(|n| !vpp.interfaces.values().any(|i| i.name == **n))
    {
        return Err(format!("unknown input `{unknown}'"));
    }
    let mut s = String::from(
        "Virtio vhost-user interfaces\nGlobal:\n  coalesce frames 32 time 1e-3\n  \
         Number of rx virtqueues in interrupt mode: 0\n  Number of GSO interfaces: 0\n  \
         Thread 0: Polling queue count 0\n",
    );
    for i in vpp.interfaces.values() {
        let Device::VhostUser(v) = &i.device else {
            continue;
        };
        if !names.is_empty() && !names.contains(&i.name.as_str()) {
            continue;
        }
        let _ = writeln!(s, "Interface: {} (ifindex {})", i.name, i.sw_if_index);
        let kind = if v.is_server { "server" } else { "client" };
        let shared = v.port.as_ref().map(|p| p.shared.clone());
        let device = shared
            .as_ref()
            .and_then(|sh| sh.device.lock().expect("shared").clone());
        if v.frontend {
            let connected = shared
                .as_ref()
                .is_some_and(|sh| sh.connected.load(std::sync::atomic::Ordering::SeqCst));
            let _ = writeln!(
                s,
                "  virtio-user (driver) hw-addr {}\n\n socket filename {} type {kind} {}\n",
                mac(&i.mac),
                v.sock_filename,
                if connected {
                    "connected"
                } else {
                    "not connected"
                }
            );
            continue;
        }
        let Some(device) = device else {
            let _ = writeln!(
                s,
                "  Number of qids 0\n\n socket filename {} type {kind} errno \"Success\"\n",
                v.sock_filename
            );
            continue;
        };
        let d = device.lock().expect("device");
        let features = d.features();
        let _ = writeln!(
            s,
            "  Number of qids 2\nvirtio_net_hdr_sz {}\n features mask (0xfffffffffffffffe):\n features (0x{features:x}):",
            vhost_user_net::net_header_len(features)
        );
        for (bit, name) in FEATURES {
            if features & (1 << bit) != 0 {
                let _ = writeln!(s, "   {name} ({bit})");
            }
        }
        let p = d.protocol_features();
        let _ = writeln!(s, "  protocol features (0x{p:x})");
        if p & 8 != 0 {
            let _ = writeln!(s, "   VHOST_USER_PROTOCOL_F_REPLY_ACK (3)");
        }
        let errno = match (kind, d.failure()) {
            (_, Some(why)) => why.to_string(),
            _ => "Success".into(),
        };
        let _ = writeln!(
            s,
            "\n socket filename {} type {kind} errno \"{errno}\"\n\n rx placement: \n   thread 0 on vring 1, polling\n tx placement\n   threads 0 on vring 0: spin-lock\n",
            v.sock_filename
        );
        let regions = d.regions();
        let _ = writeln!(s, " Memory regions (total {})", regions.len());
        if !regions.is_empty() {
            let _ = writeln!(s, " region fd    guest_phys_addr    memory_size        userspace_addr     mmap_offset        mmap_addr");
            let _ = writeln!(s, " ====== ===== ================== ================== ================== ================== ==================");
            for (n, r) in regions.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  {n:<5} {:<5} 0x{:016x} 0x{:016x} 0x{:016x} 0x{:016x} 0x{:016x}",
                    -1, r.guest, r.size, r.user, r.offset, 0
                );
            }
        }
        for (q, dir) in [(0usize, "TX"), (1, "RX")] {
            let qi = d.queue_info(q);
            let _ = writeln!(
                s,
                "\n Virtqueue {q} ({dir}){}\n  qsz {} last_avail_idx {} last_used_idx {}\n  kickfd {} callfd {} errfd -1",
                if qi.enabled { "" } else { " disabled" },
                qi.size,
                qi.next_avail,
                qi.next_used,
                qi.kick_fd,
                qi.call_fd
            );
        }
        let st = d.stats;
        let _ = writeln!(s, "\n errors {}", st.errors);
    }
    Ok(s)
}

/// `create vhost-user|virtio-user socket PATH [server] [hwaddr MAC]`: the new
/// interface's name.
pub fn create(vpp: &mut Vpp, frontend: bool, args: &[&str]) -> Result<String, String> {
    let mut p = VhostParams {
        frontend,
        ..Default::default()
    };
    let mut it = args.iter();
    while let Some(w) = it.next() {
        match *w {
            "socket" => p.sock_filename = it.next().ok_or("missing socket path")?.to_string(),
            "server" => p.is_server = true,
            "hwaddr" | "hw-addr" => {
                let text = it.next().ok_or("missing MAC address")?;
                p.mac = Some(parse_mac(text).ok_or_else(|| format!("unknown input `{text}'"))?);
            }
            other => return Err(format!("unknown input `{other}'")),
        }
    }
    let sw = vpp
        .vhost_create(p)
        .map_err(|(rv, _)| format!("vhost-user create failed: {rv}"))?;
    Ok(format!("{}\n", vpp.interfaces[&sw].name))
}

fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = text
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect::<Option<_>>()?;
    parts.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_show_without_a_data_plane() {
        let dir = tempfile::tempdir().unwrap();
        let mut vpp = Vpp::new(dir.path());
        let path = dir.path().join("v.sock");
        let args = [
            "socket",
            path.to_str().unwrap(),
            "server",
            "hwaddr",
            "02:00:00:00:00:07",
        ];
        assert_eq!(
            create(&mut vpp, false, &args).unwrap(),
            "VirtualEthernet0/0/0\n"
        );
        assert!(path.exists(), "a server listens");
        let args = ["socket", "/nonexistent/f.sock"];
        assert_eq!(create(&mut vpp, true, &args).unwrap(), "virtio-user1\n");
        let text = show(&vpp, &[]).unwrap();
        assert!(
            text.starts_with("Virtio vhost-user interfaces\nGlobal:\n"),
            "{text}"
        );
        assert!(
            text.contains("Interface: VirtualEthernet0/0/0 (ifindex 1)\n"),
            "{text}"
        );
        assert!(text.contains(&format!(" socket filename {} type server", path.display())));
        assert!(
            text.contains("Interface: virtio-user1 (ifindex 2)\n"),
            "{text}"
        );
        assert_eq!(vpp.interfaces[&1].mac, [2, 0, 0, 0, 0, 7]);
        assert!(create(&mut vpp, false, &["socket"]).is_err());
        assert!(create(&mut vpp, false, &["bogus"]).is_err());
        assert!(show(&vpp, &["nope"]).is_err());
    }
}
