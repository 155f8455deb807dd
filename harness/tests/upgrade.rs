//! A node upgraded in place: pods made by the original plugin, with its records
//! (`<dataDir>/local-<id12>-<ifname>.json`) and the vswitch state exactly as it left them
//! (made here with the original's own requests: VPP's deprecated messages, `ovs-vsctl`),
//! are deleted by this plugin: exactly what the original made goes, then its record;
//! a neighbour's stays; a corrupt record fails DEL in the original's words and is kept.

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::bins;
use harness::demo::{leftovers, netconf, DemoDirs};
use harness::mock_vpp::MockVpp;
use harness::ovs::OvsServer;
use harness::plugin::{Outcome, PluginCall};
use harness::vpp_state::VppState;
use serde_json::{json, Value};
use vpp_api::messages::*;
use vpp_api::types::{IfStatusFlags, L2PortType, MemifMode, MemifRole};
use vpp_api::wire::FixedString;

fn ok(out: Outcome, what: &str) -> Value {
    assert!(out.success, "{what} failed: {}\n{}", out.stdout, out.stderr);
    out.json()
}

fn id(n: usize) -> String {
    format!("{n:012x}{}", "e".repeat(52))
}

/// The original's record of an attachment, written as it wrote them (0644).
fn write_record(data: &Path, id: &str, ifname: &str, body: &Value) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(data).unwrap();
    let path = data.join(format!("local-{}-{ifname}.json", &id[..12]));
    std::fs::write(&path, serde_json::to_vec(body).unwrap()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path
}

struct VppBed {
    root: tempfile::TempDir,
    dirs: DemoDirs,
    mock: MockVpp,
    netns: String,
}

impl VppBed {
    fn new() -> VppBed {
        let root = tempfile::tempdir().unwrap();
        let dirs = DemoDirs::under(root.path());
        std::fs::create_dir_all(dirs.api_socket.parent().unwrap()).unwrap();
        let mock = MockVpp::start(&dirs.api_socket).unwrap();
        let netns = root.path().join("netns");
        std::fs::write(&netns, b"").unwrap();
        VppBed {
            netns: netns.display().to_string(),
            root,
            dirs,
            mock,
        }
    }

    fn call(&self, id: &str) -> PluginCall {
        let plugin = bins::binary("userspace-cni", "userspace").unwrap();
        PluginCall::new(&plugin, &bins::cni_path(&[]), id, &self.netns, "net1")
    }

    /// The IPAM plugin's allocation files (each names its container id).
    fn allocations(&self) -> String {
        leftovers(&[&self.dirs.ipam])
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn state(&self) -> VppState {
        VppState::read(self.mock.socket()).unwrap()
    }

    /// What the original's VPP ADD did for one pod (bridge domain 4, memif master on
    /// `<sharedDir>/<id12>/memif-<id12>-net1.sock`, an address from the IPAM plugin of
    /// `ipam`, when given), and its record.
    fn original_add(&self, id: &str, socket_id: u32, ipam: Option<&Value>) -> (u32, PathBuf) {
        if let Some(conf) = ipam {
            let host_local = PluginCall::new(
                Path::new("/usr/lib/cni/host-local"),
                "/usr/lib/cni",
                id,
                &self.netns,
                "net1",
            );
            ok(host_local.run("ADD", conf).unwrap(), "host-local ADD");
        }
        let dir = self.dirs.shared.join(&id[..12]);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join(format!("memif-{}-net1.sock", &id[..12]));
        let mut c =
            vpp_api::Client::connect(self.mock.socket(), "govpp", Duration::from_secs(5)).unwrap();
        let r = c
            .request(&MemifSocketFilenameAddDel {
                is_add: true,
                socket_id,
                socket_filename: FixedString::exact(&socket.display().to_string()).unwrap(),
            })
            .unwrap();
        assert_eq!(r.retval, 0);
        let r = c
            .request(&MemifCreate {
                role: MemifRole::MASTER,
                mode: MemifMode::ETHERNET,
                rx_queues: 1,
                tx_queues: 1,
                id: 0,
                socket_id,
                ring_size: 1024,
                buffer_size: 2048,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(r.retval, 0);
        let sw = r.sw_if_index;
        let r = c
            .request(&SwInterfaceSetFlags {
                sw_if_index: sw,
                flags: IfStatusFlags::ADMIN_UP,
            })
            .unwrap();
        assert_eq!(r.retval, 0);
        let exists = c
            .dump(&BridgeDomainDump {
                bd_id: 4,
                sw_if_index: u32::MAX,
            })
            .unwrap()
            .iter()
            .any(|d| d.bd_id == 4);
        if !exists {
            let r = c
                .request(&BridgeDomainAddDel {
                    bd_id: 4,
                    flood: true,
                    uu_flood: true,
                    forward: true,
                    learn: true,
                    is_add: true,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(r.retval, 0);
        }
        let r = c
            .request(&SwInterfaceSetL2Bridge {
                rx_sw_if_index: sw,
                bd_id: 4,
                shg: 0,
                port_type: L2PortType::NORMAL,
                enable: true,
            })
            .unwrap();
        assert_eq!(r.retval, 0);
        c.disconnect();
        let rec = write_record(
            &self.dirs.data,
            id,
            "net1",
            &json!({"swIfIndex": sw, "memifSocketId": socket_id}),
        );
        (sw, rec)
    }
}

#[test]
fn vpp_pods_of_the_original_are_deleted_exactly() {
    let bed = VppBed::new();
    // The original's examples: cniVersion 0.3.1, host-local.
    let conf = netconf(&bed.dirs, "0.3.1", true);
    let (gone, gone_rec) = bed.original_add(&id(1), 1, Some(&conf));
    let (kept, kept_rec) = bed.original_add(&id(2), 2, Some(&conf));
    let (collected, collected_rec) = bed.original_add(&id(3), 3, Some(&conf));
    assert!(bed.allocations().contains(&id(1)));

    ok(bed.call(&id(1)).run("DEL", &conf).unwrap(), "DEL");
    let s = bed.state();
    let memifs: Vec<u32> = s.memifs.iter().map(|m| m.sw_if_index).collect();
    assert!(
        !memifs.contains(&gone),
        "the original's memif is gone: {s:?}"
    );
    assert!(
        memifs.contains(&kept) && memifs.contains(&collected),
        "{s:?}"
    );
    let sockets: Vec<u32> = s.memif_sockets.iter().map(|(id, _)| *id).collect();
    assert!(
        !sockets.contains(&1),
        "its socket registration is gone: {s:?}"
    );
    assert!(sockets.contains(&2) && sockets.contains(&3), "{s:?}");
    assert_eq!(
        s.bridge(4).unwrap().members.len(),
        2,
        "the neighbours stay in the bridge domain: {s:?}"
    );
    assert!(!gone_rec.exists(), "the record is consumed");
    let held = bed.allocations();
    assert!(!held.contains(&id(1)), "its address is released: {held}");
    assert!(held.contains(&id(2)) && held.contains(&id(3)), "{held}");
    assert!(kept_rec.exists() && collected_rec.exists());
    assert!(
        !bed.dirs.shared.join(&id(1)[..12]).exists(),
        "the pod's empty directory is gone"
    );
    // Again: nothing left to do.
    ok(bed.call(&id(1)).run("DEL", &conf).unwrap(), "second DEL");
    assert_eq!(bed.state(), s);

    // GC removes the original's pod the runtime no longer knows, and keeps the other.
    let mut gc = conf.clone();
    gc["cniVersion"] = json!("1.1.0");
    gc["cni.dev/valid-attachments"] = json!([{"containerID": id(2), "ifname": "net1"}]);
    ok(bed.call(&id(2)).run("GC", &gc).unwrap(), "GC");
    let s = bed.state();
    let memifs: Vec<u32> = s.memifs.iter().map(|m| m.sw_if_index).collect();
    assert_eq!(memifs, vec![kept], "{s:?}");
    assert!(kept_rec.exists() && !collected_rec.exists());

    ok(bed.call(&id(2)).run("DEL", &conf).unwrap(), "DEL");
    let s = bed.state();
    // Only VPP's own default socket (id 0) is left.
    assert!(s.memifs.is_empty(), "{s:?}");
    assert!(s.memif_sockets.iter().all(|(id, _)| *id == 0), "{s:?}");
    // The bridge domain stays: nothing says the original made it (it is empty, untagged).
    assert_eq!(s.bridge(4).map(|b| b.members.len()), Some(0), "{s:?}");
    let left = leftovers(&[&bed.dirs.shared, &bed.dirs.data]);
    assert!(left.is_empty(), "left: {left:?}");
    // The GC'd pod's address is the IPAM plugin's own GC's to release (this host-local
    // has none): the original kept too little of the container id for a release.
    let held = bed.allocations();
    assert!(!held.contains(&id(2)) && held.contains(&id(3)), "{held}");
    let _ = &bed.root;
}

/// A record that is no longer this pod's memif (VPP restarted and gave its ids to
/// another) is consumed without touching the vswitch.
#[test]
fn stale_ids_are_not_trusted() {
    let bed = VppBed::new();
    let conf = netconf(&bed.dirs, "1.0.0", false);
    let (other, _) = bed.original_add(&id(2), 2, None);
    let rec = write_record(
        &bed.dirs.data,
        &id(1),
        "net1",
        &json!({"swIfIndex": other, "memifSocketId": 2}),
    );
    let before = bed.state();
    ok(bed.call(&id(1)).run("DEL", &conf).unwrap(), "DEL");
    assert_eq!(bed.state(), before, "another pod's memif was touched");
    assert!(!rec.exists());
}

#[test]
fn a_corrupt_record_fails_del_in_the_original_words_and_is_kept() {
    let bed = VppBed::new();
    let conf = netconf(&bed.dirs, "1.0.0", false);
    let (_, rec) = bed.original_add(&id(1), 1, None);
    std::fs::write(&rec, br#"{"swIfIndex":"seven"}"#).unwrap();
    let before = bed.state();
    let out = bed.call(&id(1)).run("DEL", &conf).unwrap();
    assert!(!out.success, "{}", out.stdout);
    assert_eq!(out.code(), Some(5), "{}", out.stdout);
    let msg = out.json()["msg"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.starts_with("ERROR: Failed to parse VPP saved data: "),
        "{msg}"
    );
    assert!(rec.exists(), "the record is kept");
    assert_eq!(bed.state(), before, "nothing was touched");
}

/// The original's OVS ADD, replayed with its `ovs-vsctl` argv (vhost client mode: OVS
/// connects to the pod's socket), on a netconf without `netType`, which the original's
/// OVS engine accepted; this plugin's DEL removes the port, and its own ADD of the same
/// netconf puts the port on `br0` too.
#[test]
fn ovs_pods_of_the_original_are_deleted_exactly() {
    let root = tempfile::Builder::new()
        .prefix("upg")
        .tempdir_in("/tmp")
        .unwrap();
    let ovs = OvsServer::mock(&root.path().join("o")).unwrap();
    let (shared, data) = (root.path().join("s"), root.path().join("d"));
    let netns = root.path().join("netns");
    std::fs::write(&netns, b"").unwrap();
    let conf = json!({
        "cniVersion": "0.3.1", "type": "userspace", "name": "ovs-network",
        "host": {"engine": "ovs-dpdk", "iftype": "vhostuser",
                 "vhost": {"mode": "client"}, "apiSocket": ovs.socket()},
        "container": {"engine": "ovs-dpdk", "iftype": "vhostuser"},
        "sharedDir": shared, "dataDir": data, "timeoutMs": 20000
    });
    let plugin = bins::binary("userspace-cni", "userspace").unwrap();
    let call = |id: &str| {
        PluginCall::new(
            &plugin,
            &bins::cni_path(&[]),
            id,
            &netns.display().to_string(),
            "net1",
        )
    };
    let original_add = |id: &str| {
        let port = format!("{}-net1", &id[..12]);
        let dir = shared.join(&id[..12]);
        std::fs::create_dir_all(&dir).unwrap();
        if ovs
            .vsctl(&["--bare", "--columns=name", "find", "bridge", "name=br0"])
            .unwrap()
            .is_empty()
        {
            ovs.vsctl(&[
                "add-br",
                "br0",
                "--",
                "set",
                "bridge",
                "br0",
                "datapath_type=netdev",
            ])
            .unwrap();
        }
        let server_path = format!("options:vhost-server-path={}", dir.join(&port).display());
        ovs.vsctl(&[
            "add-port",
            "br0",
            &port,
            "--",
            "set",
            "Interface",
            &port,
            "type=dpdkvhostuserclient",
            &server_path,
        ])
        .unwrap();
        let mac = ovs
            .vsctl(&[
                "--bare",
                "--columns=mac",
                "find",
                "port",
                &format!("name={port}"),
            ])
            .unwrap();
        write_record(
            &data,
            id,
            "net1",
            &json!({"vhostname": port, "vhostmac": mac, "ifmac": "62:1c:5e:3a:9b:01"}),
        )
    };
    let ports = || ovs.vsctl(&["list-ports", "br0"]).unwrap();
    let gone_rec = original_add(&id(1));
    let kept_rec = original_add(&id(2));
    assert_eq!(
        ports(),
        format!("{}-net1\n{}-net1", &id(1)[..12], &id(2)[..12])
    );

    ok(call(&id(1)).run("DEL", &conf).unwrap(), "DEL");
    assert_eq!(
        ports(),
        format!("{}-net1", &id(2)[..12]),
        "only its port went"
    );
    assert!(!gone_rec.exists() && kept_rec.exists());
    ok(call(&id(2)).run("DEL", &conf).unwrap(), "DEL");
    assert_eq!(ports(), "");
    // br0 stays: nothing says the original made it.
    assert_eq!(ovs.vsctl(&["list-br"]).unwrap(), "br0");

    // This plugin's ADD of the same netconf (no netType): a port on br0.
    let port = format!("{}-net1", &id(3)[..12]);
    ok(
        call(&id(3)).run("ADD", &conf).unwrap(),
        "ADD without netType",
    );
    assert_eq!(ports(), port);
    ok(call(&id(3)).run("DEL", &conf).unwrap(), "DEL");
    assert_eq!(ports(), "");
    let left = leftovers(&[&shared, &data]);
    assert!(left.is_empty(), "left: {left:?}");
}
