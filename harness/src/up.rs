//! `harness up` / `down` / `status`: a scenario brought to its running state and left
//! there, as the vppDemo tutorial has it — pods named as the scenario names them, the
//! host mock-vpp serving its API and CLI sockets at a stable path — until `down`.
//!
//! What `down` needs is journaled in `<state root>/<scenario>/state.json` as `up` goes:
//! the run id (labelling every container) before anything is made, each pod before its
//! ADD; the host mock-vpp is also found by the API socket on its command line. So `down`
//! also cleans up after an `up` that crashed or was killed half-way.

mod host;
mod netns;
mod state;

use host::stop_mock_vpp;
pub use host::{mock_vpp_alive, start_host_vpp};
pub use state::{all_up, is_root, state_root, PodRecord, State, StateDir};

use crate::backend::docker::DockerBackend;
use crate::demo::leftovers;
use crate::plugin::PluginCall;
use crate::scenario::{Scenario, VswitchKind};
use crate::vpp_state::VppState;
use crate::{bins, Error, Result};

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
    if state.backend == "netns" {
        report.problems.extend(netns::remove_pods(&state.run_id));
    }
    if let Err(e) = stop_mock_vpp(state.mock_vpp_pid, &state.api_socket) {
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
    // docker: in the container, as the tutorial has it; netns: the pod vswitch's socket
    // is a file on the host.
    let exec = |pod: &str| match state.pods.iter().find(|p| p.name == pod) {
        Some(PodRecord {
            pod_api_socket: Some(api),
            ..
        }) => format!("vppctl -s {}", api.display()),
        _ => format!("docker exec {pod} vppctl"),
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
    if state.backend == "netns" {
        s.push_str(&format!(
            "  export PATH={}:$PATH\n",
            bins::bin_dir().display()
        ));
    }
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
    let netns = match backend {
        None | Some("docker") => false,
        Some("netns") => true,
        Some(other) => {
            return Err(Error::Check(format!(
                "unknown backend {other:?} (known: {})",
                crate::backend::NAMES.join(", ")
            )))
        }
    };
    if netns && !is_root() {
        return Err(Error::Check(
            "the netns backend needs root (it creates network namespaces): run as root, \
             or use --backend docker with a Docker engine"
                .into(),
        ));
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
        // Six hex digits, as `harness run`'s: pod ids differ within their first 12.
        // SAFETY: getpid has no memory effects.
        let run_id = format!("{:06x}", (std::process::id() ^ now_nanos()) & 0xff_ffff);
        if netns {
            eprintln!(
                "harness up {}: pods are network namespaces (root)",
                scenario.name
            );
            let mut needed = vec![("userspace-cni", "userspace"), ("mock-vpp", "mock-vpp")];
            needed.extend(crate::images::POD_BINARIES);
            bins::prepare(&needed)?;
            let mut backend = crate::backend::netns::NetnsBackend::new(&run_id);
            crate::runner::up(scenario, &mut backend, &run_id, &state_dir)?
        } else {
            up_docker(scenario, &run_id, &state_dir)?
        }
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

/// The docker backend's `up`: containers named as the pods, from the local pod image.
fn up_docker(
    scenario: &Scenario,
    run_id: &str,
    state_dir: &StateDir,
) -> Result<crate::report::Report> {
    eprintln!(
        "harness up {}: pods are Docker containers; this needs a Docker engine",
        scenario.name
    );
    let mut docker = DockerBackend::connect(run_id)
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
    crate::runner::up(scenario, &mut docker, run_id, state_dir)
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
    use std::collections::BTreeMap;
    use std::path::PathBuf;

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
        let e = bring_up(vpp, Some("bogus")).unwrap_err().to_string();
        assert!(e.contains("unknown backend"), "{e}");
    }
}
