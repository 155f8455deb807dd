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
    /// Writes it atomically, 0644 as the original did, so that the pod's application
    /// reads it whatever user it runs as (nothing in it is secret); 0640 and group `gid`
    /// when the socket has a group.
    pub fn write(&self, path: &Path, gid: Option<u32>) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).expect("config data serializes");
        let mode = if gid.is_some() { 0o640 } else { 0o644 };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Readable by the pod's application whatever user it runs as (the original's 0644),
    /// or by the vhost group only when there is one.
    #[test]
    fn modes_let_the_pod_read_it() {
        let t = tempfile::tempdir().unwrap();
        let data = ContainerConfigData {
            container_id: "c".into(),
            if_name: "net1".into(),
            name: "n".into(),
            config: UserSpaceConf::default(),
            ip_result: Value::Null,
            mac: String::new(),
        };
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        let open = t.path().join("open.json");
        data.write(&open, None).unwrap();
        assert_eq!(mode(&open), 0o644);
        let grouped = t.path().join("grouped.json");
        data.write(&grouped, Some(0)).unwrap();
        assert_eq!(mode(&grouped), 0o640);
        assert_eq!(std::fs::metadata(&grouped).unwrap().gid(), 0);
        assert_eq!(ContainerConfigData::read(&open).unwrap(), Some(data));
    }
}
