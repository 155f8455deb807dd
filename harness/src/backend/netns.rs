//! Pods as network + mount namespaces on this host: `ip netns` gives the pod its network
//! namespace; its processes join it (setns) and get a private mount namespace, so
//! nothing they mount leaks to the host.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Backend, ExecOutput, Mount, Pod};
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
    /// A Kubernetes pod's own root (its volumes at their mount paths).
    root: Option<Arc<Root>>,
    dir: tempfile::TempDir,
}

/// A pod's own root directory: host directories bound into it, entered with chroot(2) in
/// the pod's private mount namespace, so its volumes appear at their mount paths and
/// nothing is mounted on the host. The system directories and the workspace binaries are
/// bound at their own paths, so the pod's tools run unchanged.
struct Root {
    dir: CString,
    /// (source, target under `dir`), mounted in order.
    binds: Vec<(CString, CString)>,
}

impl Root {
    fn new(dir: &Path, mounts: &[Mount]) -> Result<Root> {
        let mut all: Vec<(PathBuf, String)> =
            ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/proc", "/dev"]
                .iter()
                .filter(|p| Path::new(p).exists())
                .map(|p| (PathBuf::from(p), p.to_string()))
                .collect();
        let bins = bins::bin_dir();
        all.push((bins.clone(), bins.display().to_string()));
        all.extend(mounts.iter().map(|m| (m.source.clone(), m.target.clone())));
        let cstr = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| Error::Check(format!("{}: NUL in path", p.display())))
        };
        let mut binds = Vec::new();
        for (source, target) in all {
            let at = dir.join(target.trim_start_matches('/'));
            if source.is_dir() {
                std::fs::create_dir_all(&at)?;
            } else {
                std::fs::create_dir_all(at.parent().unwrap_or(dir))?;
                File::create(&at)?;
            }
            binds.push((cstr(&source)?, cstr(&at)?));
        }
        for d in ["run/vpp", "tmp", "etc"] {
            std::fs::create_dir_all(dir.join(d))?;
        }
        Ok(Root {
            dir: cstr(dir)?,
            binds,
        })
    }
}

/// Makes `cmd` run in `netns` inside `root` (see [`Root`]).
fn enter_root(cmd: &mut Command, netns: &Path, root: Arc<Root>) -> Result<()> {
    enter(cmd, netns)?;
    // SAFETY: `pre_exec` is unsafe because the closure runs between fork and exec: it
    // makes only async-signal-safe calls (mount, chroot, chdir through nix, which does not
    // allocate for `CStr` paths) on C strings made before the fork; runs after `enter`'s
    // unshare, so the mounts are private to the child's mount namespace.
    unsafe {
        cmd.pre_exec(move || {
            use nix::mount::{mount, MsFlags};
            let none: Option<&CStr> = None;
            for (source, target) in &root.binds {
                let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
                mount(
                    Some(source.as_c_str()),
                    target.as_c_str(),
                    none,
                    flags,
                    none,
                )?;
            }
            nix::unistd::chroot(root.dir.as_c_str())?;
            nix::unistd::chdir(c"/")?;
            Ok(())
        });
    }
    Ok(())
}

/// Makes `cmd` run in `netns` with a private mount namespace.
fn enter(cmd: &mut Command, netns: &Path) -> Result<()> {
    let file = File::open(netns).map_err(|e| Error::Spawn(netns.display().to_string(), e))?;
    // SAFETY: `pre_exec` is unsafe because the closure runs between fork and exec: it
    // makes only async-signal-safe calls (setns, unshare, mount through nix, which does not
    // allocate for a `CStr` path); `file` outlives the spawn because the closure owns it.
    unsafe {
        cmd.pre_exec(move || {
            use nix::mount::{mount, MsFlags};
            use nix::sched::{setns, unshare, CloneFlags};
            setns(&file, CloneFlags::CLONE_NEWNET)?;
            unshare(CloneFlags::CLONE_NEWNS)?;
            let none: Option<&CStr> = None;
            let flags = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
            mount(none, c"/", none, flags, none)?;
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
        self.start(name, Some(shared_dir), &[], &[], vswitch)
    }

    fn create_pod_mounted(
        &mut self,
        name: &str,
        mounts: &[Mount],
        env: &[(String, String)],
        vswitch: bool,
    ) -> Result<Box<dyn Pod>> {
        self.start(name, None, mounts, env, vswitch)
    }

    fn leftovers(&self) -> Vec<String> {
        self.made
            .iter()
            .filter(|n| PathBuf::from("/var/run/netns").join(n).exists())
            .map(|n| format!("netns {n}"))
            .collect()
    }
}

impl NetnsBackend {
    /// A pod seeing the host's files (`shared_dir` given), or with its own root holding
    /// `mounts` (Kubernetes pods).
    fn start(
        &mut self,
        name: &str,
        shared_dir: Option<&Path>,
        mounts: &[Mount],
        extra_env: &[(String, String)],
        vswitch: bool,
    ) -> Result<Box<dyn Pod>> {
        let ns_name = format!(
            "usrsp-{}-{}",
            self.run_id,
            name.replace('_', "-").to_lowercase()
        );
        let netns = Netns::create(&ns_name)?;
        self.made.push(ns_name);
        let dir = tempfile::Builder::new().prefix("usrsp-pod").tempdir()?;
        let (root, api, pod_api) = match shared_dir {
            Some(_) => {
                let api = dir.path().join("run/vpp/api.sock");
                (None, api.clone(), api)
            }
            None => {
                let root_dir = dir.path().join("root");
                let root = Root::new(&root_dir, mounts)?;
                (
                    Some(Arc::new(root)),
                    root_dir.join("run/vpp/api.sock"),
                    PathBuf::from("/run/vpp/api.sock"),
                )
            }
        };
        let mut env = vec![("VPP_API_SOCKET".to_string(), pod_api.display().to_string())];
        if let Some(shared) = shared_dir {
            env.push(("USRSP_SHARED_DIR".to_string(), shared.display().to_string()));
        }
        env.extend(extra_env.iter().cloned());
        let mut pod = NetnsPod {
            name: name.into(),
            netns,
            env,
            vswitch: None,
            root,
            dir,
        };
        if vswitch {
            let bin = bins::binary("mock-vpp", "mock-vpp")?;
            let mut cmd = Command::new(bin);
            cmd.arg("--api-socket")
                .arg(&pod_api)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(pod.dir.path().join("mock-vpp.log"))?);
            pod.enter(&mut cmd)?;
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
}

impl NetnsPod {
    fn enter(&self, cmd: &mut Command) -> Result<()> {
        match &self.root {
            Some(root) => enter_root(cmd, &self.netns.path(), root.clone()),
            None => enter(cmd, &self.netns.path()),
        }
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
        self.enter(&mut cmd)?;
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
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
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
