//! Where pods live: one `Backend` per kind of sandbox, picked by name.
//!
//! A pod is a network namespace the plugin attaches to (CNI_NETNS), the pod's shared
//! directory, and processes inside: the pod's own mock-vpp (its vswitch) and whatever
//! the scenario execs (`usrsp-app`, `vppctl`). Inside a pod the tools find their vswitch
//! and shared directory through `VPP_API_SOCKET` and `USRSP_SHARED_DIR`, so scenario
//! commands are the same on every backend.

pub mod docker;
pub mod netns;

use std::path::Path;

use crate::Result;

/// What a command run in a pod printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub success: bool,
    pub output: String,
}

/// One running pod.
pub trait Pod {
    fn name(&self) -> &str;
    /// The path the plugin gets as CNI_NETNS.
    fn netns(&self) -> String;
    /// Runs `argv` inside the pod and waits for it.
    fn exec(&mut self, argv: &[String]) -> Result<ExecOutput>;
    /// Stops the pod's processes and removes everything the backend made for it.
    fn remove(self: Box<Self>) -> Result<()>;
    /// The pod vswitch's API socket as the host reaches it, when it does (netns: a file
    /// in the pod's directory, `<dir>/run/vpp/api.sock`); `harness up` prints it and
    /// `harness down` stops that vswitch and removes the directory.
    fn host_api_socket(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// A host directory shown inside a pod (a Kubernetes volume and its mount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: std::path::PathBuf,
    /// The path inside the pod.
    pub target: String,
    /// Mounts made on the host under `source` later also appear in the pod (kubelet's
    /// HostToContainer propagation; the source must be on a shared mount).
    pub from_host: bool,
}

/// A kind of sandbox.
pub trait Backend {
    fn name(&self) -> &'static str;
    /// For backend-specific extras (the docker backend builds images).
    fn as_any(&self) -> &dyn std::any::Any;
    /// Starts a pod whose shared directory is `shared_dir` on the host.
    fn create_pod(&mut self, name: &str, shared_dir: &Path, vswitch: bool) -> Result<Box<dyn Pod>>;
    /// Starts a pod that sees `mounts` (host directories at paths of its own) and has
    /// `env` besides `VPP_API_SOCKET`: a Kubernetes pod's volumes.
    fn create_pod_mounted(
        &mut self,
        name: &str,
        mounts: &[Mount],
        env: &[(String, String)],
        vswitch: bool,
    ) -> Result<Box<dyn Pod>>;
    /// What the backend made that still exists (for the final leak check).
    fn leftovers(&self) -> Vec<String>;
}

/// Backend names, for `--backend`.
pub const NAMES: &[&str] = &["docker", "netns"];

/// The backend called `name`, or (`None`) docker when an engine answers, else netns.
pub fn pick(name: Option<&str>, run_id: &str) -> Result<Box<dyn Backend>> {
    match name {
        Some("docker") => Ok(Box::new(docker::DockerBackend::connect(run_id).map_err(
            |e| crate::Error::Check(format!("the docker backend needs a Docker engine: {e}")),
        )?)),
        Some("netns") => {
            needs_root()?;
            Ok(Box::new(netns::NetnsBackend::new(run_id)))
        }
        Some(other) => Err(crate::Error::Check(format!(
            "unknown backend {other:?} (known: {})",
            NAMES.join(", ")
        ))),
        None => match docker::DockerBackend::connect(run_id) {
            Ok(d) => Ok(Box::new(d)),
            Err(e) => {
                needs_root().map_err(|r| {
                    crate::Error::Check(format!("no Docker engine answers ({e}), and {r}"))
                })?;
                eprintln!("docker engine not available ({e}); using the netns backend");
                Ok(Box::new(netns::NetnsBackend::new(run_id)))
            }
        },
    }
}

/// The netns backend makes network namespaces (`ip netns add`) and enters them: root.
fn needs_root() -> crate::Result<()> {
    if crate::up::is_root() {
        Ok(())
    } else {
        Err(crate::Error::Check(
            "the netns backend needs root (it creates network namespaces): run as root, \
             or use --backend docker with a Docker engine"
                .into(),
        ))
    }
}
