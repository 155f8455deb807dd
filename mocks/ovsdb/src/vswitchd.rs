//! What ovs-vswitchd (the DPDK build, userspace datapath) writes back after each change,
//! so that clients which wait for it (`ovs-vsctl` without `--no-wait`, the OVS engine)
//! see what they would see on a real host: each new or retyped interface gets an
//! `ofport` (lowest free on its bridge, or `ofport_request`) and its status columns, or
//! `error` and `ofport` -1 when it cannot work; `dpdkvhostuser` interfaces get a
//! listening vhost-user socket `<run dir>/<name>`; bridges get a `datapath_id`;
//! `cur_cfg` catches up with `next_cfg`. The values were read off a real OVS 3.1.0.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use ovsdb::{Atom, Datum};

use crate::db::{new_uuid, Row, Tables};

/// Interface types the DPDK build of ovs-vswitchd 3.1.0 lists in `iface_types`.
pub const IFACE_TYPES: &[&str] = &[
    "afxdp",
    "afxdp-nonpmd",
    "bareudp",
    "dpdk",
    "dpdkvhostuser",
    "dpdkvhostuserclient",
    "erspan",
    "geneve",
    "gre",
    "gtpu",
    "internal",
    "ip6erspan",
    "ip6gre",
    "lisp",
    "patch",
    "stt",
    "system",
    "tap",
    "vxlan",
];
pub const DATAPATH_TYPES: &[&str] = &["netdev", "system"];
pub const OVS_VERSION: &str = "3.1.0";
pub const DPDK_VERSION: &str = "DPDK 22.11.11";

/// The switch daemon's own state: how each interface was set up.
#[derive(Default)]
pub struct Vswitchd {
    /// Interface UUID to the (type, options) it was set up with.
    applied: BTreeMap<String, (String, Datum)>,
    /// vhost-user server sockets, by interface UUID.
    sockets: BTreeMap<String, (PathBuf, OwnedFd)>,
}

fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Datum::scalar)
        .and_then(Atom::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(items: &[&str]) -> Datum {
    Datum::Set(items.iter().map(|s| Atom::String(s.to_string())).collect()).normalized()
}

fn int(i: i64) -> Datum {
    Datum::integer(i)
}

fn random_mac() -> String {
    let h = new_uuid().replace('-', "");
    // Locally administered, unicast.
    let first = (u8::from_str_radix(&h[0..2], 16).unwrap_or(0) & 0xfc) | 0x02;
    format!(
        "{first:02x}:{}:{}:{}:{}:{}",
        &h[2..4],
        &h[4..6],
        &h[6..8],
        &h[8..10],
        &h[10..12]
    )
}

/// Statistics of a fresh kernel (tap) device, and of a fresh vhost-user port.
fn statistics(vhost: bool) -> Datum {
    let keys: &[&str] = if vhost {
        &[
            "ovs_rx_qos_drops",
            "ovs_tx_failure_drops",
            "ovs_tx_invalid_hwol_drops",
            "ovs_tx_mtu_exceeded_drops",
            "ovs_tx_qos_drops",
            "ovs_tx_retries",
        ]
    } else {
        &[
            "collisions",
            "rx_bytes",
            "rx_crc_err",
            "rx_dropped",
            "rx_errors",
            "rx_frame_err",
            "rx_missed_errors",
            "rx_multicast_packets",
            "rx_over_err",
            "rx_packets",
            "tx_bytes",
            "tx_dropped",
            "tx_errors",
            "tx_packets",
        ]
    };
    Datum::Map(
        keys.iter()
            .map(|k| (Atom::String(k.to_string()), Atom::Integer(0)))
            .collect(),
    )
}

/// What the init scripts (ovs-ctl) record in the root row: the versions installed.
pub fn init_script_defaults(row: &mut Row, db_version: &str) {
    row.insert("ovs_version".into(), Datum::string(OVS_VERSION));
    row.insert("db_version".into(), Datum::string(db_version));
}

/// What ovs-vswitchd records in the root row when it starts.
fn root_defaults(row: &mut Row) {
    row.insert("datapath_types".into(), strings(DATAPATH_TYPES));
    row.insert("iface_types".into(), strings(IFACE_TYPES));
    row.insert("dpdk_initialized".into(), Datum::atom(Atom::Boolean(true)));
    row.insert("dpdk_version".into(), Datum::string(DPDK_VERSION));
}

/// Columns an interface's setup writes; cleared before each new setup.
const STATUS_COLUMNS: &[&str] = &[
    "error",
    "ofport",
    "admin_state",
    "link_state",
    "link_resets",
    "ifindex",
    "mac_in_use",
    "mtu",
    "duplex",
    "link_speed",
    "statistics",
    "status",
];

impl Vswitchd {
    /// Applies the daemon's reaction to `tables`; returns whether it changed anything.
    pub fn reconcile(&mut self, tables: &mut Tables, run_dir: &Path) -> bool {
        let before = tables.clone();
        let live: BTreeSet<String> = tables
            .get("Interface")
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        self.applied.retain(|u, _| live.contains(u));
        self.sockets.retain(|u, (path, _)| {
            let keep = live.contains(u);
            if !keep {
                let _ = std::fs::remove_file(&*path);
            }
            keep
        });
        let bridge_of = bridges_of_interfaces(tables);
        let bridge_names: BTreeSet<String> = tables
            .get("Bridge")
            .into_iter()
            .flatten()
            .map(|(_, r)| text(r, "name"))
            .collect();
        let mut used: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        for (u, row) in tables.get("Interface").into_iter().flatten() {
            if let (Some(b), Some(p)) =
                (bridge_of.get(u), row.get("ofport").and_then(Datum::scalar))
            {
                used.entry(b.clone())
                    .or_default()
                    .extend(p.as_integer().filter(|p| *p > 0));
            }
        }
        let mut mac_of_bridge: BTreeMap<String, String> = BTreeMap::new();
        for (u, row) in tables.get_mut("Interface").into_iter().flatten() {
            let (kind, options) = (
                text(row, "type"),
                row.get("options").cloned().unwrap_or(Datum::Map(vec![])),
            );
            let config = (kind.clone(), options.clone());
            if self.applied.get(u) == Some(&config) {
                continue;
            }
            let old_port = row
                .get("ofport")
                .and_then(Datum::scalar)
                .and_then(Atom::as_integer);
            let name = text(row, "name");
            let bridge = bridge_of.get(u).cloned().unwrap_or_default();
            for c in STATUS_COLUMNS {
                row.insert(c.to_string(), Datum::empty_set());
            }
            row.insert("statistics".into(), Datum::Map(vec![]));
            row.insert("status".into(), Datum::Map(vec![]));
            if let Some(e) = self.setup_error(u, &kind, &name, run_dir) {
                row.insert("error".into(), Datum::string(&e));
                row.insert("ofport".into(), int(-1));
                self.applied.insert(u.clone(), config);
                continue;
            }
            let taken = used.entry(bridge.clone()).or_default();
            let requested = row
                .get("ofport_request")
                .and_then(Datum::scalar)
                .and_then(Atom::as_integer);
            let port = if kind == "internal" && name == bridge && bridge_names.contains(&name) {
                65534
            } else if let Some(p) = old_port.filter(|p| *p > 0) {
                p
            } else if let Some(r) = requested.filter(|r| !taken.contains(r)) {
                r
            } else {
                (1..).find(|p| !taken.contains(p)).unwrap_or(1)
            };
            taken.insert(port);
            row.insert("ofport".into(), int(port));
            match kind.as_str() {
                "dpdkvhostuser" | "dpdkvhostuserclient" => {
                    let client = kind == "dpdkvhostuserclient"
                        && options.map_get("vhost-server-path").is_some();
                    row.insert("admin_state".into(), Datum::string("up"));
                    row.insert("link_state".into(), Datum::string("down"));
                    row.insert("link_resets".into(), int(0));
                    row.insert("ifindex".into(), int(ifindex_for(u)));
                    row.insert("mac_in_use".into(), Datum::string("00:00:00:00:00:00"));
                    row.insert("mtu".into(), int(0));
                    row.insert("statistics".into(), statistics(true));
                    let mode = if client { "client" } else { "server" };
                    row.insert(
                        "status".into(),
                        Datum::string_map([("mode", mode), ("status", "disconnected")]),
                    );
                }
                _ => {
                    let mac = random_mac();
                    if port == 65534 {
                        mac_of_bridge.insert(bridge.clone(), mac.clone());
                    }
                    row.insert("admin_state".into(), Datum::string("down"));
                    row.insert("link_state".into(), Datum::string("down"));
                    row.insert("link_resets".into(), int(0));
                    row.insert("ifindex".into(), int(ifindex_for(u) % 1000 + 3));
                    row.insert("mac_in_use".into(), Datum::string(&mac));
                    row.insert("mtu".into(), int(1500));
                    row.insert("duplex".into(), Datum::string("full"));
                    row.insert("link_speed".into(), int(10_000_000_000));
                    row.insert("statistics".into(), statistics(false));
                    row.insert(
                        "status".into(),
                        Datum::string_map([
                            ("driver_name", "tun"),
                            ("driver_version", "1.6"),
                            ("firmware_version", ""),
                        ]),
                    );
                }
            }
            self.applied.insert(u.clone(), config);
        }
        for row in tables
            .get_mut("Bridge")
            .into_iter()
            .flat_map(|t| t.values_mut())
        {
            if let Some(mac) = mac_of_bridge.get(&text(row, "name")) {
                row.insert(
                    "datapath_id".into(),
                    Datum::string(&format!("0000{}", mac.replace(':', ""))),
                );
                row.insert("datapath_version".into(), Datum::string("<built-in>"));
            }
        }
        for row in tables
            .get_mut("Open_vSwitch")
            .into_iter()
            .flat_map(|t| t.values_mut())
        {
            root_defaults(row);
            if let Some(n) = row.get("next_cfg").cloned() {
                row.insert("cur_cfg".into(), n);
            }
        }
        *tables != before
    }

    /// Why the interface cannot be set up, if it cannot; sets up its socket otherwise.
    fn setup_error(
        &mut self,
        uuid: &str,
        kind: &str,
        name: &str,
        run_dir: &Path,
    ) -> Option<String> {
        if let Some((path, _)) = self.sockets.remove(uuid) {
            let _ = std::fs::remove_file(path);
        }
        match kind {
            "" | "system" if !Path::new("/sys/class/net").join(name).exists() => Some(format!(
                "could not open network device {name} (No such device)"
            )),
            k if !k.is_empty() && !IFACE_TYPES.contains(&k) => Some(format!(
                "could not open network device {name} (Address family not supported by protocol)"
            )),
            "dpdkvhostuser" => {
                let path = run_dir.join(name);
                match listen(&path) {
                    Ok(fd) => {
                        self.sockets.insert(uuid.to_string(), (path, fd));
                        None
                    }
                    Err(e) => Some(format!("could not open network device {name} ({e})")),
                }
            }
            _ => None,
        }
    }
}

/// A stable, made-up interface index.
fn ifindex_for(uuid: &str) -> i64 {
    i64::from_str_radix(&uuid[..6], 16).unwrap_or(1)
}

/// Interface UUID to the name of the bridge whose port holds it.
fn bridges_of_interfaces(tables: &Tables) -> BTreeMap<String, String> {
    let mut port_bridge = BTreeMap::new();
    for (_, b) in tables.get("Bridge").into_iter().flatten() {
        if let Some(Datum::Set(ports)) = b.get("ports") {
            for p in ports.iter().filter_map(Atom::as_uuid) {
                port_bridge.insert(p.to_string(), text(b, "name"));
            }
        }
    }
    let mut out = BTreeMap::new();
    for (pu, p) in tables.get("Port").into_iter().flatten() {
        if let (Some(Datum::Set(ifaces)), Some(b)) = (p.get("interfaces"), port_bridge.get(pu)) {
            for i in ifaces.iter().filter_map(Atom::as_uuid) {
                out.insert(i.to_string(), b.clone());
            }
        }
    }
    out
}

fn listen(path: &Path) -> std::io::Result<OwnedFd> {
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path)?;
    Ok(OwnedFd::from(l))
}
