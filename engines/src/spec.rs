//! Plain data describing what an engine builds and what it leaves behind.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One pod interface: the CNI (container id, ifname) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attachment {
    pub container_id: String,
    pub if_name: String,
}

/// Which end of a memif connection an interface is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemifRole {
    Master,
    Slave,
}

/// memif interface mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemifMode {
    #[serde(rename = "ethernet")]
    Ethernet,
    #[serde(rename = "ip")]
    Ip,
    #[serde(rename = "inject-punt")]
    InjectPunt,
}

/// Which end of the vhost-user socket listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VhostMode {
    Client,
    Server,
}

/// The userspace interface to create on the vswitch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceSpec {
    Memif {
        role: MemifRole,
        mode: MemifMode,
        /// Absolute path of the memif control socket (inside the shared directory).
        socket_path: PathBuf,
    },
    VhostUser {
        mode: VhostMode,
        /// Absolute path of the vhost-user socket (inside the shared directory).
        socket_path: PathBuf,
        /// Group that must be able to use the socket, when not root's.
        group: Option<String>,
    },
}

/// A bridge (VPP bridge domain, OVS bridge) the interface joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// The bridge as the user named it: for VPP the decimal bridge-domain id, for OVS the
    /// bridge name.
    pub name: String,
    /// 802.1Q tag for the port, when set.
    pub vlan: Option<u16>,
}

/// How the interface is connected on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// Put the interface in a bridge.
    Bridge(BridgeSpec),
    /// A standalone interface, brought up, not bridged.
    Interface,
}

/// Everything the host side of one attachment needs, resolved from the netconf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSide {
    /// The vswitch's API socket; `None` means the engine's standard path.
    pub api_socket: Option<PathBuf>,
    pub interface: InterfaceSpec,
    pub network: Network,
}

/// The container's end of an attachment, built inside the pod on the pod's own vswitch
/// from the configuration data the plugin wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSide {
    /// The pod vswitch's API socket; `None` means the engine's standard path.
    pub api_socket: Option<PathBuf>,
    pub interface: InterfaceSpec,
    /// MAC address for the interface (`02:..`), else one derived from the attachment.
    pub mac: Option<String>,
    /// Addresses in CIDR notation (`192.168.210.2/24`) to put on the interface.
    pub addresses: Vec<String>,
}

/// What `Engine::add` created, saved by the plugin for CHECK and DEL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// Engine that created it.
    pub engine: String,
    /// Engine-specific identifiers (e.g. VPP sw_if_index and memif socket id).
    pub data: serde_json::Value,
    /// MAC address of the host interface, when the vswitch reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// What the original (Go) plugin saved about an attachment's host side, in its own
/// records: enough to remove exactly what it made when a node is upgraded in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginalRecord {
    /// VPP: the memif's sw_if_index and its socket's id.
    Vpp {
        sw_if_index: u32,
        memif_socket_id: u32,
    },
    /// OVS-DPDK: the port (named after its vhost-user socket).
    Ovs { port: String },
}
