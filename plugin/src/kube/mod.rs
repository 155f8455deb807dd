//! Kubernetes mode: the plugin as Multus runs it in a cluster.
//!
//! When the runtime names a pod (`K8S_POD_*` in `CNI_ARGS`, see [`args`]) and an API
//! server is configured (the netconf's `kubeconfig`, else the in-cluster service
//! account, see [`kubeconfig`]), ADD reads the pod: its `shared-dir` volume decides where
//! the sockets go ([`pod`]), and the attachment is published on the pod as the
//! `userspace/configuration-data` and `userspace/mapped-dir` annotations
//! ([`annotations`]), which the pod reads through the downward API ([`downward`]).
//! With `runtimeConfig.CNIDeviceInfoFile`, the device information goes there too
//! ([`device_info`]). Without a pod or a server nothing here runs (file mode), and no
//! client or TLS is set up.
//!
//! The API code ([`client`], [`types`], [`kubeconfig`], [`pod`]) knows nothing of CNI;
//! [`Session`] and [`KubeRecord`] are what the commands use.

pub mod annotations;
pub mod args;
pub mod client;
pub mod device_info;
pub mod downward;
pub mod kubeconfig;
pub mod pod;
pub mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use args::PodArgs;
use client::Client;
use pod::PodRef;
use types::Pod;

/// Where kubelet keeps pod volumes, unless the netconf's `kubeletDir` says otherwise.
pub const DEFAULT_KUBELET_DIR: &str = "/var/lib/kubelet";
/// Parent of the short socket directories (the original plugin's), unless the netconf's
/// `shortSocketDir` says otherwise.
pub const DEFAULT_SHORT_SOCKET_DIR: &str = "/var/lib/vhost_sockets";

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{0}")]
    Config(String),
    #[error("Kubernetes API server {server} unreachable: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("Kubernetes API server {server}: no answer within timeoutMs")]
    Timeout { server: String },
    #[error("Kubernetes API server {server}: {reason}")]
    Io { server: String, reason: String },
    #[error("Kubernetes API TLS: {0}")]
    Tls(String),
    #[error("Kubernetes API: unexpected answer: {0}")]
    BadResponse(String),
    #[error("Kubernetes API error {code} {reason}: {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    #[error("Kubernetes API refused to {verb} pod {pod} ({message}): the plugin's identity needs RBAC get and update on pods")]
    Forbidden {
        pod: String,
        verb: String,
        message: String,
    },
    #[error("pod {0} not found in the Kubernetes API")]
    PodNotFound(String),
    #[error("pod {pod} has uid {actual}, but K8S_POD_UID is {expected}: the pod was replaced")]
    UidMismatch {
        pod: String,
        expected: String,
        actual: String,
    },
    #[error("pod {pod}: {message}")]
    Annotation { pod: String, message: String },
}

impl KubeError {
    /// Errors that may go away by themselves (retrying the command makes sense).
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Unreachable { .. } | KubeError::Timeout { .. } | KubeError::Io { .. } => {
                true
            }
            KubeError::Api { code, .. } => *code == 409 || *code == 429 || *code >= 500,
            _ => false,
        }
    }
}

/// What an attachment's record keeps of its Kubernetes side, so that DEL, GC and a
/// failed ADD undo it. Written before any of it is made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeRecord {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The pod's `shared-dir` on the host, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_dir: Option<PathBuf>,
    /// A short directory bind-mounted from the pod's, for socket paths too long for
    /// `sun_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_dir: Option<PathBuf>,
    /// The socket path a device plugin dictated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_socket: Option<PathBuf>,
    /// Whether the annotation entry may exist (set before it is written).
    #[serde(default)]
    pub annotated: bool,
}

/// The API server of a netconf: its `kubeconfig`, else in-cluster, else none.
pub fn connection(kubeconfig: &str) -> Option<Result<kubeconfig::Connection, KubeError>> {
    if !kubeconfig.is_empty() {
        return Some(kubeconfig::Kubeconfig::load(Path::new(kubeconfig)));
    }
    kubeconfig::in_cluster(
        |k| std::env::var(k).ok(),
        Path::new(kubeconfig::SERVICE_ACCOUNT_DIR),
    )
}

/// A connection to the API server about one pod.
pub struct Session {
    client: Client,
    pub pod_ref: PodRef,
    /// The pod as last read or written.
    pub pod: Pod,
    /// Bound on the whole annotation update (conflict retries included).
    budget: Duration,
}

impl Session {
    /// Connects and reads the pod, when the runtime named one and a server is
    /// configured; `Ok(None)` is file mode. With `verify_uid`, a pod whose uid is not
    /// K8S_POD_UID is an error (as Multus checks).
    pub fn open(
        kubeconfig: &str,
        args: &PodArgs,
        timeout: Duration,
        verify_uid: bool,
    ) -> Result<Option<Session>, KubeError> {
        if !args.names_pod() {
            if !kubeconfig.is_empty() {
                tracing::warn!("kubeconfig set but CNI_ARGS name no pod: file mode");
            }
            return Ok(None);
        }
        let Some(conn) = connection(kubeconfig) else {
            return Ok(None);
        };
        let mut client = Client::new(conn?, timeout);
        let pod_ref = PodRef {
            namespace: args.namespace.clone(),
            name: args.name.clone(),
        };
        let pod = pod::get(&mut client, &pod_ref)?;
        if !args.uid.is_empty() && pod.metadata.uid != args.uid {
            let e = KubeError::UidMismatch {
                pod: pod_ref.to_string(),
                expected: args.uid.clone(),
                actual: pod.metadata.uid.clone(),
            };
            if verify_uid {
                return Err(e);
            }
            tracing::warn!("{e}");
        }
        Ok(Some(Session {
            client,
            pod_ref,
            pod,
            budget: timeout,
        }))
    }

    /// Connects without reading the pod (DEL and GC, from a record).
    pub fn for_record(
        kubeconfig: &str,
        rec: &KubeRecord,
        timeout: Duration,
    ) -> Result<Option<Session>, KubeError> {
        let Some(conn) = connection(kubeconfig) else {
            return Ok(None);
        };
        Ok(Some(Session {
            client: Client::new(conn?, timeout),
            pod_ref: PodRef {
                namespace: rec.namespace.clone(),
                name: rec.name.clone(),
            },
            pod: Pod::default(),
            budget: timeout,
        }))
    }

    /// The pod's shared directory on the host, if its spec names one.
    pub fn pod_dir(&self, kubelet_dir: &Path) -> Option<PathBuf> {
        pod::shared_dir(&self.pod, kubelet_dir)
    }

    /// Where the pod mounts its shared directory: the `shared-dir` mount, else the old
    /// `userspace/mappedDir` annotation, else the default.
    pub fn mapped_dir(&self) -> String {
        pod::mapped_dir(&self.pod)
            .or_else(|| {
                self.pod
                    .metadata
                    .annotations
                    .as_ref()?
                    .get(annotations::MAPPED_DIR_CAMEL)?
                    .as_str()
                    .map(String::from)
            })
            .unwrap_or_else(|| annotations::DEFAULT_MAPPED_DIR.to_string())
    }

    /// Puts this attachment's configuration-data entry on the pod.
    pub fn publish(&mut self, entry: Value) -> Result<(), KubeError> {
        let mapped = self.mapped_dir();
        let pod_name = self.pod_ref.to_string();
        let first = Some(self.pod.clone());
        self.pod =
            pod::update_annotations(&mut self.client, &self.pod_ref, first, self.budget, |a| {
                annotations::put_entry(a, entry.clone(), &mapped).map_err(|message| {
                    KubeError::Annotation {
                        pod: pod_name.clone(),
                        message,
                    }
                })
            })?;
        Ok(())
    }

    /// Takes this attachment's entry off the pod; a pod that is gone has none.
    pub fn withdraw(&mut self, container_id: &str, if_name: &str) -> Result<(), KubeError> {
        let done =
            pod::update_annotations(&mut self.client, &self.pod_ref, None, self.budget, |a| {
                Ok(annotations::take_entry(a, container_id, if_name))
            });
        match done {
            Ok(_) | Err(KubeError::PodNotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Makes `short` show `pod_dir` (a bind mount), creating `short` first.
pub fn mount_short_dir(pod_dir: &Path, short: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(short)?;
    std::fs::set_permissions(short, std::os::unix::fs::PermissionsExt::from_mode(0o750))?;
    if is_mount_of(short) {
        return Ok(());
    }
    nix::mount::mount(
        Some(pod_dir),
        short,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(std::io::Error::from)
}

/// Unmounts and removes a short directory; one that is not there is fine.
pub fn unmount_short_dir(short: &Path) -> std::io::Result<()> {
    if !short.exists() {
        return Ok(());
    }
    if is_mount_of(short) {
        match nix::mount::umount2(short, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match std::fs::remove_dir(short) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether `dir` is a mount point (its device differs from its parent's, or the mount
/// table names it).
fn is_mount_of(dir: &Path) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.display().to_string();
    table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| m == want)
}
