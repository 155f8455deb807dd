//! The pod image, built locally (no registry): `FROM scratch` with the workspace's own
//! statically linked binaries — mock-vpp (the pod's vswitch), vppctl and usrsp-app.

use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;

use crate::backend::docker::DockerBackend;
use crate::{Error, Result};

pub const POD_IMAGE: &str = "userspace-cni-pod:dev";
/// musl: static by default, and its start-up does no CPUID-based cache probing, which
/// costs glibc about half a millisecond per exec in a virtual machine (where each CPUID
/// traps to the hypervisor); the plugin is exec'd once per pod and command.
pub const TARGET: &str = "x86_64-unknown-linux-musl";
/// The binaries the pod image carries: (package, binary).
pub const POD_BINARIES: &[(&str, &str)] = &[
    ("mock-vpp", "mock-vpp"),
    ("mock-vpp", "vppctl"),
    ("userspace-cni", "usrsp-app"),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binaries built statically: the pod's, and the plugin itself, which is how it is
/// installed on a node (no dependence on the node's libc, and a faster exec: no dynamic
/// loader).
pub const STATIC_BINARIES: &[(&str, &str)] = &[
    ("mock-vpp", "mock-vpp"),
    ("mock-vpp", "vppctl"),
    ("userspace-cni", "usrsp-app"),
    ("userspace-cni", "userspace"),
    ("usrsp-install", "usrsp-install"),
];

/// The DaemonSet's image (`deploy/10-daemonset.yaml`): the installer and the plugin.
pub const INSTALL_IMAGE: &str = "userspace-cni-install:dev";

/// Builds [`STATIC_BINARIES`] statically linked (musl) into `target/static/`, and returns
/// their directory. Needs the target's standard library (`rustup target add
/// x86_64-unknown-linux-musl`, done by `ci/install-deps.sh`).
pub fn static_binaries() -> Result<PathBuf> {
    let root = workspace();
    let target_dir = root.join("target/static");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir);
    for (package, bin) in STATIC_BINARIES {
        cmd.args(["-p", package, "--bin", bin]);
    }
    let status = cmd
        .status()
        .map_err(|e| Error::Spawn("cargo build (static)".into(), e))?;
    if !status.success() {
        return Err(Error::Command(
            "cargo build (static)".into(),
            status.to_string(),
        ));
    }
    Ok(target_dir.join(TARGET).join("release"))
}

/// The build context: a Dockerfile and the binaries, as a tar archive.
fn context(bin_dir: &Path) -> Result<Vec<u8>> {
    let dockerfile = "FROM scratch\n\
        COPY mock-vpp vppctl usrsp-app /bin/\n\
        ENV VPP_API_SOCKET=/run/vpp/api.sock USRSP_SHARED_DIR=/var/lib/cni/usrspcni\n\
        CMD [\"/bin/mock-vpp\", \"--api-socket\", \"/run/vpp/api.sock\", \"--cli-socket\", \"/run/vpp/cli.sock\"]\n";
    let bins: Vec<&str> = POD_BINARIES.iter().map(|(_, b)| *b).collect();
    context_of(dockerfile, bin_dir, &bins)
}

/// The installer image's context: `/usrsp-install`, and the plugin in `/usrsp`.
fn install_context(bin_dir: &Path) -> Result<Vec<u8>> {
    let dockerfile = "FROM scratch\n\
        COPY usrsp-install /usrsp-install\n\
        COPY userspace /usrsp/userspace\n\
        CMD [\"/usrsp-install\", \"--sleep\"]\n";
    context_of(dockerfile, bin_dir, &["usrsp-install", "userspace"])
}

fn context_of(dockerfile: &str, bin_dir: &Path, bins: &[&str]) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    // Docker cannot read GNU sparse entries, and a fresh linker output may have holes.
    tar.sparse(false);
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())?;
    for bin in bins {
        tar.append_path_with_name(bin_dir.join(bin), bin)?;
    }
    Ok(tar.into_inner()?)
}

static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds the static binaries and the pod image (one build at a time per process).
pub fn build(docker: &DockerBackend) -> Result<()> {
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let bin_dir = static_binaries()?;
    build_image(docker, POD_IMAGE, context(&bin_dir)?)
}

/// Builds the static binaries and the DaemonSet's image, [`INSTALL_IMAGE`].
pub fn build_install(docker: &DockerBackend) -> Result<()> {
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let bin_dir = static_binaries()?;
    build_image(docker, INSTALL_IMAGE, install_context(&bin_dir)?)
}

fn build_image(docker: &DockerBackend, tag: &str, body: Vec<u8>) -> Result<()> {
    let opts = BuildImageOptionsBuilder::new()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .build();
    docker.block_on(async {
        let mut stream =
            docker
                .docker()
                .build_image(opts, None, Some(bollard::body_full(body.into())));
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| Error::Command("docker build".into(), e.to_string()))?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(Error::Command("docker build".into(), err));
            }
        }
        Ok(())
    })
}

/// Whether the pod image exists already.
pub fn present(docker: &DockerBackend) -> bool {
    docker
        .block_on(docker.docker().inspect_image(POD_IMAGE))
        .is_ok()
}
