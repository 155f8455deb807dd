//! The configuration data handed to the container: what its side of the interface is
//! and which IP it got. Written into the shared directory, which the container mounts.
//!
//! The shape is the original plugin's (`containerId`, `ifName`, `name`, `config`,
//! `ipResult`), so existing consumers keep working; `mac` is added.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fs;
use crate::netconf::UserSpaceConf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerConfigData {
    pub container_id: String,
    pub if_name: String,
    pub name: String,
    /// The container side's configuration, with the defaults resolved (role, mode,
    /// socket file name).
    pub config: UserSpaceConf,
    /// The IPAM result (CNI 1.0.0 shape), for the container to configure its interface.
    pub ip_result: Value,
    /// The MAC address the container's interface should use.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
}

impl ContainerConfigData {
    /// Writes it atomically, 0600 (0640 and group `gid` when the socket has a group).
    pub fn write(&self, path: &Path, gid: Option<u32>) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).expect("config data serializes");
        let mode = if gid.is_some() { 0o640 } else { 0o600 };
        fs::write_atomic(path, &bytes, mode, gid)
    }

    pub fn read(path: &Path) -> std::io::Result<Option<ContainerConfigData>> {
        match fs::read_no_follow(path)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
    }
}
