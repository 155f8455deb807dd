//! `harness up` / `down` / `status`: a scenario brought to its running state and left
//! there, as the vppDemo tutorial has it — pods named as the scenario names them, the
//! host mock-vpp serving its API and CLI sockets at a stable path — until `down`.
//!
//! Everything `down` needs is journaled in `<state root>/<scenario>/state.json`, written
//! before each thing it names is made (the run id labels every container), so `down`
//! also cleans up after an `up` that crashed or was killed half-way.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backend::docker::DockerBackend;
use crate::demo::{leftovers, DemoDirs};
use crate::plugin::PluginCall;
use crate::scenario::{Scenario, VswitchKind};
use crate::vpp_state::VppState;
use crate::{bins, Error, Result};

/// Where the state of scenarios that are up lives: `$USRSP_HARNESS_STATE_DIR`, else
/// `/run/userspace-cni/harness` as root, else a per-user directory under
/// `$XDG_RUNTIME_DIR` or the temporary directory.
pub fn state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("USRSP_HARNESS_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if is_root() {
        return PathBuf::from("/run/userspace-cni/harness");
    }
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    // SAFETY: getuid has no memory effects.
    base.join(format!("userspace-cni-harness-{}", unsafe {
        libc::getuid()
    }))
}

/// Whether the harness runs as root (the netns backend needs it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no memory effects.
    unsafe { libc::geteuid() == 0 }
}

/// One pod as `down` needs it: the DEL to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodRecord {
    pub name: String,
    pub container_id: String,
    pub netns: String,
    pub ifname: String,
    pub netconf: Value,
    /// ADD succeeded and no DEL since.
    pub attached: bool,
}

/// What is up, journaled as it is made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub scenario: String,
    pub backend: String,
    /// Labels every container of this `up`.
    pub run_id: String,
    /// `starting`, then `up` once every step before the first DEL passed.
    pub phase: String,
    pub api_socket: PathBuf,
    pub cli_socket: PathBuf,
    pub mock_vpp_pid: Option<u32>,
    pub plugin: PathBuf,
    pub cni_path: String,
    pub pods: Vec<PodRecord>,
    pub ips: BTreeMap<String, String>,
}

/// A scenario's state directory: `state.json`, the host mock-vpp's sockets and log, and
/// the plugin's shared, data and IPAM directories.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

impl StateDir {
    pub fn of(scenario: &str) -> StateDir {
        StateDir {
            dir: state_root().join(scenario),
        }
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn dirs(&self) -> DemoDirs {
        DemoDirs::under(&self.dir)
    }

    pub fn cli_socket(&self) -> PathBuf {
        self.dir.join("run/vpp/cli.sock")
    }

    pub fn load(&self) -> Result<Option<State>> {
        match std::fs::read(self.file()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Check(format!("{}: {e}", self.file().display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Written to a temporary file and renamed: a crash leaves the old or the new.
    pub fn save(&self, state: &State) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(".state.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(state).expect("state serializes"),
        )?;
        std::fs::rename(&tmp, self.file())?;
        Ok(())
    }

    /// Holds the scenario's lock (one `up` or `down` at a time) until dropped.
    pub fn lock(&self) -> Result<File> {
        let root = self.dir.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(root)?;
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        let file = File::create(root.join(format!(".{name}.lock")))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(file)
    }
}

/// Every scenario with a state directory, by name.
pub fn all_up() -> Vec<(StateDir, State)> {
    let Ok(entries) = std::fs::read_dir(state_root()) else {
        return Vec::new();
    };
    let mut out: Vec<(StateDir, State)> = entries
        .flatten()
        .map(|e| StateDir { dir: e.path() })
        .filter_map(|s| s.load().ok().flatten().map(|st| (s, st)))
        .collect();
    out.sort_by(|a, b| a.1.scenario.cmp(&b.1.scenario));
    out
}

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

/// Stops the mock-vpp serving `api` (by `pid`, checked against its command line, and any
/// other one a crash left unrecorded), waiting until it is gone.
fn stop_host_vpp(pid: Option<u32>, api: &Path) -> Result<()> {
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

/// What `down` did and found.
#[derive(Debug, Default)]
pub struct DownReport {
    pub scenario: String,
    /// Problems met on the way (everything is still removed).
    pub problems: Vec<String>,
}

/// DELs every pod, removes the containers, stops the host mock-vpp, checks the plugin
/// left nothing, and removes the state directory. Keeps going past failures.
pub fn down(state_dir: &StateDir) -> Result<Option<DownReport>> {
    let _lock = state_dir.lock()?;
    let Some(state) = state_dir.load()? else {
        if state_dir.dir.exists() {
            std::fs::remove_dir_all(&state_dir.dir)?;
        }
        return Ok(None);
    };
    let mut report = DownReport {
        scenario: state.scenario.clone(),
        ..Default::default()
    };
    let vpp_alive = state
        .mock_vpp_pid
        .is_some_and(|p| mock_vpp_alive(p, &state.api_socket));
    for p in &state.pods {
        let call = PluginCall::new(
            &state.plugin,
            &state.cni_path,
            &p.container_id,
            &p.netns,
            &p.ifname,
        );
        match call.run("DEL", &p.netconf) {
            Ok(out) if out.success => eprintln!("  DEL {}: ok", p.name),
            Ok(out) => report.problems.push(format!(
                "DEL {}: {} {}",
                p.name,
                out.stdout.trim(),
                out.stderr.trim()
            )),
            Err(e) => report.problems.push(format!("DEL {}: {e}", p.name)),
        }
    }
    if state.backend == "docker" {
        match DockerBackend::connect(&state.run_id) {
            Ok(d) => match d.remove_run(&state.run_id) {
                Ok(names) => names
                    .iter()
                    .for_each(|n| eprintln!("  removed container {n}")),
                Err(e) => report.problems.push(e.to_string()),
            },
            Err(e) => report.problems.push(format!(
                "cannot reach the Docker engine to remove the pods: {e}"
            )),
        }
    }
    if vpp_alive {
        match VppState::read(&state.api_socket) {
            Ok(s) if !s.is_pristine() => report
                .problems
                .push(format!("the plugin left on the host VPP: {s:?}")),
            Ok(_) => {}
            Err(e) => report.problems.push(format!("host VPP: {e}")),
        }
    }
    if let Err(e) = stop_host_vpp(state.mock_vpp_pid, &state.api_socket) {
        report.problems.push(e.to_string());
    } else {
        eprintln!("  stopped the host mock-vpp");
    }
    let dirs = state_dir.dirs();
    let left = leftovers(&[&dirs.shared, &dirs.data]);
    if !left.is_empty() {
        report
            .problems
            .push(format!("the plugin left files: {left:?}"));
    }
    std::fs::remove_dir_all(&state_dir.dir)?;
    Ok(Some(report))
}

/// The scenarios `up` and `down` accept: a mock-vpp host (it outlives the harness as a
/// plain process).
pub fn supported(scenario: &Scenario) -> Result<()> {
    if scenario.vswitch.kind != VswitchKind::MockVpp {
        return Err(Error::Check(format!(
            "harness up runs scenarios on a mock-vpp host; {} uses {:?}: run it with `harness run {}`",
            scenario.name, scenario.vswitch.kind, scenario.name
        )));
    }
    Ok(())
}

/// The commands to try next, with the pods' real addresses.
pub fn next_steps(state: &State) -> String {
    let mut s = String::new();
    let pods: Vec<&PodRecord> = state.pods.iter().collect();
    let exec = |pod: &str| match state.backend.as_str() {
        "docker" => format!("docker exec {pod} vppctl"),
        _ => "vppctl".to_string(),
    };
    s.push_str(&format!(
        "{} is up on the {} backend.\n",
        state.scenario, state.backend
    ));
    for p in &pods {
        let ip = state
            .ips
            .get(&p.name)
            .map_or("(no address)", String::as_str);
        s.push_str(&format!("  pod {:<12} {} {ip}\n", p.name, p.ifname));
    }
    s.push_str(&format!(
        "  host VPP       CLI socket {}\n                 API socket {}\n",
        state.cli_socket.display(),
        state.api_socket.display()
    ));
    s.push_str("\nTry:\n");
    if let Some(first) = pods.first() {
        for cmd in [
            "show interface",
            "show mode",
            "show memif",
            "show interface addr",
        ] {
            s.push_str(&format!("  {} {cmd}\n", exec(&first.name)));
        }
        if let (Some(second), Some(ip)) = (pods.get(1), state.ips.get(&first.name)) {
            s.push_str(&format!("  {} ping {ip} repeat 5\n", exec(&second.name)));
        }
    }
    s.push_str(&format!(
        "\nOn the host (vppctl is in {}):\n  export PATH={}:$PATH VPP_CLI_SOCKET={}\n  vppctl show interface\n  vppctl show bridge-domain 4 detail\n",
        bins::bin_dir().display(),
        bins::bin_dir().display(),
        state.cli_socket.display()
    ));
    s.push_str("\nWhen done: harness down\n");
    s
}

/// `harness up SCENARIO`: the state to print, or an error saying what is missing.
pub fn bring_up(scenario: &Scenario, backend: Option<&str>) -> Result<State> {
    supported(scenario)?;
    match backend {
        None | Some("docker") => {}
        Some(other) => {
            return Err(Error::Check(format!(
                "harness up runs pods as Docker containers named as the scenario's pods; \
                 the {other} backend runs scenarios with `harness run {} --backend {other}`",
                scenario.name
            )))
        }
    }
    let state_dir = StateDir::of(&scenario.name);
    let report = {
        let _lock = state_dir.lock()?;
        if let Some(state) = state_dir.load()? {
            let alive = state
                .mock_vpp_pid
                .is_some_and(|p| mock_vpp_alive(p, &state.api_socket));
            if state.phase == "up" && alive {
                eprintln!("{} is already up", scenario.name);
                return Ok(state);
            }
            return Err(Error::Check(format!(
                "{} was brought up before and did not finish or has stopped since \
                 (state in {}): run `harness down {}` first",
                scenario.name,
                state_dir.dir.display(),
                scenario.name
            )));
        }
        eprintln!(
            "harness up {}: pods are Docker containers; this needs a Docker engine",
            scenario.name
        );
        // Six hex digits, as `harness run`'s: pod ids differ within their first 12.
        // SAFETY: getpid has no memory effects.
        let run_id = format!(
            "{:06x}",
            (unsafe { libc::getpid() } as u32 ^ now_nanos()) & 0xff_ffff
        );
        let mut docker = DockerBackend::connect(&run_id)
            .map_err(|e| Error::Check(format!("harness up needs a Docker engine: {e}")))?
            .with_exact_names();
        bins::prepare(&[
            ("userspace-cni", "userspace"),
            ("mock-vpp", "mock-vpp"),
            ("mock-vpp", "vppctl"),
        ])?;
        eprintln!(
            "building the pod image {} (static binaries; the first build takes minutes) ...",
            crate::images::POD_IMAGE
        );
        crate::images::build(&docker)?;
        crate::runner::up(scenario, &mut docker, &run_id, &state_dir)?
    };
    if report.passed {
        return state_dir
            .load()?
            .ok_or_else(|| Error::Check("the state file went missing".into()));
    }
    eprintln!(
        "{} did not come up; removing what was made ...",
        scenario.name
    );
    if let Some(r) = down(&state_dir)? {
        r.problems.iter().for_each(|p| eprintln!("  {p}"));
    }
    Err(Error::Check(format!("{} did not come up", scenario.name)))
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// `harness status`: one paragraph per scenario that is up.
pub fn status_text() -> String {
    let all = all_up();
    if all.is_empty() {
        return "nothing is up\n".into();
    }
    let mut s = String::new();
    for (dir, st) in all {
        let alive = st
            .mock_vpp_pid
            .is_some_and(|p| mock_vpp_alive(p, &st.api_socket));
        let host = match (alive, st.mock_vpp_pid) {
            (true, Some(pid)) => format!("running (pid {pid})"),
            _ => "not running (run `harness down` to clean up)".into(),
        };
        s.push_str(&format!(
            "{} ({}, {}): state {}\n  host mock-vpp {host}, CLI socket {}\n",
            st.scenario,
            st.backend,
            st.phase,
            dir.dir.display(),
            st.cli_socket.display()
        ));
        for p in &st.pods {
            let ip = st.ips.get(&p.name).map_or("-", String::as_str);
            let attached = if p.attached {
                "attached"
            } else {
                "not attached"
            };
            s.push_str(&format!(
                "  pod {:<12} {} {ip} ({attached})\n",
                p.name, p.ifname
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenarios_dir;

    fn state(dir: &StateDir, pid: Option<u32>) -> State {
        State {
            scenario: "x".into(),
            backend: "none".into(),
            run_id: "000000".into(),
            phase: "starting".into(),
            api_socket: dir.dirs().api_socket,
            cli_socket: dir.cli_socket(),
            mock_vpp_pid: pid,
            plugin: PathBuf::from("/nonexistent"),
            cni_path: String::new(),
            pods: Vec::new(),
            ips: BTreeMap::new(),
        }
    }

    /// An `up` killed right after starting the host mock-vpp, before it journaled the
    /// pid: `down` still finds and stops it, and removes the state.
    #[test]
    fn down_cleans_up_after_a_crashed_up() {
        let root = tempfile::tempdir().unwrap();
        let dir = StateDir {
            dir: root.path().join("x"),
        };
        let pid = start_host_vpp(&dir).unwrap();
        let api = dir.dirs().api_socket;
        assert!(mock_vpp_alive(pid, &api));
        dir.save(&state(&dir, None)).unwrap();
        let report = down(&dir).unwrap().expect("something was up");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(!mock_vpp_alive(pid, &api));
        assert!(!dir.dir.exists());
        assert!(down(&dir).unwrap().is_none());
    }

    #[test]
    fn state_round_trips() {
        let root = tempfile::tempdir().unwrap();
        let dir = StateDir {
            dir: root.path().join("x"),
        };
        assert!(dir.load().unwrap().is_none());
        let mut s = state(&dir, Some(7));
        s.ips.insert("vppDemo_1".into(), "192.168.210.2".into());
        dir.save(&s).unwrap();
        let back = dir.load().unwrap().unwrap();
        assert_eq!(back.mock_vpp_pid, Some(7));
        assert_eq!(back.ips, s.ips);
        let next = next_steps(&back);
        assert!(next.contains(&format!("VPP_CLI_SOCKET={}", dir.cli_socket().display())));
    }

    #[test]
    fn up_says_what_it_cannot_do() {
        let all = Scenario::all(&scenarios_dir()).unwrap();
        let ovs = all
            .values()
            .find(|s| s.vswitch.kind != VswitchKind::MockVpp)
            .unwrap();
        let e = bring_up(ovs, Some("docker")).unwrap_err().to_string();
        assert!(e.contains("harness run"), "{e}");
        let vpp = &all["vpp-memif-ping"];
        let e = bring_up(vpp, Some("netns")).unwrap_err().to_string();
        assert!(e.contains("Docker containers"), "{e}");
    }
}
