//! The network configuration (netconf) the runtime passes on stdin.
//!
//! Every field of the original plugin is accepted with its original meaning and spelling
//! rules (see [`keys`]); the additions are `host.apiSocket`, `container.apiSocket`,
//! `dataDir` and `timeoutMs`. Parsing only decodes; [`crate::plan`] validates and applies
//! defaults.

pub mod keys;
pub mod raw;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `memif` section of a side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemifConf {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    /// A file name (never a path) inside the shared directory.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub socketfile: String,
}

/// The `vhost` section of a side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VhostConf {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    /// Group that must be able to use the socket and the shared directory.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub socketfile: String,
}

/// The `bridge` section of a side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BridgeConf {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bridge_name: String,
    /// Deprecated in the original in favour of `bridgeName`; still honoured.
    #[serde(skip_serializing_if = "is_zero")]
    pub bridge_id: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub vlan_id: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// One side (`host` or `container`) of the attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserSpaceConf {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub engine: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub iftype: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub net_type: String,
    pub memif: MemifConf,
    pub vhost: VhostConf,
    pub bridge: BridgeConf,
    /// The vswitch's API socket for this side (VPP API socket, OVSDB socket).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_socket: String,
}

/// The whole netconf.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetConf {
    pub cni_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub plugin_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_config: Option<Value>,
    pub host: UserSpaceConf,
    pub container: UserSpaceConf,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub shared_dir: String,
    /// The API server and identity for Kubernetes mode (see [`crate::kube`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubeconfig: String,
    /// Kubernetes mode: kubelet's root directory (where emptyDir volumes live).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubelet_dir: String,
    /// Kubernetes mode: parent of the short directories for too-long socket paths.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub short_socket_dir: String,
    /// Extra arguments (`args.cni` from Multus's `cni-args`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log_level: String,
    /// Where the data DEL needs is kept.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data_dir: String,
    /// Bound on each vswitch operation (connect, request), in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// CNI 1.1 GC: the attachments the runtime still knows.
    #[serde(
        rename = "cni.dev/valid-attachments",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_attachments: Option<Vec<ValidAttachment>>,
}

/// One entry of `cni.dev/valid-attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidAttachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

impl NetConf {
    /// Decodes stdin. Errors carry serde's text; the caller prefixes them as the original
    /// did (`failed to load netconf: ...`).
    pub fn parse(bytes: &[u8]) -> Result<NetConf, String> {
        serde_json::from_value(Value::Object(Self::canonical(bytes)?)).map_err(|e| e.to_string())
    }

    /// The netconf as Go would have read it, keys in their canonical spelling: a key given
    /// twice merges into one (see [`keys`]). Parsing it again gives the same netconf.
    pub fn canonical(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
        let raw::Raw::Object(pairs) = raw::parse(bytes)? else {
            return Err("netconf must be a JSON object".into());
        };
        Ok(keys::canonicalize_raw(pairs, keys::NETCONF))
    }

    /// The IPAM plugin named by `ipam.type`, when there is one.
    pub fn ipam_type(&self) -> Option<&str> {
        self.ipam
            .as_ref()?
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests;
