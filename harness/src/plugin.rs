//! Executing a CNI plugin directly, as a runtime does: CNI_* environment, netconf on
//! stdin, result or error JSON on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{Error, Result};

/// One plugin invocation's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }

    /// The CNI error code, when the plugin failed with one.
    pub fn code(&self) -> Option<u64> {
        self.json().get("code").and_then(Value::as_u64)
    }
}

/// How to call a plugin binary for one attachment.
#[derive(Debug, Clone)]
pub struct PluginCall {
    pub plugin: PathBuf,
    pub cni_path: String,
    pub container_id: String,
    pub netns: String,
    pub if_name: String,
    pub args: String,
    /// Extra environment (e.g. KUBERNETES_SERVICE_HOST).
    pub env: Vec<(String, String)>,
    /// A program and arguments to run the plugin through (e.g. `unshare -m sh -c ...`);
    /// the plugin's path is appended.
    pub wrapper: Vec<String>,
}

impl PluginCall {
    /// Starts the plugin with `stdin` written to it; its stdout and stderr are piped when
    /// `capture`, else dropped. For callers that wait, or kill it midway.
    pub fn spawn(&self, command: &str, stdin: &Value, capture: bool) -> Result<Child> {
        let out = || {
            if capture {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let mut cmd = match self.wrapper.split_first() {
            None => Command::new(&self.plugin),
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&self.plugin);
                c
            }
        };
        let mut child = cmd
            .env_clear()
            .envs(self.env.iter().cloned())
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", &self.container_id)
            .env("CNI_NETNS", &self.netns)
            .env("CNI_IFNAME", &self.if_name)
            .env("CNI_ARGS", &self.args)
            .env("CNI_PATH", &self.cni_path)
            .stdin(Stdio::piped())
            .stdout(out())
            .stderr(out())
            .spawn()
            .map_err(|e| Error::Spawn(self.plugin.display().to_string(), e))?;
        let body = serde_json::to_vec(stdin).expect("json");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&body)
            .map_err(|e| Error::Spawn("plugin stdin".into(), e))?;
        Ok(child)
    }

    pub fn new(
        plugin: &Path,
        cni_path: &str,
        container_id: &str,
        netns: &str,
        if_name: &str,
    ) -> Self {
        PluginCall {
            plugin: plugin.to_path_buf(),
            cni_path: cni_path.into(),
            container_id: container_id.into(),
            netns: netns.into(),
            if_name: if_name.into(),
            args: String::new(),
            env: Vec::new(),
            wrapper: Vec::new(),
        }
    }

    pub fn run(&self, command: &str, stdin: &Value) -> Result<Outcome> {
        let child = self.spawn(command, stdin, true)?;
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Spawn(self.plugin.display().to_string(), e))?;
        Ok(Outcome {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}
