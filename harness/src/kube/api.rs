//! The API side of a Kubernetes run: a mock-kube process owned by the harness, and the
//! real `kubectl` talking to it with one of mock-kube's users (`admin`, `multus`, ...).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{bins, Error, Result};

/// A mock-kube server, stopped on drop.
pub struct MockKube {
    child: Child,
    kubeconfig: PathBuf,
}

impl MockKube {
    /// Starts mock-kube on a free loopback port and waits for its kubeconfig (written once
    /// it accepts connections).
    pub fn start(dir: &Path) -> Result<MockKube> {
        let bin = bins::binary("mock-kube", "mock-kube")?;
        std::fs::create_dir_all(dir)?;
        let kubeconfig = dir.join("admin.kubeconfig");
        let child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("mock-kube.log"))?)
            .spawn()
            .map_err(|e| Error::Spawn("mock-kube".into(), e))?;
        let mut mock = MockKube { child, kubeconfig };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !mock.kubeconfig.exists() {
            if let Some(status) = mock.child.try_wait().ok().flatten() {
                let log = std::fs::read_to_string(dir.join("mock-kube.log")).unwrap_or_default();
                return Err(Error::Exited(
                    "mock-kube".into(),
                    format!("{status}: {log}"),
                ));
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout("mock-kube to listen".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(mock)
    }

    /// The kubeconfig mock-kube wrote (current context `admin`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
}

impl Drop for MockKube {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `kubectl` with one kubeconfig and context; its discovery cache stays in the run's
/// directory.
#[derive(Debug, Clone)]
pub struct Kubectl {
    pub kubeconfig: PathBuf,
    pub context: String,
    pub cache_dir: PathBuf,
}

/// What kubectl printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Kubectl {
    pub fn new(kubeconfig: &Path, context: &str, cache_dir: &Path) -> Kubectl {
        Kubectl {
            kubeconfig: kubeconfig.into(),
            context: context.into(),
            cache_dir: cache_dir.into(),
        }
    }

    /// The same server as another user (mock-kube names contexts after users).
    pub fn as_user(&self, context: &str) -> Kubectl {
        Kubectl {
            context: context.into(),
            ..self.clone()
        }
    }

    /// Runs kubectl with `args` and `stdin`.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<Output> {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(&self.context)
            .args(args)
            .env("KUBECACHEDIR", &self.cache_dir)
            .env("HOME", self.cache_dir.parent().unwrap_or(&self.cache_dir))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Spawn("kubectl".into(), e))?;
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .map_err(|e| Error::Spawn("kubectl stdin".into(), e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Spawn("kubectl".into(), e))?;
        Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs kubectl and fails with its error text when it fails.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let out = self.run(args, stdin)?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(Error::Command(
                format!("kubectl {}", args.join(" ")),
                format!("{}{}", out.stdout, out.stderr).trim().to_string(),
            ))
        }
    }

    /// `kubectl get ... -o json`, parsed; `None` when it does not exist.
    pub fn get_json(&self, args: &[&str]) -> Result<Option<Value>> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.run(&all, None)?;
        if !out.success {
            if out.stderr.contains("NotFound") || out.stderr.contains("not found") {
                return Ok(None);
            }
            return Err(Error::Command(
                format!("kubectl {}", all.join(" ")),
                out.stderr.trim().to_string(),
            ));
        }
        serde_json::from_str(&out.stdout)
            .map(Some)
            .map_err(|e| Error::Check(format!("kubectl {}: {e}", all.join(" "))))
    }

    /// A pod, or `None` when it does not exist.
    pub fn pod(&self, namespace: &str, name: &str) -> Result<Option<Value>> {
        self.get_json(&["get", "pod", name, "-n", namespace])
    }

    /// Writes `pod`'s metadata and status back with a full-object PUT of `pods/status`
    /// (the object's resourceVersion guards it). `Ok(false)` on a 409 Conflict.
    pub fn replace_status(&self, pod: &Value) -> Result<bool> {
        let body = serde_json::to_string(pod).expect("json");
        let out = self.run(
            &[
                "replace",
                "--subresource=status",
                "--validate=false",
                "-f",
                "-",
            ],
            Some(&body),
        )?;
        if out.success {
            Ok(true)
        } else if out.stderr.contains("Conflict") || out.stderr.contains("has been modified") {
            Ok(false)
        } else {
            Err(Error::Command(
                "kubectl replace --subresource=status".into(),
                out.stderr.trim().to_string(),
            ))
        }
    }
}
