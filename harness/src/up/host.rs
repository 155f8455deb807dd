//! The host mock-vpp of `harness up`: a process of its own that outlives the harness,
//! found again by its command line.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::StateDir;
use crate::{bins, Error, Result};

/// Whether `pid` is a live (not zombie) mock-vpp serving `api`.
pub fn mock_vpp_alive(pid: u32, api: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|r| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true);
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    !zombie && args.contains(&api.as_os_str().as_encoded_bytes())
}

/// Starts the host mock-vpp in its own process group, outliving the harness: API and
/// CLI sockets in the state directory, its log beside them. Returns its pid once both
/// sockets accept connections.
pub fn start_host_vpp(state: &StateDir) -> Result<u32> {
    let dirs = state.dirs();
    let cli = state.cli_socket();
    let bin = bins::binary("mock-vpp", "mock-vpp")?;
    std::fs::create_dir_all(&state.dir)?;
    let log = File::create(state.dir.join("mock-vpp.log"))?;
    let mut child = Command::new(&bin)
        .arg("--api-socket")
        .arg(&dirs.api_socket)
        .arg("--cli-socket")
        .arg(&cli)
        .args(["--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Spawn("mock-vpp".into(), e))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(dirs.api_socket.exists() && cli.exists()) {
        if let Some(status) = child.try_wait().ok().flatten() {
            return Err(Error::Exited("mock-vpp".into(), status.to_string()));
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout("mock-vpp to listen".into()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(child.id())
}

/// Stops the mock-vpp serving `api` (the host's, or a netns pod's) (by `pid`, checked against its command line, and any
/// other one a crash left unrecorded), waiting until it is gone.
pub(super) fn stop_mock_vpp(pid: Option<u32>, api: &Path) -> Result<()> {
    let mut pids: Vec<u32> = pid.into_iter().collect();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        pids.extend(
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()),
        );
    }
    pids.sort_unstable();
    pids.dedup();
    for pid in pids.into_iter().filter(|&p| mock_vpp_alive(p, api)) {
        let target = pid as libc::pid_t;
        // SAFETY: kill(2) on a pid just checked to be the mock-vpp serving `api`.
        unsafe { libc::kill(target, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            // Reaps it when it is this process's child (a test's); harmless otherwise.
            // SAFETY: waitpid with a null status pointer writes nothing.
            unsafe { libc::waitpid(target, std::ptr::null_mut(), libc::WNOHANG) };
            if !mock_vpp_alive(pid, api) {
                break;
            }
            if Instant::now() > deadline {
                // SAFETY: as above.
                unsafe { libc::kill(target, libc::SIGKILL) };
                return Err(Error::Timeout(format!("mock-vpp {pid} to stop")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}
