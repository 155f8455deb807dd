//! An OVSDB server for tests and scenarios: mock-ovsdb (a process of the workspace's
//! binary), or the real ovsdb-server + ovs-vswitchd (DPDK build) started by
//! `ci/start-ovs.sh`. Stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{bins, Error, Result};

pub enum OvsServer {
    Mock { child: Child, socket: PathBuf },
    Real { dir: PathBuf, socket: PathBuf },
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/start-ovs.sh")
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
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = Command::new(script())
            .args(["--netns", &format!("usrsp-ovs{}-{n}", std::process::id())])
            .arg(dir)
            .output()
            .map_err(|e| Error::Spawn("ci/start-ovs.sh".into(), e))?;
        if !out.status.success() {
            return Err(Error::Command(
                "ci/start-ovs.sh (run ci/install-deps.sh for openvswitch-switch-dpdk)".into(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(OvsServer::Real {
            dir: dir.to_path_buf(),
            socket: dir.join("db.sock"),
        })
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
        match self {
            OvsServer::Mock { child, .. } => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
                let _ = child.wait();
            }
            OvsServer::Real { dir, .. } => {
                let _ = Command::new(script()).arg("--stop").arg(&*dir).output();
            }
        }
    }
}
