//! Finding the workspace's own binaries (`userspace`, `mock-vpp`, ...).
//!
//! They sit next to the harness executable (`target/<profile>/`), or one level up when
//! running as a test (`target/<profile>/deps/`). Under `cargo test` a missing binary is
//! built on the spot, so a plain `cargo test` works from a fresh clone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{Error, Result};

/// Directory holding the workspace binaries of the running profile.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("USERSPACE_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("profile dir").to_path_buf()
    } else {
        dir
    }
}

static BUILD: Mutex<()> = Mutex::new(());

/// Path of workspace binary `name` of package `package`, building it when it is missing
/// and cargo is at hand.
pub fn binary(package: &str, name: &str) -> Result<PathBuf> {
    let path = bin_dir().join(name);
    if path.exists() {
        return Ok(path);
    }
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if path.exists() {
        return Ok(path);
    }
    let cargo = std::env::var_os("CARGO").ok_or_else(|| Error::MissingBinary(path.clone()))?;
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", package, "--bin", name]);
    if bin_dir().file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| Error::Spawn(name.into(), e))?;
    if !status.success() || !path.exists() {
        return Err(Error::MissingBinary(path));
    }
    Ok(path)
}

/// The directories to search for CNI plugins: ours first, then the system's.
pub fn cni_path(extra: &[&Path]) -> String {
    let mut dirs: Vec<String> = vec![bin_dir().display().to_string()];
    dirs.extend(extra.iter().map(|p| p.display().to_string()));
    dirs.extend(["/usr/lib/cni".into(), "/opt/cni/bin".into()]);
    dirs.join(":")
}
