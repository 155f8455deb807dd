//! The node: kubelet and Multus for the pods of a Kubernetes run.
//!
//! kubelet's part: a pod's volumes (hostPath, emptyDir at kubelet's own path, downward
//! API), its sandbox on the backend, the downward-API files kept current. Multus' part:
//! the pod's networks resolved against their NADs, the plugin exec'd once per network
//! with the delegate netconf, `CNI_ARGS` and interface names Multus gives it (cached for
//! DEL, as Multus caches them), and `network-status` written by GET + PUT of
//! `pods/status` as mock-kube's `multus` user. Teardown is DEL in reverse order.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::api::Kubectl;
use super::downward;
use super::multus::{self, DeviceInfo, NetworkStatus, Selection};
use crate::backend::{Backend, Mount, Pod};
use crate::{Error, Result};

/// Where kubelet keeps an emptyDir volume (the plugin derives the same path).
pub const KUBELET_PODS: &str = "/var/lib/kubelet/pods";

/// One network attached by Multus.
pub struct Attachment {
    pub selection: Selection,
    pub ifname: String,
    /// The delegate's stdin, cached for DEL.
    pub conf: Vec<u8>,
    /// The device-info file passed in runtimeConfig, when the NAD has the capability.
    pub device_info_file: Option<PathBuf>,
    pub status: Vec<NetworkStatus>,
}

/// A downward-API volume: its host directory and (file, fieldPath) items.
struct DownwardVolume {
    dir: PathBuf,
    items: Vec<(String, String)>,
}

/// A pod the node runs.
pub struct NodePod {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub sandbox: String,
    pub pod: Box<dyn Pod>,
    pub mounts: Vec<Mount>,
    /// The `shared-dir` volume's mount path in the pod.
    pub shared_mount: Option<String>,
    pub attachments: Vec<Attachment>,
    downward: Vec<DownwardVolume>,
    /// Directories kubelet made for the pod (emptyDir, downward API), removed with it.
    made: Vec<PathBuf>,
}

impl NodePod {
    /// The pod's first address (of its first network), for `{pod.ip}`.
    pub fn first_ip(&self) -> Option<String> {
        self.attachments
            .iter()
            .flat_map(|a| a.status.iter())
            .flat_map(|s| s.ips.iter())
            .next()
            .cloned()
    }

    /// `path` inside the pod as a host path, through the pod's mounts (the deepest
    /// mount wins).
    pub fn host_path(&self, path: &str) -> Option<PathBuf> {
        self.mounts
            .iter()
            .filter_map(|m| {
                let rest = path.strip_prefix(m.target.trim_end_matches('/'))?;
                (rest.is_empty() || rest.starts_with('/'))
                    .then(|| (m.target.len(), m.source.join(rest.trim_start_matches('/'))))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, p)| p)
    }
}

/// The node of a run.
pub struct Node {
    pub admin: Kubectl,
    pub multus: Kubectl,
    pub plugin: PathBuf,
    pub cni_path: String,
    pub devinfo_dir: PathBuf,
    pub kubelet_dir: PathBuf,
    pub run_id: String,
    pub pods: Vec<NodePod>,
    sandboxes: usize,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

impl Node {
    pub fn new(
        admin: Kubectl,
        plugin: PathBuf,
        cni_path: String,
        dir: &Path,
        run_id: &str,
    ) -> Node {
        Node {
            multus: admin.as_user("multus"),
            admin,
            plugin,
            cni_path,
            devinfo_dir: dir.join("devinfo/cni"),
            kubelet_dir: dir.join("kubelet"),
            run_id: run_id.into(),
            pods: Vec::new(),
            sandboxes: 0,
        }
    }

    /// Pods in the API that the node does not run yet (no deletion pending).
    pub fn pending(&self) -> Result<Vec<Value>> {
        let list = self
            .admin
            .get_json(&["get", "pods", "-A"])?
            .unwrap_or_else(|| json!({"items": []}));
        Ok(list["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| {
                let uid = s(&p["metadata"]["uid"]);
                !self.pods.iter().any(|r| r.uid == uid)
            })
            .collect())
    }

    /// kubelet starting `pod`: volumes, sandbox, then Multus ADD of its networks.
    pub fn start(&mut self, backend: &mut dyn Backend, pod: &Value) -> Result<()> {
        let meta = &pod["metadata"];
        let (namespace, name, uid) = (s(&meta["namespace"]), s(&meta["name"]), s(&meta["uid"]));
        if uid.is_empty() {
            return Err(Error::Check(format!("pod {namespace}/{name} has no uid")));
        }
        self.sandboxes += 1;
        // Distinct in the first 12 characters, which name the plugin's files.
        let sandbox = format!("{:0<64}", format!("{}{:06x}", self.run_id, self.sandboxes));
        let mut made = Vec::new();
        let mut volumes: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut downward = Vec::new();
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            let vname = s(&v["name"]);
            let dir = if let Some(path) = v["hostPath"]["path"].as_str() {
                std::fs::create_dir_all(path)?;
                PathBuf::from(path)
            } else if v.get("emptyDir").is_some() {
                let pod_dir = Path::new(KUBELET_PODS).join(&uid);
                made.push(pod_dir.clone());
                let dir = pod_dir.join("volumes/kubernetes.io~empty-dir").join(&vname);
                std::fs::create_dir_all(&dir)?;
                dir
            } else if let Some(items) = v["downwardAPI"]["items"].as_array() {
                let pod_dir = self.kubelet_dir.join(&uid);
                made.push(pod_dir.clone());
                let dir = pod_dir
                    .join("volumes/kubernetes.io~downward-api")
                    .join(&vname);
                downward.push(DownwardVolume {
                    dir: dir.clone(),
                    items: items
                        .iter()
                        .map(|i| (s(&i["path"]), s(&i["fieldRef"]["fieldPath"])))
                        .collect(),
                });
                std::fs::create_dir_all(&dir)?;
                dir
            } else {
                continue;
            };
            volumes.insert(vname, dir);
        }
        let container = &pod["spec"]["containers"][0];
        let mut mounts = Vec::new();
        let mut shared_mount = None;
        for m in container["volumeMounts"].as_array().into_iter().flatten() {
            let (vname, target) = (s(&m["name"]), s(&m["mountPath"]));
            if let Some(source) = volumes.get(&vname) {
                if vname == "shared-dir" {
                    shared_mount = Some(target.clone());
                }
                mounts.push(Mount {
                    source: source.clone(),
                    target,
                });
            }
        }
        // Volumes are mounted (and the downward API rendered) before the sandbox starts.
        render(&downward, pod)?;
        let mut env = Vec::new();
        if let Some(m) = &shared_mount {
            env.push(("USRSP_SHARED_DIR".to_string(), m.clone()));
        }
        let sandbox_pod = backend.create_pod_mounted(&name, &mounts, &env, true);
        let sandbox_pod = match sandbox_pod {
            Ok(p) => p,
            Err(e) => {
                made.iter().for_each(|d| drop(std::fs::remove_dir_all(d)));
                return Err(e);
            }
        };
        let mut node_pod = NodePod {
            namespace,
            name,
            uid,
            sandbox,
            pod: sandbox_pod,
            mounts,
            shared_mount,
            attachments: Vec::new(),
            downward,
            made,
        };
        let added = self.multus_add(&mut node_pod, pod);
        self.pods.push(node_pod);
        added
    }

    /// Multus' ADD: every network of the pod in order; on a failure the ones already
    /// added are deleted in reverse and the ADD fails.
    fn multus_add(&self, p: &mut NodePod, pod: &Value) -> Result<()> {
        let Some(text) = pod["metadata"]["annotations"][multus::NETWORKS_ANNOTATION].as_str()
        else {
            return Ok(());
        };
        let selections = multus::parse_networks(text, &p.namespace)?;
        for (i, sel) in selections.into_iter().enumerate() {
            match self.add_one(p, sel, i + 1) {
                Ok(a) => p.attachments.push(a),
                Err(e) => {
                    while let Some(a) = p.attachments.pop() {
                        let _ = self.del_one(p, &a);
                    }
                    return Err(e);
                }
            }
        }
        self.write_status(p)?;
        self.refresh(p)
    }

    fn add_one(&self, p: &NodePod, selection: Selection, index: usize) -> Result<Attachment> {
        let nad = self
            .admin
            .get_json(&[
                "get",
                "network-attachment-definitions.k8s.cni.cncf.io",
                &selection.name,
                "-n",
                &selection.namespace,
            ])?
            .ok_or_else(|| {
                Error::Check(format!(
                    "NetworkAttachmentDefinition {}/{} not found",
                    selection.namespace, selection.name
                ))
            })?;
        let ifname = multus::ifname(&selection, index);
        let file = self
            .devinfo_dir
            .join(multus::device_info_name(&selection, &p.sandbox, &ifname));
        let (conf, passed) = multus::delegate_config(
            nad["spec"]["config"].as_str().unwrap_or(""),
            &selection.name,
            Some(&file.display().to_string()),
        )?;
        let mut a = Attachment {
            selection,
            ifname,
            conf,
            device_info_file: passed.then_some(file),
            status: Vec::new(),
        };
        let out = self.exec("ADD", p, &a)?;
        let result: Value = serde_json::from_str(&out)
            .map_err(|e| Error::Check(format!("ADD {}: result: {e}: {out}", a.ifname)))?;
        let device_info: Option<DeviceInfo> = a
            .device_info_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        let network = format!("{}/{}", a.selection.namespace, a.selection.name);
        a.status = multus::statuses_from_result(&result, &network, device_info.as_ref());
        Ok(a)
    }

    /// Runs the plugin as Multus' libcni does: CNI_* environment, the cached stdin.
    fn exec(&self, verb: &str, p: &NodePod, a: &Attachment) -> Result<String> {
        let args = multus::cni_args(&p.namespace, &p.name, &p.sandbox, &p.uid);
        let mut child = Command::new(&self.plugin)
            .env_clear()
            .env("CNI_COMMAND", verb)
            .env("CNI_CONTAINERID", &p.sandbox)
            .env("CNI_NETNS", p.pod.netns())
            .env("CNI_IFNAME", &a.ifname)
            .env("CNI_ARGS", args)
            .env("CNI_PATH", &self.cni_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Spawn(self.plugin.display().to_string(), e))?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&a.conf)
            .map_err(|e| Error::Spawn("plugin stdin".into(), e))?;
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Spawn(self.plugin.display().to_string(), e))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(Error::Check(format!(
                "{verb} {}/{} {}: {} {}",
                p.namespace,
                p.name,
                a.ifname,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Multus' DEL of one network: the plugin with the cached stdin, then the
    /// device-info file removed. Fails when the plugin fails, or left the file.
    fn del_one(&self, p: &NodePod, a: &Attachment) -> Result<()> {
        let out = self.exec("DEL", p, a);
        let left = a.device_info_file.as_ref().filter(|f| f.exists()).cloned();
        if let Some(f) = &left {
            let _ = std::fs::remove_file(f);
        }
        out?;
        match left {
            Some(f) => Err(Error::Check(format!(
                "DEL {} left its device-info file {}",
                a.ifname,
                f.display()
            ))),
            None => Ok(()),
        }
    }

    /// `network-status` by GET + full PUT of pods/status as the `multus` user, retried
    /// on conflict.
    fn write_status(&self, p: &NodePod) -> Result<()> {
        let entries: Vec<NetworkStatus> = p
            .attachments
            .iter()
            .flat_map(|a| a.status.iter().cloned())
            .collect();
        let value = multus::network_status_annotation(&entries);
        for _ in 0..10 {
            let mut pod = self
                .multus
                .pod(&p.namespace, &p.name)?
                .ok_or_else(|| Error::Check(format!("pod {} vanished", p.name)))?;
            if !pod["metadata"]["annotations"].is_object() {
                pod["metadata"]["annotations"] = json!({});
            }
            pod["metadata"]["annotations"][multus::NETWORK_STATUS_ANNOTATION] = json!(value);
            if self.multus.replace_status(&pod)? {
                return Ok(());
            }
        }
        Err(Error::Check(format!(
            "network-status of {}: conflicts on every try",
            p.name
        )))
    }

    /// kubelet's sync of the pod's downward-API volumes from the API object.
    pub fn refresh(&self, p: &NodePod) -> Result<()> {
        if p.downward.is_empty() {
            return Ok(());
        }
        let pod = self
            .admin
            .pod(&p.namespace, &p.name)?
            .ok_or_else(|| Error::Check(format!("pod {} vanished", p.name)))?;
        render(&p.downward, &pod)
    }

    /// The pod deleted as a graceful delete goes: Multus DEL of every network in reverse,
    /// checks that the plugin took its annotations back, the sandbox and kubelet's
    /// directories removed, then the pod object deleted. Returns every failure.
    pub fn teardown(&mut self, index: usize) -> Vec<Error> {
        let mut p = self.pods.remove(index);
        let mut errors = Vec::new();
        while let Some(a) = p.attachments.pop() {
            if let Err(e) = self.del_one(&p, &a) {
                errors.push(e);
            }
        }
        match self.admin.pod(&p.namespace, &p.name) {
            Ok(Some(pod)) if s(&pod["metadata"]["uid"]) == p.uid => {
                let ann = &pod["metadata"]["annotations"];
                let data = ann["userspace/configuration-data"].as_str().unwrap_or("");
                let entries = serde_json::from_str::<Value>(data)
                    .ok()
                    .and_then(|v| v.as_array().map(Vec::len))
                    .unwrap_or(0);
                if entries > 0 || !ann["userspace/mapped-dir"].is_null() {
                    errors.push(Error::Check(format!(
                        "{}: annotations left after DEL: configuration-data {data:?}, mapped-dir {}",
                        p.name, ann["userspace/mapped-dir"]
                    )));
                }
                if let Err(e) = self.admin.ok(
                    &[
                        "delete",
                        "pod",
                        &p.name,
                        "-n",
                        &p.namespace,
                        "--grace-period=0",
                        "--force",
                        "--wait=false",
                    ],
                    None,
                ) {
                    errors.push(e);
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
        if let Err(e) = p.pod.remove() {
            errors.push(e);
        }
        for d in &p.made {
            let _ = std::fs::remove_dir_all(d);
        }
        errors
    }
}

/// Renders every downward-API volume of a pod from its API object.
fn render(volumes: &[DownwardVolume], pod: &Value) -> Result<()> {
    for v in volumes {
        let mut files = BTreeMap::new();
        for (path, field) in &v.items {
            let map_of = |key: &str| -> BTreeMap<String, String> {
                pod["metadata"][key]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let content = match field.as_str() {
                "metadata.annotations" => downward::format_map(&map_of("annotations")),
                "metadata.labels" => downward::format_map(&map_of("labels")),
                "metadata.name" => s(&pod["metadata"]["name"]),
                "metadata.namespace" => s(&pod["metadata"]["namespace"]),
                "metadata.uid" => s(&pod["metadata"]["uid"]),
                other => {
                    return Err(Error::Check(format!(
                        "downward API field {other} is not rendered by the harness"
                    )))
                }
            };
            files.insert(path.clone(), content);
        }
        downward::write_atomic(&v.dir, &files)?;
    }
    Ok(())
}
