//! Finding the workspace's own binaries (`userspace`, `mock-vpp`, ...).
//!
//! They sit next to the harness executable (`target/<profile>/`), or one level up when
//! running as a test (`target/<profile>/deps/`). A missing binary is built on the spot
//! — with the cargo running us (`cargo run`, `cargo test`), else with `cargo` from PATH
//! when the workspace the harness was built from is still there (`target/release/harness`
//! run directly) — so a fresh clone works; otherwise the error says the exact command.

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
    build(&[(package, name)])?;
    Ok(path)
}

/// The command that builds `bins` into [`bin_dir`].
pub fn build_command(bins: &[(&str, &str)]) -> String {
    let mut cmd = String::from("cargo build");
    if bin_dir().file_name().is_some_and(|n| n == "release") {
        cmd.push_str(" --release");
    }
    for (package, name) in bins {
        cmd.push_str(&format!(" -p {package} --bin {name}"));
    }
    cmd
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds `bins` in one cargo run, saying so first (a first build takes minutes).
fn build(bins: &[(&str, &str)]) -> Result<()> {
    let missing = || MissingBinary {
        path: bin_dir().join(bins[0].1),
        command: build_command(bins),
    };
    let cargo = match std::env::var_os("CARGO") {
        Some(c) => PathBuf::from(c),
        None if workspace().join("Cargo.toml").is_file() => PathBuf::from("cargo"),
        None => return Err(missing().into()),
    };
    let names: Vec<&str> = bins.iter().map(|(_, n)| *n).collect();
    eprintln!(
        "building {} ({}) ...",
        names.join(", "),
        build_command(bins)
    );
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace()).args(["build", "-q"]);
    if bin_dir().file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    for (package, name) in bins {
        cmd.args(["-p", package, "--bin", name]);
    }
    let built = cmd.status().is_ok_and(|s| s.success());
    if !built || bins.iter().any(|(_, n)| !bin_dir().join(n).exists()) {
        return Err(missing().into());
    }
    Ok(())
}

/// Builds whichever of `bins` are missing, up front (so that no timed step pays for
/// compiling them).
pub fn prepare(bins: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<(&str, &str)> = bins
        .iter()
        .copied()
        .filter(|(_, n)| !bin_dir().join(n).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    build(&missing)
}

/// A workspace binary that is missing and could not be built here.
#[derive(Debug)]
pub struct MissingBinary {
    pub path: PathBuf,
    pub command: String,
}

impl From<MissingBinary> for Error {
    fn from(m: MissingBinary) -> Error {
        Error::MissingBinary(m.path, m.command)
    }
}

/// The directories to search for CNI plugins: ours first, then the system's.
pub fn cni_path(extra: &[&Path]) -> String {
    let mut dirs: Vec<String> = vec![bin_dir().display().to_string()];
    dirs.extend(extra.iter().map(|p| p.display().to_string()));
    dirs.extend(["/usr/lib/cni".into(), "/opt/cni/bin".into()]);
    dirs.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_command_names_each_binary() {
        let cmd = build_command(&[("mock-vpp", "mock-vpp"), ("mock-vpp", "vppctl")]);
        assert!(cmd.starts_with("cargo build"), "{cmd}");
        assert!(
            cmd.ends_with(" -p mock-vpp --bin mock-vpp -p mock-vpp --bin vppctl"),
            "{cmd}"
        );
        let missing: Error = MissingBinary {
            path: "/x/vppctl".into(),
            command: cmd.clone(),
        }
        .into();
        assert!(missing.to_string().contains(&format!("`{cmd}`")));
    }
}
