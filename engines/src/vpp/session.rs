//! One API session with VPP: typed operations, each mapping VPP's retval to an
//! [`Error`] that names the step. Prefers the current (`_v2`) messages and falls back to
//! the deprecated ones on VPPs that predate them.

use std::path::Path;
use std::time::Instant;

use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::{FixedString, MacAddress};
use vpp_api::{retval, Client, Request, Retval};

use crate::{Error, Result, Step};

/// Tag put on the bridge domains this plugin creates, so that DEL deletes only those.
pub const BRIDGE_TAG: &str = "userspace-cni";
/// "Any" / "none" in VPP's API.
pub const ALL: u32 = u32::MAX;

pub struct Session {
    client: Client,
}

/// A memif as VPP reports it.
#[derive(Debug, Clone)]
pub struct MemifInfo {
    pub sw_if_index: u32,
    pub socket_id: u32,
    pub mac: MacAddress,
}

/// A bridge domain as VPP reports it.
#[derive(Debug, Clone)]
pub struct BridgeInfo {
    pub tag: String,
    pub members: Vec<u32>,
}

impl Session {
    /// Connects, with every request (and the handshake) answered by `deadline`.
    pub fn connect(socket: &Path, deadline: Instant) -> Result<Session> {
        let unavailable = |reason: String| Error::Unavailable {
            step: Step::Connect,
            socket: socket.display().to_string(),
            reason,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(unavailable("no time left (timeoutMs)".into()));
        }
        let mut client = Client::connect(socket, "userspace-cni", left)
            .map_err(|e| unavailable(e.to_string()))?;
        client.set_deadline(Some(deadline));
        Ok(Session { client })
    }

    pub fn close(self) {
        self.client.disconnect();
    }

    pub fn ping(&mut self) -> Result<()> {
        let reply = self.call(Step::Connect, &ControlPing {})?;
        check(Step::Connect, "control_ping", reply.retval())
    }

    fn call<M: Request>(&mut self, step: Step, msg: &M) -> Result<M::Reply> {
        self.client.request(msg).map_err(|e| api_error(step, e))
    }

    fn dump<M: vpp_api::Dump>(&mut self, step: Step, msg: &M) -> Result<Vec<M::Details>> {
        self.client.dump(msg).map_err(|e| api_error(step, e))
    }

    /// The id of the memif socket registered for `path`, if any.
    pub fn find_memif_socket(&mut self, path: &Path) -> Result<Option<u32>> {
        let want = path.to_string_lossy();
        let sockets = self.dump(Step::SocketFile, &MemifSocketFilenameDump {})?;
        Ok(sockets
            .into_iter()
            .find(|s| s.socket_filename.as_str() == want)
            .map(|s| s.socket_id))
    }

    /// Registers `path` as a memif socket file and returns the id VPP gave it.
    pub fn add_memif_socket(&mut self, path: &Path) -> Result<u32> {
        let filename = path.to_string_lossy().into_owned();
        if self.client.has::<MemifSocketFilenameAddDelV2>() {
            let reply = self.call(
                Step::SocketFile,
                &MemifSocketFilenameAddDelV2 {
                    is_add: true,
                    socket_id: ALL,
                    socket_filename: filename,
                },
            )?;
            check(
                Step::SocketFile,
                "memif_socket_filename_add_del_v2",
                reply.retval,
            )?;
            return Ok(reply.socket_id);
        }
        // Older VPP: the caller picks the lowest free id (0 is VPP's default socket).
        let used: Vec<u32> = self
            .dump(Step::SocketFile, &MemifSocketFilenameDump {})?
            .into_iter()
            .map(|s| s.socket_id)
            .collect();
        let id = (1..u32::MAX).find(|i| !used.contains(i)).unwrap_or(ALL);
        let socket_filename = FixedString::exact(&filename).ok_or_else(|| {
            Error::Unsupported(format!("memif socket path {filename} is too long for VPP"))
        })?;
        let reply = self.call(
            Step::SocketFile,
            &MemifSocketFilenameAddDel {
                is_add: true,
                socket_id: id,
                socket_filename,
            },
        )?;
        check(
            Step::SocketFile,
            "memif_socket_filename_add_del",
            reply.retval,
        )?;
        Ok(id)
    }

    pub fn del_memif_socket(&mut self, socket_id: u32) -> Result<()> {
        let rv = if self.client.has::<MemifSocketFilenameAddDelV2>() {
            let msg = MemifSocketFilenameAddDelV2 {
                is_add: false,
                socket_id,
                socket_filename: String::new(),
            };
            self.call(Step::SocketFile, &msg)?.retval
        } else {
            let msg = MemifSocketFilenameAddDel {
                is_add: false,
                socket_id,
                socket_filename: FixedString::default(),
            };
            self.call(Step::SocketFile, &msg)?.retval
        };
        check(Step::SocketFile, "memif socket delete", rv)
    }

    pub fn create_memif(
        &mut self,
        role: MemifRole,
        mode: MemifMode,
        socket_id: u32,
        mac: MacAddress,
    ) -> Result<u32> {
        let (rv, sw_if_index) = if self.client.has::<MemifCreateV2>() {
            let r = self.call(
                Step::InterfaceCreate,
                &MemifCreateV2 {
                    role,
                    mode,
                    rx_queues: 1,
                    tx_queues: 1,
                    id: 0,
                    socket_id,
                    ring_size: 1024,
                    buffer_size: 2048,
                    hw_addr: mac,
                    ..Default::default()
                },
            )?;
            (r.retval, r.sw_if_index)
        } else {
            let r = self.call(
                Step::InterfaceCreate,
                &MemifCreate {
                    role,
                    mode,
                    rx_queues: 1,
                    tx_queues: 1,
                    id: 0,
                    socket_id,
                    ring_size: 1024,
                    buffer_size: 2048,
                    hw_addr: mac,
                    ..Default::default()
                },
            )?;
            (r.retval, r.sw_if_index)
        };
        check(Step::InterfaceCreate, "memif_create", rv)?;
        Ok(sw_if_index)
    }

    pub fn memifs(&mut self) -> Result<Vec<MemifInfo>> {
        Ok(self
            .dump(Step::Check, &MemifDump {})?
            .into_iter()
            .map(|d| MemifInfo {
                sw_if_index: d.sw_if_index,
                socket_id: d.socket_id,
                mac: d.hw_addr,
            })
            .collect())
    }

    /// Deletes a memif; one that is already gone is not an error.
    pub fn delete_memif(&mut self, sw_if_index: u32) -> Result<()> {
        let reply = self.call(Step::InterfaceDelete, &MemifDelete { sw_if_index })?;
        tolerate(
            Step::InterfaceDelete,
            "memif_delete",
            reply.retval,
            &[retval::INVALID_SW_IF_INDEX],
        )
    }

    pub fn create_vhost_user(
        &mut self,
        path: &Path,
        is_server: bool,
        mac: MacAddress,
    ) -> Result<u32> {
        let name = path.to_string_lossy();
        let sock_filename = FixedString::exact(&name).ok_or_else(|| {
            Error::Unsupported(format!("vhost-user socket path {name} is too long for VPP"))
        })?;
        let tag = FixedString::new(BRIDGE_TAG);
        let (rv, sw_if_index) = if self.client.has::<CreateVhostUserIfV2>() {
            let r = self.call(
                Step::InterfaceCreate,
                &CreateVhostUserIfV2 {
                    is_server,
                    sock_filename,
                    use_custom_mac: true,
                    mac_address: mac,
                    tag,
                    ..Default::default()
                },
            )?;
            (r.retval, r.sw_if_index)
        } else {
            let r = self.call(
                Step::InterfaceCreate,
                &CreateVhostUserIf {
                    is_server,
                    sock_filename,
                    use_custom_mac: true,
                    mac_address: mac,
                    tag,
                    ..Default::default()
                },
            )?;
            (r.retval, r.sw_if_index)
        };
        check(Step::InterfaceCreate, "create_vhost_user_if", rv)?;
        Ok(sw_if_index)
    }

    /// A virtio-user interface (the driver side of vhost-user, as DPDK's
    /// `net_virtio_user`) on `path`, listening when `is_server`: a pod's end of a
    /// vhost-user attachment. VPP's API has no message for it; mock-vpp takes the CLI
    /// command `create virtio-user`.
    pub fn create_virtio_user(
        &mut self,
        path: &Path,
        is_server: bool,
        mac: MacAddress,
    ) -> Result<u32> {
        let role = if is_server { " server" } else { "" };
        let cmd = format!(
            "create virtio-user socket {}{role} hwaddr {mac}",
            path.display()
        );
        let reply = self.call(Step::InterfaceCreate, &CliInband { cmd })?;
        check(Step::InterfaceCreate, "create virtio-user", reply.retval)?;
        self.find_vhost_user(path)?.ok_or_else(|| {
            Error::Mismatch(format!("create virtio-user: {}", reply.reply.trim_end()))
        })
    }

    /// sw_if_index of the vhost-user interface on `path`, if any.
    pub fn find_vhost_user(&mut self, path: &Path) -> Result<Option<u32>> {
        let want = path.to_string_lossy();
        let all = self.dump(Step::Check, &SwInterfaceVhostUserDump { sw_if_index: ALL })?;
        Ok(all
            .into_iter()
            .find(|d| d.sock_filename.as_str() == want)
            .map(|d| d.sw_if_index))
    }

    pub fn delete_vhost_user(&mut self, sw_if_index: u32) -> Result<()> {
        let reply = self.call(Step::InterfaceDelete, &DeleteVhostUserIf { sw_if_index })?;
        tolerate(
            Step::InterfaceDelete,
            "delete_vhost_user_if",
            reply.retval,
            &[retval::INVALID_SW_IF_INDEX],
        )
    }

    /// Adds `cidr` (e.g. `10.0.0.2/24`) to the interface.
    pub fn add_address(&mut self, sw_if_index: u32, cidr: &str) -> Result<()> {
        let bad = || Error::Unsupported(format!("invalid interface address {cidr:?}"));
        let (ip, len) = cidr.split_once('/').ok_or_else(bad)?;
        let ip: std::net::IpAddr = ip.parse().map_err(|_| bad())?;
        let len: u8 = len.parse().map_err(|_| bad())?;
        if len > if ip.is_ipv4() { 32 } else { 128 } {
            return Err(bad());
        }
        let msg = SwInterfaceAddDelAddress {
            sw_if_index,
            is_add: true,
            del_all: false,
            prefix: vpp_api::wire::Prefix::new(ip, len),
        };
        let rv = self.call(Step::Address, &msg)?.retval;
        check(Step::Address, "sw_interface_add_del_address", rv)
    }

    pub fn set_admin_up(&mut self, sw_if_index: u32, up: bool) -> Result<()> {
        let flags = if up {
            IfStatusFlags::ADMIN_UP
        } else {
            IfStatusFlags::default()
        };
        let reply = self.call(
            Step::InterfaceUp,
            &SwInterfaceSetFlags { sw_if_index, flags },
        )?;
        check(Step::InterfaceUp, "sw_interface_set_flags", reply.retval)
    }

    /// The interface's MAC address, when it exists.
    pub fn interface_mac(&mut self, sw_if_index: u32) -> Result<Option<MacAddress>> {
        Ok(self.interface(sw_if_index)?.map(|d| d.l2_address))
    }

    /// Whether the interface exists and is admin-up.
    pub fn interface_state(&mut self, sw_if_index: u32) -> Result<Option<bool>> {
        Ok(self
            .interface(sw_if_index)?
            .map(|d| d.flags.contains(IfStatusFlags::ADMIN_UP)))
    }

    /// The interface's details, when it exists (one dump of that index).
    fn interface(&mut self, sw_if_index: u32) -> Result<Option<SwInterfaceDetails>> {
        let found = self.dump(
            Step::Check,
            &SwInterfaceDump {
                sw_if_index,
                ..Default::default()
            },
        )?;
        Ok(found.into_iter().find(|d| d.sw_if_index == sw_if_index))
    }

    pub fn bridge(&mut self, bd_id: u32) -> Result<Option<BridgeInfo>> {
        let found = self.dump(
            Step::BridgeCreate,
            &BridgeDomainDump {
                bd_id,
                sw_if_index: ALL,
            },
        )?;
        Ok(found
            .into_iter()
            .find(|d| d.bd_id == bd_id)
            .map(|d| BridgeInfo {
                tag: d.bd_tag.as_str().to_string(),
                members: d
                    .sw_if_details
                    .items
                    .iter()
                    .map(|m| m.sw_if_index)
                    .collect(),
            }))
    }

    /// Creates bridge domain `bd_id` unless it exists (then `false`): one request, no dump.
    pub fn create_bridge_if_missing(&mut self, bd_id: u32) -> Result<bool> {
        match self.bridge_add_del(bd_id, true)? {
            0 => Ok(true),
            retval::BD_ALREADY_EXISTS => Ok(false),
            rv => check(Step::BridgeCreate, "bridge_domain_add_del", rv).map(|()| false),
        }
    }

    /// The memif on `socket_id` with this sw_if_index, when it is one (one interface
    /// looked up, not a dump of all).
    pub fn is_memif_on(&mut self, sw_if_index: u32, socket_id: u32) -> Result<bool> {
        let found = self.dump(
            Step::InterfaceDelete,
            &SwInterfaceDump {
                sw_if_index,
                ..Default::default()
            },
        )?;
        let prefix = format!("memif{socket_id}/");
        Ok(found.iter().any(|d| {
            d.sw_if_index == sw_if_index && d.interface_name.as_str().starts_with(&prefix)
        }))
    }

    /// The filename registered under memif socket `socket_id`.
    pub fn memif_socket_file(&mut self, socket_id: u32) -> Result<Option<String>> {
        let sockets = self.dump(Step::SocketFile, &MemifSocketFilenameDump {})?;
        Ok(sockets
            .into_iter()
            .find(|s| s.socket_id == socket_id)
            .map(|s| s.socket_filename.as_str().to_string()))
    }

    /// Deletes a bridge domain; one already gone is not an error.
    pub fn delete_bridge(&mut self, bd_id: u32) -> Result<()> {
        let rv = self.bridge_add_del(bd_id, false)?;
        tolerate(
            Step::BridgeDelete,
            "bridge_domain_add_del",
            rv,
            &[retval::NO_SUCH_ENTRY],
        )
    }

    fn bridge_add_del(&mut self, bd_id: u32, is_add: bool) -> Result<i32> {
        let step = if is_add {
            Step::BridgeCreate
        } else {
            Step::BridgeDelete
        };
        let msg = BridgeDomainAddDelV2 {
            bd_id,
            flood: is_add,
            uu_flood: is_add,
            forward: is_add,
            learn: is_add,
            bd_tag: if is_add {
                FixedString::new(BRIDGE_TAG)
            } else {
                FixedString::default()
            },
            is_add,
            ..Default::default()
        };
        if self.client.has::<BridgeDomainAddDelV2>() {
            return Ok(self.call(step, &msg)?.retval);
        }
        let old = BridgeDomainAddDel {
            bd_id: msg.bd_id,
            flood: msg.flood,
            uu_flood: msg.uu_flood,
            forward: msg.forward,
            learn: msg.learn,
            bd_tag: msg.bd_tag,
            is_add,
            ..Default::default()
        };
        Ok(self.call(step, &old)?.retval)
    }

    pub fn set_access_vlan(&mut self, sw_if_index: u32, vlan: u16) -> Result<()> {
        let reply = self.call(
            Step::BridgeMember,
            &L2InterfaceVlanTagRewrite {
                sw_if_index,
                vtr_op: vtr_op::PUSH_1,
                push_dot1q: 1,
                tag1: u32::from(vlan),
                tag2: 0,
            },
        )?;
        check(
            Step::BridgeMember,
            "l2_interface_vlan_tag_rewrite",
            reply.retval,
        )
    }

    pub fn set_bridge_member(&mut self, sw_if_index: u32, bd_id: u32, enable: bool) -> Result<()> {
        let reply = self.call(
            Step::BridgeMember,
            &SwInterfaceSetL2Bridge {
                rx_sw_if_index: sw_if_index,
                bd_id,
                port_type: L2PortType::NORMAL,
                shg: 0,
                enable,
            },
        )?;
        if enable {
            check(
                Step::BridgeMember,
                "sw_interface_set_l2_bridge",
                reply.retval,
            )
        } else {
            tolerate(
                Step::BridgeMember,
                "sw_interface_set_l2_bridge",
                reply.retval,
                &[retval::INVALID_SW_IF_INDEX],
            )
        }
    }
}

fn api_error(step: Step, e: vpp_api::Error) -> Error {
    match e {
        vpp_api::Error::Timeout(_) | vpp_api::Error::Closed | vpp_api::Error::Connect { .. } => {
            Error::Unavailable {
                step,
                socket: String::from("VPP API socket"),
                reason: e.to_string(),
            }
        }
        other => Error::Refused {
            step,
            message: other.to_string(),
        },
    }
}

fn check(step: Step, what: &str, rv: i32) -> Result<()> {
    if rv == 0 {
        return Ok(());
    }
    let text = retval::describe(rv).unwrap_or("VPP error");
    Err(Error::Refused {
        step,
        message: format!("{what} failed: {text} ({rv})"),
    })
}

/// Like [`check`], but the listed retvals mean "already done".
fn tolerate(step: Step, what: &str, rv: i32, already: &[i32]) -> Result<()> {
    if already.contains(&rv) {
        return Ok(());
    }
    check(step, what, rv)
}
