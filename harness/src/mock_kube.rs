//! A mock-kube process owned by the harness (an API server over TLS, see mocks/kube):
//! started on a free port with its kubeconfig in a directory, stopped on drop. Pods are
//! made and read with the real `kubectl` when it is installed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{bins, Error, Result};

pub struct MockKube {
    child: Child,
    kubeconfig: PathBuf,
    /// Where the service-account files are (token of the `plugin` user, ca.crt).
    sa_dir: PathBuf,
}

/// The real kubectl (Debian kubernetes-client, or any on PATH).
pub const KUBECTL: &str = "kubectl";

impl MockKube {
    /// Starts mock-kube in `dir` (kubeconfig `dir/kubeconfig`, service account
    /// `dir/serviceaccount`), with extra arguments such as `--fault`.
    pub fn start(dir: &Path, args: &[&str]) -> Result<MockKube> {
        let bin = bins::binary("mock-kube", "mock-kube")?;
        let kubeconfig = dir.join("kubeconfig");
        let sa_dir = dir.join("serviceaccount");
        std::fs::create_dir_all(&sa_dir)?;
        let child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .arg("--service-account-dir")
            .arg(&sa_dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Spawn("mock-kube".into(), e))?;
        let mut mock = MockKube {
            child,
            kubeconfig,
            sa_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !mock.kubeconfig.exists() {
            if let Some(status) = mock.child.try_wait().ok().flatten() {
                return Err(Error::Exited("mock-kube".into(), status.to_string()));
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout("mock-kube to listen".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(mock)
    }

    /// The admin kubeconfig (all users and contexts; current context `admin`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn service_account_dir(&self) -> &Path {
        &self.sa_dir
    }

    /// `host:port` of the server.
    pub fn address(&self) -> Result<(String, u16)> {
        let text = std::fs::read_to_string(&self.kubeconfig)?;
        let server = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server:"))
            .ok_or_else(|| Error::Check("kubeconfig has no server".into()))?
            .trim()
            .trim_matches(['"', '\''])
            .trim_start_matches("https://")
            .to_string();
        let (host, port) = server
            .rsplit_once(':')
            .ok_or_else(|| Error::Check(format!("server {server}")))?;
        let port = port
            .trim_end_matches('/')
            .parse()
            .map_err(|_| Error::Check(format!("server {server}")))?;
        Ok((host.trim_matches(['[', ']']).to_string(), port))
    }

    /// A copy of the kubeconfig whose current context is `user`'s (the mock's users:
    /// admin, plugin, multus, nobody), written to `path`.
    pub fn kubeconfig_as(&self, user: &str, path: &Path) -> Result<PathBuf> {
        let text = std::fs::read_to_string(&self.kubeconfig)?;
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with("current-context:") {
                out.push_str(&format!("current-context: {user}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        std::fs::write(path, out)?;
        Ok(path.to_path_buf())
    }

    /// Runs kubectl with the admin kubeconfig; stdout.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let cache = self
            .kubeconfig
            .parent()
            .unwrap_or(Path::new("/tmp"))
            .join("kubecache");
        let out =
            crate::kube::api::Kubectl::new(&self.kubeconfig, "admin", &cache).run(args, stdin)?;
        if !out.success {
            return Err(Error::Command(
                format!("kubectl {}", args.join(" ")),
                out.stderr,
            ));
        }
        Ok(out.stdout)
    }

    /// Creates a pod from its JSON manifest; the stored pod.
    pub fn create_pod(&self, pod: &Value) -> Result<Value> {
        let out = self.kubectl(
            &["create", "--validate=false", "-o", "json", "-f", "-"],
            Some(&pod.to_string()),
        )?;
        serde_json::from_str(&out).map_err(|e| Error::Check(format!("kubectl output: {e}")))
    }

    /// `kubectl get pod -o json`.
    pub fn get_pod(&self, namespace: &str, name: &str) -> Result<Value> {
        let out = self.kubectl(&["get", "pod", "-n", namespace, name, "-o", "json"], None)?;
        serde_json::from_str(&out).map_err(|e| Error::Check(format!("kubectl output: {e}")))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockKube {
    fn drop(&mut self) {
        self.terminate();
    }
}
