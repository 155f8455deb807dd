//! The real OVS this mock stands in for, for the tests that need it or compare against
//! it: Debian's ovsdb-server, and unless `db_only` the DPDK ovs-vswitchd, started by
//! `ci/start-ovs.sh` in a private directory and stopped on drop. Every test of the
//! workspace that starts a real OVS does it through here.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// `ci/start-ovs.sh` of this workspace.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/start-ovs.sh")
}

/// Real OVS daemons rooted in a directory; stopped on drop.
pub struct RealOvs {
    dir: PathBuf,
}

impl RealOvs {
    /// ovsdb-server and ovs-vswitchd rooted in `dir` (keep it short: unix socket paths
    /// are limited to 107 bytes). ovs-vswitchd runs in a network namespace of its own:
    /// userspace datapaths in one namespace clash (each makes the tap `ovs-netdev`), so
    /// this one works whatever other OVS runs on the machine.
    pub fn start(dir: &Path) -> io::Result<RealOvs> {
        static N: AtomicU32 = AtomicU32::new(0);
        let ns = format!(
            "usrsp-ovs{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        RealOvs::run(dir, &["--netns", &ns])
    }

    /// ovsdb-server alone (then `ovs-vsctl` needs `--no-wait`).
    pub fn db_only(dir: &Path) -> io::Result<RealOvs> {
        RealOvs::run(dir, &["--db-only"])
    }

    fn run(dir: &Path, args: &[&str]) -> io::Result<RealOvs> {
        let out = Command::new(script()).args(args).arg(dir).output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "ci/start-ovs.sh failed (is Open vSwitch installed? ci/install-deps.sh installs \
                 Debian openvswitch-switch and openvswitch-switch-dpdk): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(RealOvs {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory everything lives in (database, sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }
}

impl Drop for RealOvs {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("--stop").arg(&self.dir).output();
    }
}
