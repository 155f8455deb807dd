//! Runs one scenario on one backend: host vswitch, pods, steps, teardown, leak check.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Value};

use crate::backend::{self, Backend, Pod};
use crate::demo::{leftovers, DemoDirs};
use crate::mock_vpp::MockVpp;
use crate::ovs::OvsServer;
use crate::plugin::PluginCall;
use crate::report::Report;
use crate::scenario::{expand, PodSpec, Scenario, Step, VswitchKind};
use crate::vpp_state::{self, VppState};
use crate::{bins, Error, Result};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub backend: Option<String>,
    pub keep: bool,
}

/// Set by SIGINT; the handler is registered once, on first use.
static INTERRUPTED: std::sync::LazyLock<std::sync::Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| {
        let flag = std::sync::Arc::new(AtomicBool::new(false));
        let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone());
        flag
    });

/// Ctrl-C stops after the running step, then the teardown still runs.
fn catch_interrupt() {
    std::sync::LazyLock::force(&INTERRUPTED);
}

struct RunningPod {
    spec: PodSpec,
    pod: Box<dyn Pod>,
    call: PluginCall,
    conf: Value,
    shared: PathBuf,
    /// ADD succeeded and no DEL since: teardown DELs it.
    attached: bool,
}

/// The host vswitch of a run.
enum Host {
    Vpp {
        _mock: MockVpp,
    },
    Ovs(OvsServer),
    /// A mock-vpp outliving the harness (`harness up`), stopped by `harness down`.
    Detached,
}

struct Run<'a> {
    scenario: &'a Scenario,
    dirs: DemoDirs,
    /// The host vswitch's API socket, as netconfs name it.
    host_api: PathBuf,
    host: Option<Host>,
    pods: Vec<RunningPod>,
    ips: BTreeMap<String, String>,
    report: Report,
    /// `harness up`: the journal `harness down` works from, kept current.
    journal: Option<(crate::up::StateDir, crate::up::State)>,
}

/// Runs `scenario`; the report says what passed.
pub fn run(scenario: &Scenario, opts: &Options) -> Result<Report> {
    catch_interrupt();
    let run_id = format!("{:06x}", (std::process::id() ^ now_nanos()) & 0xff_ffff);
    if scenario.kube.is_some() {
        return crate::kube::run::run(scenario, opts, &run_id);
    }
    let root = tempfile::Builder::new().prefix("usrsp-run").tempdir()?;
    let dirs = DemoDirs::under(root.path());
    std::fs::create_dir_all(dirs.api_socket.parent().expect("socket dir"))?;
    let mut backend = backend::pick(opts.backend.as_deref(), &run_id)?;
    // Build whatever binaries are missing now rather than inside the first timed step
    // that needs one: the plugin, the host mock, and on netns the pods' tools.
    let mut needed = vec![("userspace-cni", "userspace")];
    match scenario.vswitch.kind {
        VswitchKind::MockVpp => needed.push(("mock-vpp", "mock-vpp")),
        VswitchKind::MockOvsdb => needed.push(("mock-ovsdb", "mock-ovsdb")),
        VswitchKind::Ovs => {}
    }
    if backend.name() == "netns" {
        needed.extend(crate::images::POD_BINARIES);
    }
    bins::prepare(&needed)?;
    if backend.name() == "docker" {
        if let Some(d) = backend_as_docker(&*backend) {
            // Always (re)build: cargo and docker only redo what changed.
            eprintln!("building the pod image {} ...", crate::images::POD_IMAGE);
            crate::images::build(d)?;
        }
    }
    let mut run = Run {
        scenario,
        dirs,
        pods: Vec::new(),
        ips: BTreeMap::new(),
        report: Report::new(&scenario.name, backend.name()),
        host_api: PathBuf::new(),
        host: None,
        journal: None,
    };
    let ovs_dir = root.path().join("ovs");
    let host = match scenario.vswitch.kind {
        VswitchKind::MockVpp => run
            .report
            .step("start host mock-vpp", || {
                MockVpp::start(&run.dirs.api_socket)
            })
            .map(|m| Host::Vpp { _mock: m }),
        VswitchKind::MockOvsdb => run
            .report
            .step("start host mock-ovsdb", || OvsServer::mock(&ovs_dir))
            .map(Host::Ovs),
        VswitchKind::Ovs => run
            .report
            .step("start host OVS-DPDK (ovsdb-server, ovs-vswitchd)", || {
                OvsServer::real(&ovs_dir)
            })
            .map(Host::Ovs),
    };
    run.host_api = match &host {
        Some(Host::Ovs(o)) => o.socket().to_path_buf(),
        _ => run.dirs.api_socket.clone(),
    };
    run.host = host;
    if run.host.is_some() {
        run.start_pods(&mut *backend, &run_id);
        if run.report.passed {
            let steps = scenario.steps.clone();
            run.steps(&steps);
        }
    }
    // Teardown always runs: DEL what is still attached, pods, the host vswitch, then the
    // backend's leak check.
    if !opts.keep {
        for i in 0..run.pods.len() {
            if run.pods[i].attached {
                run.cni("DEL", i);
            }
        }
    }
    let pods = std::mem::take(&mut run.pods);
    for p in pods {
        let name = p.spec.name.clone();
        if opts.keep {
            eprintln!("  keeping pod {name} (netns {})", p.pod.netns());
            std::mem::forget(p.pod);
            continue;
        }
        let shared = p.shared.clone();
        run.report.step(&format!("remove pod {name}"), || {
            p.pod.remove()?;
            let _ = std::fs::remove_dir(&shared);
            Ok(())
        });
    }
    run.host = None;
    if !opts.keep {
        let left = backend.leftovers();
        run.report.step("backend left nothing", || {
            if left.is_empty() {
                Ok(())
            } else {
                Err(Error::Check(format!("left: {left:?}")))
            }
        });
    } else {
        let kept = root.keep();
        eprintln!("  kept run directory {}", kept.display());
    }
    run.report.finish();
    Ok(run.report)
}

/// `harness up`: brings `scenario` to its running state on `backend` (the host mock-vpp
/// from [`crate::up::start_host_vpp`], pods, then the steps before its first DEL) and
/// leaves it there, journaled in `state_dir` so that [`crate::up::down`] can undo it.
/// The caller builds what the backend needs first.
pub fn up(
    scenario: &Scenario,
    backend: &mut dyn Backend,
    run_id: &str,
    state_dir: &crate::up::StateDir,
) -> Result<Report> {
    catch_interrupt();
    let dirs = state_dir.dirs();
    std::fs::create_dir_all(dirs.api_socket.parent().expect("socket dir"))?;
    let plugin = bins::binary("userspace-cni", "userspace")?;
    let state = crate::up::State {
        scenario: scenario.name.clone(),
        backend: backend.name().into(),
        run_id: run_id.into(),
        phase: "starting".into(),
        api_socket: dirs.api_socket.clone(),
        cli_socket: state_dir.cli_socket(),
        mock_vpp_pid: None,
        plugin,
        cni_path: bins::cni_path(&[]),
        pods: Vec::new(),
        ips: BTreeMap::new(),
    };
    state_dir.save(&state)?;
    let mut run = Run {
        scenario,
        host_api: dirs.api_socket.clone(),
        dirs,
        pods: Vec::new(),
        ips: BTreeMap::new(),
        report: Report::new(&scenario.name, backend.name()),
        host: None,
        journal: Some((state_dir.clone(), state)),
    };
    let pid = run
        .report
        .step("start host mock-vpp (API and CLI sockets)", || {
            crate::up::start_host_vpp(state_dir)
        });
    if let (Some(pid), Some((dir, state))) = (pid, &mut run.journal) {
        state.mock_vpp_pid = Some(pid);
        dir.save(state)?;
        run.host = Some(Host::Detached);
    }
    if run.host.is_some() {
        run.start_pods(backend, run_id);
        if run.report.passed {
            let running: Vec<Step> = scenario
                .steps
                .iter()
                .take_while(|s| !matches!(s, Step::Del { .. } | Step::NothingLeft))
                .cloned()
                .collect();
            run.steps(&running);
        }
    }
    // The pods stay: their containers outlive this process.
    for p in std::mem::take(&mut run.pods) {
        std::mem::forget(p.pod);
    }
    if let (true, Some((dir, state))) = (run.report.passed, &mut run.journal) {
        state.phase = "up".into();
        dir.save(state)?;
    }
    run.report.finish();
    Ok(run.report)
}

fn backend_as_docker(b: &dyn Backend) -> Option<&crate::backend::docker::DockerBackend> {
    b.as_any().downcast_ref()
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl Run<'_> {
    fn start_pods(&mut self, backend: &mut dyn Backend, run_id: &str) {
        let plugin = match bins::binary("userspace-cni", "userspace") {
            Ok(p) => p,
            Err(e) => {
                self.report.step("find the plugin", || Err::<(), _>(e));
                return;
            }
        };
        for (n, spec) in self.scenario.expanded_pods().into_iter().enumerate() {
            // Distinct in the first 12 characters, which name the pod's files.
            let id = format!("{run_id}{n:06x}{}", "0".repeat(52));
            let shared = self.dirs.shared.join(&id[..12]);
            let conf = match self.scenario.netconf(&spec) {
                Ok(c) => self.point_at_run(c),
                Err(e) => {
                    self.report
                        .step(&format!("netconf of {}", spec.name), || Err::<(), _>(e));
                    return;
                }
            };
            let created = self.report.step(&format!("create pod {}", spec.name), || {
                std::fs::create_dir_all(&shared)?;
                backend.create_pod(&spec.name, &shared, spec.vswitch)
            });
            let Some(pod) = created else { return };
            let call = PluginCall::new(
                &plugin,
                &bins::cni_path(&[]),
                &id,
                &pod.netns(),
                &spec.ifname,
            );
            self.pods.push(RunningPod {
                spec,
                pod,
                call,
                conf,
                shared,
                attached: false,
            });
            self.record();
        }
    }

    /// Brings the journal (`harness up`) up to date with the pods.
    fn record(&mut self) {
        let Some((dir, state)) = &mut self.journal else {
            return;
        };
        state.pods = self
            .pods
            .iter()
            .map(|p| crate::up::PodRecord {
                name: p.spec.name.clone(),
                container_id: p.call.container_id.clone(),
                netns: p.call.netns.clone(),
                ifname: p.call.if_name.clone(),
                netconf: p.conf.clone(),
                attached: p.attached,
                pod_api_socket: p.pod.host_api_socket(),
            })
            .collect();
        state.ips = self.ips.clone();
        if let Err(e) = dir.save(state) {
            eprintln!("harness: cannot save {}: {e}", dir.file().display());
        }
    }

    /// The scenario's netconf pointed at this run's directories and host vswitch.
    fn point_at_run(&self, mut conf: Value) -> Value {
        conf["host"]["apiSocket"] = json!(self.host_api);
        conf["sharedDir"] = json!(self.dirs.shared);
        conf["dataDir"] = json!(self.dirs.data);
        if conf.get("ipam").is_some_and(Value::is_object) {
            conf["ipam"]["dataDir"] = json!(self.dirs.ipam);
        }
        conf
    }

    fn targets(&self, pod: &str) -> Vec<usize> {
        (0..self.pods.len())
            .filter(|&i| pod == "*" || self.pods[i].spec.name == pod)
            .collect()
    }

    fn steps(&mut self, steps: &[Step]) {
        for step in steps {
            if INTERRUPTED.load(Ordering::SeqCst) {
                self.report.step("interrupted", || {
                    Err::<(), _>(Error::Check("Ctrl-C".into()))
                });
                return;
            }
            self.step(step);
            if !self.report.passed {
                return;
            }
        }
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Add { pod } | Step::Check { pod } | Step::Del { pod } => {
                let verb = match step {
                    Step::Add { .. } => "ADD",
                    Step::Check { .. } => "CHECK",
                    _ => "DEL",
                };
                for i in self.targets(pod) {
                    self.cni(verb, i);
                }
            }
            Step::Exec {
                pod,
                command,
                expect,
                show,
            } => {
                for i in self.targets(pod) {
                    self.exec(i, command, expect, *show);
                }
            }
            Step::Host { cli, expect, show } => {
                let api = self.dirs.api_socket.clone();
                let text = self.report.step(&format!("host: {cli}"), || {
                    let text = vpp_state::cli(&api, cli)?;
                    expect_all(&text, expect)?;
                    Ok(text)
                });
                if let (Some(text), true) = (text, *show) {
                    self.report.show(&format!("host vpp# {cli}"), &text);
                }
            }
            Step::Counters { bridge, packets } => {
                let api = self.dirs.api_socket.clone();
                self.report.step(
                    &format!("host bridge {bridge}: at least {packets} packets moved"),
                    || {
                        let moved = bridge_packets(&api, *bridge)?;
                        if moved >= *packets {
                            Ok(())
                        } else {
                            Err(Error::Check(format!("only {moved} packets")))
                        }
                    },
                );
            }
            Step::NothingLeft => {
                let api = self.dirs.api_socket.clone();
                let dirs = [
                    self.dirs.shared.clone(),
                    self.dirs.data.clone(),
                    self.dirs.ipam.clone(),
                ];
                let ovs = match &self.host {
                    Some(Host::Ovs(o)) => Some(o),
                    _ => None,
                };
                self.report.step("nothing left on the host", || {
                    match ovs {
                        None => {
                            let s = VppState::read(&api)?;
                            if !s.is_pristine() {
                                return Err(Error::Check(format!("vswitch: {s:?}")));
                            }
                        }
                        Some(o) => {
                            let bridges = o.vsctl(&["list-br"])?;
                            let ifaces = o.vsctl(&["--columns=name", "list", "Interface"])?;
                            if !bridges.is_empty() || !ifaces.is_empty() {
                                return Err(Error::Check(format!(
                                    "OVS: bridges {bridges:?}, interfaces {ifaces:?}"
                                )));
                            }
                        }
                    }
                    let refs: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
                    let left = leftovers(&refs);
                    if left.is_empty() {
                        Ok(())
                    } else {
                        Err(Error::Check(format!("files: {left:?}")))
                    }
                });
            }
            Step::Repeat { times, steps } => {
                for _ in 0..*times {
                    self.steps(steps);
                    if !self.report.passed {
                        return;
                    }
                }
            }
            Step::Apply { .. }
            | Step::DeletePod { .. }
            | Step::KubeState
            | Step::DeviceInfo { .. } => {
                self.report.step("kubernetes step", || {
                    Err::<(), _>(Error::Check(
                        "only Kubernetes scenarios (with [kube]) take this step".into(),
                    ))
                });
            }
        }
    }

    fn cni(&mut self, verb: &str, i: usize) {
        let p = &self.pods[i];
        let mut conf = p.conf.clone();
        if verb == "CHECK" {
            conf["prevResult"] = json!({"cniVersion": conf["cniVersion"], "interfaces": [{"name": p.spec.ifname, "sandbox": p.pod.netns()}]});
        }
        let call = p.call.clone();
        let name = p.spec.name.clone();
        let result = self.report.step(&format!("{verb} {name}"), || {
            let out = call.run(verb, &conf)?;
            if out.success {
                Ok(out.json())
            } else {
                Err(Error::Check(format!(
                    "{} {}",
                    out.stdout.trim(),
                    out.stderr.trim()
                )))
            }
        });
        let ok = result.is_some();
        match verb {
            "ADD" if ok => self.pods[i].attached = true,
            "DEL" if ok => self.pods[i].attached = false,
            _ => {}
        }
        if let (Some(r), "ADD") = (result, verb) {
            if let Some(ip) = r["ips"][0]["address"].as_str() {
                let ip = ip.split('/').next().unwrap_or(ip).to_string();
                eprintln!("      {name}: {} {ip}", call.if_name);
                self.ips.insert(name, ip);
            }
        }
        self.record();
    }

    fn exec(&mut self, i: usize, command: &[String], expect: &[String], show: bool) {
        let n = self.pods.len();
        let this = self.pods[i].spec.name.clone();
        let next = self.pods[(i + 1) % n].spec.name.clone();
        let argv: Result<Vec<String>> = command
            .iter()
            .map(|a| expand(a, &self.ips, &this, &next))
            .collect();
        let expect: Result<Vec<String>> = expect
            .iter()
            .map(|e| expand(e, &self.ips, &this, &next))
            .collect();
        let label = format!("{this}: {}", command.join(" "));
        let pod = &mut self.pods[i].pod;
        let text = self.report.step(&label, || {
            let out = pod.exec(&argv?)?;
            if !out.success {
                return Err(Error::Check(format!("failed: {}", out.output.trim())));
            }
            expect_all(&out.output, &expect?)?;
            Ok(out.output)
        });
        if let (Some(text), true) = (text, show) {
            self.report.show(&label, &text);
        }
    }
}

pub(crate) fn expect_all(text: &str, expect: &[String]) -> Result<()> {
    for e in expect {
        if !text.contains(e.as_str()) {
            return Err(Error::Check(format!("expected {e:?} in:\n{text}")));
        }
    }
    Ok(())
}

/// Packets counted (rx + tx) on the members of host bridge domain `bd`, from VPP's
/// `show interface` text.
pub(crate) fn bridge_packets(api: &std::path::Path, bd: u32) -> Result<u64> {
    let state = VppState::read(api)?;
    let members: Vec<String> = state
        .bridge(bd)
        .map(|b| {
            b.members
                .iter()
                .filter_map(|sw| state.interfaces.iter().find(|i| i.sw_if_index == *sw))
                .map(|i| i.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let text = vpp_state::cli(api, "show interface")?;
    let mut total = 0;
    let mut current = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(first) = words.first() {
            if !line.starts_with(' ') {
                current = first.to_string();
            }
        }
        let counter = line.contains("rx packets") || line.contains("tx packets");
        if counter && members.contains(&current) {
            total += words
                .last()
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}
