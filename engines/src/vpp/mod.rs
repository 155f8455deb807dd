//! The `vpp` engine: memif and vhost-user interfaces on VPP through its binary API.
//!
//! ADD keeps an undo journal and unwinds it on failure. DEL finds what is left by the
//! attachment's deterministic socket path rather than trusting saved ids alone, so it also
//! cleans up after an ADD that crashed before saving anything.
//!
//! No attachment touches another's: ADD refuses a socket that VPP already serves an
//! interface on (or a vhost-user socket already in use) before it changes anything, and
//! what DEL finds by discovery is removed only when it carries this attachment's MAC
//! (derived from the attachment, see [`crate::mac`]); a socket registration or file is
//! removed only once no other interface uses it.

mod container;
mod original;
mod session;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vpp_api::types::{MemifMode as WireMode, MemifRole as WireRole};
use vpp_api::wire::MacAddress;

use crate::{
    Attachment, BridgeSpec, ContainerSide, Engine, Error, HostRecord, HostSide, InterfaceSpec,
    MemifMode, MemifRole, Network, PendingAdd, Result, VhostMode,
};
use session::{Session, BRIDGE_TAG};

pub const ENGINE_NAME: &str = "vpp";
/// VPP's standard API socket (`socksvr { socket-name ... }`).
pub const DEFAULT_API_SOCKET: &str = "/run/vpp/api.sock";

/// What DEL and CHECK need from an ADD. Field names are the original plugin's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VppRecord {
    pub sw_if_index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memif_socket_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_domain: Option<u32>,
    /// Whether this ADD created the bridge domain (informational: DEL deletes an empty
    /// bridge domain whenever it carries our tag, whoever of us created it).
    #[serde(default)]
    pub bridge_created: bool,
}

/// `timeout` bounds everything done through one engine value, connections and requests
/// together, from its creation: a caller's operation on the vswitch takes no longer.
pub struct VppEngine {
    deadline: Instant,
}

/// Something ADD did, to be undone if a later step fails.
enum Undo {
    MemifSocket(u32),
    Memif(u32),
    VhostUser(u32),
    Bridge(u32),
    BridgeMember(u32, u32),
}

impl VppEngine {
    pub fn new(timeout: Duration) -> Self {
        VppEngine {
            deadline: Instant::now() + timeout,
        }
    }

    fn connect(&self, api_socket: Option<&Path>) -> Result<Session> {
        let socket = api_socket
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_API_SOCKET));
        Session::connect(&socket, self.deadline).map_err(|e| match e {
            Error::Unavailable { step, reason, .. } => Error::Unavailable {
                step,
                socket: socket.display().to_string(),
                reason,
            },
            other => other,
        })
    }

    fn add_steps(
        s: &mut Session,
        side: &HostSide,
        who: &Attachment,
        undo: &mut Vec<Undo>,
    ) -> Result<VppRecord> {
        let bd_id = match &side.network {
            Network::Bridge(b) => Some(bridge_domain_id(b)?),
            Network::Interface => None,
        };
        let mac = MacAddress(crate::mac::for_attachment(who, "host").0);
        let (sw_if_index, memif_socket_id) = match &side.interface {
            InterfaceSpec::Memif {
                role,
                mode,
                socket_path,
            } => {
                // Register first and look only if that fails: no dump of every socket on
                // the hot path. A registration with interfaces on it is another
                // attachment's; an empty one is a leftover, taken over.
                let socket_id = match s.add_memif_socket(socket_path) {
                    Ok(id) => id,
                    Err(e) => {
                        let id = s.find_memif_socket(socket_path)?.ok_or(e)?;
                        if s.memifs()?.iter().any(|m| m.socket_id == id) {
                            return Err(in_use(socket_path));
                        }
                        id
                    }
                };
                undo.push(Undo::MemifSocket(socket_id));
                let sw = s.create_memif(wire_role(*role), wire_mode(*mode), socket_id, mac)?;
                undo.push(Undo::Memif(sw));
                (sw, Some(socket_id))
            }
            InterfaceSpec::VhostUser {
                mode, socket_path, ..
            } => {
                if s.find_vhost_user(socket_path)?.is_some() {
                    return Err(in_use(socket_path));
                }
                let sw = s.create_vhost_user(socket_path, *mode == VhostMode::Server, mac)?;
                undo.push(Undo::VhostUser(sw));
                (sw, None)
            }
        };
        let mut bridge_created = false;
        if let Some(bd) = bd_id {
            if s.create_bridge_if_missing(bd)? {
                undo.push(Undo::Bridge(bd));
                bridge_created = true;
            }
            s.set_bridge_member(sw_if_index, bd, true)?;
            undo.push(Undo::BridgeMember(sw_if_index, bd));
        }
        if let Network::Bridge(BridgeSpec {
            vlan: Some(vlan), ..
        }) = &side.network
        {
            // An access port: VPP tags what the pod sends and untags what it receives.
            s.set_access_vlan(sw_if_index, *vlan)?;
        }
        s.set_admin_up(sw_if_index, true)?;
        Ok(VppRecord {
            sw_if_index,
            memif_socket_id,
            bridge_domain: bd_id,
            bridge_created,
        })
    }

    fn unwind(s: &mut Session, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            let done = match step {
                Undo::BridgeMember(sw, bd) => s.set_bridge_member(sw, bd, false),
                Undo::Bridge(bd) => s.delete_bridge(bd),
                Undo::Memif(sw) => s.delete_memif(sw),
                Undo::VhostUser(sw) => s.delete_vhost_user(sw),
                Undo::MemifSocket(id) => s.del_memif_socket(id),
            };
            if let Err(e) = done {
                tracing::warn!("rollback step failed (DEL will finish it): {e}");
            }
        }
    }
}

impl Engine for VppEngine {
    /// VPP answers each request once it is done: nothing is left to wait for.
    fn begin_add<'a>(&'a self, side: &'a HostSide, who: &'a Attachment) -> Result<PendingAdd<'a>> {
        self.add(side, who).map(PendingAdd::done)
    }

    fn add(&self, side: &HostSide, who: &Attachment) -> Result<HostRecord> {
        let mut s = self.connect(side.api_socket.as_deref())?;
        let mut undo = Vec::new();
        match Self::add_steps(&mut s, side, who, &mut undo) {
            Ok(rec) => {
                s.close();
                let mac = crate::mac::for_attachment(who, "host").to_string();
                Ok(HostRecord {
                    engine: ENGINE_NAME.to_string(),
                    data: serde_json::to_value(rec).expect("record serializes"),
                    mac: Some(mac),
                })
            }
            Err(e) => {
                // The socket file is this ADD's only when it registered the socket (or
                // made the vhost-user interface): else it is another attachment's.
                let made_socket = undo
                    .iter()
                    .any(|u| matches!(u, Undo::MemifSocket(_) | Undo::VhostUser(_)));
                Self::unwind(&mut s, undo);
                if made_socket {
                    remove_socket_file(socket_path_of(&side.interface));
                }
                s.close();
                Err(e)
            }
        }
    }

    fn del(&self, side: &HostSide, who: &Attachment, saved: Option<&HostRecord>) -> Result<()> {
        let saved: Option<VppRecord> =
            saved.and_then(|r| serde_json::from_value(r.data.clone()).ok());
        let mut s = self.connect(side.api_socket.as_deref())?;
        // With the ADD's record, the ids are checked and used directly (no dumps of every
        // interface); without it, the interface is found from its socket path and this
        // attachment's MAC.
        let removed = match (&saved, &side.interface) {
            (Some(rec), InterfaceSpec::Memif { socket_path, .. })
                if rec.memif_socket_id.is_some_and(|id| {
                    s.memif_socket_file(id).ok().flatten().as_deref() == socket_path.to_str()
                }) && s.is_memif_on(rec.sw_if_index, rec.memif_socket_id.unwrap_or(0))? =>
            {
                // The registration is this ADD's (it made it or took over an empty one,
                // and refuses one in use): it goes with the interface.
                s.delete_memif(rec.sw_if_index)?;
                s.del_memif_socket(rec.memif_socket_id.unwrap_or(0))?;
                remove_socket_file(socket_path);
                vec![rec.sw_if_index]
            }
            // The pod is going away: whichever end listened, its socket file goes too.
            _ => remove_interface(&mut s, &side.interface, true, Some(who))?,
        };
        let bd = match (&side.network, &saved) {
            (Network::Bridge(b), _) => Some(bridge_domain_id(b)?),
            (Network::Interface, Some(rec)) => rec.bridge_domain,
            _ => None,
        };
        if let Some(bd) = bd {
            if let Some(info) = s.bridge(bd)? {
                if info.members.is_empty() && info.tag == BRIDGE_TAG {
                    s.delete_bridge(bd)?;
                }
            }
        }
        tracing::debug!(?removed, "vpp host side removed");
        s.close();
        Ok(())
    }

    fn check(&self, side: &HostSide, _who: &Attachment, saved: &HostRecord) -> Result<()> {
        let rec: VppRecord = serde_json::from_value(saved.data.clone())
            .map_err(|e| Error::Mismatch(format!("saved VPP data is unreadable: {e}")))?;
        let mut s = self.connect(side.api_socket.as_deref())?;
        let sw = rec.sw_if_index;
        match s.interface_state(sw)? {
            None => return Err(Error::Mismatch(format!("interface {sw} is gone from VPP"))),
            Some(false) => return Err(Error::Mismatch(format!("interface {sw} is down"))),
            Some(true) => {}
        }
        match &side.interface {
            InterfaceSpec::Memif { socket_path, .. } => {
                let socket = s.find_memif_socket(socket_path)?;
                let on_socket = s
                    .memifs()?
                    .iter()
                    .any(|m| m.sw_if_index == sw && Some(m.socket_id) == socket);
                if !on_socket {
                    return Err(Error::Mismatch(format!(
                        "interface {sw} is not a memif on {}",
                        socket_path.display()
                    )));
                }
            }
            InterfaceSpec::VhostUser { socket_path, .. } => {
                if s.find_vhost_user(socket_path)? != Some(sw) {
                    return Err(Error::Mismatch(format!(
                        "interface {sw} is not the vhost-user interface on {}",
                        socket_path.display()
                    )));
                }
            }
        }
        if let Network::Bridge(b) = &side.network {
            let bd = bridge_domain_id(b)?;
            let member = s.bridge(bd)?.is_some_and(|i| i.members.contains(&sw));
            if !member {
                return Err(Error::Mismatch(format!(
                    "interface {sw} is not in bridge domain {bd}"
                )));
            }
        }
        s.close();
        Ok(())
    }

    fn add_container(&self, side: &ContainerSide, who: &Attachment) -> Result<HostRecord> {
        container::add(self, side, who)
    }

    fn del_container(&self, side: &ContainerSide, _who: &Attachment) -> Result<()> {
        let mut s = self.connect(side.api_socket.as_deref())?;
        // Inside the pod only the listening end's file is ours (memif master, vhost
        // server); the other one belongs to the host.
        let owns_file = match &side.interface {
            InterfaceSpec::Memif { role, .. } => *role == MemifRole::Master,
            InterfaceSpec::VhostUser { mode, .. } => *mode == VhostMode::Server,
        };
        remove_interface(&mut s, &side.interface, owns_file, None)?;
        s.close();
        Ok(())
    }

    fn status(&self, api_socket: Option<&Path>) -> Result<()> {
        let mut s = self.connect(api_socket)?;
        s.ping()?;
        s.close();
        Ok(())
    }

    fn del_original(
        &self,
        side: &HostSide,
        who: &Attachment,
        saved: &crate::OriginalRecord,
    ) -> Result<bool> {
        original::del(self, side, who, saved)
    }

    /// The original said this whenever it could not connect, whatever the reason.
    fn original_words(&self, e: &Error) -> Option<String> {
        match e {
            Error::Unavailable {
                step: crate::Step::Connect,
                socket,
                ..
            } => Some(format!("VPP API socket file {socket} does not exist")),
            _ => None,
        }
    }
}

/// Removes the interface on `spec`'s socket (found by its path, not by saved ids), only
/// when it is `owner`'s (has the MAC its ADD gave it; any interface when `None`), and the
/// socket registration once no interface is left on it; with `remove_files`, also a
/// socket file left in the shared directory that no other interface uses. Returns the
/// sw_if_index values removed.
fn remove_interface(
    s: &mut Session,
    spec: &InterfaceSpec,
    remove_files: bool,
    owner: Option<&Attachment>,
) -> Result<Vec<u32>> {
    let mac = owner.map(|w| MacAddress(crate::mac::for_attachment(w, "host").0));
    let mut removed = Vec::new();
    match spec {
        InterfaceSpec::Memif { socket_path, .. } => {
            let Some(socket_id) = s.find_memif_socket(socket_path)? else {
                if remove_files {
                    remove_socket_file(socket_path);
                }
                return Ok(removed);
            };
            let mut others = false;
            for m in s.memifs()?.into_iter().filter(|m| m.socket_id == socket_id) {
                if mac.is_none_or(|mac| m.mac == mac) {
                    s.delete_memif(m.sw_if_index)?;
                    removed.push(m.sw_if_index);
                } else {
                    others = true;
                }
            }
            if !others {
                s.del_memif_socket(socket_id)?;
                if remove_files {
                    remove_socket_file(socket_path);
                }
            }
        }
        InterfaceSpec::VhostUser { socket_path, .. } => {
            let mut others = false;
            if let Some(sw) = s.find_vhost_user(socket_path)? {
                let ours = match mac {
                    None => true,
                    Some(mac) => s.interface_mac(sw)?.is_none_or(|m| m == mac),
                };
                if ours {
                    s.delete_vhost_user(sw)?;
                    removed.push(sw);
                } else {
                    others = true;
                }
            }
            if remove_files && !others {
                remove_socket_file(socket_path);
            }
        }
    }
    Ok(removed)
}

fn socket_path_of(spec: &InterfaceSpec) -> &Path {
    match spec {
        InterfaceSpec::Memif { socket_path, .. } | InterfaceSpec::VhostUser { socket_path, .. } => {
            socket_path
        }
    }
}

fn in_use(socket_path: &Path) -> Error {
    Error::InUse(format!(
        "ERROR: socket {} is already used by another interface on VPP (another attachment's); nothing was changed",
        socket_path.display()
    ))
}

/// A VPP bridge domain is named by its decimal id.
fn bridge_domain_id(b: &BridgeSpec) -> Result<u32> {
    match b.name.parse::<u32>() {
        Ok(id) if (1..=16_777_215).contains(&id) => Ok(id),
        _ => Err(Error::Unsupported(format!(
            "bridge {:?} is not a VPP bridge domain id (1 to 16777215)",
            b.name
        ))),
    }
}

fn wire_role(r: MemifRole) -> WireRole {
    match r {
        MemifRole::Master => WireRole::MASTER,
        MemifRole::Slave => WireRole::SLAVE,
    }
}

fn wire_mode(m: MemifMode) -> WireMode {
    match m {
        MemifMode::Ethernet => WireMode::ETHERNET,
        MemifMode::Ip => WireMode::IP,
        MemifMode::InjectPunt => WireMode::PUNT_INJECT,
    }
}

/// Removes a listening socket file left by the vswitch; never follows a symlink and never
/// removes anything that is not a socket.
fn remove_socket_file(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }
}
