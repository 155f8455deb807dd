//! The commands' side of Kubernetes mode and device info: what ADD asks of the pod
//! before planning, what it publishes, and what a teardown takes back. The API and file
//! formats are in [`crate::kube`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::cni::{CniError, ErrorCode};
use crate::error::{Error, Result};
use crate::kube::device_info::{self, DeviceInfo};
use crate::kube::{annotations, KubeRecord, PodArgs, Session};
use crate::netconf::NetConf;
use crate::plan::{Plan, PodDirs};
use crate::store::config_data::ContainerConfigData;

/// Kubernetes mode of one ADD: the pod read, and the directories it decides.
pub struct PodAdd {
    pub session: Session,
    pub record: KubeRecord,
    pub dirs: Option<PodDirs>,
}

fn dir_setting(value: &str, default: &str) -> PathBuf {
    PathBuf::from(if value.is_empty() { default } else { value })
}

/// The pod named by CNI_ARGS (read with libcni's rules), its shared directory and the
/// socket a device plugin placed; `None` in file mode.
pub fn open_for_add(conf: &NetConf, pairs: &[(String, String)]) -> Result<Option<PodAdd>> {
    let mut args = PodArgs::from_pairs(pairs, true)
        .map_err(|m| Error::Cni(CniError::new("", ErrorCode::InvalidEnvironment, m)))?;
    args.fill_from_netconf(conf.args.as_ref());
    let timeout = crate::plan::timeout(conf)?;
    let Some(session) = Session::open(&conf.kubeconfig, &args, timeout, true)? else {
        return Ok(None);
    };
    let kubelet = dir_setting(&conf.kubelet_dir, crate::kube::DEFAULT_KUBELET_DIR);
    let placed_socket = device_info_file(conf)
        .filter(|_| conf.host.iftype == "vhostuser")
        .and_then(|f| DeviceInfo::placed_vhost_socket(&f));
    let pod_dir = session.pod_dir(&kubelet);
    let dirs = match (&pod_dir, &placed_socket) {
        (None, None) => None,
        (Some(d), _) => Some(PodDirs {
            shared_dir: d.clone(),
            short_dir: (!session.pod.metadata.uid.is_empty()).then(|| {
                dir_setting(
                    &conf.short_socket_dir,
                    crate::kube::DEFAULT_SHORT_SOCKET_DIR,
                )
                .join(&session.pod.metadata.uid)
            }),
            placed_socket: placed_socket.clone(),
        }),
        (None, Some(p)) => Some(PodDirs {
            shared_dir: p.parent().unwrap_or(Path::new("/")).to_path_buf(),
            short_dir: None,
            placed_socket: placed_socket.clone(),
        }),
    };
    let record = KubeRecord {
        namespace: session.pod_ref.namespace.clone(),
        name: session.pod_ref.name.clone(),
        uid: session.pod.metadata.uid.clone(),
        pod_dir,
        short_dir: None,
        placed_socket,
        annotated: false,
    };
    Ok(Some(PodAdd {
        session,
        record,
        dirs,
    }))
}

/// The plan of an attachment: the pod's directories when its record has them.
pub fn plan(conf: &NetConf, who: &engines::Attachment, kube: Option<&KubeRecord>) -> Result<Plan> {
    let dirs = kube.and_then(|k| {
        let shared = k.pod_dir.clone().or_else(|| {
            k.placed_socket
                .as_ref()
                .and_then(|p| p.parent().map(Path::to_path_buf))
        })?;
        Some(PodDirs {
            shared_dir: shared,
            short_dir: k.short_dir.clone(),
            placed_socket: k.placed_socket.clone(),
        })
    });
    Ok(match dirs {
        Some(d) => Plan::for_pod(conf, who, &d)?,
        None => Plan::new(conf, who)?,
    })
}

/// `runtimeConfig.CNIDeviceInfoFile`, when the runtime passed one.
pub fn device_info_file(conf: &NetConf) -> Option<PathBuf> {
    let rc = conf.runtime_config.as_ref()?.as_object()?;
    let v = rc
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("CNIDeviceInfoFile"))?
        .1
        .as_str()?;
    (!v.is_empty() && Path::new(v).is_absolute()).then(|| PathBuf::from(v))
}

/// Writes the device-info file of the plan (the container side's mode or role), naming
/// the socket as the pod sees it (`seen_at`) when that differs from the node's path.
pub fn write_device_info(plan: &Plan, file: &Path, seen_at: Option<&Path>) -> Result<()> {
    let c = &plan.container;
    let path = seen_at.map_or_else(|| plan.socket_path(), Path::to_path_buf);
    let info = if c.iftype == "memif" {
        DeviceInfo::memif(&c.memif.role, &c.memif.mode, &path)
    } else {
        DeviceInfo::vhost_user(&c.vhost.mode, &path)
    };
    info.write(file).map_err(Error::io("device info", file))
}

/// The configuration-data entry of the annotation.
pub fn entry(data: &ContainerConfigData) -> Value {
    let mut v = serde_json::to_value(data).expect("config data serializes");
    v["ipResult"] = annotations::with_ip_versions(v["ipResult"].take());
    v
}

/// Takes back the Kubernetes side of a teardown: the annotation entry (best effort: a
/// pod that is gone or a server that is away must not keep DEL from finishing) and the
/// device-info file.
pub fn release(
    kubeconfig: &str,
    kube: Option<&KubeRecord>,
    device_info: Option<&Path>,
    who: &engines::Attachment,
    timeout: Duration,
) -> Result<()> {
    if let Some(k) = kube.filter(|k| k.annotated) {
        match Session::for_record(kubeconfig, k, timeout) {
            Ok(Some(mut s)) => {
                if let Err(e) = s.withdraw(&who.container_id, &who.if_name) {
                    tracing::warn!(
                        "pod {}/{}: annotation entry not removed: {e}",
                        k.namespace,
                        k.name
                    );
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("annotation entry not removed: {e}"),
        }
    }
    if let Some(f) = device_info {
        device_info::remove(f).map_err(Error::io("device info delete", f))?;
    }
    Ok(())
}

/// Unmounts and removes the short socket directory of a record.
pub fn release_short_dir(kube: Option<&KubeRecord>) -> Result<()> {
    if let Some(short) = kube.and_then(|k| k.short_dir.as_ref()) {
        crate::kube::unmount_short_dir(short)
            .map_err(Error::io("short socket directory", short))?;
    }
    Ok(())
}

/// Makes the short socket directory (after the record names it).
pub fn make_short_dir(plan: &Plan) -> Result<()> {
    if let Some(short) = &plan.short_dir {
        crate::kube::mount_short_dir(&plan.shared_dir, short)
            .map_err(Error::io("short socket directory", short))?;
    }
    Ok(())
}
