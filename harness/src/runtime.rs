//! The libcni runtime client (`ci/cni-runtime`, built on the upstream libcni): drives the
//! plugin exactly as containerd or CRI-O would (conflists, prevResult, result cache).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::plugin::Outcome;
use crate::{Error, Result};

/// Builds (once) and returns the runtime client; needs Go and Debian's libcni source
/// (`ci/install-deps.sh` installs both).
pub fn build() -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out_dir = crate::bins::bin_dir().join("tools");
    let out = Command::new(root.join("ci/build-cni-runtime.sh"))
        .arg(&out_dir)
        .output()
        .map_err(|e| Error::Spawn("ci/build-cni-runtime.sh".into(), e))?;
    if !out.status.success() {
        return Err(Error::Command(
            "ci/build-cni-runtime.sh".into(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(out_dir.join("cni-runtime"))
}

/// One network configuration driven through the runtime client.
pub struct Runtime {
    pub bin: PathBuf,
    pub conf: PathBuf,
    pub cache_dir: PathBuf,
    pub cni_path: String,
}

impl Runtime {
    fn run(&self, verb: &str, extra: &[&str]) -> Result<Outcome> {
        let out = Command::new(&self.bin)
            .arg(verb)
            .arg("--conf")
            .arg(&self.conf)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .arg("--cni-path")
            .arg(&self.cni_path)
            .args(extra)
            .output()
            .map_err(|e| Error::Spawn("cni-runtime".into(), e))?;
        Ok(Outcome {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn attachment<'a>(netns: &'a str, id: &'a str, ifname: &'a str) -> [&'a str; 6] {
        ["--netns", netns, "--container-id", id, "--ifname", ifname]
    }

    pub fn add(&self, netns: &str, id: &str, ifname: &str) -> Result<Outcome> {
        self.run("add", &Self::attachment(netns, id, ifname))
    }

    pub fn check(&self, netns: &str, id: &str, ifname: &str) -> Result<Outcome> {
        self.run("check", &Self::attachment(netns, id, ifname))
    }

    pub fn del(&self, netns: &str, id: &str, ifname: &str) -> Result<Outcome> {
        self.run("del", &Self::attachment(netns, id, ifname))
    }

    pub fn status(&self) -> Result<Outcome> {
        self.run("status", &[])
    }

    /// GC keeping only `valid` (container id, ifname) attachments.
    pub fn gc(&self, valid: &[(&str, &str)]) -> Result<Outcome> {
        let args: Vec<String> = valid
            .iter()
            .flat_map(|(id, ifn)| ["--valid".to_string(), format!("{id}/{ifn}")])
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("gc", &args)
    }
}

/// Wraps a single plugin netconf into a conflist.
pub fn as_conflist(conf: &Value) -> Value {
    let mut plugin = conf.clone();
    let obj = plugin.as_object_mut().expect("netconf object");
    let version = obj.remove("cniVersion").unwrap_or(Value::Null);
    let name = obj.remove("name").unwrap_or(Value::Null);
    serde_json::json!({"cniVersion": version, "name": name, "plugins": [plugin]})
}
