//! Kubernetes mode against mock-kube (an API server over TLS) and mock-vpp: the plugin
//! executed as Multus runs it (K8S_POD_* in CNI_ARGS, a kubeconfig in the netconf or the
//! in-cluster variables), the pod read and annotated, checked with the real kubectl.

use std::path::{Path, PathBuf};

use harness::bins;
use harness::demo::{leftovers, netconf, DemoDirs};
use harness::mock_kube::{MockKube, KUBECTL};
use harness::mock_vpp::MockVpp;
use harness::plugin::{Outcome, PluginCall};
use harness::vpp_state::VppState;
use serde_json::{json, Value};
use userspace_cni::kube::downward;

const CONFIG_DATA: &str = "userspace/configuration-data";
const MAPPED_DIR: &str = "userspace/mapped-dir";

struct Bed {
    root: tempfile::TempDir,
    dirs: DemoDirs,
    vpp: MockVpp,
    kube: MockKube,
    netns: String,
    /// The `plugin` user's kubeconfig (get, update, patch on pods).
    kubeconfig: PathBuf,
}

fn id(n: usize) -> String {
    format!("{n:012x}{}", "c".repeat(52))
}

impl Bed {
    fn new(kube_args: &[&str]) -> Bed {
        let kubectl = std::process::Command::new(KUBECTL).arg("help").output();
        assert!(kubectl.is_ok(), "kubectl missing: run ci/install-deps.sh");
        let root = tempfile::tempdir().unwrap();
        let dirs = DemoDirs::under(root.path());
        std::fs::create_dir_all(dirs.api_socket.parent().unwrap()).unwrap();
        let vpp = MockVpp::start(&dirs.api_socket).unwrap();
        let kube = MockKube::start(root.path(), kube_args).unwrap();
        let kubeconfig = kube
            .kubeconfig_as("plugin", &root.path().join("plugin.kubeconfig"))
            .unwrap();
        let netns = root.path().join("netns");
        std::fs::write(&netns, b"").unwrap();
        Bed {
            netns: netns.display().to_string(),
            root,
            dirs,
            vpp,
            kube,
            kubeconfig,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// The reference memif netconf in Kubernetes mode (no IPAM unless asked).
    fn conf(&self, ipam: bool) -> Value {
        let mut c = netconf(&self.dirs, "1.1.0", ipam);
        c["kubeconfig"] = json!(self.kubeconfig);
        c["kubeletDir"] = json!(self.path("kubelet"));
        c["shortSocketDir"] = json!(self.path("vs"));
        c
    }

    fn device_info_file(&self, cid: &str, ifname: &str) -> PathBuf {
        self.path(&format!("devinfo/cni/default-memif-network-{cid}_{ifname}"))
    }

    /// A pod with a `shared-dir` volume (`volume` is its source) mounted at `mount`.
    fn pod(&self, name: &str, volume: Value, mount: &str) -> Value {
        let mut v = json!({"name": "shared-dir"});
        v.as_object_mut()
            .unwrap()
            .extend(volume.as_object().unwrap().clone());
        self.kube
            .create_pod(&json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default",
                             "annotations": {"k8s.v1.cni.cncf.io/networks": "memif-network"}},
                "spec": {"volumes": [v], "containers": [{"name": "app", "image": "app",
                    "volumeMounts": [{"name": "shared-dir", "mountPath": mount}]}]}
            }))
            .unwrap()
    }

    fn host_path_pod(&self, name: &str) -> (Value, PathBuf) {
        let dir = self.path(&format!("host/{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let pod = self.pod(
            name,
            json!({"hostPath": {"path": dir, "type": "DirectoryOrCreate"}}),
            "/var/lib/cni/usrspcni/",
        );
        (pod, dir)
    }

    fn call(&self, cid: &str, ifname: &str, pod: &Value) -> PluginCall {
        let plugin = bins::binary("userspace-cni", "userspace").unwrap();
        let mut c = PluginCall::new(&plugin, &bins::cni_path(&[]), cid, &self.netns, ifname);
        c.args = format!(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={cid};K8S_POD_UID={}",
            pod["metadata"]["name"].as_str().unwrap(),
            pod["metadata"]["uid"].as_str().unwrap()
        );
        c
    }

    /// The pod's annotations as kubectl shows them.
    fn annotations(&self, name: &str) -> Value {
        let p = self.kube.get_pod("default", name).unwrap();
        p["metadata"]["annotations"].clone()
    }

    fn entries(&self, name: &str) -> Vec<Value> {
        match self.annotations(name)[CONFIG_DATA].as_str() {
            None => Vec::new(),
            Some(text) => serde_json::from_str(text).unwrap(),
        }
    }

    fn vpp_state(&self) -> VppState {
        VppState::read(self.vpp.socket()).unwrap()
    }

    /// Nothing of any attachment left: vswitch, records, IPs, files under `extra`.
    fn assert_clean(&self, extra: &[&Path]) {
        let s = self.vpp_state();
        assert!(s.is_pristine(), "left on mock-vpp: {s:?}");
        let mut dirs = vec![
            self.dirs.shared.as_path(),
            self.dirs.data.as_path(),
            self.dirs.ipam.as_path(),
        ];
        let devinfo = self.path("devinfo");
        dirs.push(&devinfo);
        dirs.extend(extra);
        let left = leftovers(&dirs);
        assert!(left.is_empty(), "left on disk: {left:?}");
    }
}

fn ok(out: Outcome, what: &str) -> Value {
    assert!(out.success, "{what} failed: {}\n{}", out.stdout, out.stderr);
    out.json()
}

fn failed(out: Outcome, what: &str) -> Value {
    assert!(!out.success, "{what} succeeded: {}", out.stdout);
    out.json()
}

fn is_mounted(dir: &Path) -> bool {
    let want = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

#[test]
fn add_uses_the_hostpath_shared_dir_annotates_the_pod_and_writes_device_info() {
    let bed = Bed::new(&[]);
    let (pod, dir) = bed.host_path_pod("p1");
    let cid = id(1);
    let mut conf = bed.conf(false);
    let devinfo = bed.device_info_file(&cid, "net1");
    conf["runtimeConfig"] = json!({"CNIDeviceInfoFile": devinfo});
    let call = bed.call(&cid, "net1", &pod);

    let result = ok(call.run("ADD", &conf).unwrap(), "ADD");
    let socket = dir.join(format!("memif-{}-net1.sock", &cid[..12]));
    assert_eq!(result["interfaces"][0]["socketPath"], json!(socket));
    assert!(
        socket.exists(),
        "mock-vpp listens on the socket in the hostPath"
    );
    assert!(bed
        .vpp_state()
        .memif_sockets
        .iter()
        .any(|(_, f)| Path::new(f) == socket));

    let a = bed.annotations("p1");
    assert_eq!(a[MAPPED_DIR], "/var/lib/cni/usrspcni/");
    let entries = bed.entries("p1");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    // The original's ConfigurationData field names.
    for key in ["containerId", "ifName", "name", "config", "ipResult"] {
        assert!(e.get(key).is_some(), "entry lacks {key}: {e}");
    }
    assert_eq!(
        (e["containerId"].as_str(), e["ifName"].as_str()),
        (Some(cid.as_str()), Some("net1"))
    );
    assert_eq!(e["config"]["memif"]["role"], "slave");
    assert_eq!(
        e["config"]["memif"]["socketfile"],
        json!(format!("memif-{}-net1.sock", &cid[..12]))
    );
    assert_eq!(
        a["k8s.v1.cni.cncf.io/networks"], "memif-network",
        "other annotations kept"
    );

    // Device info names the socket as the pod sees it: in its shared-dir mount.
    let seen = Path::new(a[MAPPED_DIR].as_str().unwrap()).join(socket.file_name().unwrap());
    let info: Value = serde_json::from_slice(&std::fs::read(&devinfo).unwrap()).unwrap();
    assert_eq!(
        info,
        json!({"type": "memif", "version": "1.1.0",
               "memif": {"role": "slave", "path": seen, "mode": "ethernet"}})
    );

    let mut check = conf.clone();
    check["prevResult"] = result.clone();
    ok(call.run("CHECK", &check).unwrap(), "CHECK");

    // A repeated ADD of the same attachment leaves one entry.
    ok(call.run("ADD", &conf).unwrap(), "second ADD");
    assert_eq!(bed.entries("p1").len(), 1);

    ok(call.run("DEL", &conf).unwrap(), "DEL");
    let a = bed.annotations("p1");
    assert!(
        a.get(CONFIG_DATA).is_none() && a.get(MAPPED_DIR).is_none(),
        "{a}"
    );
    assert!(!devinfo.exists());
    bed.assert_clean(&[&dir]);
    ok(call.run("DEL", &conf).unwrap(), "DEL again");
}

#[test]
fn emptydir_shared_dir_too_long_for_a_socket_gets_a_bind_mounted_short_dir() {
    let bed = Bed::new(&[]);
    let pod = bed.pod("p2", json!({"emptyDir": {}}), "/var/lib/cni/usrspcni");
    let uid = pod["metadata"]["uid"].as_str().unwrap();
    // kubelet makes the emptyDir before the sandbox, and so before CNI ADD.
    let long = bed.path(&format!(
        "kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/shared-dir"
    ));
    std::fs::create_dir_all(&long).unwrap();
    let cid = id(2);
    let conf = bed.conf(false);
    let call = bed.call(&cid, "net1", &pod);
    let name = format!("memif-{}-net1.sock", &cid[..12]);
    assert!(
        long.join(&name).as_os_str().len() > 107,
        "the test needs a long path"
    );

    let result = ok(call.run("ADD", &conf).unwrap(), "ADD");
    let short = bed.path(&format!("vs/{uid}"));
    assert_eq!(
        result["interfaces"][0]["socketPath"],
        json!(short.join(&name))
    );
    assert!(is_mounted(&short));
    assert!(
        long.join(&name).exists(),
        "the socket shows in the pod's emptyDir"
    );
    assert_eq!(bed.entries("p2").len(), 1);
    let mut check = conf.clone();
    check["prevResult"] = result.clone();
    ok(call.run("CHECK", &check).unwrap(), "CHECK");

    ok(call.run("DEL", &conf).unwrap(), "DEL");
    assert!(!is_mounted(&short) && !short.exists());
    assert!(bed.entries("p2").is_empty());
    bed.assert_clean(&[&long]);
}

#[test]
fn in_cluster_variables_and_service_account_find_the_pod() {
    let bed = Bed::new(&[]);
    let (pod, dir) = bed.host_path_pod("p3");
    let (host, port) = bed.kube.address().unwrap();
    let mut conf = bed.conf(false);
    conf.as_object_mut().unwrap().remove("kubeconfig");
    let cid = id(3);
    let mut call = bed.call(&cid, "net1", &pod);
    call.env = vec![
        ("KUBERNETES_SERVICE_HOST".into(), host),
        ("KUBERNETES_SERVICE_PORT".into(), port.to_string()),
    ];
    // The service account where kubelet mounts it, in a mount namespace of its own.
    let sa = bed.kube.service_account_dir().display().to_string();
    call.wrapper = vec![
        "/usr/bin/unshare".into(),
        "-m".into(),
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "/bin/mount -t tmpfs none /run && /bin/mkdir -p /run/secrets/kubernetes.io/serviceaccount \
             && /bin/mount --bind {sa} /run/secrets/kubernetes.io/serviceaccount && exec \"$0\""
        ),
    ];
    ok(call.run("ADD", &conf).unwrap(), "ADD");
    let entries = bed.entries("p3");
    assert_eq!(entries.len(), 1);
    assert!(dir.join(format!("memif-{}-net1.sock", &cid[..12])).exists());
    ok(call.run("DEL", &conf).unwrap(), "DEL");
    assert!(bed.entries("p3").is_empty());
    bed.assert_clean(&[&dir]);
}

#[test]
fn parallel_pods_and_interfaces_lose_no_entry() {
    let bed = Bed::new(&[]);
    let (a, _) = bed.host_path_pod("pa");
    let (b, _) = bed.host_path_pod("pb");
    // Four interfaces of one pod, each with its own data directory so that nothing on
    // the host serialises them: their annotation updates race on the pod.
    let jobs: Vec<(Value, String, String, Value)> = (0..4)
        .map(|i| {
            let mut c = bed.conf(false);
            c["dataDir"] = json!(bed.path(&format!("data{i}")));
            c["host"]["bridge"]["bridgeId"] = json!(10 + i);
            (a.clone(), id(10), format!("net{}", i + 1), c)
        })
        .chain((0..2).map(|i| {
            let mut c = bed.conf(false);
            c["dataDir"] = json!(bed.path(&format!("datab{i}")));
            (b.clone(), id(20 + i), "net1".to_string(), c)
        }))
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(pod, cid, ifn, conf)| {
                let call = bed.call(cid, ifn, pod);
                s.spawn(move || ok(call.run("ADD", conf).unwrap(), "parallel ADD"))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let mut got: Vec<String> = bed
        .entries("pa")
        .iter()
        .map(|e| e["ifName"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, ["net1", "net2", "net3", "net4"]);
    assert_eq!(bed.entries("pb").len(), 2);
    std::thread::scope(|s| {
        for (pod, cid, ifn, conf) in &jobs {
            let call = bed.call(cid, ifn, pod);
            s.spawn(move || ok(call.run("DEL", conf).unwrap(), "parallel DEL"));
        }
    });
    assert!(bed.entries("pa").is_empty() && bed.entries("pb").is_empty());
    assert!(bed.vpp_state().is_pristine());
}

#[test]
fn a_conflict_on_the_first_update_is_retried() {
    let bed = Bed::new(&["--fault", "fail:update/pods:1:409"]);
    let (pod, dir) = bed.host_path_pod("p4");
    let call = bed.call(&id(4), "net1", &pod);
    ok(call.run("ADD", &bed.conf(false)).unwrap(), "ADD");
    assert_eq!(bed.entries("p4").len(), 1);
    ok(call.run("DEL", &bed.conf(false)).unwrap(), "DEL");
    bed.assert_clean(&[&dir]);
}

#[test]
fn multus_identity_without_patch_rights_works() {
    let bed = Bed::new(&[]);
    let (pod, dir) = bed.host_path_pod("p5");
    let mut conf = bed.conf(false);
    conf["kubeconfig"] = json!(bed
        .kube
        .kubeconfig_as("multus", &bed.path("multus.kubeconfig"))
        .unwrap());
    let call = bed.call(&id(5), "net1", &pod);
    ok(call.run("ADD", &conf).unwrap(), "ADD as multus");
    assert_eq!(bed.entries("p5").len(), 1);
    ok(call.run("DEL", &conf).unwrap(), "DEL as multus");
    assert!(bed.entries("p5").is_empty());
    bed.assert_clean(&[&dir]);
}

#[test]
fn forbidden_reading_gives_a_clear_error_and_leaves_nothing() {
    let bed = Bed::new(&[]);
    let (pod, dir) = bed.host_path_pod("p6");
    let mut conf = bed.conf(true);
    conf["kubeconfig"] = json!(bed
        .kube
        .kubeconfig_as("nobody", &bed.path("nobody.kubeconfig"))
        .unwrap());
    let err = failed(
        bed.call(&id(6), "net1", &pod).run("ADD", &conf).unwrap(),
        "ADD",
    );
    assert_eq!(err["code"], 102);
    let msg = err["msg"].as_str().unwrap();
    assert!(
        msg.contains("refused to get pod default/p6")
            && msg.contains("RBAC get and update on pods"),
        "{msg}"
    );
    bed.assert_clean(&[&dir]);
}

#[test]
fn a_failed_annotation_write_undoes_the_add() {
    let bed = Bed::new(&["--fault", "fail:update/pods:1:403"]);
    let (pod, dir) = bed.host_path_pod("p7");
    let cid = id(7);
    let mut conf = bed.conf(true);
    let devinfo = bed.device_info_file(&cid, "net1");
    conf["runtimeConfig"] = json!({"CNIDeviceInfoFile": devinfo});
    let err = failed(
        bed.call(&cid, "net1", &pod).run("ADD", &conf).unwrap(),
        "ADD",
    );
    assert_eq!(err["code"], 102);
    assert!(
        err["msg"]
            .as_str()
            .unwrap()
            .contains("refused to update pod default/p7"),
        "{err}"
    );
    assert!(bed.entries("p7").is_empty());
    assert!(!devinfo.exists());
    bed.assert_clean(&[&dir]);
}

#[test]
fn an_unreachable_server_and_a_missing_pod_give_clear_errors() {
    let bed = Bed::new(&[]);
    let (pod, dir) = bed.host_path_pod("p8");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = std::fs::read_to_string(&bed.kubeconfig).unwrap();
    let (_, kport) = bed.kube.address().unwrap();
    let away = bed.path("away.kubeconfig");
    std::fs::write(
        &away,
        text.replace(&format!(":{kport}"), &format!(":{port}")),
    )
    .unwrap();
    let mut conf = bed.conf(true);
    conf["kubeconfig"] = json!(away);
    let err = failed(
        bed.call(&id(8), "net1", &pod).run("ADD", &conf).unwrap(),
        "ADD",
    );
    assert_eq!(err["code"], 11);
    assert!(
        err["msg"].as_str().unwrap().contains("unreachable"),
        "{err}"
    );

    let mut ghost = pod.clone();
    ghost["metadata"]["name"] = json!("nope");
    let err = failed(
        bed.call(&id(9), "net1", &ghost)
            .run("ADD", &bed.conf(true))
            .unwrap(),
        "ADD",
    );
    assert_eq!(err["code"], 102);
    assert_eq!(
        err["msg"],
        "pod default/nope not found in the Kubernetes API"
    );

    let mut replaced = pod.clone();
    replaced["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000000");
    let err = failed(
        bed.call(&id(9), "net1", &replaced)
            .run("ADD", &bed.conf(true))
            .unwrap(),
        "ADD",
    );
    assert!(
        err["msg"]
            .as_str()
            .unwrap()
            .contains("the pod was replaced"),
        "{err}"
    );
    bed.assert_clean(&[&dir]);
}

#[test]
fn usrsp_app_builds_the_memif_from_the_downward_api_file() {
    let bed = Bed::new(&[]);
    let dir = bed.path("host/p9");
    std::fs::create_dir_all(&dir).unwrap();
    // The pod mounts the shared directory where the host has it, so that the paths in
    // the annotation work for this test's pod-side vswitch too.
    let pod = bed.pod(
        "p9",
        json!({"hostPath": {"path": dir}}),
        &dir.display().to_string(),
    );
    let conf = bed.conf(false);
    for (n, ifn) in [(30, "net1"), (31, "net2")] {
        let mut c = conf.clone();
        c["host"]["bridge"]["bridgeId"] = json!(n);
        ok(bed.call(&id(30), ifn, &pod).run("ADD", &c).unwrap(), "ADD");
    }
    // The file as kubelet projects it: sorted `key="Go-quoted value"` lines.
    let annotations = bed.annotations("p9");
    let file = bed.path("podinfo/annotations");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, downward::render(annotations.as_object().unwrap())).unwrap();
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("userspace/configuration-data=\"[{\\\"containerId\\\""));

    let pod_vpp_socket = bed.path("podvpp/api.sock");
    std::fs::create_dir_all(pod_vpp_socket.parent().unwrap()).unwrap();
    let pod_vpp = MockVpp::start(&pod_vpp_socket).unwrap();
    let app = bins::binary("userspace-cni", "usrsp-app").unwrap();
    let out = std::process::Command::new(app)
        .args(["--annotations"])
        .arg(&file)
        .arg("--api-socket")
        .arg(&pod_vpp_socket)
        .args(["--wait-ms", "2000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "usrsp-app: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let s = VppState::read(&pod_vpp_socket).unwrap();
    assert_eq!(s.memifs.len(), 2, "{s:?}");
    assert!(
        s.memifs.iter().all(|m| m.role == 1),
        "the pod's ends are slaves: {s:?}"
    );
    drop(pod_vpp);

    // A key that is missing is a clear error.
    std::fs::write(&file, "other=\"x\"").unwrap();
    let out = std::process::Command::new(bins::binary("userspace-cni", "usrsp-app").unwrap())
        .args(["--list", "--annotations"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("\"userspace/configuration-data\" missing from pod annotation"));

    for ifn in ["net1", "net2"] {
        ok(
            bed.call(&id(30), ifn, &pod).run("DEL", &conf).unwrap(),
            "DEL",
        );
    }
}
