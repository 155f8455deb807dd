use super::*;
use proptest::prelude::*;
use serde_json::json;

const REFERENCE: &str = include_str!("../../../scenarios/vpp-memif/netconf.json");

#[test]
fn reference_netconf_parses() {
    let c = NetConf::parse(REFERENCE.as_bytes()).unwrap();
    assert_eq!(c.cni_version, "0.3.1");
    assert_eq!(c.plugin_type, "userspace");
    assert_eq!(c.host.engine, "vpp");
    assert_eq!(c.host.net_type, "bridge");
    assert_eq!(c.host.memif.role, "master");
    assert_eq!(c.host.bridge.bridge_id, 4);
    assert_eq!(c.container.memif.role, "slave");
    assert_eq!(c.ipam_type(), Some("host-local"));
}

#[test]
fn go_style_keys() {
    let c = NetConf::parse(
        br#"{"CNIVersion":"1.0.0","Name":"n","LogLevel":"debug","Host":{"Engine":"vpp","Bridge":{"BridgeName":"7","VlanID":10}}}"#,
    )
    .unwrap();
    assert_eq!(c.cni_version, "1.0.0");
    assert_eq!(c.name, "n");
    assert_eq!(c.log_level, "debug");
    assert_eq!(c.host.bridge.bridge_name, "7");
    assert_eq!(c.host.bridge.vlan_id, 10);
}

#[test]
fn decode_errors_are_reported() {
    assert!(NetConf::parse(b"{").is_err());
    assert!(NetConf::parse(b"[]").is_err());
    let e = NetConf::parse(br#"{"host":{"bridge":{"bridgeId":"4"}}}"#).unwrap_err();
    assert!(e.contains("invalid type"), "{e}");
}

#[test]
fn valid_attachments_decode() {
    let c = NetConf::parse(
        br#"{"cniVersion":"1.1.0","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"net1"}]}"#,
    )
    .unwrap();
    assert_eq!(c.valid_attachments.unwrap()[0].container_id, "c1");
}

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9./-]{0,12}"
}

fn side() -> impl Strategy<Value = UserSpaceConf> {
    (
        (word(), word(), word(), word()),
        (word(), word(), word()),
        (word(), word(), word()),
        (word(), any::<i64>(), any::<i64>()),
    )
        .prop_map(
            |(
                (engine, iftype, net_type, api_socket),
                (role, mode, sf),
                (vm, vg, vs),
                (bn, bi, vl),
            )| {
                UserSpaceConf {
                    engine,
                    iftype,
                    net_type,
                    api_socket,
                    memif: MemifConf {
                        role,
                        mode,
                        socketfile: sf,
                    },
                    vhost: VhostConf {
                        mode: vm,
                        group: vg,
                        socketfile: vs,
                    },
                    bridge: BridgeConf {
                        bridge_name: bn,
                        bridge_id: bi,
                        vlan_id: vl,
                    },
                }
            },
        )
}

proptest! {
    #[test]
    fn parse_serialize_round_trip(
        host in side(),
        container in side(),
        (name, shared_dir, log_level, data_dir) in (word(), word(), word(), word()),
        timeout_ms in proptest::option::of(any::<u64>()),
        with_ipam in any::<bool>(),
    ) {
        let conf = NetConf {
            cni_version: "1.0.0".into(),
            name,
            plugin_type: "userspace".into(),
            ipam: with_ipam.then(|| json!({"type": "host-local", "subnet": "10.0.0.0/24"})),
            host,
            container,
            shared_dir,
            log_level,
            data_dir,
            timeout_ms,
            ..NetConf::default()
        };
        let bytes = serde_json::to_vec(&conf).unwrap();
        prop_assert_eq!(NetConf::parse(&bytes).unwrap(), conf);
    }

    #[test]
    fn any_key_case_parses_the_same(upper in proptest::collection::vec(any::<bool>(), 8)) {
        let flip = |s: &str, i: usize| if upper[i % upper.len()] { s.to_uppercase() } else { s.to_string() };
        let text = format!(
            r#"{{"{}":"0.3.1","{}":{{"{}":"vpp","{}":{{"{}":4}}}}}}"#,
            flip("cniVersion", 0), flip("host", 1), flip("engine", 2), flip("bridge", 3), flip("bridgeId", 4)
        );
        let c = NetConf::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(c.cni_version, "0.3.1");
        prop_assert_eq!(c.host.engine, "vpp");
        prop_assert_eq!(c.host.bridge.bridge_id, 4);
    }
}

/// Go's `encoding/json` decodes a repeated key into what the first one set: the two
/// `host` objects of this netconf are one host side, which the plan accepts.
#[test]
fn a_key_given_twice_exactly_merges_like_go() {
    let text = br#"{"cniVersion":"0.3.1","type":"userspace","name":"n",
        "host":{"engine":"vpp","iftype":"memif","bridge":{"bridgeId":4}},
        "host":{"netType":"bridge","memif":{"role":"master"},"bridge":{"vlanId":10}}}"#;
    let c = NetConf::parse(text).unwrap();
    assert_eq!(c.host.engine, "vpp");
    assert_eq!(c.host.iftype, "memif");
    assert_eq!(c.host.net_type, "bridge");
    assert_eq!(c.host.memif.role, "master");
    assert_eq!(c.host.bridge.bridge_id, 4);
    assert_eq!(c.host.bridge.vlan_id, 10);
    // The canonical form (what a record keeps) parses back to the same netconf.
    let canonical = serde_json::to_vec(&NetConf::canonical(text).unwrap()).unwrap();
    assert_eq!(NetConf::parse(&canonical).unwrap(), c);
}
