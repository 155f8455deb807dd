//! The `mock-kube` binary in a temporary directory, and real clients pointed at it with
//! their caches and configuration kept inside that directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Bed {
    pub dir: tempfile::TempDir,
    pub child: Child,
}

impl Bed {
    /// Starts `mock-kube` and waits (bounded) for its kubeconfig.
    pub fn start(extra: &[&str]) -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mock-kube"))
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(dir.path().join("kubeconfig"))
            .args(extra)
            .stderr(std::fs::File::create(dir.path().join("mock-kube.log")).unwrap())
            .spawn()
            .expect("mock-kube runs");
        let bed = Bed { dir, child };
        bed.wait_for(&bed.kubeconfig());
        bed
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.path("kubeconfig")
    }

    pub fn wait_for(&self, p: &Path) {
        let end = Instant::now() + Duration::from_secs(30);
        while !p.exists() {
            assert!(Instant::now() < end, "{} never appeared", p.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A kubectl command with this bed's kubeconfig and a private HOME and cache.
    pub fn kubectl_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.path())
            .env("KUBECACHEDIR", self.path("cache"))
            .stdin(Stdio::null());
        c
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_cmd(args)
            .output()
            .expect("kubectl is installed (ci/install-deps.sh)")
    }

    /// Runs kubectl and returns its stdout; fails the test on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.kubectl(args);
        assert!(
            o.status.success(),
            "kubectl {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs kubectl expecting failure; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.kubectl(args);
        assert!(!o.status.success(), "kubectl {args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
