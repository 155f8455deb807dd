//! An OVSDB server for tests and scenarios: mock-ovsdb (a process of the workspace's
//! binary), or the real ovsdb-server + ovs-vswitchd (DPDK build) started by
//! `ci/start-ovs.sh` through [`mock_ovsdb::real`] (the one place tests start a real OVS).
//! Stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{bins, Error, Result};

pub enum OvsServer {
    Mock {
        child: Child,
        socket: PathBuf,
    },
    Real {
        ovs: mock_ovsdb::real::RealOvs,
        socket: PathBuf,
    },
}

impl OvsServer {
    /// mock-ovsdb serving `dir/db.sock` (vhost-user sockets in `dir`).
    pub fn mock(dir: &Path) -> Result<OvsServer> {
        OvsServer::mock_with(dir, &[])
    }

    /// mock-ovsdb with extra arguments (e.g. `--fault fail:transact:5`).
    pub fn mock_with(dir: &Path, args: &[&str]) -> Result<OvsServer> {
        std::fs::create_dir_all(dir)?;
        let socket = dir.join("db.sock");
        let child = Command::new(bins::binary("mock-ovsdb", "mock-ovsdb")?)
            .arg("--socket")
            .arg(&socket)
            .args(["--log-level", "error"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| Error::Spawn("mock-ovsdb".into(), e))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err(Error::Timeout("mock-ovsdb to listen".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(OvsServer::Mock { child, socket })
    }

    /// Real OVS (DPDK build) rooted in `dir` (keep it short: socket paths are bounded),
    /// its ovs-vswitchd in a network namespace of its own: userspace datapaths in one
    /// namespace clash (each makes the tap `ovs-netdev`), so this one works whatever
    /// other OVS runs on the machine.
    pub fn real(dir: &Path) -> Result<OvsServer> {
        let ovs = mock_ovsdb::real::RealOvs::start(dir)
            .map_err(|e| Error::Command("ci/start-ovs.sh".into(), e.to_string()))?;
        let socket = ovs.socket();
        Ok(OvsServer::Real { ovs, socket })
    }

    pub fn socket(&self) -> &Path {
        match self {
            OvsServer::Mock { socket, .. } | OvsServer::Real { socket, .. } => socket,
        }
    }

    /// Runs `ovs-vsctl` against this server and returns its stdout.
    pub fn vsctl(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("ovs-vsctl")
            .arg(format!("--db=unix:{}", self.socket().display()))
            .arg("--timeout=20")
            .args(args)
            .output()
            .map_err(|e| Error::Spawn("ovs-vsctl".into(), e))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for OvsServer {
    fn drop(&mut self) {
        // A real OVS stops when its `RealOvs` drops.
        if let OvsServer::Mock { child, .. } = self {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = child.wait();
        }
    }
}
