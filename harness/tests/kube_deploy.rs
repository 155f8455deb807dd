//! `deploy/` against mock-kube with the real kubectl: the install set, the NADs and the
//! example pods apply, and `kubectl get` shows every object.

use std::path::Path;

use harness::kube::api::Kubectl;
use harness::mock_kube::MockKube;

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn deploy_manifests_apply_and_show() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("kube");
    std::fs::create_dir_all(&dir).unwrap();
    let mock = MockKube::start(&dir, &[]).unwrap();
    let kubectl = Kubectl::new(mock.kubeconfig(), "admin", &t.path().join("cache"));
    let deploy = deploy_dir();
    let examples = deploy.join("examples");
    for d in [&deploy, &examples] {
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
        .ok(&["apply", "-f", deploy.to_str().unwrap()], None)
        .unwrap();
    assert!(!again.contains("created"), "{again}");
}

/// The DaemonSet's image as `deploy/10-daemonset.yaml` runs it: its container installs the
/// plugin into a host directory mounted at `/host/opt/cni/bin`, byte for byte the static
/// plugin, executable, with nothing else left there.
#[test]
fn installer_image_installs_the_plugin() {
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::RemoveContainerOptionsBuilder;
    use futures_util::StreamExt;
    use std::os::unix::fs::PermissionsExt;

    let docker = harness::backend::docker::DockerBackend::connect("install-test").unwrap();
    harness::images::build_install(&docker).unwrap();
    let host = tempfile::tempdir().unwrap();
    let body = ContainerCreateBody {
        image: Some(harness::images::INSTALL_IMAGE.into()),
        // The DaemonSet's command without --sleep: install, then exit.
        cmd: Some(vec![
            "/usrsp-install".into(),
            "--from".into(),
            "/usrsp".into(),
            "--to".into(),
            "/host/opt/cni/bin".into(),
        ]),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            binds: Some(vec![format!("{}:/host/opt/cni/bin", host.path().display())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let d = docker.docker().clone();
    let code = docker.block_on(async move {
        let c = d.create_container(None, body).await.unwrap();
        d.start_container(&c.id, None).await.unwrap();
        let mut wait = d.wait_container(&c.id, None);
        let mut code = None;
        while let Some(r) = wait.next().await {
            code = Some(r.map(|w| w.status_code).unwrap_or(-1));
        }
        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
        d.remove_container(&c.id, Some(opts)).await.unwrap();
        code
    });
    assert_eq!(code, Some(0));
    let installed = host.path().join("userspace");
    let plugin = harness::images::static_binaries()
        .unwrap()
        .join("userspace");
    assert!(std::fs::read(&installed).unwrap() == std::fs::read(plugin).unwrap());
    let mode = std::fs::metadata(&installed).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let names: Vec<_> = std::fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["userspace"]);
}
