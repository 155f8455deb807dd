//! From a netconf and an attachment to exactly what will be built: the host side for the
//! engine, the container's configuration, and every path involved.
//!
//! All validation happens here, before anything is touched, so a bad netconf never leaves
//! anything behind. Messages keep the original plugin's wording where it had one.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use engines::{
    Attachment, BridgeSpec, HostSide, InterfaceSpec, MemifMode, MemifRole, Network, VhostMode,
};

use crate::cni::env::short_id;
use crate::netconf::{NetConf, UserSpaceConf};

/// Engines the netconf may name (whether or not this build includes them).
pub const KNOWN_ENGINES: &[&str] = &["vpp", "ovs-dpdk"];
/// Where the data DEL needs is kept, unless `dataDir` says otherwise.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/usrspcni/data";
/// Longest unix socket path (sun_path holds 108 bytes with the terminating NUL).
pub const MAX_SOCKET_PATH: usize = 107;
/// Highest VPP bridge-domain id (L2_BD_ID_MAX).
pub const MAX_BRIDGE_DOMAIN: i64 = 16_777_215;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The OVS bridge used when none is named, as in the original.
pub const DEFAULT_OVS_BRIDGE: &str = "br0";

/// A netconf that cannot be applied; the text is the CNI error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// Everything one ADD/DEL/CHECK works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub attachment: Attachment,
    pub host_engine: String,
    pub host: HostSide,
    /// The container side's configuration, as handed to the container.
    pub container: UserSpaceConf,
    /// The per-container directory holding the socket and the configuration data (in
    /// Kubernetes mode, the pod's `shared-dir` on the host).
    pub shared_dir: PathBuf,
    /// Where the vswitch finds the socket: `shared_dir`, or its short alias
    /// (`short_dir`), or the directory a device plugin chose.
    pub socket_dir: PathBuf,
    /// A short directory bind-mounted from `shared_dir`, when the socket path would not
    /// fit a unix socket address.
    pub short_dir: Option<PathBuf>,
    /// The socket file name inside `shared_dir`.
    pub socket_file: String,
    pub config_data_path: PathBuf,
    pub data_dir: PathBuf,
    /// Group that must be able to use the shared directory and socket (vhost `group`).
    pub group: Option<String>,
    pub timeout: Duration,
}

/// Kubernetes mode: the directories the pod decides (see [`crate::kube`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodDirs {
    /// The pod's `shared-dir` volume on the host.
    pub shared_dir: PathBuf,
    /// The short alias to use when a socket path in `shared_dir` is too long.
    pub short_dir: Option<PathBuf>,
    /// A socket path a device plugin dictated (its device-info file).
    pub placed_socket: Option<PathBuf>,
}

/// Settings that do not depend on the attachment (for GC and STATUS).
pub fn data_dir(conf: &NetConf) -> Result<PathBuf, Invalid> {
    if conf.data_dir.is_empty() {
        return Ok(PathBuf::from(DEFAULT_DATA_DIR));
    }
    absolute_clean(&conf.data_dir, "dataDir")
}

pub fn timeout(conf: &NetConf) -> Result<Duration, Invalid> {
    match conf.timeout_ms {
        None => Ok(DEFAULT_TIMEOUT),
        Some(0) => Err(invalid("ERROR: Invalid timeoutMs:0 (must be positive)")),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

/// The host engine's name, checked.
pub fn host_engine(conf: &NetConf) -> Result<&str, Invalid> {
    let e = conf.host.engine.as_str();
    if KNOWN_ENGINES.contains(&e) {
        Ok(e)
    } else {
        Err(invalid(format!("ERROR: Unknown Host Engine:{e}")))
    }
}

/// The host side's API socket, when the netconf sets one.
pub fn api_socket(side: &UserSpaceConf, which: &str) -> Result<Option<PathBuf>, Invalid> {
    if side.api_socket.is_empty() {
        return Ok(None);
    }
    absolute_clean(&side.api_socket, &format!("{which}.apiSocket")).map(Some)
}

impl Plan {
    pub fn new(conf: &NetConf, who: &Attachment) -> Result<Plan, Invalid> {
        Plan::build(conf, who, None)
    }

    /// The plan of a pod whose spec decides the directories (Kubernetes mode).
    pub fn for_pod(conf: &NetConf, who: &Attachment, dirs: &PodDirs) -> Result<Plan, Invalid> {
        Plan::build(conf, who, Some(dirs))
    }

    fn build(conf: &NetConf, who: &Attachment, pod: Option<&PodDirs>) -> Result<Plan, Invalid> {
        let host_engine = host_engine(conf)?.to_string();
        let container_engine = if conf.container.engine.is_empty() {
            host_engine.clone()
        } else {
            conf.container.engine.clone()
        };
        if !KNOWN_ENGINES.contains(&container_engine.as_str()) {
            return Err(invalid(format!(
                "ERROR: Unknown Container Engine:{container_engine}"
            )));
        }
        let iftype = conf.host.iftype.as_str();
        if iftype != "memif" && iftype != "vhostuser" {
            return Err(invalid(format!("ERROR: Unknown HostConf.IfType:{iftype}")));
        }
        if !conf.container.iftype.is_empty() && conf.container.iftype != iftype {
            return Err(invalid(format!(
                "ERROR: ContainerConf.IfType:{} does not match HostConf.IfType:{iftype}",
                conf.container.iftype
            )));
        }
        if host_engine == "ovs-dpdk" && iftype != "vhostuser" {
            return Err(invalid(format!(
                "ERROR: Unknown HostConf.IfType:{iftype} (ovs-dpdk supports vhostuser)"
            )));
        }
        let network = network(&conf.host, &host_engine)?;
        if !conf.container.net_type.is_empty()
            && !matches!(
                conf.container.net_type.as_str(),
                "bridge" | "interface" | "none"
            )
        {
            return Err(invalid(format!(
                "ERROR: Unknown ContainerConf.NetType:{}",
                conf.container.net_type
            )));
        }
        let id12 = short_id(&who.container_id);
        let shared_dir = match pod {
            Some(p) => absolute_clean(&p.shared_dir.display().to_string(), "shared-dir volume")?,
            None => shared_dir(conf, &host_engine, id12)?,
        };
        let mut short_dir = None;
        // Where the socket named `name` goes.
        let place = |name: &str| -> Result<PathBuf, Invalid> {
            if let Some(placed) = pod.and_then(|p| p.placed_socket.as_ref()) {
                return checked_socket_path(
                    placed.parent().unwrap_or(Path::new("/")),
                    &placed.file_name().unwrap_or_default().to_string_lossy(),
                );
            }
            let long = shared_dir.join(name);
            match pod.and_then(|p| p.short_dir.as_ref()) {
                Some(short) if long.as_os_str().len() > MAX_SOCKET_PATH => {
                    checked_socket_path(short, name)
                }
                _ => checked_socket_path(&shared_dir, name),
            }
        };
        let mut container = conf.container.clone();
        container.engine = container_engine;
        container.iftype = iftype.to_string();
        if container.net_type.is_empty() {
            container.net_type = "interface".into();
        }
        let api_socket = api_socket(&conf.host, "host")?;
        api_socket_of_container(&conf.container)?;
        let (interface, socket_file, group) = if iftype == "memif" {
            memif(conf, who, &place, &mut container)?
        } else {
            vhost(conf, who, &place, &mut container)?
        };
        let socket_path = match &interface {
            InterfaceSpec::Memif { socket_path, .. } => socket_path,
            InterfaceSpec::VhostUser { socket_path, .. } => socket_path,
        };
        let socket_dir = socket_path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let socket_file = socket_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(socket_file);
        if let Some(short) = pod.and_then(|p| p.short_dir.as_ref()) {
            if *short == socket_dir {
                short_dir = Some(short.clone());
            }
        }
        let config_data_path = shared_dir.join(format!("configData-{id12}-{}.json", who.if_name));
        Ok(Plan {
            attachment: who.clone(),
            host_engine,
            host: HostSide {
                api_socket,
                interface,
                network,
            },
            container,
            socket_file,
            config_data_path,
            shared_dir,
            socket_dir,
            short_dir,
            data_dir: data_dir(conf)?,
            group,
            timeout: timeout(conf)?,
        })
    }

    pub fn socket_path(&self) -> PathBuf {
        self.socket_dir.join(&self.socket_file)
    }
}

fn api_socket_of_container(side: &UserSpaceConf) -> Result<(), Invalid> {
    api_socket(side, "container").map(|_| ())
}

fn network(host: &UserSpaceConf, engine: &str) -> Result<Network, Invalid> {
    let b = &host.bridge;
    let vlan = match b.vlan_id {
        0 => None,
        v @ 1..=4094 => Some(v as u16),
        v => return Err(invalid(format!("ERROR: Invalid vlanId:{v} (1 to 4094)"))),
    };
    match host.net_type.as_str() {
        // The original's OVS engine puts the port on the bridge whatever netType says.
        "" if engine == "ovs-dpdk" => ovs_bridge(b, vlan),
        "" => Err(invalid("ERROR: NetType must be provided")),
        "interface" | "none" if engine == "ovs-dpdk" => Err(invalid(format!(
            "ERROR: HostConf.NetType {:?} not supported. (ovs-dpdk: an OVS port needs a bridge)",
            host.net_type
        ))),
        "interface" | "none" => Ok(Network::Interface),
        "bridge" if engine == "vpp" => {
            let id = if !b.bridge_name.is_empty() {
                match b.bridge_name.parse::<i64>() {
                    Ok(id) if b.bridge_name.bytes().all(|c| c.is_ascii_digit()) => id,
                    _ => {
                        return Err(invalid(format!(
                            "ERROR: Invalid bridgeName:{} (a VPP bridge domain is named by its decimal id)",
                            b.bridge_name
                        )))
                    }
                }
            } else if b.bridge_id != 0 {
                b.bridge_id
            } else {
                return Err(invalid(
                    "ERROR: bridgeName or bridgeId must be provided for netType bridge",
                ));
            };
            if !(1..=MAX_BRIDGE_DOMAIN).contains(&id) {
                return Err(invalid(format!(
                    "ERROR: Invalid bridge domain id:{id} (1 to {MAX_BRIDGE_DOMAIN})"
                )));
            }
            Ok(Network::Bridge(BridgeSpec {
                name: id.to_string(),
                vlan,
            }))
        }
        "bridge" => ovs_bridge(b, vlan),
        other => Err(invalid(format!("ERROR: Unknown HostConf.NetType:{other}"))),
    }
}

/// The OVS bridge of a netconf: `bridgeName`, else `br0`.
fn ovs_bridge(b: &crate::netconf::BridgeConf, vlan: Option<u16>) -> Result<Network, Invalid> {
    let name = if b.bridge_name.is_empty() {
        DEFAULT_OVS_BRIDGE.to_string()
    } else {
        b.bridge_name.clone()
    };
    let ok = name.len() <= 15
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && name != "."
        && name != "..";
    if !ok {
        return Err(invalid(format!(
            "ERROR: Invalid bridgeName:{name} (up to 15 letters, digits, '_', '-', '.')"
        )));
    }
    Ok(Network::Bridge(BridgeSpec { name, vlan }))
}

/// `<sharedDir>/<id12>/`, else the host engine's standard directory.
fn shared_dir(conf: &NetConf, engine: &str, id12: &str) -> Result<PathBuf, Invalid> {
    let base = if !conf.shared_dir.is_empty() {
        absolute_clean(&conf.shared_dir, "sharedDir")?
    } else {
        PathBuf::from(match engine {
            "vpp" => "/var/run/vpp",
            "ovs-dpdk" => "/usr/local/var/run/openvswitch",
            _ => "/var/lib/cni/usrspcni",
        })
    };
    Ok(base.join(id12))
}

/// An absolute path with no `..`, `.` or NUL, as given (no symlink resolution).
fn absolute_clean(text: &str, what: &str) -> Result<PathBuf, Invalid> {
    let path = Path::new(text);
    let ok = path.is_absolute()
        && !text.contains('\0')
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !ok {
        return Err(invalid(format!(
            "ERROR: Invalid {what}:{text} (an absolute path without . or .. components)"
        )));
    }
    Ok(path.components().collect())
}

/// A socket file name: one path component.
fn socket_file_name(text: &str) -> Result<(), Invalid> {
    let ok = !text.is_empty()
        && text.len() <= 255
        && text != "."
        && text != ".."
        && !text.contains(['/', '\0']);
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "ERROR: Invalid socketfile:{text} (a file name, not a path)"
        )))
    }
}

/// The socket name both sides use: the host's, else the container's, else generated.
fn shared_socket_name(host: &str, container: &str, generated: String) -> Result<String, Invalid> {
    for name in [host, container] {
        if !name.is_empty() {
            socket_file_name(name)?;
        }
    }
    match (host.is_empty(), container.is_empty()) {
        (false, false) if host != container => Err(invalid(format!(
            "ERROR: host socketfile:{host} and container socketfile:{container} differ (both ends use one socket)"
        ))),
        (false, _) => Ok(host.to_string()),
        (true, false) => Ok(container.to_string()),
        (true, true) => Ok(generated),
    }
}

/// An interface name as it may go into a name the vswitch sees: VPP's own clients read
/// VPP's strings as ASCII, so every byte outside ASCII, and `%` itself (which keeps the
/// encoding one-to-one), is written `%XX`.
pub fn ascii_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().all(|b| b.is_ascii() && b != b'%') {
        return name.into();
    }
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii() && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.into()
}

fn checked_socket_path(dir: &Path, name: &str) -> Result<PathBuf, Invalid> {
    let path = dir.join(name);
    if !path.as_os_str().is_ascii() {
        return Err(invalid(format!(
            "ERROR: socket path {} is not ASCII (the vswitch's clients read its names as ASCII)",
            path.display()
        )));
    }
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(invalid(format!(
            "ERROR: socket path {} is {len} bytes; a unix socket path holds at most {MAX_SOCKET_PATH}",
            path.display()
        )));
    }
    Ok(path)
}

type SideParts = (InterfaceSpec, String, Option<String>);

fn memif(
    conf: &NetConf,
    who: &Attachment,
    place: &dyn Fn(&str) -> Result<PathBuf, Invalid>,
    container: &mut UserSpaceConf,
) -> Result<SideParts, Invalid> {
    let role = |text: &str| match text {
        "master" => Ok(MemifRole::Master),
        "slave" => Ok(MemifRole::Slave),
        other => Err(invalid(format!("ERROR: Invalid MEMIF Role:{other}"))),
    };
    let mode = |text: &str| match text {
        "" | "ethernet" => Ok(MemifMode::Ethernet),
        "ip" => Ok(MemifMode::Ip),
        "inject-punt" => Ok(MemifMode::InjectPunt),
        other => Err(invalid(format!("ERROR: Invalid MEMIF Mode:{other}"))),
    };
    let host = &conf.host.memif;
    let host_role = if host.role.is_empty() {
        MemifRole::Master
    } else {
        role(&host.role)?
    };
    let host_mode = mode(&host.mode)?;
    let cm = &mut container.memif;
    if cm.role.is_empty() {
        cm.role = match host_role {
            MemifRole::Master => "slave".into(),
            MemifRole::Slave => "master".into(),
        };
    } else if role(&cm.role)? == host_role {
        return Err(invalid(format!(
            "ERROR: Invalid MEMIF Role:{} (host and container cannot both be {})",
            cm.role, cm.role
        )));
    }
    if cm.mode.is_empty() {
        cm.mode = mode_name(host_mode).into();
    } else if mode(&cm.mode)? != host_mode {
        return Err(invalid(format!(
            "ERROR: Invalid MEMIF Mode:{} (the host side is {})",
            cm.mode,
            mode_name(host_mode)
        )));
    }
    let generated = format!(
        "memif-{}-{}.sock",
        short_id(&who.container_id),
        ascii_name(&who.if_name)
    );
    let name = shared_socket_name(&host.socketfile, &cm.socketfile, generated)?;
    cm.socketfile = name.clone();
    let socket_path = place(&name)?;
    Ok((
        InterfaceSpec::Memif {
            role: host_role,
            mode: host_mode,
            socket_path,
        },
        name,
        None,
    ))
}

fn mode_name(m: MemifMode) -> &'static str {
    match m {
        MemifMode::Ethernet => "ethernet",
        MemifMode::Ip => "ip",
        MemifMode::InjectPunt => "inject-punt",
    }
}

fn vhost(
    conf: &NetConf,
    who: &Attachment,
    place: &dyn Fn(&str) -> Result<PathBuf, Invalid>,
    container: &mut UserSpaceConf,
) -> Result<SideParts, Invalid> {
    let mode = |text: &str| match text {
        "client" => Ok(VhostMode::Client),
        "server" => Ok(VhostMode::Server),
        other => Err(invalid(format!("ERROR: Invalid Vhost Mode:{other}"))),
    };
    let host = &conf.host.vhost;
    let host_mode = if host.mode.is_empty() {
        VhostMode::Server
    } else {
        mode(&host.mode)?
    };
    let cv = &mut container.vhost;
    if cv.mode.is_empty() {
        cv.mode = match host_mode {
            VhostMode::Client => "server".into(),
            VhostMode::Server => "client".into(),
        };
    } else if mode(&cv.mode)? == host_mode {
        return Err(invalid(format!(
            "ERROR: Invalid Vhost Mode:{} (host and container cannot both be {})",
            cv.mode, cv.mode
        )));
    }
    let group = (!host.group.is_empty()).then(|| host.group.clone());
    if let Some(g) = &group {
        let ok = g.len() <= 32
            && g.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
        if !ok {
            // The original's lookup said so for any name it could not find.
            return Err(invalid(format!(
                "group: unknown group {g} (not a valid group name)"
            )));
        }
    }
    // The OVS port takes this name, and OVS's port names are host-wide: for a container
    // id under 12 characters `<id>-<ifname>` would be ambiguous ((`a-b`, `c`) and (`a`,
    // `b-c`)), and a container id has no `@`.
    let id12 = short_id(&who.container_id);
    let ifname = ascii_name(&who.if_name);
    let generated = if id12.len() < 12 {
        format!("{id12}@{ifname}")
    } else {
        format!("{id12}-{ifname}")
    };
    let name = shared_socket_name(&host.socketfile, &cv.socketfile, generated)?;
    cv.socketfile = name.clone();
    let socket_path = place(&name)?;
    Ok((
        InterfaceSpec::VhostUser {
            mode: host_mode,
            socket_path,
            group: group.clone(),
        },
        name,
        group,
    ))
}

#[cfg(test)]
mod tests;
