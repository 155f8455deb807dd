//! The real `kubectl` talking to mock-kube (see [`crate::mock_kube`]) as one of its users
//! (`admin`, `multus`, ...).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{Error, Result};

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
    /// (the object's resourceVersion guards it), sent as is (`replace --raw`: a plain
    /// `replace` would also rewrite kubectl's last-applied annotation, which Multus never
    /// does). `Ok(false)` on a 409 Conflict.
    pub fn replace_status(&self, pod: &Value) -> Result<bool> {
        let meta = &pod["metadata"];
        let uri = format!(
            "/api/v1/namespaces/{}/pods/{}/status",
            meta["namespace"].as_str().unwrap_or("default"),
            meta["name"].as_str().unwrap_or("")
        );
        let mut body =
            tempfile::NamedTempFile::new_in(self.cache_dir.parent().unwrap_or(&self.cache_dir))?;
        body.write_all(&serde_json::to_vec(pod).expect("json"))?;
        let file = body.path().to_str().unwrap_or("").to_string();
        let out = self.run(&["replace", "--raw", &uri, "-f", &file], None)?;
        if out.success {
            Ok(true)
        } else if out.stderr.contains("Conflict") || out.stderr.contains("has been modified") {
            Ok(false)
        } else {
            Err(Error::Command(
                format!("kubectl replace --raw {uri}"),
                out.stderr.trim().to_string(),
            ))
        }
    }
}
