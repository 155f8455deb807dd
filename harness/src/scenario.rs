//! Scenarios as data: `scenarios/<name>/scenario.toml`, with the netconf files beside it.
//! Adding a scenario needs no Rust; the format is documented in `scenarios/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// The host vswitch a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VswitchKind {
    MockVpp,
    MockOvsdb,
    Ovs,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vswitch {
    pub kind: VswitchKind,
}

/// A pod, or `count` pods named from a pattern containing `{n}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSpec {
    pub name: String,
    /// Netconf file, relative to the scenario directory.
    pub netconf: String,
    #[serde(default = "default_ifname")]
    pub ifname: String,
    /// Start the pod's own mock-vpp (its vswitch for usrsp-app and vppctl).
    #[serde(default = "yes")]
    pub vswitch: bool,
    #[serde(default)]
    pub count: Option<usize>,
}

fn default_ifname() -> String {
    "net1".into()
}

fn yes() -> bool {
    true
}

/// One step. `pod` may be a pod name or `*` (every pod, in order).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// CNI ADD through the plugin; the pod's result (IPs) becomes available to `{..}`.
    Add {
        pod: String,
    },
    Check {
        pod: String,
    },
    Del {
        pod: String,
    },
    /// Runs a command inside the pod; `expect` lists substrings its output must contain.
    Exec {
        pod: String,
        command: Vec<String>,
        #[serde(default)]
        expect: Vec<String>,
        /// Show the output in the report (as the original demo shows vppctl output).
        #[serde(default)]
        show: bool,
    },
    /// A CLI command on the host vswitch (VPP's, through `cli_inband`).
    Host {
        cli: String,
        #[serde(default)]
        expect: Vec<String>,
        #[serde(default)]
        show: bool,
    },
    /// Host interfaces in the given bridge domain have moved at least `packets` packets.
    Counters {
        bridge: u32,
        packets: u64,
    },
    /// The host vswitch holds nothing of the plugin's, and the plugin's directories are
    /// empty.
    NothingLeft,
    /// Repeats the inner steps.
    Repeat {
        times: usize,
        steps: Vec<Step>,
    },
    /// Kubernetes scenarios: `kubectl apply` of a manifest; the node then starts the new
    /// pods (sandbox, volumes, Multus ADD of their networks, network-status, downward API).
    Apply {
        file: String,
    },
    /// Kubernetes scenarios: deletes pods as a graceful delete goes (Multus DEL of their
    /// networks in reverse order, sandbox removed, then the pod object).
    DeletePod {
        pod: String,
    },
    /// Kubernetes scenarios: every running pod's annotations (network-status, the
    /// plugin's configuration data and mapped dir), its downward-API file, its device-info
    /// files and the host vswitch agree with what the node attached.
    KubeState,
    /// Kubernetes scenarios: each attachment's device info (in network-status) names a
    /// socket inside the pod's shared-dir mount, and the pod sees a socket there.
    DeviceInfo {
        pod: String,
    },
}

/// A Kubernetes scenario: the harness plays kubelet and Multus against mock-kube.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeSpec {
    /// Manifests applied before the steps (NADs), relative to the scenario directory.
    /// `{run}` in a manifest is the run's directory, `{api}` the host vswitch's API socket,
    /// `{kubeconfig}` the kubeconfig the plugin uses (mock-kube's `multus` user).
    #[serde(default)]
    pub manifests: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub vswitch: Vswitch,
    #[serde(default)]
    pub pods: Vec<PodSpec>,
    pub steps: Vec<Step>,
    /// Present for Kubernetes scenarios (pods come from manifests, not `pods`).
    #[serde(default)]
    pub kube: Option<KubeSpec>,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The directory holding the scenarios shipped with the workspace.
pub fn scenarios_dir() -> PathBuf {
    std::env::var_os("USERSPACE_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"))
}

impl Scenario {
    pub fn load(dir: &Path) -> Result<Scenario> {
        let file = dir.join("scenario.toml");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::Check(format!("{}: {e}", file.display())))?;
        let mut s: Scenario =
            toml::from_str(&text).map_err(|e| Error::Check(format!("{}: {e}", file.display())))?;
        s.dir = dir.to_path_buf();
        s.validate()?;
        Ok(s)
    }

    /// Every scenario under `root` (directories with a `scenario.toml`), by name.
    pub fn all(root: &Path) -> Result<BTreeMap<String, Scenario>> {
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(root)? {
            let dir = e?.path();
            if dir.join("scenario.toml").is_file() {
                let s = Scenario::load(&dir)?;
                out.insert(s.name.clone(), s);
            }
        }
        Ok(out)
    }

    /// The pods with `count` expanded (`p{n}` with count 3: p0, p1, p2).
    pub fn expanded_pods(&self) -> Vec<PodSpec> {
        self.pods
            .iter()
            .flat_map(|p| match p.count {
                None => vec![p.clone()],
                Some(n) => (0..n)
                    .map(|i| PodSpec {
                        name: p.name.replace("{n}", &i.to_string()),
                        count: None,
                        ..p.clone()
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn netconf(&self, pod: &PodSpec) -> Result<serde_json::Value> {
        let file = self.dir.join(&pod.netconf);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::Check(format!("{}: {e}", file.display())))?;
        serde_json::from_str(&text).map_err(|e| Error::Check(format!("{}: {e}", file.display())))
    }

    fn validate(&self) -> Result<()> {
        let pods = self.expanded_pods();
        let bad = |msg: String| Err(Error::Check(format!("scenario {}: {msg}", self.name)));
        for p in &self.pods {
            if p.count.is_some() != p.name.contains("{n}") {
                return bad(format!(
                    "pod {}: count and a {{n}} in the name go together",
                    p.name
                ));
            }
            if !self.dir.join(&p.netconf).is_file() {
                return bad(format!("pod {}: netconf {} not found", p.name, p.netconf));
            }
        }
        let mut names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        names.sort();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return bad("pod names repeat".into());
        }
        fn check(steps: &[Step], pods: &[PodSpec], name: &str) -> std::result::Result<(), String> {
            for step in steps {
                let pod = match step {
                    Step::Add { pod } | Step::Check { pod } | Step::Del { pod } => Some(pod),
                    Step::Exec { pod, .. } => Some(pod),
                    Step::Repeat { steps, .. } => {
                        check(steps, pods, name)?;
                        None
                    }
                    _ => None,
                };
                if let Some(pod) = pod {
                    if pod != "*" && !pods.iter().any(|p| &p.name == pod) {
                        return Err(format!("scenario {name}: step names unknown pod {pod}"));
                    }
                }
            }
            Ok(())
        }
        if let Some(kube) = &self.kube {
            // Pods come from the manifests; their names are known once applied.
            for m in &kube.manifests {
                if !self.dir.join(m).is_file() {
                    return bad(format!("manifest {m} not found"));
                }
            }
            return Ok(());
        }
        check(&self.steps, &pods, &self.name).map_err(Error::Check)
    }
}

/// Replaces `{<pod>.ip}` (the pod's first address, without prefix length), and for
/// steps run on every pod `{self.ip}` and `{next.ip}` (the next pod, wrapping).
pub fn expand(
    text: &str,
    ips: &BTreeMap<String, String>,
    this: &str,
    next: &str,
) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| Error::Check(format!("unclosed {{ in {text:?}")))?
            + start;
        let var = &rest[start + 1..end];
        let pod = var
            .strip_suffix(".ip")
            .ok_or_else(|| Error::Check(format!("unknown variable {{{var}}} in {text:?}")))?;
        let pod = match pod {
            "self" => this,
            "next" => next,
            other => other,
        };
        let ip = ips
            .get(pod)
            .ok_or_else(|| Error::Check(format!("{{{var}}}: pod {pod} has no address yet")))?;
        out.push_str(ip);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_load() {
        let all = Scenario::all(&scenarios_dir()).unwrap();
        for name in [
            "vpp-memif-ping",
            "churn",
            "scale",
            "ovs-vhostuser",
            "ovs-vhostuser-real",
            "mixed-engines",
            "k8s-vpp-memif-ping",
            "k8s-ovs-vhostuser",
            "k8s-churn",
        ] {
            assert!(all.contains_key(name), "{name}: {:?}", all.keys());
        }
        for s in all.values() {
            assert!(!s.steps.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn variables_expand() {
        let ips: BTreeMap<String, String> = [
            ("a".to_string(), "10.0.0.1".to_string()),
            ("b".into(), "10.0.0.2".into()),
        ]
        .into();
        assert_eq!(
            expand("ping {a.ip} repeat 5", &ips, "b", "a").unwrap(),
            "ping 10.0.0.1 repeat 5"
        );
        assert_eq!(
            expand("{next.ip}/{self.ip}", &ips, "a", "b").unwrap(),
            "10.0.0.2/10.0.0.1"
        );
        assert!(expand("{c.ip}", &ips, "a", "b").is_err());
        assert!(expand("{a.mac}", &ips, "a", "b").is_err());
        assert!(expand("{a.ip", &ips, "a", "b").is_err());
    }
}
