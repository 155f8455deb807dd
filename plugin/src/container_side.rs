//! The container side: run inside the pod with the shared directory mounted, it finds the
//! configuration data the plugin wrote, builds its end of the interface on the pod's own
//! vswitch through the same engines the plugin uses, and removes the data it consumed.
//!
//! Everything read from the data is checked first: the socket must be a plain file name,
//! so the interface can only ever be built on a socket inside the shared directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use engines::{Attachment, ContainerSide, InterfaceSpec, MemifMode, MemifRole, VhostMode};

use crate::cni::CniResult;
use crate::store::config_data::ContainerConfigData;
use crate::store::fs;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no configuration data (configData-*.json) in {0}")]
    NoData(PathBuf),
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: socket {socket:?} is not a file name inside the shared directory")]
    OutsideSharedDir { path: PathBuf, socket: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: ERROR: {key:?} missing from pod annotation")]
    AnnotationMissing { path: PathBuf, key: &'static str },
    #[error("{path}: {key}: Invalid formatted JSON data: {reason}")]
    AnnotationMalformed {
        path: PathBuf,
        key: &'static str,
        reason: String,
    },
    #[error("{path}: no entry for interface {if_name} in the pod annotation")]
    NoEntry { path: PathBuf, if_name: String },
    #[error("{path}: {source}")]
    Engine {
        path: PathBuf,
        #[source]
        source: engines::Error,
    },
}

/// One attachment built by the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub data_file: PathBuf,
    pub if_name: String,
    pub engine: String,
    pub socket: PathBuf,
    pub addresses: Vec<String>,
    pub mac: String,
}

/// The configuration data files in `shared_dir`, optionally only those for `if_name`.
pub fn find_data(shared_dir: &Path, if_name: Option<&str>) -> Result<Vec<PathBuf>, AppError> {
    let io = |source| AppError::Io {
        path: shared_dir.to_path_buf(),
        source,
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(shared_dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("configData-")
                && name.ends_with(".json")
                && if_name.is_none_or(|i| name.ends_with(&format!("-{i}.json")))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(AppError::NoData(shared_dir.to_path_buf()));
    }
    Ok(found)
}

/// Reads and checks one data file, and turns it into what the engine builds.
pub fn container_side(
    shared_dir: &Path,
    path: &Path,
    api_socket: Option<&Path>,
) -> Result<(ContainerConfigData, ContainerSide), AppError> {
    let malformed = |reason: String| AppError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let data = ContainerConfigData::read(path)
        .map_err(|e| malformed(e.to_string()))?
        .ok_or_else(|| AppError::NoData(shared_dir.to_path_buf()))?;
    side_of(shared_dir, path, data, api_socket)
}

/// Checks one attachment's data (read from `path`) and turns it into what the engine
/// builds, its socket inside `shared_dir`.
pub fn side_of(
    shared_dir: &Path,
    path: &Path,
    data: ContainerConfigData,
    api_socket: Option<&Path>,
) -> Result<(ContainerConfigData, ContainerSide), AppError> {
    let malformed = |reason: String| AppError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let c = &data.config;
    let socket_name = match c.iftype.as_str() {
        "memif" => &c.memif.socketfile,
        "vhostuser" => &c.vhost.socketfile,
        other => return Err(malformed(format!("unknown iftype {other:?}"))),
    };
    let plain = !socket_name.is_empty()
        && socket_name != "."
        && socket_name != ".."
        && !socket_name.contains(['/', '\0']);
    if !plain {
        return Err(AppError::OutsideSharedDir {
            path: path.to_path_buf(),
            socket: socket_name.clone(),
        });
    }
    let socket_path = shared_dir.join(socket_name);
    let interface = match c.iftype.as_str() {
        "memif" => InterfaceSpec::Memif {
            role: match c.memif.role.as_str() {
                "master" => MemifRole::Master,
                "slave" | "" => MemifRole::Slave,
                other => return Err(malformed(format!("unknown memif role {other:?}"))),
            },
            mode: match c.memif.mode.as_str() {
                "ethernet" | "" => MemifMode::Ethernet,
                "ip" => MemifMode::Ip,
                "inject-punt" => MemifMode::InjectPunt,
                other => return Err(malformed(format!("unknown memif mode {other:?}"))),
            },
            socket_path,
        },
        _ => InterfaceSpec::VhostUser {
            mode: match c.vhost.mode.as_str() {
                "server" => VhostMode::Server,
                "client" | "" => VhostMode::Client,
                other => return Err(malformed(format!("unknown vhost mode {other:?}"))),
            },
            socket_path,
            group: None,
        },
    };
    let ips = CniResult::from_json(&data.ip_result).map_err(malformed)?;
    let api_socket = match api_socket {
        Some(p) => Some(p.to_path_buf()),
        None if !c.api_socket.is_empty() => Some(PathBuf::from(&c.api_socket)),
        None => None,
    };
    let side = ContainerSide {
        api_socket,
        interface,
        mac: (!data.mac.is_empty()).then(|| data.mac.clone()),
        addresses: ips.ips.iter().map(|ip| ip.address.clone()).collect(),
    };
    Ok((data, side))
}

/// Describes every attachment found in `shared_dir` without building or consuming
/// anything: one line per attachment (for people, and for scenario checks).
pub fn list(shared_dir: &Path, if_name: Option<&str>) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for path in find_data(shared_dir, if_name)? {
        let (data, side) = container_side(shared_dir, &path, None)?;
        let socket = match &side.interface {
            InterfaceSpec::Memif { socket_path, .. }
            | InterfaceSpec::VhostUser { socket_path, .. } => socket_path.clone(),
        };
        let present = if socket.exists() { "present" } else { "absent" };
        let c = &data.config;
        out.push(format!(
            "{} engine={} iftype={} socket={} ({present}) addresses={} mac={}",
            data.if_name,
            c.engine,
            c.iftype,
            socket.display(),
            side.addresses.join(","),
            data.mac
        ));
    }
    Ok(out)
}

/// Builds every attachment found in `shared_dir` (or only `if_name`'s), removing each
/// data file once its interface exists.
pub fn run(
    shared_dir: &Path,
    if_name: Option<&str>,
    api_socket: Option<&Path>,
    timeout: Duration,
    keep_data: bool,
) -> Result<Vec<Built>, AppError> {
    let mut sides = Vec::new();
    for path in find_data(shared_dir, if_name)? {
        let (data, side) = container_side(shared_dir, &path, api_socket)?;
        sides.push((path, data, side));
    }
    build_all(sides, timeout, !keep_data)
}

/// The attachments of the pod's downward-API annotations (or only `if_name`'s), sockets
/// mapped through `userspace/mapped-dir` (else `shared_dir`), waiting up to `wait` for
/// kubelet to project them.
pub fn sides_from_annotations(
    file: &Path,
    shared_dir: &Path,
    if_name: Option<&str>,
    api_socket: Option<&Path>,
    wait: Duration,
) -> Result<Vec<(ContainerConfigData, ContainerSide)>, AppError> {
    let every = Duration::from_millis(200);
    let (dir, entries) = downward::wait_for_entries(file, shared_dir, if_name, wait, every)?;
    entries
        .into_iter()
        .map(|data| side_of(&dir, file, data, api_socket))
        .collect()
}

/// Builds every attachment of the pod's downward-API annotations (see
/// [`sides_from_annotations`]).
pub fn run_from_annotations(
    file: &Path,
    shared_dir: &Path,
    if_name: Option<&str>,
    api_socket: Option<&Path>,
    timeout: Duration,
    wait: Duration,
) -> Result<Vec<Built>, AppError> {
    let sides = sides_from_annotations(file, shared_dir, if_name, api_socket, wait)?
        .into_iter()
        .map(|(data, side)| (file.to_path_buf(), data, side))
        .collect();
    build_all(sides, timeout, false)
}

fn build_all(
    sides: Vec<(PathBuf, ContainerConfigData, ContainerSide)>,
    timeout: Duration,
    consume: bool,
) -> Result<Vec<Built>, AppError> {
    let mut built = Vec::new();
    for (path, data, side) in sides {
        let engine_error = |source| AppError::Engine {
            path: path.clone(),
            source,
        };
        let engine = engines::by_name(&data.config.engine, timeout).map_err(engine_error)?;
        let who = Attachment {
            container_id: data.container_id.clone(),
            if_name: data.if_name.clone(),
        };
        let record = engine.add_container(&side, &who).map_err(engine_error)?;
        let socket = match &side.interface {
            InterfaceSpec::Memif { socket_path, .. }
            | InterfaceSpec::VhostUser { socket_path, .. } => socket_path.clone(),
        };
        let done = Built {
            data_file: path.clone(),
            if_name: data.if_name.clone(),
            engine: data.config.engine.clone(),
            socket,
            addresses: side.addresses.clone(),
            mac: record.mac.unwrap_or_default(),
        };
        tracing::info!(
            "{}: {} interface on {} with {:?}, mac {}",
            done.if_name,
            done.engine,
            done.socket.display(),
            done.addresses,
            done.mac
        );
        if consume {
            fs::remove_file(&path).map_err(|source| AppError::Io {
                path: path.clone(),
                source,
            })?;
        }
        built.push(done);
    }
    Ok(built)
}

#[path = "container_downward.rs"]
pub mod downward;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netconf::UserSpaceConf;
    use rstest::rstest;
    use serde_json::json;

    fn write(dir: &Path, name: &str, socketfile: &str, iftype: &str) -> PathBuf {
        let mut config = UserSpaceConf {
            engine: "vpp".into(),
            iftype: iftype.into(),
            net_type: "interface".into(),
            ..UserSpaceConf::default()
        };
        config.memif.role = "slave".into();
        config.memif.socketfile = socketfile.into();
        config.vhost.socketfile = socketfile.into();
        let data = ContainerConfigData {
            container_id: "0123456789abcdef".into(),
            if_name: "net1".into(),
            name: "memif-network".into(),
            config,
            ip_result: json!({"cniVersion": "1.0.0", "ips": [{"address": "192.168.210.2/24", "interface": 0}]}),
            mac: "02:00:00:00:00:07".into(),
        };
        let path = dir.join(name);
        data.write(&path, None).unwrap();
        path
    }

    #[test]
    fn memif_data_becomes_a_slave_on_the_shared_socket() {
        let t = tempfile::tempdir().unwrap();
        let p = write(
            t.path(),
            "configData-0123456789ab-net1.json",
            "memif-0123456789ab-net1.sock",
            "memif",
        );
        assert_eq!(find_data(t.path(), None).unwrap(), vec![p.clone()]);
        assert_eq!(find_data(t.path(), Some("net1")).unwrap(), vec![p.clone()]);
        assert!(find_data(t.path(), Some("net2")).is_err());
        let (_, side) = container_side(t.path(), &p, None).unwrap();
        assert_eq!(
            side.interface,
            InterfaceSpec::Memif {
                role: MemifRole::Slave,
                mode: MemifMode::Ethernet,
                socket_path: t.path().join("memif-0123456789ab-net1.sock"),
            }
        );
        assert_eq!(side.addresses, vec!["192.168.210.2/24".to_string()]);
        assert_eq!(side.mac.as_deref(), Some("02:00:00:00:00:07"));
    }

    #[rstest]
    #[case("../../run/vpp/api.sock")]
    #[case("/etc/passwd")]
    #[case("..")]
    #[case("")]
    fn sockets_outside_the_shared_dir_are_refused(#[case] socket: &str) {
        let t = tempfile::tempdir().unwrap();
        let p = write(t.path(), "configData-x-net1.json", socket, "memif");
        let err = container_side(t.path(), &p, None).unwrap_err();
        assert!(matches!(err, AppError::OutsideSharedDir { .. }), "{err}");
    }

    #[test]
    fn missing_and_malformed_data_are_reported() {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(
            find_data(t.path(), None),
            Err(AppError::NoData(_))
        ));
        let p = t.path().join("configData-x-net1.json");
        std::fs::write(&p, b"{not json").unwrap();
        assert!(matches!(
            container_side(t.path(), &p, None),
            Err(AppError::Malformed { .. })
        ));
        let q = write(t.path(), "configData-y-net1.json", "s.sock", "tap");
        let err = container_side(t.path(), &q, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: unknown iftype \"tap\"", q.display())
        );
    }
}
