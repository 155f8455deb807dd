//! Delegation to the IPAM plugin named by `ipam.type`, as the CNI spec describes it: the
//! plugin found in `CNI_PATH` is executed with the same environment and the same netconf
//! on stdin, for ADD, DEL, CHECK, and (when it speaks CNI 1.1) GC and STATUS.
//!
//! Many IPAM plugins in the field (e.g. Debian's host-local) stop at CNI 1.0.0. When one
//! refuses the netconf's version (code 1), its VERSION answer is asked for and the call is
//! repeated once at the highest version both speak; results are converted back.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::time::Instant;

use engines::Attachment;
use serde_json::Value;

use crate::cni::{CniError, CniResult, Command, Version};

#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("IPAM plugin {name:?} is not a plain plugin name")]
    BadName { name: String },
    #[error("IPAM plugin {name:?} not found in CNI_PATH {path:?}")]
    NotFound { name: String, path: Vec<PathBuf> },
    #[error("IPAM plugin {name}: cannot execute: {source}")]
    Exec {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// The plugin answered with a CNI error.
    #[error("IPAM plugin {name}: {error}")]
    Plugin { name: String, error: CniError },
    #[error("IPAM plugin {name}: {reason}")]
    BadOutput { name: String, reason: String },
    /// It did not answer within the operation's `timeoutMs` (it was killed).
    #[error("IPAM plugin {name} did not answer in time (timeoutMs); it was stopped")]
    TimedOut { name: String },
}

/// One IPAM plugin, resolved in `CNI_PATH`.
#[derive(Debug, Clone)]
pub struct Ipam {
    name: String,
    bin: PathBuf,
    /// Variables set on top of the inherited environment.
    env: Vec<(&'static str, String)>,
    /// When set, a call still running then is stopped (SIGKILL) and fails.
    deadline: Option<Instant>,
}

impl Ipam {
    pub fn find(name: &str, cni_path: &[PathBuf]) -> Result<Ipam, IpamError> {
        if name.is_empty() || name.contains(['/', '\0']) || name == "." || name == ".." {
            return Err(IpamError::BadName { name: name.into() });
        }
        cni_path
            .iter()
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .map(|bin| Ipam {
                name: name.to_string(),
                bin,
                env: vec![(
                    "CNI_PATH",
                    std::env::join_paths(cni_path)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                )],
                deadline: None,
            })
            .ok_or_else(|| IpamError::NotFound {
                name: name.into(),
                path: cni_path.to_vec(),
            })
    }

    /// Acts for `who` whatever the current command's environment says (GC removes
    /// attachments other than the one in `CNI_CONTAINERID`).
    pub fn for_attachment(mut self, who: &Attachment) -> Ipam {
        self.env.push(("CNI_CONTAINERID", who.container_id.clone()));
        self.env.push(("CNI_IFNAME", who.if_name.clone()));
        self
    }

    /// Bounds every later call by `deadline`.
    pub fn until(mut self, deadline: Instant) -> Ipam {
        self.deadline = Some(deadline);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// ADD: the allocation, as a result.
    pub fn add(&self, netconf: &[u8], version: Version) -> Result<CniResult, IpamError> {
        let out = self.call_with_fallback(Command::Add, netconf, version)?;
        let value: Value = serde_json::from_slice(&out).map_err(|e| self.bad(e.to_string()))?;
        CniResult::from_json(&value).map_err(|r| self.bad(r))
    }

    pub fn del(&self, netconf: &[u8], version: Version) -> Result<(), IpamError> {
        self.call_with_fallback(Command::Del, netconf, version)
            .map(drop)
    }

    pub fn check(&self, netconf: &[u8], version: Version) -> Result<(), IpamError> {
        self.call_with_fallback(Command::Check, netconf, version)
            .map(drop)
    }

    /// GC or STATUS, sent only when the plugin speaks CNI 1.1 (older plugins do not know
    /// these commands and would misread them).
    pub fn call_if_1_1(&self, command: Command, netconf: &[u8]) -> Result<bool, IpamError> {
        if !self.supported()?.contains(&Version::V1_1_0) {
            return Ok(false);
        }
        self.call(command, netconf)?;
        Ok(true)
    }

    fn bad(&self, reason: String) -> IpamError {
        IpamError::BadOutput {
            name: self.name.clone(),
            reason,
        }
    }

    fn call_with_fallback(
        &self,
        command: Command,
        netconf: &[u8],
        version: Version,
    ) -> Result<Vec<u8>, IpamError> {
        match self.call(command, netconf) {
            Err(IpamError::Plugin { error, .. }) if error.code == 1 => {
                let theirs = self.supported()?;
                let Some(common) = theirs.into_iter().filter(|v| *v <= version).max() else {
                    return Err(IpamError::Plugin {
                        name: self.name.clone(),
                        error,
                    });
                };
                tracing::info!(
                    "IPAM plugin {} does not speak {version}; using {common}",
                    self.name
                );
                let stdin = with_version(netconf, common).map_err(|r| self.bad(r))?;
                self.call(command, &stdin)
            }
            other => other,
        }
    }

    /// The versions the plugin reports (`VERSION`).
    fn supported(&self) -> Result<Vec<Version>, IpamError> {
        let out = self.call(Command::Version, br#"{"cniVersion":"1.1.0"}"#)?;
        let value: Value = serde_json::from_slice(&out).map_err(|e| self.bad(e.to_string()))?;
        let list = value
            .get("supportedVersions")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad("VERSION answer has no supportedVersions".into()))?;
        Ok(list
            .iter()
            .filter_map(Value::as_str)
            .filter_map(Version::parse)
            .collect())
    }

    fn call(&self, command: Command, stdin: &[u8]) -> Result<Vec<u8>, IpamError> {
        let verb = match command {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Gc => "GC",
            Command::Status => "STATUS",
        };
        tracing::debug!("exec {} ({verb})", self.bin.display());
        let exec = |source| IpamError::Exec {
            name: self.name.clone(),
            source,
        };
        let mut process = Process::new(&self.bin);
        let parent = nix::unistd::getpid();
        // SAFETY: runs in the forked child before exec, and only makes system calls
        // (prctl, getppid), which are async-signal-safe; it touches no memory shared with
        // the parent.
        unsafe {
            process.pre_exec(move || die_with(parent));
        }
        let mut child = process
            .env("CNI_COMMAND", verb)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(exec)?;
        let mut pipe = child.stdin.take().expect("stdin piped");
        // A plugin may exit without reading stdin; a broken pipe is then not our error.
        let _ = pipe.write_all(stdin);
        drop(pipe);
        let out = match self.deadline {
            None => child.wait_with_output().map_err(exec)?,
            Some(deadline) => self.wait_until(child, deadline)?.map_err(exec)?,
        };
        if out.status.success() {
            return Ok(out.stdout);
        }
        let error = serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| {
                Some(CniError {
                    cni_version: String::new(),
                    code: u32::try_from(v.get("code")?.as_u64()?).ok()?,
                    msg: v.get("msg")?.as_str()?.to_string(),
                    details: v
                        .get("details")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .unwrap_or_else(|| CniError {
                cni_version: String::new(),
                code: 999,
                msg: format!(
                    "failed ({}) without a CNI error: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout).trim()
                ),
                details: String::new(),
            });
        Err(IpamError::Plugin {
            name: self.name.clone(),
            error,
        })
    }
}

impl Ipam {
    /// Waits for `child` until `deadline`; then stops it (SIGKILL) and fails. The wait is
    /// on a thread of its own, so that an answer is taken the moment it comes.
    fn wait_until(
        &self,
        child: std::process::Child,
        deadline: Instant,
    ) -> Result<std::io::Result<std::process::Output>, IpamError> {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(out) => Ok(out),
            Err(_) => {
                // Not reaped yet (the waiting thread has not returned): still our child.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                // Reaped by the waiting thread, unless a grandchild still holds its stdout
                // open: then that thread is left behind (the plugin is about to exit).
                let _ = rx.recv_timeout(std::time::Duration::from_millis(100));
                Err(IpamError::TimedOut {
                    name: self.name.clone(),
                })
            }
        }
    }
}

/// Makes the IPAM child die (SIGKILL) when the plugin does: a runtime that times the
/// plugin out kills it, and an orphaned IPAM ADD would then allocate after the runtime's
/// DEL has released, with nothing left to remember the address. The kernel signals the
/// child as the plugin exits, before the runtime can see it gone and run DEL. (The signal
/// comes when the thread that spawned the child ends: every IPAM call waits for its child
/// on the thread that spawned it.)
fn die_with(parent: nix::unistd::Pid) -> std::io::Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    // The plugin may have died before the line above.
    if nix::unistd::getppid() != parent {
        return Err(std::io::Error::other("the plugin is gone"));
    }
    Ok(())
}

/// The netconf with `cniVersion` (top level and in `prevResult`) set to `v`.
fn with_version(netconf: &[u8], v: Version) -> Result<Vec<u8>, String> {
    let mut value: Value = serde_json::from_slice(netconf).map_err(|e| e.to_string())?;
    let obj = value.as_object_mut().ok_or("netconf is not an object")?;
    obj.insert("cniVersion".into(), Value::String(v.to_string()));
    if let Some(prev) = obj.get_mut("prevResult").and_then(Value::as_object_mut) {
        prev.insert("cniVersion".into(), Value::String(v.to_string()));
    }
    Ok(serde_json::to_vec(&value).expect("value serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_be_paths() {
        for bad in ["", "../host-local", "/usr/lib/cni/host-local", "..", "a\0b"] {
            assert!(matches!(
                Ipam::find(bad, &[PathBuf::from("/usr/lib/cni")]),
                Err(IpamError::BadName { .. })
            ));
        }
    }

    #[test]
    fn missing_plugin_is_reported() {
        let t = tempfile::tempdir().unwrap();
        let err = Ipam::find("host-local", &[t.path().to_path_buf()])
            .err()
            .unwrap();
        assert!(matches!(err, IpamError::NotFound { .. }));
    }

    #[test]
    fn version_rewrite_touches_prev_result() {
        let out = with_version(
            br#"{"cniVersion":"1.1.0","prevResult":{"cniVersion":"1.1.0"},"ipam":{}}"#,
            Version::V1_0_0,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["cniVersion"], "1.0.0");
        assert_eq!(v["prevResult"]["cniVersion"], "1.0.0");
    }
}
