//! The plugin with an `ovs-dpdk` host through the libcni runtime client, with the real
//! host-local IPAM, against mock-ovsdb and against real OVS-DPDK: vhost-user server and
//! client modes, with and without a VLAN. After DEL nothing is left; a second DEL works.

use std::path::Path;

use harness::demo::leftovers;
use harness::ovs::OvsServer;
use harness::runtime::{self, Runtime};
use harness::{bins, plugin::Outcome};
use rstest::rstest;
use serde_json::json;

static REAL_OVS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ok(out: Outcome, what: &str) -> serde_json::Value {
    assert!(out.success, "{what} failed: {}\n{}", out.stdout, out.stderr);
    out.json()
}

#[rstest]
fn ovs_dpdk_through_libcni(
    #[values("mock", "real")] server: &str,
    #[values("server", "client")] mode: &str,
    #[values(None, Some(100))] vlan: Option<u16>,
) {
    assert!(
        Path::new("/usr/lib/cni/host-local").exists(),
        "host-local missing: run ci/install-deps.sh"
    );
    let _serial = (server == "real").then(|| REAL_OVS.lock().unwrap_or_else(|e| e.into_inner()));
    let root = tempfile::Builder::new()
        .prefix("ovs")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = match server {
        "mock" => OvsServer::mock(&root.path().join("o")).unwrap(),
        _ => OvsServer::real(&root.path().join("o")).unwrap(),
    };
    bins::binary("userspace-cni", "userspace").unwrap();
    let (shared, data, ipam) = (
        root.path().join("s"),
        root.path().join("d"),
        root.path().join("i"),
    );
    let mut bridge = json!({"bridgeName": "br-cni"});
    if let Some(v) = vlan {
        bridge["vlanId"] = json!(v);
    }
    let conf = json!({
        "cniVersion": "1.0.0", "type": "userspace", "name": "ovs-network",
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "bridge",
                 "vhost": {"mode": mode}, "bridge": bridge, "apiSocket": ovs.socket()},
        "container": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"},
        "sharedDir": shared, "dataDir": data, "timeoutMs": 20000,
        "ipam": {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": ipam}
    });
    let conf_file = root.path().join("net.conf");
    std::fs::write(&conf_file, serde_json::to_vec(&conf).unwrap()).unwrap();
    let rt = Runtime {
        bin: runtime::build().unwrap(),
        conf: conf_file,
        cache_dir: root.path().join("cache"),
        cni_path: bins::cni_path(&[]),
    };
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let netns = netns.display().to_string();
    let id = "0123456789abcdef";

    let result = ok(rt.add(&netns, id, "net1").unwrap(), "ADD");
    assert!(result["ips"][0]["address"]
        .as_str()
        .unwrap()
        .starts_with("10.56.0."));
    let port = "0123456789ab-net1";
    assert_eq!(ovs.vsctl(&["list-ports", "br-cni"]).unwrap(), port);
    let expected_type = if mode == "server" {
        "dpdkvhostuser"
    } else {
        "dpdkvhostuserclient"
    };
    assert_eq!(
        ovs.vsctl(&["get", "Interface", port, "type"]).unwrap(),
        expected_type
    );
    assert_eq!(
        ovs.vsctl(&["get", "Interface", port, "error"]).unwrap(),
        "[]"
    );
    let tag = ovs.vsctl(&["get", "Port", port, "tag"]).unwrap();
    assert_eq!(tag, vlan.map_or("[]".to_string(), |v| v.to_string()));
    let data_file = shared
        .join("0123456789ab")
        .join("configData-0123456789ab-net1.json");
    let cd: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&data_file).unwrap()).unwrap();
    assert_eq!(
        cd["config"]["vhost"]["mode"],
        if mode == "server" { "client" } else { "server" }
    );
    assert_eq!(cd["config"]["vhost"]["socketfile"], port);
    if mode == "server" {
        assert!(
            shared.join("0123456789ab").join(port).exists(),
            "OVS's socket in the shared dir"
        );
    }
    ok(rt.check(&netns, id, "net1").unwrap(), "CHECK");

    ok(rt.del(&netns, id, "net1").unwrap(), "DEL");
    assert_eq!(ovs.vsctl(&["list-br"]).unwrap(), "");
    assert_eq!(
        ovs.vsctl(&["--columns=name", "list", "Interface"]).unwrap(),
        ""
    );
    let left = leftovers(&[&shared, &data, &ipam]);
    assert!(left.is_empty(), "left: {left:?}");
    ok(rt.del(&netns, id, "net1").unwrap(), "second DEL");
}

/// Host and container engines may differ: the container side's configuration data names
/// its own engine.
#[rstest]
#[case::vpp_host_ovs_container("vpp", "ovs-dpdk")]
#[case::ovs_host_vpp_container("ovs-dpdk", "vpp")]
fn mixed_engines(#[case] host: &str, #[case] container: &str) {
    use harness::mock_vpp::MockVpp;
    use harness::plugin::PluginCall;
    let root = tempfile::Builder::new()
        .prefix("mix")
        .tempdir_in("/tmp")
        .unwrap();
    let vpp_sock = root.path().join("vpp/api.sock");
    std::fs::create_dir_all(vpp_sock.parent().unwrap()).unwrap();
    let _vpp = MockVpp::start(&vpp_sock).unwrap();
    let ovs = OvsServer::mock(&root.path().join("o")).unwrap();
    let api = if host == "vpp" {
        vpp_sock.clone()
    } else {
        ovs.socket().to_path_buf()
    };
    let bridge = if host == "vpp" {
        json!({"bridgeId": 4})
    } else {
        json!({"bridgeName": "br0"})
    };
    let conf = json!({
        "cniVersion": "1.0.0", "type": "userspace", "name": "mixed",
        "host": {"engine": host, "iftype": "vhostuser", "netType": "bridge", "bridge": bridge, "apiSocket": api},
        "container": {"engine": container, "iftype": "vhostuser", "netType": "interface"},
        "sharedDir": root.path().join("s"), "dataDir": root.path().join("d")
    });
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let call = PluginCall::new(
        &plugin,
        &bins::cni_path(&[]),
        "fedcba9876543210",
        &netns.display().to_string(),
        "net1",
    );
    ok(call.run("ADD", &conf).unwrap(), "ADD");
    let cd_path = root
        .path()
        .join("s/fedcba987654/configData-fedcba987654-net1.json");
    let cd: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cd_path).unwrap()).unwrap();
    assert_eq!(cd["config"]["engine"], container);
    assert_eq!(cd["config"]["iftype"], "vhostuser");
    if host == "vpp" {
        let s = harness::vpp_state::VppState::read(&vpp_sock).unwrap();
        assert_eq!(s.bridge(4).map(|b| b.members.len()), Some(1));
    } else {
        assert_eq!(
            ovs.vsctl(&["list-ports", "br0"]).unwrap(),
            "fedcba987654-net1"
        );
    }
    ok(call.run("DEL", &conf).unwrap(), "DEL");
    let left = leftovers(&[&root.path().join("s"), &root.path().join("d")]);
    assert!(left.is_empty(), "left: {left:?}");
}
