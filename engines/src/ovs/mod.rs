//! The `ovs-dpdk` engine: vhost-user ports on an OVS-DPDK bridge, through OVSDB itself
//! (RFC 7047 on the database socket) rather than `ovs-vsctl` processes: one connection
//! and a few transactions per ADD, instead of five process launches.
//!
//! ADD creates the bridge when missing (netdev datapath, tagged as ours in
//! `external_ids`), adds the port and interface (`dpdkvhostuser`: OVS is the vhost-user
//! server; `dpdkvhostuserclient` with `options:vhost-server-path`: OVS connects to the
//! pod's socket) with the VLAN tag and `external_ids` naming the attachment, in one
//! transaction (the bridge is made first only when that finds none). That is `begin_add`;
//! finishing it waits for ovs-vswitchd to set the interface up (the caller works
//! meanwhile): for `dpdkvhostuser` until the vhost-user socket exists, otherwise until
//! ovs-vswitchd has applied the change (`cur_cfg`) and the interface has no `error`. A port
//! OVS could not set up is removed again and ADD fails.
//! DEL removes the port ADD made by its uuid, in one transaction.

mod original;
mod session;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{
    Attachment, BridgeSpec, ContainerSide, Engine, Error, HostRecord, HostSide, InterfaceSpec,
    Network, PendingAdd, Result, Step, VhostMode,
};
use session::Session;

pub const ENGINE_NAME: &str = "ovs-dpdk";
/// Where OVS's database socket is looked for when the netconf names none.
pub const DEFAULT_DB_SOCKETS: &[&str] = &[
    "/usr/local/var/run/openvswitch/db.sock",
    "/var/run/openvswitch/db.sock",
];
/// `external_ids` key marking what this plugin created.
pub const OWNER_KEY: &str = "userspace-cni";

/// What DEL and CHECK need from an ADD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OvsRecord {
    pub port: String,
    pub bridge: String,
    pub bridge_created: bool,
    /// The port number, in records of earlier versions (the ADD returns before OVS has
    /// given one; CHECK asks OVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ofport: Option<i64>,
    /// The Port row ADD inserted: DEL removes exactly that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_uuid: Option<String>,
}

/// `timeout` bounds everything done through one engine value, connections and requests
/// together, from its creation: a caller's operation on the vswitch takes no longer.
pub struct OvsEngine {
    deadline: Instant,
}

impl OvsEngine {
    pub fn new(timeout: Duration) -> Self {
        OvsEngine {
            deadline: Instant::now() + timeout,
        }
    }

    fn db_socket(api_socket: Option<&Path>) -> PathBuf {
        match api_socket {
            Some(p) => p.to_path_buf(),
            None => DEFAULT_DB_SOCKETS
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DB_SOCKETS[0])),
        }
    }

    fn connect(&self, api_socket: Option<&Path>) -> Result<Session> {
        Session::connect(&Self::db_socket(api_socket), self.deadline)
    }
}

/// The port is named after the socket file, as in the original plugin.
fn port_name(socket: &Path) -> Result<String> {
    socket
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "vhost-user socket {} has no file name",
                socket.display()
            ))
        })
}

fn vhost(side: &HostSide) -> Result<(&Path, VhostMode)> {
    match &side.interface {
        InterfaceSpec::VhostUser {
            socket_path, mode, ..
        } => Ok((socket_path, *mode)),
        InterfaceSpec::Memif { .. } => Err(Error::Unsupported(
            "ovs-dpdk supports vhostuser interfaces only".into(),
        )),
    }
}

fn bridge(side: &HostSide) -> Result<&BridgeSpec> {
    match &side.network {
        Network::Bridge(b) => Ok(b),
        Network::Interface => Err(Error::Unsupported("an OVS port needs a bridge".into())),
    }
}

/// Puts the socket OVS made in its run directory where the pod looks for it.
fn link_socket(made: &Path, socket: &Path) -> Result<()> {
    std::fs::hard_link(made, socket)
        .or_else(|_| std::fs::rename(made, socket))
        .map_err(|e| {
            let source = if e.raw_os_error() == Some(libc::EXDEV) {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "OVS made the vhost-user socket {} on another filesystem than {}, and \
                         a socket cannot be moved across filesystems: put sharedDir on the \
                         filesystem of OVS's run directory (the default sharedDir is there) \
                         or use vhost mode \"client\"",
                        made.display(),
                        socket.display()
                    ),
                )
            } else {
                e
            };
            Error::Io {
                step: Step::SocketFile,
                source,
            }
        })
}

/// Removes a socket file (never following a symlink, never anything but a socket).
fn remove_socket_file(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

impl Engine for OvsEngine {
    /// Returns once the transaction has committed (the port's uuid is all DEL needs);
    /// finishing waits for ovs-vswitchd to build the port.
    fn begin_add<'a>(&'a self, side: &'a HostSide, who: &'a Attachment) -> Result<PendingAdd<'a>> {
        let (socket, mode) = vhost(side)?;
        let b = bridge(side)?;
        let port = port_name(socket)?;
        let mut s = self.connect(side.api_socket.as_deref())?;
        // OVS creates a server's socket in its run directory (the pod needs it in the
        // shared directory); it appearing there tells that the port is set up. One left
        // over from before cannot tell that.
        let made = (mode == VhostMode::Server).then(|| {
            Self::db_socket(side.api_socket.as_deref())
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
                .join(&port)
        });
        let fresh = made.as_ref().is_some_and(|m| !session::is_socket(m));
        // The bridge is usually there: try the port first, make the bridge only if not.
        let mut bridge_created = false;
        let mut port_uuid = None;
        for attempt in 0..2 {
            match s.add_port(&b.name, &port, socket, mode, b.vlan, who) {
                Ok(Some(u)) => {
                    port_uuid = Some(u);
                    break;
                }
                Ok(None) if attempt == 0 => bridge_created = s.create_bridge(&b.name)?,
                Ok(None) => {}
                Err(e) => {
                    if bridge_created {
                        let _ = s.del_bridge_if_ours_and_empty(&b.name, None);
                    }
                    // The name index: the port (and its socket) is another attachment's.
                    return Err(match e {
                        Error::Refused { message, .. }
                            if message.contains("constraint violation")
                                && message.contains("identical values") =>
                        {
                            Error::InUse(format!(
                                "ERROR: OVS already has a port named {port} (another attachment's: same socket file name); nothing was changed"
                            ))
                        }
                        e => e,
                    });
                }
            }
        }
        let Some(port_uuid) = port_uuid else {
            return Err(Error::Refused {
                step: Step::BridgeMember,
                message: format!("bridge {} went away while the port was added", b.name),
            });
        };
        let rec = OvsRecord {
            port: port.clone(),
            bridge: b.name.clone(),
            bridge_created,
            // Not known until ovs-vswitchd has built the port; CHECK asks OVS.
            ofport: None,
            port_uuid: Some(port_uuid.clone()),
        };
        let record = HostRecord {
            engine: ENGINE_NAME.into(),
            data: serde_json::to_value(rec).expect("record"),
            // A vhost-user port has no MAC of its own in OVS (mac_in_use is all zeros).
            mac: None,
        };
        Ok(PendingAdd::then(record, move || {
            // Undo only what this ADD made: a port of the same name that was already
            // there is someone else's (and the insert would have failed on the name index).
            let undo = |s: &mut Session| {
                let _ = s.del_port_uuid(&port_uuid, &port, &b.name);
                if bridge_created {
                    let _ = s.del_bridge_if_ours_and_empty(&b.name, None);
                }
            };
            let watch = made.as_deref().filter(|_| fresh);
            if let Err(e) = s.await_created(&port, watch) {
                undo(&mut s);
                return Err(e);
            }
            if let Some(made) = &made {
                if let Err(e) = link_socket(made, socket) {
                    undo(&mut s);
                    return Err(e);
                }
            }
            Ok(())
        }))
    }

    fn del(&self, side: &HostSide, who: &Attachment, saved: Option<&HostRecord>) -> Result<()> {
        let (socket, _) = vhost(side)?;
        let b = bridge(side)?;
        let port = port_name(socket)?;
        let saved = saved.and_then(|r| serde_json::from_value::<OvsRecord>(r.data.clone()).ok());
        let mut s = self.connect(side.api_socket.as_deref())?;
        let others = match saved {
            // The port this attachment made, by uuid, in one transaction with reading the
            // bridge: when it is gone, a port of the same name is someone else's.
            Some(OvsRecord {
                port_uuid: Some(uuid),
                port: saved_port,
                ..
            }) => {
                let (others, bridge_row) = s.del_port_uuid(&uuid, &saved_port, &b.name)?;
                s.del_bridge_if_ours_and_empty(&b.name, Some(bridge_row))?;
                others
            }
            // An older record names the port; without one (an ADD cut short), only a port
            // marked as this attachment's is removed.
            other => {
                let others = match other {
                    Some(r) => s.del_port(&r.port, None)?,
                    None => s.del_port(&port, Some(who))?,
                };
                s.del_bridge_if_ours_and_empty(&b.name, None)?;
                others
            }
        };
        if !others {
            remove_socket_file(socket);
        }
        Ok(())
    }

    fn check(&self, side: &HostSide, _who: &Attachment, _saved: &HostRecord) -> Result<()> {
        let (socket, _) = vhost(side)?;
        let b = bridge(side)?;
        let port = port_name(socket)?;
        let mut s = self.connect(side.api_socket.as_deref())?;
        if !s.port_in_bridge(&b.name, &port)? {
            return Err(Error::Mismatch(format!(
                "port {port} is not on bridge {}",
                b.name
            )));
        }
        s.port_number(&port)
            .map(drop)
            .map_err(|e| Error::Mismatch(e.to_string()))
    }

    fn add_container(&self, _side: &ContainerSide, _who: &Attachment) -> Result<HostRecord> {
        Err(Error::Unsupported(
            "ovs-dpdk has no container-side vswitch: the pod's DPDK application opens the vhost-user socket".into(),
        ))
    }

    fn del_container(&self, _side: &ContainerSide, _who: &Attachment) -> Result<()> {
        Ok(())
    }

    fn status(&self, api_socket: Option<&Path>) -> Result<()> {
        let mut s = self.connect(api_socket)?;
        s.ping()
    }

    fn del_original(
        &self,
        side: &HostSide,
        who: &Attachment,
        saved: &crate::OriginalRecord,
    ) -> Result<bool> {
        original::del(self, side, who, saved)
    }
}
