use super::*;
use proptest::prelude::*;
use rstest::rstest;
use serde_json::{json, Value};

const REFERENCE: &str = include_str!("../../../scenarios/vpp-memif/netconf.json");

fn who(id: &str, ifname: &str) -> Attachment {
    Attachment {
        container_id: id.into(),
        if_name: ifname.into(),
    }
}

fn conf_with(patch: Value) -> NetConf {
    let mut v: Value = serde_json::from_str(REFERENCE).unwrap();
    merge(&mut v, patch);
    NetConf::parse(&serde_json::to_vec(&v).unwrap()).unwrap()
}

/// JSON merge patch (RFC 7386): null removes.
fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other,
    }
}

#[test]
fn reference_plan() {
    let p = Plan::new(&conf_with(json!({})), &who("0123456789abcdef", "net1")).unwrap();
    assert_eq!(p.host_engine, "vpp");
    assert_eq!(p.shared_dir, PathBuf::from("/var/run/vpp/0123456789ab"));
    assert_eq!(p.socket_file, "memif-0123456789ab-net1.sock");
    assert_eq!(
        p.config_data_path,
        PathBuf::from("/var/run/vpp/0123456789ab/configData-0123456789ab-net1.json")
    );
    assert_eq!(
        p.host.interface,
        InterfaceSpec::Memif {
            role: MemifRole::Master,
            mode: MemifMode::Ethernet,
            socket_path: PathBuf::from("/var/run/vpp/0123456789ab/memif-0123456789ab-net1.sock"),
        }
    );
    assert_eq!(
        p.host.network,
        Network::Bridge(BridgeSpec {
            name: "4".into(),
            vlan: None
        })
    );
    assert_eq!(p.container.memif.role, "slave");
    assert_eq!(p.container.memif.socketfile, "memif-0123456789ab-net1.sock");
    assert_eq!(p.container.net_type, "interface");
    assert_eq!(p.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
}

#[rstest]
#[case(json!({"host": {"bridge": {"bridgeId": null, "bridgeName": "4"}}}), "4")]
#[case(json!({"host": {"bridge": {"bridgeId": 9, "bridgeName": "12"}}}), "12")]
#[case(json!({"host": {"bridge": {"bridgeId": 16777215}}}), "16777215")]
fn bridge_domain_from_name_or_id(#[case] patch: Value, #[case] want: &str) {
    let p = Plan::new(&conf_with(patch), &who("c1", "net1")).unwrap();
    assert_eq!(
        p.host.network,
        Network::Bridge(BridgeSpec {
            name: want.into(),
            vlan: None
        })
    );
}

#[rstest]
#[case::defaults_inverted(json!({"host": {"memif": {"role": "slave"}}, "container": {"memif": {"role": null}}}), "master", "ethernet")]
#[case::mode_inherited(json!({"host": {"memif": {"mode": "ip"}}, "container": {"memif": {"mode": null}}}), "slave", "ip")]
#[case::host_role_default(json!({"host": {"memif": {"role": null}}, "container": {"memif": null}}), "slave", "ethernet")]
fn container_memif_defaults(#[case] patch: Value, #[case] role: &str, #[case] mode: &str) {
    let p = Plan::new(&conf_with(patch), &who("c1", "net1")).unwrap();
    assert_eq!(p.container.memif.role, role);
    assert_eq!(p.container.memif.mode, mode);
}

#[test]
fn vhost_defaults_and_names() {
    let patch = json!({"host": {"iftype": "vhostuser", "memif": null, "vhost": {"mode": "client"}},
                        "container": {"iftype": null, "memif": null}, "sharedDir": "/run/shared/"});
    let p = Plan::new(&conf_with(patch), &who("0123456789abcdef", "net1")).unwrap();
    assert_eq!(p.container.vhost.mode, "server");
    assert_eq!(p.container.iftype, "vhostuser");
    assert_eq!(p.socket_file, "0123456789ab-net1");
    assert_eq!(
        p.socket_path(),
        PathBuf::from("/run/shared/0123456789ab/0123456789ab-net1")
    );
}

#[test]
fn container_inherits_engine_and_socketfile_override_is_honoured() {
    let patch =
        json!({"container": {"engine": null, "iftype": null, "memif": {"socketfile": "app.sock"}}});
    let p = Plan::new(&conf_with(patch), &who("c1", "net1")).unwrap();
    assert_eq!(p.container.engine, "vpp");
    assert_eq!(p.socket_file, "app.sock");
}

#[rstest]
#[case::unknown_host_engine(json!({"host": {"engine": "dpdk"}}), "ERROR: Unknown Host Engine:dpdk")]
#[case::no_host_engine(json!({"host": {"engine": null}}), "ERROR: Unknown Host Engine:")]
#[case::unknown_container_engine(json!({"container": {"engine": "lxc"}}), "ERROR: Unknown Container Engine:lxc")]
#[case::unknown_iftype(json!({"host": {"iftype": "veth"}}), "ERROR: Unknown HostConf.IfType:veth")]
#[case::iftype_mismatch(json!({"container": {"iftype": "vhostuser"}}), "ERROR: ContainerConf.IfType:vhostuser does not match HostConf.IfType:memif")]
#[case::ovs_memif(json!({"host": {"engine": "ovs-dpdk"}, "container": {"engine": null}}), "ERROR: Unknown HostConf.IfType:memif (ovs-dpdk supports vhostuser)")]
#[case::no_net_type(json!({"host": {"netType": null}}), "ERROR: NetType must be provided")]
#[case::bad_net_type(json!({"host": {"netType": "l3"}}), "ERROR: Unknown HostConf.NetType:l3")]
#[case::bad_container_net_type(json!({"container": {"netType": "l3"}}), "ERROR: Unknown ContainerConf.NetType:l3")]
#[case::bad_role(json!({"host": {"memif": {"role": "boss"}}}), "ERROR: Invalid MEMIF Role:boss")]
#[case::same_roles(json!({"container": {"memif": {"role": "master"}}}), "ERROR: Invalid MEMIF Role:master (host and container cannot both be master)")]
#[case::bad_mode(json!({"host": {"memif": {"mode": "tun"}}}), "ERROR: Invalid MEMIF Mode:tun")]
#[case::mode_mismatch(json!({"container": {"memif": {"mode": "ip"}}}), "ERROR: Invalid MEMIF Mode:ip (the host side is ethernet)")]
#[case::bad_vhost_mode(json!({"host": {"iftype": "vhostuser", "vhost": {"mode": "both"}}, "container": {"iftype": null}}), "ERROR: Invalid Vhost Mode:both")]
#[case::bridge_zero(json!({"host": {"bridge": {"bridgeId": 0}}}), "ERROR: bridgeName or bridgeId must be provided for netType bridge")]
#[case::bridge_negative(json!({"host": {"bridge": {"bridgeId": -3}}}), "ERROR: Invalid bridge domain id:-3 (1 to 16777215)")]
#[case::bridge_too_big(json!({"host": {"bridge": {"bridgeId": 16777216}}}), "ERROR: Invalid bridge domain id:16777216 (1 to 16777215)")]
#[case::bridge_name_text(json!({"host": {"bridge": {"bridgeName": "br0"}}}), "ERROR: Invalid bridgeName:br0 (a VPP bridge domain is named by its decimal id)")]
#[case::bridge_name_signed(json!({"host": {"bridge": {"bridgeName": "+4"}}}), "ERROR: Invalid bridgeName:+4 (a VPP bridge domain is named by its decimal id)")]
#[case::vlan(json!({"host": {"bridge": {"vlanId": 4095}}}), "ERROR: Invalid vlanId:4095 (1 to 4094)")]
#[case::socketfile_path(json!({"host": {"memif": {"socketfile": "../../etc/x.sock"}}}), "ERROR: Invalid socketfile:../../etc/x.sock (a file name, not a path)")]
#[case::socketfile_dotdot(json!({"host": {"memif": {"socketfile": ".."}}}), "ERROR: Invalid socketfile:.. (a file name, not a path)")]
#[case::socketfile_nul(json!({"container": {"memif": {"socketfile": "a\u{0}b"}}}), "ERROR: Invalid socketfile:a\u{0}b (a file name, not a path)")]
#[case::socketfiles_differ(json!({"host": {"memif": {"socketfile": "a.sock"}}, "container": {"memif": {"socketfile": "b.sock"}}}), "ERROR: host socketfile:a.sock and container socketfile:b.sock differ (both ends use one socket)")]
#[case::shared_relative(json!({"sharedDir": "run/x"}), "ERROR: Invalid sharedDir:run/x (an absolute path without . or .. components)")]
#[case::shared_dotdot(json!({"sharedDir": "/run/../etc"}), "ERROR: Invalid sharedDir:/run/../etc (an absolute path without . or .. components)")]
#[case::data_dir_relative(json!({"dataDir": "data"}), "ERROR: Invalid dataDir:data (an absolute path without . or .. components)")]
#[case::api_socket_relative(json!({"host": {"apiSocket": "api.sock"}}), "ERROR: Invalid host.apiSocket:api.sock (an absolute path without . or .. components)")]
#[case::container_api_socket(json!({"container": {"apiSocket": "../api.sock"}}), "ERROR: Invalid container.apiSocket:../api.sock (an absolute path without . or .. components)")]
#[case::zero_timeout(json!({"timeoutMs": 0}), "ERROR: Invalid timeoutMs:0 (must be positive)")]
#[case::ovs_interface(json!({"host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"}, "container": {"engine": null, "iftype": null}}), "ERROR: HostConf.NetType:interface is not supported by ovs-dpdk (an OVS port needs a bridge)")]
#[case::ovs_bridge_name(json!({"host": {"engine": "ovs-dpdk", "iftype": "vhostuser", "bridge": {"bridgeName": "a/b"}}, "container": {"engine": null, "iftype": null}}), "ERROR: Invalid bridgeName:a/b (up to 15 letters, digits, '_', '-', '.')")]
#[case::vhost_group(json!({"host": {"iftype": "vhostuser", "vhost": {"group": "../x"}}, "container": {"iftype": null}}), "ERROR: Invalid vhost group:../x")]
fn rejects(#[case] patch: Value, #[case] msg: &str) {
    let err = Plan::new(&conf_with(patch), &who("0123456789abcdef", "net1"))
        .expect_err("must be rejected");
    assert_eq!(err.0, msg);
}

#[test]
fn socket_path_length_is_bounded() {
    let long = format!("/{}", "d".repeat(80));
    let err = Plan::new(
        &conf_with(json!({"sharedDir": long})),
        &who("0123456789abcdef", "net1"),
    )
    .err()
    .unwrap();
    assert!(err.0.starts_with("ERROR: socket path /ddd"), "{}", err.0);
    assert!(
        err.0.ends_with("a unix socket path holds at most 107"),
        "{}",
        err.0
    );
}

fn container_id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}"
}

fn if_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.-]{0,14}"
}

proptest! {
    /// Any valid attachment of a valid netconf gets the same socket name every time, and
    /// the socket and configuration data stay inside the shared directory.
    #[test]
    fn names_are_deterministic_and_contained(
        id in container_id(),
        ifname in if_name(),
        shared in proptest::option::of("/[a-z]{1,10}(/[a-z]{1,8}){0,2}"),
        vhost in any::<bool>(),
    ) {
        let mut patch = json!({});
        if let Some(s) = &shared {
            patch["sharedDir"] = json!(s);
        }
        if vhost {
            patch["host"] = json!({"iftype": "vhostuser", "memif": null});
            patch["container"] = json!({"iftype": null, "memif": null});
        }
        let conf = conf_with(patch);
        let w = who(&id, &ifname);
        let a = Plan::new(&conf, &w).unwrap();
        let b = Plan::new(&conf, &w).unwrap();
        prop_assert_eq!(&a, &b);
        let sock = a.socket_path();
        prop_assert_eq!(sock.parent(), Some(a.shared_dir.as_path()));
        prop_assert_eq!(a.config_data_path.parent(), Some(a.shared_dir.as_path()));
        prop_assert!(a.shared_dir.ends_with(crate::cni::env::short_id(&id)));
        let id12 = crate::cni::env::short_id(&id);
        let want = if vhost { format!("{id12}-{ifname}") } else { format!("memif-{id12}-{ifname}.sock") };
        prop_assert_eq!(&a.socket_file, &want);
    }
}

#[test]
fn a_pods_directory_replaces_the_shared_dir_and_a_long_path_takes_the_short_alias() {
    let conf = conf_with(json!({}));
    let w = who("0123456789abcdef", "net1");
    let pod = PodDirs {
        shared_dir: PathBuf::from("/var/lib/cni/usrspcni/pod/"),
        short_dir: Some(PathBuf::from("/var/lib/vhost_sockets/uid")),
        placed_socket: None,
    };
    let p = Plan::for_pod(&conf, &w, &pod).unwrap();
    assert_eq!(p.shared_dir, Path::new("/var/lib/cni/usrspcni/pod"));
    assert_eq!(
        p.socket_path(),
        Path::new("/var/lib/cni/usrspcni/pod/memif-0123456789ab-net1.sock")
    );
    assert_eq!(p.short_dir, None, "short enough: no alias");

    let long = PodDirs {
        shared_dir: PathBuf::from(format!(
            "/var/lib/kubelet/pods/{}/volumes/kubernetes.io~empty-dir/shared-dir",
            "u".repeat(36)
        )),
        ..pod.clone()
    };
    let p = Plan::for_pod(&conf, &w, &long).unwrap();
    assert_eq!(
        p.socket_path(),
        Path::new("/var/lib/vhost_sockets/uid/memif-0123456789ab-net1.sock")
    );
    assert_eq!(
        p.short_dir.as_deref(),
        Some(Path::new("/var/lib/vhost_sockets/uid"))
    );
    assert_eq!(
        p.config_data_path.parent().unwrap(),
        long.shared_dir,
        "data stays in the pod's directory"
    );

    let vhost = conf_with(
        json!({"host": {"iftype": "vhostuser", "memif": null}, "container": {"iftype": "vhostuser", "memif": null}}),
    );
    let placed = PodDirs {
        placed_socket: Some(PathBuf::from("/var/run/dp/vhu-7")),
        ..pod
    };
    let p = Plan::for_pod(&vhost, &w, &placed).unwrap();
    assert_eq!(
        p.socket_path(),
        Path::new("/var/run/dp/vhu-7"),
        "the device plugin's socket"
    );
}
