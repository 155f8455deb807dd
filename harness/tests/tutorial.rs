//! The vppDemo tutorial exactly as the README walks through it, with the real `docker`
//! client: `harness up vpp-memif-ping --backend docker`, the `docker exec vppDemo_1
//! vppctl ...` commands, the ping from vppDemo_2, the host's `vppctl show interface`
//! with moved counters, then `harness down` leaving nothing.
//!
//! The containers must be called `vppDemo_1` and `vppDemo_2`, names the whole Docker
//! engine shares: runs of this test on the machine take turns through a file lock, and
//! anything left is brought down on the way out, also when the test fails.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Held while the test runs: one tutorial per machine at a time.
fn machine_lock() -> File {
    let file = File::create(std::env::temp_dir().join("userspace-cni-vppdemo.lock")).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
    file
}

struct Tutorial {
    state: tempfile::TempDir,
}

impl Tutorial {
    fn harness(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(args)
            .env("USRSP_HARNESS_STATE_DIR", self.state.path())
            .output()
            .unwrap()
    }
}

impl Drop for Tutorial {
    fn drop(&mut self) {
        let _ = self.harness(&["down"]);
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn docker_exec(pod: &str, cmd: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", pod, "vppctl"])
        .args(cmd.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker exec {pod} vppctl {cmd}: {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Packets counted on the host's memif interfaces (rx and tx).
fn memif_packets(show_interface: &str) -> u64 {
    let mut current = "";
    let mut total = 0;
    for line in show_interface.lines() {
        if !line.starts_with(' ') {
            current = line.split_whitespace().next().unwrap_or("");
        }
        if current.starts_with("memif")
            && (line.contains("rx packets") || line.contains("tx packets"))
        {
            total += line
                .split_whitespace()
                .last()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

fn host_vppctl(vppctl: &Path, cli_socket: &str, cmd: &str) -> String {
    let out = Command::new(vppctl)
        .args(cmd.split_whitespace())
        .env("VPP_CLI_SOCKET", cli_socket)
        .env_remove("VPP_API_SOCKET")
        .output()
        .unwrap();
    assert!(out.status.success(), "vppctl {cmd}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Containers named `vppDemo_*`, running or not.
fn demo_containers() -> String {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "name=^vppDemo_",
            "--format",
            "{{.Names}}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_vppdemo_tutorial() {
    let _turn = machine_lock();
    let t = Tutorial {
        state: tempfile::tempdir().unwrap(),
    };
    let up = t.harness(&["up", "vpp-memif-ping", "--backend", "docker"]);
    let said = text(&up);
    assert!(up.status.success(), "{said}");

    // The printed next steps carry the real address and the host's CLI socket.
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    let ping = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("docker exec vppDemo_2 vppctl ping "))
        .unwrap_or_else(|| panic!("no ping command in:\n{stdout}"));
    let ip = ping.split_whitespace().next().unwrap().to_string();
    let cli_socket = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("VPP_CLI_SOCKET="))
        .unwrap_or_else(|| panic!("no VPP_CLI_SOCKET in:\n{stdout}"))
        .to_string();
    let bin_dir: PathBuf = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("PATH="))
        .and_then(|p| p.split(':').next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no PATH in:\n{stdout}"));
    let vppctl = bin_dir.join("vppctl");

    // A second `up` says so and changes nothing.
    let again = t.harness(&["up", "vpp-memif-ping", "--backend", "docker"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("vpp-memif-ping is already up"));
    let status = text(&t.harness(&["status"]));
    assert!(
        status.contains("vppDemo_1") && status.contains(&ip),
        "{status}"
    );

    // The tutorial's commands in the pods.
    let interfaces = docker_exec("vppDemo_1", "show interface");
    assert!(interfaces.contains("memif"), "{interfaces}");
    let mode = docker_exec("vppDemo_1", "show mode");
    assert!(mode.contains("memif"), "{mode}");
    let memif = docker_exec("vppDemo_1", "show memif");
    assert!(memif.contains("slave"), "{memif}");
    let addr = docker_exec("vppDemo_1", "show interface addr");
    assert!(addr.contains(&ip), "{addr}");

    // The host's counters move with the ping.
    let before = memif_packets(&host_vppctl(&vppctl, &cli_socket, "show interface"));
    let pinged = docker_exec("vppDemo_2", &format!("ping {ip} repeat 5"));
    assert!(
        pinged.contains("5 sent, 5 received, 0% packet loss"),
        "{pinged}"
    );
    let after = memif_packets(&host_vppctl(&vppctl, &cli_socket, "show interface"));
    assert!(
        after >= before + 20,
        "host memif packets {before} -> {after}"
    );

    // Down leaves nothing: no containers, no host mock-vpp, no state.
    let state_file = t.state.path().join("vpp-memif-ping/state.json");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    let pid = state["mock_vpp_pid"].as_u64().unwrap();
    let down = t.harness(&["down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(text(&down).contains("vpp-memif-ping is down"));
    assert_eq!(demo_containers(), "");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        }
    );
    assert!(!t.state.path().join("vpp-memif-ping").exists());
    assert!(!Path::new(&cli_socket).exists());
    let status = text(&t.harness(&["status"]));
    assert!(status.contains("nothing is up"), "{status}");
}

/// The same on network namespaces: the printed commands reach the pods' vswitches
/// through their sockets on the host, and `down` removes the namespaces and pod
/// directories.
#[test]
fn the_vppdemo_on_network_namespaces() {
    // Not for the names: the two tutorials pinging at once load a 2-core machine enough to
    // lose a first ping; one at a time.
    let _turn = machine_lock();
    let t = Tutorial {
        state: tempfile::tempdir().unwrap(),
    };
    let up = t.harness(&["up", "vpp-memif-ping", "--backend", "netns"]);
    assert!(up.status.success(), "{}", text(&up));
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    let ping: Vec<String> = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("vppctl -s ") && l.contains(" ping "))
        .unwrap_or_else(|| panic!("no ping in:\n{stdout}"))
        .split_whitespace()
        .map(String::from)
        .collect();
    // vppctl -s SOCKET ping IP repeat 5
    assert_eq!(ping[0], "vppctl", "{stdout}");
    let vppctl = harness::bins::bin_dir().join("vppctl");
    let out = Command::new(vppctl).args(&ping[1..]).output().unwrap();
    let pinged = String::from_utf8_lossy(&out.stdout);
    assert!(
        pinged.contains("5 sent, 5 received, 0% packet loss"),
        "{pinged}"
    );
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.state.path().join("vpp-memif-ping/state.json")).unwrap(),
    )
    .unwrap();
    let run_id = state["run_id"].as_str().unwrap().to_string();
    let pod_sockets: Vec<PathBuf> = state["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p["pod_api_socket"].as_str().unwrap()))
        .collect();
    let down = t.harness(&["down"]);
    assert!(down.status.success(), "{}", text(&down));
    let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let namespaces = String::from_utf8_lossy(&namespaces.stdout);
    assert!(
        !namespaces.contains(&format!("usrsp-{run_id}-")),
        "{namespaces}"
    );
    for s in pod_sockets {
        assert!(!s.exists(), "{}", s.display());
    }
    assert!(!t.state.path().join("vpp-memif-ping").exists());
}
