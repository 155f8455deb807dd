//! Pods as network + mount namespaces on this host: `ip netns` gives the pod its network
//! namespace; its processes join it (setns) and get a private mount namespace, so
//! nothing they mount leaks to the host.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Backend, ExecOutput, Pod};
use crate::netns::Netns;
use crate::{bins, Error, Result};

pub struct NetnsBackend {
    run_id: String,
    made: Vec<String>,
}

impl NetnsBackend {
    pub fn new(run_id: &str) -> NetnsBackend {
        NetnsBackend {
            run_id: run_id.into(),
            made: Vec::new(),
        }
    }
}

struct NetnsPod {
    name: String,
    netns: Netns,
    env: Vec<(String, String)>,
    vswitch: Option<Child>,
    dir: tempfile::TempDir,
}

/// Makes `cmd` run in `netns` with a private mount namespace.
fn enter(cmd: &mut Command, netns: &Path) -> Result<()> {
    let file = File::open(netns).map_err(|e| Error::Spawn(netns.display().to_string(), e))?;
    let fd = file.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setns, unshare, mount) between fork and exec;
    // `file` outlives the spawn because the closure owns it.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &file;
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 || libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let root = c"/";
            let flags = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

impl Backend for NetnsBackend {
    fn name(&self) -> &'static str {
        "netns"
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn create_pod(&mut self, name: &str, shared_dir: &Path, vswitch: bool) -> Result<Box<dyn Pod>> {
        let ns_name = format!(
            "usrsp-{}-{}",
            self.run_id,
            name.replace('_', "-").to_lowercase()
        );
        let netns = Netns::create(&ns_name)?;
        self.made.push(ns_name);
        let dir = tempfile::Builder::new().prefix("usrsp-pod").tempdir()?;
        let api = dir.path().join("run/vpp/api.sock");
        let env = vec![
            ("VPP_API_SOCKET".to_string(), api.display().to_string()),
            (
                "USRSP_SHARED_DIR".to_string(),
                shared_dir.display().to_string(),
            ),
        ];
        let mut pod = NetnsPod {
            name: name.into(),
            netns,
            env,
            vswitch: None,
            dir,
        };
        if vswitch {
            let bin = bins::binary("mock-vpp", "mock-vpp")?;
            let mut cmd = Command::new(bin);
            cmd.arg("--api-socket")
                .arg(&api)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(pod.dir.path().join("mock-vpp.log"))?);
            enter(&mut cmd, &pod.netns.path())?;
            let child = cmd
                .spawn()
                .map_err(|e| Error::Spawn("mock-vpp".into(), e))?;
            pod.vswitch = Some(child);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !api.exists() {
                if Instant::now() > deadline {
                    return Err(Error::Timeout(format!("{name}: mock-vpp to listen")));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Ok(Box::new(pod))
    }

    fn leftovers(&self) -> Vec<String> {
        self.made
            .iter()
            .filter(|n| PathBuf::from("/var/run/netns").join(n).exists())
            .map(|n| format!("netns {n}"))
            .collect()
    }
}

/// Pod tools are the workspace's own binaries.
fn tool(name: &str) -> Result<PathBuf> {
    match name {
        "vppctl" => bins::binary("mock-vpp", "vppctl"),
        "mock-vpp" => bins::binary("mock-vpp", "mock-vpp"),
        "usrsp-app" => bins::binary("userspace-cni", "usrsp-app"),
        other => Ok(PathBuf::from(other)),
    }
}

impl Pod for NetnsPod {
    fn name(&self) -> &str {
        &self.name
    }

    fn netns(&self) -> String {
        self.netns.path().display().to_string()
    }

    fn host_api_socket(&self) -> Option<PathBuf> {
        self.vswitch
            .as_ref()
            .map(|_| self.dir.path().join("run/vpp/api.sock"))
    }

    fn exec(&mut self, argv: &[String]) -> Result<ExecOutput> {
        let (first, rest) = argv
            .split_first()
            .ok_or_else(|| Error::Check("empty command".into()))?;
        let mut cmd = Command::new(tool(first)?);
        cmd.args(rest)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null());
        enter(&mut cmd, &self.netns.path())?;
        let out = cmd.output().map_err(|e| Error::Spawn(first.clone(), e))?;
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(ExecOutput {
            success: out.status.success(),
            output,
        })
    }

    fn remove(mut self: Box<Self>) -> Result<()> {
        if let Some(mut child) = self.vswitch.take() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        drop(self.netns);
        Ok(())
    }
}
