//! `harness down` for pods of the netns backend: every network namespace named for the
//! run (`usrsp-<run id>-<pod>`), the pod vswitch found in it (`ip netns pids`) and the
//! pod directory its API socket lies in — found on the machine, so that pods an `up`
//! made before crashing go too.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::host::stop_mock_vpp;

/// The value of `--api-socket` on `pid`'s command line.
fn api_socket_of(pid: &str) -> Option<PathBuf> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let i = args.iter().position(|a| *a == b"--api-socket")?;
    let path = std::str::from_utf8(args.get(i + 1)?).ok()?;
    Some(PathBuf::from(path))
}

/// Removes the run's pods; what went wrong, if anything.
pub fn remove_pods(run_id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let list = Command::new("ip").args(["netns", "list"]).output();
    let Ok(list) = list else {
        return vec!["cannot run `ip netns list`".into()];
    };
    let prefix = format!("usrsp-{run_id}-");
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(String::from)
        .collect();
    for name in names {
        let pids = Command::new("ip")
            .args(["netns", "pids", &name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace() {
            let Some(api) = api_socket_of(pid) else {
                continue;
            };
            if let Err(e) = stop_mock_vpp(pid.parse().ok(), &api) {
                problems.push(format!("pod {name}: {e}"));
            }
            // The pod's directory: <dir>/run/vpp/api.sock, a `usrsp-pod` temporary one.
            let dir = api.ancestors().nth(3).map(Path::to_path_buf);
            if let Some(dir) = dir.filter(|d| {
                d.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("usrsp-pod"))
            }) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        let deleted = Command::new("ip").args(["netns", "delete", &name]).status();
        if deleted.is_ok_and(|s| s.success()) {
            eprintln!("  removed network namespace {name}");
        } else {
            problems.push(format!("cannot delete network namespace {name}"));
        }
    }
    problems
}
