//! `deploy/` against mock-kube with the real kubectl: the install set, the NADs and the
//! example pods apply, and `kubectl get` shows every object.

use std::path::Path;

use harness::kube::api::{Kubectl, MockKube};

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn deploy_manifests_apply_and_show() {
    let t = tempfile::tempdir().unwrap();
    let mock = MockKube::start(&t.path().join("kube")).unwrap();
    let kubectl = Kubectl::new(mock.kubeconfig(), "admin", &t.path().join("cache"));
    let dir = deploy_dir();
    let examples = dir.join("examples");
    for d in [&dir, &examples] {
        let out = kubectl
            .ok(&["apply", "-f", d.to_str().unwrap()], None)
            .unwrap();
        assert!(out.contains("created"), "{out}");
    }
    let shown = |args: &[&str]| kubectl.ok(args, None).unwrap();
    let sa = shown(&[
        "get",
        "serviceaccount",
        "-n",
        "kube-system",
        "userspace-cni",
        "-o",
        "name",
    ]);
    assert_eq!(sa.trim(), "serviceaccount/userspace-cni");
    let role = shown(&["get", "clusterrole", "userspace-cni", "-o", "json"]);
    let role: serde_json::Value = serde_json::from_str(&role).unwrap();
    let verbs = &role["rules"][0]["verbs"];
    for v in ["get", "update"] {
        assert!(verbs.as_array().unwrap().iter().any(|x| x == v), "{verbs}");
    }
    let binding = shown(&["get", "clusterrolebinding", "userspace-cni", "-o", "name"]);
    assert_eq!(
        binding.trim(),
        "clusterrolebinding.rbac.authorization.k8s.io/userspace-cni"
    );
    let ds = shown(&[
        "get",
        "daemonset",
        "-n",
        "kube-system",
        "userspace-cni",
        "-o",
        "json",
    ]);
    let ds: serde_json::Value = serde_json::from_str(&ds).unwrap();
    let container = &ds["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "userspace-cni-install:dev");
    assert_eq!(container["command"][0], "/usrsp-install");
    let nads = shown(&[
        "get",
        "network-attachment-definitions",
        "-n",
        "default",
        "-o",
        "name",
    ]);
    for nad in [
        "userspace-vpp-memif",
        "userspace-ovs-vhostuser",
        "userspace-ovs-vhostuser-client",
    ] {
        assert!(nads.contains(&format!("/{nad}\n")), "{nad} in {nads}");
    }
    // Each NAD's config is a netconf the plugin reads.
    let nad = shown(&[
        "get",
        "net-attach-def",
        "-n",
        "default",
        "userspace-vpp-memif",
        "-o",
        "json",
    ]);
    let nad: serde_json::Value = serde_json::from_str(&nad).unwrap();
    let conf: serde_json::Value =
        serde_json::from_str(nad["spec"]["config"].as_str().unwrap()).unwrap();
    assert_eq!(conf["type"], "userspace");
    assert_eq!(conf["host"]["bridge"]["bridgeId"], 4);
    let pods = shown(&["get", "pods", "-n", "default"]);
    for pod in ["vpp-pod-1", "vpp-pod-2", "ovs-pod-1"] {
        assert!(pods.contains(pod), "{pod} in {pods}");
    }
    // Applying again changes nothing.
    let again = kubectl
        .ok(&["apply", "-f", dir.to_str().unwrap()], None)
        .unwrap();
    assert!(!again.contains("created"), "{again}");
}
