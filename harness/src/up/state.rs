//! The journal of `harness up`: where it lives, what it holds, one `up` or `down` of a
//! scenario at a time.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::demo::DemoDirs;
use crate::{Error, Result};

/// Where the state of scenarios that are up lives: `$USRSP_HARNESS_STATE_DIR`, else
/// `/run/userspace-cni/harness` as root, else a per-user directory under
/// `$XDG_RUNTIME_DIR` or the temporary directory.
pub fn state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("USRSP_HARNESS_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if is_root() {
        return PathBuf::from("/run/userspace-cni/harness");
    }
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    // SAFETY: getuid has no memory effects.
    base.join(format!("userspace-cni-harness-{}", unsafe {
        libc::getuid()
    }))
}

/// Whether the harness runs as root (the netns backend needs it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no memory effects.
    unsafe { libc::geteuid() == 0 }
}

/// One pod as `down` needs it: the DEL to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodRecord {
    pub name: String,
    pub container_id: String,
    pub netns: String,
    pub ifname: String,
    pub netconf: Value,
    /// ADD succeeded and no DEL since.
    pub attached: bool,
    /// netns: the pod vswitch's API socket, in the pod's directory (`<dir>/run/vpp/`).
    #[serde(default)]
    pub pod_api_socket: Option<PathBuf>,
}

/// What is up, journaled as it is made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub scenario: String,
    pub backend: String,
    /// Labels every container of this `up`.
    pub run_id: String,
    /// `starting`, then `up` once every step before the first DEL passed.
    pub phase: String,
    pub api_socket: PathBuf,
    pub cli_socket: PathBuf,
    pub mock_vpp_pid: Option<u32>,
    pub plugin: PathBuf,
    pub cni_path: String,
    pub pods: Vec<PodRecord>,
    pub ips: BTreeMap<String, String>,
}

/// A scenario's state directory: `state.json`, the host mock-vpp's sockets and log, and
/// the plugin's shared, data and IPAM directories.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

impl StateDir {
    pub fn of(scenario: &str) -> StateDir {
        StateDir {
            dir: state_root().join(scenario),
        }
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn dirs(&self) -> DemoDirs {
        DemoDirs::under(&self.dir)
    }

    pub fn cli_socket(&self) -> PathBuf {
        self.dir.join("run/vpp/cli.sock")
    }

    pub fn load(&self) -> Result<Option<State>> {
        match std::fs::read(self.file()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Check(format!("{}: {e}", self.file().display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Written to a temporary file and renamed: a crash leaves the old or the new.
    pub fn save(&self, state: &State) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(".state.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(state).expect("state serializes"),
        )?;
        std::fs::rename(&tmp, self.file())?;
        Ok(())
    }

    /// Holds the scenario's lock (one `up` or `down` at a time) until dropped.
    pub fn lock(&self) -> Result<File> {
        let root = self.dir.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(root)?;
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        let file = File::create(root.join(format!(".{name}.lock")))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(file)
    }
}

/// Every scenario with a state directory, by name.
pub fn all_up() -> Vec<(StateDir, State)> {
    let Ok(entries) = std::fs::read_dir(state_root()) else {
        return Vec::new();
    };
    let mut out: Vec<(StateDir, State)> = entries
        .flatten()
        .map(|e| StateDir { dir: e.path() })
        .filter_map(|s| s.load().ok().flatten().map(|st| (s, st)))
        .collect();
    out.sort_by(|a, b| a.1.scenario.cmp(&b.1.scenario));
    out
}
