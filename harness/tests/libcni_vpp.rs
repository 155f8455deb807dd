//! End to end through the upstream libcni (our `cni-runtime` client): the reference
//! netconf, as a .conf and as a .conflist, for every CNI version that has a result,
//! against a running mock-vpp and the real host-local IPAM.

use std::path::Path;

use harness::demo::{leftovers, netconf, DemoDirs};
use harness::mock_vpp::MockVpp;
use harness::netns::Netns;
use harness::runtime::{self, as_conflist, Runtime};
use harness::vpp_state::VppState;
use harness::{bins, plugin::Outcome};
use rstest::rstest;

fn ok(out: Outcome, what: &str) -> serde_json::Value {
    assert!(out.success, "{what} failed: {}\n{}", out.stdout, out.stderr);
    out.json()
}

fn version_at_least(v: &str, min: &str) -> bool {
    let parse = |s: &str| -> Vec<u32> { s.split('.').map(|p| p.parse().unwrap()).collect() };
    parse(v) >= parse(min)
}

#[rstest]
fn reference_netconf_through_libcni(
    #[values("0.3.1", "0.4.0", "1.0.0", "1.1.0")] version: &str,
    #[values(false, true)] conflist: bool,
) {
    assert!(
        Path::new("/usr/lib/cni/host-local").exists(),
        "host-local missing: run ci/install-deps.sh (Debian containernetworking-plugins)"
    );
    let root = tempfile::tempdir().unwrap();
    let dirs = DemoDirs::under(root.path());
    std::fs::create_dir_all(dirs.api_socket.parent().unwrap()).unwrap();
    let mock = MockVpp::start(&dirs.api_socket).unwrap();
    bins::binary("userspace-cni", "userspace").unwrap();

    let conf = netconf(&dirs, version, true);
    let conf_file = root
        .path()
        .join(if conflist { "net.conflist" } else { "net.conf" });
    let body = if conflist {
        as_conflist(&conf)
    } else {
        conf.clone()
    };
    std::fs::write(&conf_file, serde_json::to_vec_pretty(&body).unwrap()).unwrap();
    let rt = Runtime {
        bin: runtime::build().unwrap(),
        conf: conf_file,
        cache_dir: root.path().join("cache"),
        cni_path: bins::cni_path(&[]),
    };
    let tag = format!(
        "{}-{}-{}",
        std::process::id(),
        version.replace('.', ""),
        conflist as u8
    );
    let ns = Netns::create(&format!("usrsp-e2e-{tag}")).unwrap();
    let netns = ns.path().display().to_string();
    let c1 = format!("c1{tag}-0123456789abcdef");

    // ADD: the result lists the interface and an address from the subnet.
    let result = ok(rt.add(&netns, &c1, "net1").unwrap(), "ADD");
    assert_eq!(result["cniVersion"], version);
    let ifaces = result["interfaces"].as_array().expect("interfaces");
    assert!(
        ifaces
            .iter()
            .any(|i| i["name"] == "net1" && i["sandbox"] == netns.as_str()),
        "{result}"
    );
    let ip = result["ips"][0]["address"].as_str().expect("an ip");
    assert!(ip.starts_with("192.168.210."), "{ip}");

    // The mock holds one memif, up, alone in bridge domain 4.
    let state = VppState::read(mock.socket()).unwrap();
    assert_eq!(state.memifs.len(), 1, "{state:?}");
    let memif = &state.memifs[0];
    assert!(memif.admin_up, "{state:?}");
    assert_eq!(
        state.bridge(4).expect("bd 4").members,
        vec![memif.sw_if_index]
    );

    // The container's configuration data is where the container reads it.
    let id12 = &c1[..12];
    let data = dirs
        .shared
        .join(id12)
        .join(format!("configData-{id12}-net1.json"));
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    assert_eq!(cfg["containerId"], c1.as_str());
    assert_eq!(cfg["config"]["memif"]["role"], "slave");
    assert_eq!(
        cfg["config"]["memif"]["socketfile"],
        format!("memif-{id12}-net1.sock")
    );

    if version_at_least(version, "0.4.0") {
        ok(rt.check(&netns, &c1, "net1").unwrap(), "CHECK");
    }
    if version_at_least(version, "1.1.0") {
        ok(rt.status().unwrap(), "STATUS");
        // A second attachment that GC should remove, leaving the first alone.
        let c2 = format!("c2{tag}-0123456789abcdef");
        ok(rt.add(&netns, &c2, "net1").unwrap(), "ADD c2");
        assert_eq!(VppState::read(mock.socket()).unwrap().memifs.len(), 2);
        ok(rt.gc(&[(&c1, "net1")]).unwrap(), "GC");
        let state = VppState::read(mock.socket()).unwrap();
        assert_eq!(state.memifs.len(), 1, "{state:?}");
        assert_eq!(state.memifs[0].sw_if_index, memif.sw_if_index);
    }

    ok(rt.del(&netns, &c1, "net1").unwrap(), "DEL");
    let state = VppState::read(mock.socket()).unwrap();
    assert!(state.is_pristine(), "left on mock-vpp: {state:?}");
    let left = leftovers(&[&dirs.shared, &dirs.data, &dirs.ipam]);
    assert!(left.is_empty(), "left on disk: {left:?}");
    // DEL is idempotent.
    ok(rt.del(&netns, &c1, "net1").unwrap(), "second DEL");
}
