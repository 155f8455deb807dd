//! The test bed of the harness's tests that exec the plugin as a runtime would: a private
//! directory (short, under /tmp: socket paths are bounded) with mock-vpp serving in it,
//! the demo's directory layout ([`DemoDirs`]), a `bin/` for stand-in IPAM plugins ahead
//! of the real ones on `CNI_PATH`, and a file standing in for the pod's netns (the plugin
//! only checks that it exists). Everything goes with the [`Bed`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::demo::{leftovers, netconf, DemoDirs};
use crate::mock_vpp::MockVpp;
use crate::plugin::PluginCall;
use crate::vpp_state::VppState;
use crate::{bins, Result};

/// See the module doc.
pub struct Bed {
    /// Removed on drop, after mock-vpp has stopped.
    pub root: tempfile::TempDir,
    pub dirs: DemoDirs,
    pub mock: MockVpp,
    pub netns: PathBuf,
    /// The `userspace` binary.
    pub plugin: PathBuf,
}

impl Bed {
    /// A bed with a well-behaved mock-vpp.
    pub fn new() -> Result<Bed> {
        Bed::with_faults(&[])
    }

    /// A bed whose mock-vpp misbehaves as `faults` say (`--fault` rules).
    pub fn with_faults(faults: &[&str]) -> Result<Bed> {
        let root = tempfile::Builder::new()
            .prefix("usrsp-bed")
            .tempdir_in("/tmp")?;
        let dirs = DemoDirs::under(root.path());
        std::fs::create_dir_all(dirs.api_socket.parent().expect("socket dir"))?;
        std::fs::create_dir_all(root.path().join("bin"))?;
        let args: Vec<&str> = faults.iter().flat_map(|f| ["--fault", f]).collect();
        let mock = MockVpp::start_with(&dirs.api_socket, &args)?;
        let netns = root.path().join("netns");
        std::fs::write(&netns, b"")?;
        Ok(Bed {
            plugin: bins::binary("userspace-cni", "userspace")?,
            root,
            dirs,
            mock,
            netns,
        })
    }

    /// The demo's netconf for this bed, with host-local IPAM.
    pub fn conf(&self, cni_version: &str) -> Value {
        netconf(&self.dirs, cni_version, true)
    }

    /// How to call the plugin for attachment `id`/`if_name`.
    pub fn call(&self, id: &str, if_name: &str) -> PluginCall {
        PluginCall::new(
            &self.plugin,
            &bins::cni_path(&[&self.root.path().join("bin")]),
            id,
            &self.netns.display().to_string(),
            if_name,
        )
    }

    /// What mock-vpp holds now.
    pub fn state(&self) -> VppState {
        VppState::read(self.mock.socket()).expect("mock-vpp state")
    }

    /// Files left under the shared, data and IPAM directories.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        leftovers(&[&self.dirs.shared, &self.dirs.data, &self.dirs.ipam])
    }

    /// Asserts that the host holds nothing: no vswitch objects, no files.
    pub fn assert_clean(&self, what: &str) {
        let s = self.state();
        assert!(s.is_pristine(), "{what}: left on the vswitch: {s:?}");
        let left = self.leftovers();
        assert!(left.is_empty(), "{what}: left on disk: {left:?}");
    }

    /// Installs a stand-in IPAM plugin (a shell script) named `name`.
    pub fn ipam_script(&self, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.root.path().join("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write IPAM script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod IPAM script");
    }

    /// mock-vpp crashes (its state goes with it, its socket file stays) and a fresh one
    /// starts on the same socket.
    pub fn restart_vpp(self) -> Result<Bed> {
        let Bed {
            root,
            dirs,
            mock,
            netns,
            plugin,
        } = self;
        drop(mock);
        let _ = std::fs::remove_file(&dirs.api_socket);
        let mock = MockVpp::start(&dirs.api_socket)?;
        Ok(Bed {
            root,
            dirs,
            mock,
            netns,
            plugin,
        })
    }
}

/// Runs `call` and kills it (SIGKILL) once `until` says so (checked every 10 ms, for at
/// most 10 s); false when the plugin had ended by itself before that.
pub fn run_killed(
    call: &PluginCall,
    command: &str,
    conf: &Value,
    mut until: impl FnMut() -> bool,
) -> bool {
    let mut child = call.spawn(command, conf, false).expect("spawn plugin");
    for _ in 0..1000 {
        if until() || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let ended = child.try_wait().ok().flatten().is_some();
    let _ = child.kill();
    let _ = child.wait();
    !ended
}

/// A `run_killed` condition: `path` exists.
pub fn exists(path: &Path) -> impl FnMut() -> bool + '_ {
    move || path.exists()
}
