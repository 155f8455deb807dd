//! A Kubernetes scenario: mock-kube and the host vswitch start, the plugin is installed
//! as the DaemonSet installs it, the scenario's manifests are applied with `kubectl`, and
//! the [`Node`] runs the pods they create. Steps as in `scenarios/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::api::{Kubectl, MockKube};
use super::multus;
use super::node::Node;
use crate::backend::{self, Backend};
use crate::demo::leftovers;
use crate::mock_vpp::MockVpp;
use crate::ovs::OvsServer;
use crate::report::Report;
use crate::runner::{bridge_packets, expect_all, Options};
use crate::scenario::{expand, Scenario, Step, VswitchKind};
use crate::vpp_state::{self, VppState};
use crate::{bins, Error, Result};

enum Host {
    Vpp(#[allow(dead_code)] MockVpp),
    Ovs(OvsServer),
}

struct KubeRun<'a> {
    scenario: &'a Scenario,
    root: PathBuf,
    host_api: PathBuf,
    host: Option<Host>,
    backend: Box<dyn Backend>,
    node: Option<Node>,
    report: Report,
}

/// Runs a scenario that has a `[kube]` section.
pub fn run(scenario: &Scenario, opts: &Options, run_id: &str) -> Result<Report> {
    let tmp = tempfile::Builder::new().prefix("usrsp-k8s").tempdir()?;
    let root = tmp.path().to_path_buf();
    let backend = backend::pick(opts.backend.as_deref(), run_id)?;
    if backend.name() == "netns" {
        for (package, bin) in crate::images::POD_BINARIES {
            bins::binary(package, bin)?;
        }
    }
    if let Some(d) = backend
        .as_any()
        .downcast_ref::<crate::backend::docker::DockerBackend>()
    {
        eprintln!("building the pod image {} ...", crate::images::POD_IMAGE);
        crate::images::build(d)?;
    }
    let mut run = KubeRun {
        scenario,
        root: root.clone(),
        host_api: PathBuf::new(),
        host: None,
        report: Report::new(&scenario.name, backend.name()),
        backend,
        node: None,
    };
    let _mock = run.start(run_id);
    if run.report.passed {
        let steps = scenario.steps.clone();
        run.steps(&steps);
    }
    // Teardown: every pod still running goes as a deleted pod goes.
    if let Some(node) = run.node.as_mut() {
        while !node.pods.is_empty() {
            if opts.keep {
                break;
            }
            let name = node.pods[0].name.clone();
            let errors = node.teardown(0);
            run.report
                .step(&format!("remove pod {name}"), || first(errors));
        }
    }
    run.host = None;
    if !opts.keep {
        let left = run.backend.leftovers();
        run.report.step("backend left nothing", || {
            if left.is_empty() {
                Ok(())
            } else {
                Err(Error::Check(format!("left: {left:?}")))
            }
        });
    } else {
        let kept = tmp.keep();
        eprintln!("  kept run directory {}", kept.display());
    }
    run.report.finish();
    Ok(run.report)
}

fn first(errors: Vec<Error>) -> Result<()> {
    match errors.into_iter().next() {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// `{run}`, `{api}` and `{kubeconfig}` in a manifest.
fn template(text: &str, root: &Path, api: &Path, kubeconfig: &Path) -> String {
    text.replace("{run}", &root.display().to_string())
        .replace("{api}", &api.display().to_string())
        .replace("{kubeconfig}", &kubeconfig.display().to_string())
}

impl KubeRun<'_> {
    fn plugin_kubeconfig(&self) -> PathBuf {
        self.root.join("kube/multus.kubeconfig")
    }

    /// mock-kube, the host vswitch, the plugin installed, the NADs applied.
    fn start(&mut self, run_id: &str) -> Option<MockKube> {
        let kube_dir = self.root.join("kube");
        let mock = self
            .report
            .step("start mock-kube", || MockKube::start(&kube_dir))?;
        let admin = Kubectl::new(mock.kubeconfig(), "admin", &kube_dir.join("cache"));
        let plugin_kc = self.plugin_kubeconfig();
        self.report
            .step("kubeconfig for the plugin (Multus' identity)", || {
                std::fs::copy(mock.kubeconfig(), &plugin_kc)?;
                Kubectl::new(&plugin_kc, "admin", &kube_dir.join("cache"))
                    .ok(&["config", "use-context", "multus"], None)
                    .map(drop)
            })?;
        let api_socket = self.root.join("run/vpp/api.sock");
        let ovs_dir = self.root.join("ovs");
        std::fs::create_dir_all(api_socket.parent()?).ok()?;
        let host = match self.scenario.vswitch.kind {
            VswitchKind::MockVpp => self
                .report
                .step("start host mock-vpp", || MockVpp::start(&api_socket))
                .map(Host::Vpp),
            VswitchKind::MockOvsdb => self
                .report
                .step("start host mock-ovsdb", || OvsServer::mock(&ovs_dir))
                .map(Host::Ovs),
            VswitchKind::Ovs => self
                .report
                .step("start host OVS-DPDK (ovsdb-server, ovs-vswitchd)", || {
                    OvsServer::real(&ovs_dir)
                })
                .map(Host::Ovs),
        }?;
        self.host_api = match &host {
            Host::Ovs(o) => o.socket().to_path_buf(),
            Host::Vpp(_) => api_socket,
        };
        self.host = Some(host);
        // The DaemonSet's step: usrsp-install puts the plugin into the node's CNI bin dir.
        let cni_bin = self.root.join("opt/cni/bin");
        let plugin = self.report.step("install the plugin (usrsp-install)", || {
            bins::binary("userspace-cni", "userspace")?;
            let installer = bins::binary("usrsp-install", "usrsp-install")?;
            let out = std::process::Command::new(installer)
                .arg("--from")
                .arg(bins::bin_dir())
                .arg("--to")
                .arg(&cni_bin)
                .output()
                .map_err(|e| Error::Spawn("usrsp-install".into(), e))?;
            if !out.status.success() {
                return Err(Error::Command(
                    "usrsp-install".into(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ));
            }
            Ok(cni_bin.join("userspace"))
        })?;
        let cni_path = bins::cni_path(&[]).replacen(
            &bins::bin_dir().display().to_string(),
            &cni_bin.display().to_string(),
            1,
        );
        self.node = Some(Node::new(admin, plugin, cni_path, &self.root, run_id));
        let manifests = self
            .scenario
            .kube
            .as_ref()
            .map(|k| k.manifests.clone())
            .unwrap_or_default();
        for m in manifests {
            self.apply(&m);
            if !self.report.passed {
                break;
            }
        }
        Some(mock)
    }

    fn apply(&mut self, file: &str) {
        let (root, api, kc) = (
            self.root.clone(),
            self.host_api.clone(),
            self.plugin_kubeconfig(),
        );
        let path = self.scenario.dir.join(file);
        let node = self.node.as_ref().expect("node");
        let admin = node.admin.clone();
        let applied = self.report.step(&format!("kubectl apply -f {file}"), || {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::Check(format!("{}: {e}", path.display())))?;
            admin.ok(
                &["apply", "-f", "-"],
                Some(&template(&text, &root, &api, &kc)),
            )
        });
        if applied.is_none() {
            return;
        }
        self.sync();
    }

    /// kubelet's sync: starts the pods the API has and the node does not run yet.
    fn sync(&mut self) {
        let node = self.node.as_mut().expect("node");
        let pending = match node.pending() {
            Ok(p) => p,
            Err(e) => {
                self.report.step("list pods", || Err::<(), _>(e));
                return;
            }
        };
        for pod in pending {
            let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
            let backend = &mut *self.backend;
            let node = self.node.as_mut().expect("node");
            let started = self
                .report
                .step(&format!("start pod {name} (Multus ADD)"), || {
                    node.start(backend, &pod)
                });
            if let (Some(()), Some(p)) = (started, node.pods.last()) {
                let nets: Vec<String> = p
                    .attachments
                    .iter()
                    .map(|a| format!("{} {:?}", a.ifname, a.status.first().map(|s| &s.ips)))
                    .collect();
                eprintln!("      {name}: {}", nets.join(", "));
            }
            if !self.report.passed {
                return;
            }
        }
    }

    fn targets(&self, pod: &str) -> Vec<String> {
        self.node
            .as_ref()
            .map(|n| {
                n.pods
                    .iter()
                    .filter(|p| pod == "*" || p.name == pod)
                    .map(|p| p.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn ips(&self) -> BTreeMap<String, String> {
        self.node
            .as_ref()
            .map(|n| {
                n.pods
                    .iter()
                    .filter_map(|p| p.first_ip().map(|ip| (p.name.clone(), ip)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn steps(&mut self, steps: &[Step]) {
        for step in steps {
            self.step(step);
            if !self.report.passed {
                return;
            }
        }
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Apply { file } => self.apply(file),
            Step::DeletePod { pod } => {
                for name in self.targets(pod) {
                    let node = self.node.as_mut().expect("node");
                    let i = node.pods.iter().position(|p| p.name == name).expect("pod");
                    let errors = node.teardown(i);
                    self.report
                        .step(&format!("delete pod {name} (Multus DEL)"), || first(errors));
                }
            }
            Step::Exec {
                pod,
                command,
                expect,
                show,
            } => {
                let names = self.targets(pod);
                if names.is_empty() {
                    self.report.step(&format!("exec in {pod}"), || {
                        Err::<(), _>(Error::Check(format!("no running pod {pod}")))
                    });
                }
                for (i, name) in names.iter().enumerate() {
                    let next = &names[(i + 1) % names.len()];
                    self.exec(name, next, command, expect, *show);
                }
            }
            Step::Host { cli, expect, show } => {
                let api = self.host_api.clone();
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
                let api = self.host_api.clone();
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
            Step::KubeState => {
                let result = self.kube_state();
                self.report.step("node and annotations agree", || result);
            }
            Step::DeviceInfo { pod } => {
                for name in self.targets(pod) {
                    let result = self.device_info(&name);
                    self.report
                        .step(&format!("{name}: sockets where device-info says"), || {
                            result
                        });
                }
            }
            Step::NothingLeft => {
                let result = self.nothing_left();
                self.report.step("nothing left on the node", || result);
            }
            Step::Repeat { times, steps } => {
                for _ in 0..*times {
                    self.steps(steps);
                    if !self.report.passed {
                        return;
                    }
                }
            }
            Step::Add { .. } | Step::Check { .. } | Step::Del { .. } => {
                self.report.step("add/check/del", || {
                    Err::<(), _>(Error::Check(
                        "Kubernetes scenarios attach through apply and delete-pod".into(),
                    ))
                });
            }
        }
    }

    fn exec(&mut self, name: &str, next: &str, command: &[String], expect: &[String], show: bool) {
        let ips = self.ips();
        let argv: Result<Vec<String>> = command
            .iter()
            .map(|a| expand(a, &ips, name, next))
            .collect();
        let expect: Result<Vec<String>> =
            expect.iter().map(|e| expand(e, &ips, name, next)).collect();
        let label = format!("{name}: {}", command.join(" "));
        let node = self.node.as_mut().expect("node");
        let i = node.pods.iter().position(|p| p.name == name).expect("pod");
        // kubelet syncs the pod (and its downward-API files) before anything runs in it.
        let refreshed = node.refresh(&node.pods[i]);
        let pod = &mut node.pods[i].pod;
        let text = self.report.step(&label, || {
            refreshed?;
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

    /// See [`Step::KubeState`].
    fn kube_state(&self) -> Result<()> {
        let node = self.node.as_ref().expect("node");
        let mut attached = 0;
        for p in &node.pods {
            let pod = node
                .admin
                .pod(&p.namespace, &p.name)?
                .ok_or_else(|| Error::Check(format!("pod {} is not in the API", p.name)))?;
            let ann = &pod["metadata"]["annotations"];
            let status: Vec<multus::NetworkStatus> = serde_json::from_str(
                ann[multus::NETWORK_STATUS_ANNOTATION]
                    .as_str()
                    .unwrap_or("[]"),
            )
            .map_err(|e| Error::Check(format!("{}: network-status: {e}", p.name)))?;
            let data: serde_json::Value =
                serde_json::from_str(ann["userspace/configuration-data"].as_str().unwrap_or("[]"))
                    .map_err(|e| Error::Check(format!("{}: configuration-data: {e}", p.name)))?;
            for a in &p.attachments {
                attached += 1;
                if !status.iter().any(|s| s.interface == a.ifname) {
                    return Err(Error::Check(format!(
                        "{}: network-status has no {}",
                        p.name, a.ifname
                    )));
                }
                let entries = data
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .filter(|e| e["ifName"] == a.ifname.as_str())
                            .count()
                    })
                    .unwrap_or(0);
                if entries != 1 {
                    return Err(Error::Check(format!(
                        "{}: {entries} configuration-data entries for {}",
                        p.name, a.ifname
                    )));
                }
                if let Some(f) = &a.device_info_file {
                    if !f.exists() {
                        return Err(Error::Check(format!(
                            "{}: device-info file {} missing",
                            p.name,
                            f.display()
                        )));
                    }
                }
            }
            if let (Some(m), false) = (&p.shared_mount, p.attachments.is_empty()) {
                let mapped = ann["userspace/mapped-dir"].as_str().unwrap_or("");
                if mapped.trim_end_matches('/') != m.trim_end_matches('/') {
                    return Err(Error::Check(format!(
                        "{}: userspace/mapped-dir {mapped:?}, the shared-dir mount is {m:?}",
                        p.name
                    )));
                }
            }
        }
        match &self.host {
            Some(Host::Vpp(_)) => {
                let s = VppState::read(&self.host_api)?;
                if s.memifs.len() != attached {
                    return Err(Error::Check(format!(
                        "host VPP has {} memifs, the node attached {attached}",
                        s.memifs.len()
                    )));
                }
            }
            Some(Host::Ovs(o)) => {
                let ifaces = o.vsctl(&["--columns=name", "--bare", "list", "Interface"])?;
                let ports = ifaces
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.trim().starts_with("br-"))
                    .count();
                if ports != attached {
                    return Err(Error::Check(format!(
                        "OVS has {ports} ports, the node attached {attached}: {ifaces:?}"
                    )));
                }
            }
            None => {}
        }
        Ok(())
    }

    /// See [`Step::DeviceInfo`].
    fn device_info(&self, name: &str) -> Result<()> {
        let node = self.node.as_ref().expect("node");
        let p = node.pods.iter().find(|p| p.name == name).expect("pod");
        let pod = node
            .admin
            .pod(&p.namespace, &p.name)?
            .ok_or_else(|| Error::Check(format!("pod {name} is not in the API")))?;
        let status: Vec<multus::NetworkStatus> = serde_json::from_str(
            pod["metadata"]["annotations"][multus::NETWORK_STATUS_ANNOTATION]
                .as_str()
                .unwrap_or("[]"),
        )
        .map_err(|e| Error::Check(format!("network-status: {e}")))?;
        let shared = p
            .shared_mount
            .as_deref()
            .ok_or_else(|| Error::Check("the pod has no shared-dir volume".into()))?;
        if status.is_empty() {
            return Err(Error::Check("network-status has no entry".into()));
        }
        for s in &status {
            let path = s
                .device_info
                .as_ref()
                .and_then(|d| d.path())
                .ok_or_else(|| Error::Check(format!("{}: no device-info path", s.interface)))?;
            if !path.starts_with(&format!("{}/", shared.trim_end_matches('/'))) {
                return Err(Error::Check(format!(
                    "{}: {path} is not inside the shared-dir mount {shared}",
                    s.interface
                )));
            }
            let host = p
                .host_path(path)
                .ok_or_else(|| Error::Check(format!("{path}: not in a mount")))?;
            let meta = std::fs::metadata(&host)
                .map_err(|e| Error::Check(format!("{path} (host {}): {e}", host.display())))?;
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(Error::Check(format!("{path}: not a socket")));
            }
        }
        Ok(())
    }

    /// No pod left in the API or on the node, the host vswitch pristine, no file of the
    /// plugin's in its directories, no device-info file.
    fn nothing_left(&self) -> Result<()> {
        let node = self.node.as_ref().expect("node");
        if !node.pods.is_empty() {
            return Err(Error::Check(format!("{} pods still run", node.pods.len())));
        }
        let list = node.admin.get_json(&["get", "pods", "-A"])?;
        let names: Vec<String> = list
            .as_ref()
            .and_then(|l| l["items"].as_array())
            .into_iter()
            .flatten()
            .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect();
        if !names.is_empty() {
            return Err(Error::Check(format!("pods in the API: {names:?}")));
        }
        match &self.host {
            Some(Host::Vpp(_)) => {
                let s = VppState::read(&self.host_api)?;
                if !s.is_pristine() {
                    return Err(Error::Check(format!("vswitch: {s:?}")));
                }
            }
            Some(Host::Ovs(o)) => {
                let ifaces = o.vsctl(&["--columns=name", "--bare", "list", "Interface"])?;
                let ports: Vec<&str> = ifaces
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.trim().starts_with("br-"))
                    .collect();
                if !ports.is_empty() {
                    return Err(Error::Check(format!("OVS ports: {ports:?}")));
                }
            }
            None => {}
        }
        let dirs: Vec<PathBuf> = ["data", "ipam", "shared", "devinfo", "kubelet"]
            .iter()
            .map(|d| self.root.join(d))
            .collect();
        let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
        let left = leftovers(&refs);
        if left.is_empty() {
            Ok(())
        } else {
            Err(Error::Check(format!("files: {left:?}")))
        }
    }
}
