//! Device information (Network Plumbing WG device-info spec 1.1.0): the file named by
//! `runtimeConfig.CNIDeviceInfoFile`, which Multus copies into the pod's
//! `k8s.v1.cni.cncf.io/network-status`.
//!
//! Modes and roles are the container side's, as the spec words them: vhost-user `client`
//! means the host creates the socket and the container connects; memif `slave` means the
//! host creates it. A device plugin may already have put a vhost-user file there: its
//! socket path is then the one to use.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const VERSION: &str = "1.1.0";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    #[serde(
        rename = "vhost-user",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vhost_user: Option<VhostDevice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memif: Option<MemifDevice>,
    /// Other device kinds (pci, vdpa) are kept as given.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VhostDevice {
    pub mode: String,
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemifDevice {
    pub role: String,
    pub path: String,
    pub mode: String,
}

impl DeviceInfo {
    pub fn vhost_user(container_mode: &str, path: &Path) -> DeviceInfo {
        DeviceInfo {
            kind: "vhost-user".into(),
            version: VERSION.into(),
            vhost_user: Some(VhostDevice {
                mode: container_mode.into(),
                path: path.display().to_string(),
            }),
            ..DeviceInfo::default()
        }
    }

    pub fn memif(container_role: &str, mode: &str, path: &Path) -> DeviceInfo {
        DeviceInfo {
            kind: "memif".into(),
            version: VERSION.into(),
            memif: Some(MemifDevice {
                role: container_role.into(),
                path: path.display().to_string(),
                mode: mode.into(),
            }),
            ..DeviceInfo::default()
        }
    }

    /// The socket path of a vhost-user device-info file a device plugin placed, if any.
    pub fn placed_vhost_socket(file: &Path) -> Option<PathBuf> {
        let bytes = std::fs::read(file).ok()?;
        let info: DeviceInfo = serde_json::from_slice(&bytes).ok()?;
        let path = info.vhost_user.filter(|_| info.kind == "vhost-user")?.path;
        (!path.is_empty() && Path::new(&path).is_absolute()).then(|| PathBuf::from(path))
    }

    /// Writes the file (replacing one that is there: the spec lets the CNI plugin update
    /// it), creating its directory when missing. Readable by all, as the NPWG helpers
    /// make it.
    pub fn write(&self, file: &Path) -> std::io::Result<()> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let bytes = serde_json::to_vec(self).expect("device info serializes");
        crate::store::fs::write_atomic(file, &bytes, 0o444, None)
    }
}

/// Removes the file; a missing one is fine.
pub fn remove(file: &Path) -> std::io::Result<()> {
    crate::store::fs::remove_file(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_shapes() {
        let m = DeviceInfo::memif("slave", "ethernet", Path::new("/s/m.sock"));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"memif","version":"1.1.0","memif":{"role":"slave","path":"/s/m.sock","mode":"ethernet"}}"#
        );
        let v = DeviceInfo::vhost_user("client", Path::new("/s/v"));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"type":"vhost-user","version":"1.1.0","vhost-user":{"mode":"client","path":"/s/v"}}"#
        );
    }

    #[test]
    fn write_replace_read_remove() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("devinfo/cni/default-net-cid_net1");
        DeviceInfo::vhost_user("client", Path::new("/dp/sock"))
            .write(&f)
            .unwrap();
        assert_eq!(
            DeviceInfo::placed_vhost_socket(&f),
            Some(PathBuf::from("/dp/sock"))
        );
        DeviceInfo::memif("slave", "ip", Path::new("/x"))
            .write(&f)
            .unwrap();
        assert_eq!(DeviceInfo::placed_vhost_socket(&f), None, "not vhost-user");
        remove(&f).unwrap();
        remove(&f).unwrap();
        assert!(!f.exists());
    }

    proptest! {
        #[test]
        fn round_trips(kind in "(memif|vhost-user|pci)", role in "[a-z]{1,6}", path in "/[a-z/]{0,12}", mode in "[a-z]{1,6}") {
            let mut d = if kind == "memif" { DeviceInfo::memif(&role, &mode, Path::new(&path)) } else { DeviceInfo::vhost_user(&mode, Path::new(&path)) };
            if kind == "pci" {
                d = DeviceInfo { kind, version: VERSION.into(), rest: [("pci".to_string(), serde_json::json!({"pci-address": path}))].into_iter().collect(), ..DeviceInfo::default() };
            }
            let text = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<DeviceInfo>(&text).unwrap(), d);
        }
    }
}
