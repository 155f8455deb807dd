//! Interfaces through the API: flags, addresses, MACs, dumps and vhost-user, with VPP's
//! answers and error numbers (interface_api.c, ip4_forward.c, ip6_forward.c,
//! vhost_user.c).

mod mock;

use std::path::Path;

use mock::*;
use rstest::rstest;
use vpp_api::messages::*;
use vpp_api::retval::*;
use vpp_api::types::{IfStatusFlags, IfType, MemifMode, MemifRole};
use vpp_api::wire::{FixedString, MacAddress, Prefix};
use vpp_api::Client;

/// Two memif masters (sw_if_index 1 and 2); interface 1 already has 10.0.0.1/24 and
/// 2001:db9::1/64.
#[rstest]
#[case::v4(1, "10.5.0.1/24", 0)]
#[case::v4_duplicate(1, "10.0.0.1/24", ADDRESS_IN_USE)]
#[case::v4_second_in_subnet(1, "10.0.0.2/24", 0)]
#[case::v4_other_length(1, "10.0.0.2/16", ADDRESS_IN_USE)]
#[case::v4_overlaps_other_interface(2, "10.0.0.9/24", ADDRESS_IN_USE)]
#[case::v4_other_subnet(2, "10.0.1.9/24", 0)]
#[case::v6(1, "2001:db8::1/64", 0)]
#[case::v6_duplicate(1, "2001:db9::1/64", DUPLICATE_IF_ADDRESS)]
#[case::v6_second_in_subnet(1, "2001:db9::2/64", 0)]
#[case::v6_overlaps_other_interface(2, "2001:db9::5/64", DUPLICATE_IF_ADDRESS)]
#[case::local0(0, "10.9.0.1/24", UNSUPPORTED)]
#[case::unknown(99, "10.9.0.1/24", INVALID_SW_IF_INDEX)]
#[case::v4_too_long(1, "10.9.0.1/33", ADDRESS_LENGTH_MISMATCH)]
#[case::link_local_not_host(1, "fe80::1/64", ADDRESS_LENGTH_MISMATCH)]
fn address_add_rules(#[case] sw: u32, #[case] prefix: &str, #[case] retval: i32) {
    let m = Mock::new();
    let mut c = m.client();
    master(&m, &mut c, 1, "a.sock");
    master(&m, &mut c, 2, "b.sock");
    assert_eq!(address(&mut c, 1, "10.0.0.1/24", true), 0);
    assert_eq!(address(&mut c, 1, "2001:db9::1/64", true), 0);
    assert_eq!(address(&mut c, sw, prefix, true), retval);
}

#[rstest]
#[case::present("10.0.0.1/24", 0)]
#[case::length_ignored("10.0.0.1/8", 0)]
#[case::absent("10.0.0.2/24", ADDRESS_NOT_FOUND_FOR_INTERFACE)]
#[case::on_another_interface("10.2.0.1/24", ADDRESS_NOT_FOUND_FOR_INTERFACE)]
fn address_delete_rules(#[case] prefix: &str, #[case] retval: i32) {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    let b = master(&m, &mut c, 2, "b.sock");
    assert_eq!(address(&mut c, a, "10.0.0.1/24", true), 0);
    assert_eq!(address(&mut c, b, "10.2.0.1/24", true), 0);
    assert_eq!(address(&mut c, a, prefix, false), retval);
}

fn addresses(c: &mut Client, sw: u32, is_ipv6: bool) -> Vec<String> {
    let d = c
        .dump(&IpAddressDump {
            sw_if_index: sw,
            is_ipv6,
        })
        .unwrap();
    d.iter().map(|a| a.prefix.to_string()).collect()
}

#[test]
fn del_all_and_address_dumps() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    assert_eq!(address(&mut c, a, "10.0.0.1/24", true), 0);
    assert_eq!(address(&mut c, a, "2001:db8::1/64", true), 0);
    assert_eq!(addresses(&mut c, a, false), vec!["10.0.0.1/24"]);
    assert_eq!(addresses(&mut c, a, true), vec!["2001:db8::1/64"]);
    for sw in [a, 0] {
        let r = c
            .request(&SwInterfaceAddDelAddress {
                sw_if_index: sw,
                is_add: false,
                del_all: true,
                prefix: Prefix::default(),
            })
            .unwrap();
        assert_eq!(r.retval, 0, "del_all on {sw}");
    }
    assert!(addresses(&mut c, a, false).is_empty());
    assert!(addresses(&mut c, a, true).is_empty());
}

fn set_flags(c: &mut Client, sw: u32, flags: u32) -> i32 {
    c.request(&SwInterfaceSetFlags {
        sw_if_index: sw,
        flags: IfStatusFlags(flags),
    })
    .unwrap()
    .retval
}

#[test]
fn admin_state_only_link_state_is_the_devices() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    assert_eq!(
        set_flags(&mut c, a, 3),
        0,
        "LINK_UP in a request is ignored"
    );
    assert_eq!(set_flags(&mut c, 77, 1), INVALID_SW_IF_INDEX);
    let d = &interfaces(&mut c)[1];
    assert!(d.flags.contains(IfStatusFlags::ADMIN_UP));
    assert!(
        !d.flags.contains(IfStatusFlags::LINK_UP),
        "no peer, no link"
    );
    assert_eq!(set_flags(&mut c, a, 0), 0);
    assert!(!interfaces(&mut c)[1]
        .flags
        .contains(IfStatusFlags::ADMIN_UP));
}

#[test]
fn interface_dump_filters() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 3, "a.sock");
    let dump = |c: &mut Client, sw_if_index, filter: Option<&str>| -> Vec<String> {
        let d = c
            .dump(&SwInterfaceDump {
                sw_if_index,
                name_filter_valid: filter.is_some(),
                name_filter: filter.unwrap_or_default().into(),
            })
            .unwrap();
        d.iter()
            .map(|d| d.interface_name.as_str().to_string())
            .collect()
    };
    assert_eq!(dump(&mut c, u32::MAX, None), vec!["local0", "memif3/0"]);
    assert_eq!(
        dump(&mut c, 0, None),
        vec!["local0", "memif3/0"],
        "0 means all"
    );
    assert_eq!(dump(&mut c, a, None), vec!["memif3/0"]);
    assert!(dump(&mut c, 42, None).is_empty());
    assert_eq!(
        dump(&mut c, 42, Some("MEMIF")),
        vec!["memif3/0"],
        "case-blind"
    );
    assert_eq!(dump(&mut c, a, Some("")), vec!["local0", "memif3/0"]);
    let d = &interfaces(&mut c);
    assert_eq!(
        (d[0].interface_dev_type.as_str(), d[0].link_mtu),
        ("local", 0)
    );
    let mif = &d[1];
    assert_eq!(mif.interface_dev_type.as_str(), "memif");
    assert_eq!((mif.sup_sw_if_index, mif.r#type), (a, IfType::HARDWARE));
    assert_eq!((mif.link_mtu, mif.mtu), (9000, [9000, 0, 0, 0]));
}

#[test]
fn mac_addresses() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    let mac: MacAddress = "02:aa:00:00:00:01".parse().unwrap();
    let set = |c: &mut Client, sw| {
        c.request(&SwInterfaceSetMacAddress {
            sw_if_index: sw,
            mac_address: mac,
        })
        .unwrap()
        .retval
    };
    assert_eq!(set(&mut c, a), 0);
    assert_eq!(interfaces(&mut c)[1].l2_address, mac);
    assert_eq!(set(&mut c, 0), UNIMPLEMENTED, "local0 has no MAC");
    assert_eq!(set(&mut c, 9), INVALID_SW_IF_INDEX);
    let ip = c
        .request(&MemifCreateV2 {
            role: MemifRole::MASTER,
            mode: MemifMode::IP,
            id: 1,
            socket_id: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        set(&mut c, ip.sw_if_index),
        UNIMPLEMENTED,
        "an IP-mode memif neither"
    );
}

fn vhost(c: &mut Client, path: &str, is_server: bool) -> CreateVhostUserIfV2Reply {
    c.request(&CreateVhostUserIfV2 {
        is_server,
        sock_filename: FixedString::new(path),
        tag: FixedString::new("pod-a"),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn vhost_user_rules() {
    let m = Mock::new();
    let mut c = m.client();
    let path = m.path("vhost.sock");
    let r = vhost(&mut c, &path, true);
    assert_eq!(r.retval, 0);
    assert!(Path::new(&path).exists(), "a server listens");
    let again = vhost(&mut c, &path, false);
    assert_eq!(
        (again.retval, again.sw_if_index),
        (IF_ALREADY_EXISTS, r.sw_if_index)
    );
    let empty = vhost(&mut c, "", false);
    assert_eq!(
        (empty.retval, empty.sw_if_index),
        (INVALID_ARGUMENT, u32::MAX)
    );
    let client = vhost(&mut c, &m.path("client.sock"), false);
    assert_eq!(client.retval, 0);
    assert!(
        !Path::new(&m.path("client.sock")).exists(),
        "a client only connects"
    );
    let d = c
        .dump(&SwInterfaceVhostUserDump {
            sw_if_index: u32::MAX,
        })
        .unwrap();
    let seen: Vec<(&str, bool)> = d
        .iter()
        .map(|d| (d.interface_name.as_str(), d.is_server))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("VirtualEthernet0/0/0", true),
            ("VirtualEthernet0/0/1", false)
        ]
    );
    let one = c
        .dump(&SwInterfaceVhostUserDump {
            sw_if_index: client.sw_if_index,
        })
        .unwrap();
    assert_eq!(one.len(), 1);
    let ifs = interfaces(&mut c);
    assert_eq!(ifs[1].interface_dev_type.as_str(), "vhost-user");
    assert_eq!(ifs[1].tag.as_str(), "pod-a");
    let del = |c: &mut Client, sw| {
        c.request(&DeleteVhostUserIf { sw_if_index: sw })
            .unwrap()
            .retval
    };
    assert_eq!(del(&mut c, r.sw_if_index), 0);
    assert!(
        !Path::new(&path).exists(),
        "the server's socket goes with it"
    );
    assert_eq!(del(&mut c, r.sw_if_index), INVALID_SW_IF_INDEX);
    assert_eq!(
        del(&mut c, 0),
        INVALID_SW_IF_INDEX,
        "local0 is not vhost-user"
    );
    // The freed device instance comes back first, as VPP's pool hands it out.
    let next = vhost(&mut c, &m.path("next.sock"), false);
    let ifs = interfaces(&mut c);
    let named = ifs
        .iter()
        .find(|i| i.sw_if_index == next.sw_if_index)
        .unwrap();
    assert_eq!(named.interface_name.as_str(), "VirtualEthernet0/0/0");
}

#[test]
fn vhost_user_renumber_and_custom_mac() {
    let m = Mock::new();
    let mut c = m.client();
    let mac: MacAddress = "02:12:34:56:78:9a".parse().unwrap();
    let r = c
        .request(&CreateVhostUserIf {
            sock_filename: FixedString::new(&m.path("v.sock")),
            renumber: true,
            custom_dev_instance: 42,
            use_custom_mac: true,
            mac_address: mac,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    let d = &interfaces(&mut c)[1];
    assert_eq!(d.interface_name.as_str(), "VirtualEthernet0/0/42");
    assert_eq!(d.l2_address, mac);
    assert_eq!(d.tag.as_str(), "", "no tag given, none set");
}
