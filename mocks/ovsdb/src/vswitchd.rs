//! What ovs-vswitchd would do after each change, so that clients which wait for it
//! (`ovs-vsctl` without `--no-wait`, the OVS engine) see the same results: new interfaces
//! get an `ofport` (or an `error` when they cannot work), `mac_in_use`, a vhost-user
//! server socket for `dpdkvhostuser` in the run directory; `cur_cfg` catches up with
//! `next_cfg`.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use ovsdb::{Atom, Datum};

use crate::db::Tables;

/// Interface types this "vswitchd" knows.
pub const IFACE_TYPES: &[&str] = &[
    "",
    "system",
    "internal",
    "tap",
    "patch",
    "dpdk",
    "dpdkvhostuser",
    "dpdkvhostuserclient",
];

/// vhost-user sockets it listens on, by interface uuid.
#[derive(Default)]
pub struct Sockets {
    open: BTreeMap<String, (PathBuf, OwnedFd)>,
}

fn s(v: &str) -> Datum {
    Datum::atom(Atom::String(v.into()))
}

/// Applies vswitchd's reaction to `tables`; returns whether anything changed.
pub fn reconcile(tables: &mut Tables, run_dir: &Path, sockets: &mut Sockets) -> bool {
    let mut changed = false;
    let bridges: BTreeSet<String> = tables
        .get("Bridge")
        .into_iter()
        .flatten()
        .filter_map(|(_, r)| {
            r.get("name")
                .and_then(Datum::scalar)
                .and_then(Atom::as_str)
                .map(str::to_string)
        })
        .collect();
    let used: BTreeSet<i64> = tables
        .get("Interface")
        .into_iter()
        .flatten()
        .filter_map(|(_, r)| {
            r.get("ofport")
                .and_then(Datum::scalar)
                .and_then(Atom::as_integer)
        })
        .collect();
    let mut next = (1..).filter(|p| !used.contains(p));
    let live: BTreeSet<String> = tables
        .get("Interface")
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    sockets.open.retain(|u, (path, _)| {
        let keep = live.contains(u);
        if !keep {
            let _ = std::fs::remove_file(&*path);
        }
        keep
    });
    for (u, row) in tables.get_mut("Interface").into_iter().flatten() {
        if row.get("ofport").is_some_and(|d| d.scalar().is_some()) {
            continue;
        }
        let name = row
            .get("name")
            .and_then(Datum::scalar)
            .and_then(Atom::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = row
            .get("type")
            .and_then(Datum::scalar)
            .and_then(Atom::as_str)
            .unwrap_or_default()
            .to_string();
        let error = if !IFACE_TYPES.contains(&kind.as_str()) {
            Some(format!(
                "could not open network device {name} (Address family not supported by protocol)"
            ))
        } else if kind == "dpdkvhostuserclient"
            && row
                .get("options")
                .and_then(|o| o.map_get("vhost-server-path"))
                .is_none()
        {
            Some(format!(
                "could not open network device {name}: vhost-server-path is not set"
            ))
        } else {
            None
        };
        match error {
            Some(e) => {
                row.insert("error".into(), s(&e));
                row.insert("ofport".into(), Datum::atom(Atom::Integer(-1)));
            }
            None => {
                let port = if kind == "internal" && bridges.contains(&name) {
                    65534
                } else {
                    next.next().unwrap_or(1)
                };
                row.insert("ofport".into(), Datum::atom(Atom::Integer(port)));
                let b = crate::db::new_uuid();
                let mac = format!(
                    "02:{}:{}:{}:{}:{}",
                    &b[0..2],
                    &b[2..4],
                    &b[4..6],
                    &b[6..8],
                    &b[9..11]
                );
                row.insert("mac_in_use".into(), s(&mac));
                if kind == "dpdkvhostuser" {
                    let path = run_dir.join(&name);
                    match listen(&path) {
                        Ok(fd) => {
                            sockets.open.insert(u.clone(), (path, fd));
                        }
                        Err(e) => {
                            row.insert(
                                "error".into(),
                                s(&format!(
                                    "could not create vhost-user socket {}: {e}",
                                    path.display()
                                )),
                            );
                        }
                    }
                }
            }
        }
        changed = true;
    }
    for row in tables
        .get_mut("Open_vSwitch")
        .into_iter()
        .flat_map(|t| t.values_mut())
    {
        let next_cfg = row.get("next_cfg").cloned();
        if let Some(n) = next_cfg {
            if row.get("cur_cfg") != Some(&n) {
                row.insert("cur_cfg".into(), n);
                changed = true;
            }
        }
    }
    changed
}

fn listen(path: &Path) -> std::io::Result<OwnedFd> {
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path)?;
    Ok(OwnedFd::from(l))
}
