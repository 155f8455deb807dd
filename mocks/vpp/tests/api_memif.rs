//! memif socket files and interfaces through the API, with VPP's answers and error numbers
//! (memif_api.c / memif.c at the VPP commit SPEC.md names).

mod mock;

use std::path::Path;

use mock::*;
use rstest::rstest;
use vpp_api::messages::*;
use vpp_api::retval::*;
use vpp_api::types::{MemifMode, MemifRole};
use vpp_api::wire::{FixedString, MacAddress};
use vpp_api::Client;

fn v1_socket(c: &mut Client, is_add: bool, id: u32, file: &str) -> i32 {
    c.request(&MemifSocketFilenameAddDel {
        is_add,
        socket_id: id,
        socket_filename: FixedString::new(file),
    })
    .unwrap()
    .retval
}

#[test]
fn picked_socket_ids_follow_vpps_sequence() {
    let m = Mock::new();
    let mut c = m.client();
    let first = add_socket(&mut c, u32::MAX, &m.path("a.sock"));
    assert_eq!((first.retval, first.socket_id), (0, FIRST_PICK));
    let second = add_socket(&mut c, u32::MAX, &m.path("b.sock"));
    assert_eq!(second.retval, 0);
    assert_eq!(second.socket_id, FIRST_PICK.wrapping_mul(1_664_526));
    // A refused add still consumes (and reports) its pick.
    let refused = add_socket(&mut c, u32::MAX, "");
    assert_eq!(refused.retval, INVALID_ARGUMENT);
    assert_ne!(refused.socket_id, u32::MAX);
    assert_ne!(refused.socket_id, second.socket_id);
}

#[rstest]
#[case::id_zero_add(true, 0, "a.sock", INVALID_ARGUMENT, 0)]
#[case::id_zero_delete(false, 0, "", INVALID_ARGUMENT, 0)]
#[case::empty_name(true, 5, "", INVALID_ARGUMENT, 5)]
#[case::same_file_again(true, 1, "a.sock", 0, 1)]
#[case::other_file_same_id(true, 1, "b.sock", ENTRY_ALREADY_EXISTS, 1)]
#[case::unknown_delete(false, 9, "", INVALID_ARGUMENT, 9)]
#[case::delete_all_marker(false, u32::MAX, "", INVALID_ARGUMENT, u32::MAX)]
#[case::new_id(true, 2, "b.sock", 0, 2)]
fn socket_v2_rules(
    #[case] is_add: bool,
    #[case] id: u32,
    #[case] file: &str,
    #[case] retval: i32,
    #[case] reply_id: u32,
) {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(add_socket(&mut c, 1, &m.path("a.sock")).retval, 0);
    let file = if file.is_empty() {
        String::new()
    } else {
        m.path(file)
    };
    let r = c
        .request(&MemifSocketFilenameAddDelV2 {
            is_add,
            socket_id: id,
            socket_filename: file,
        })
        .unwrap();
    assert_eq!((r.retval, r.socket_id), (retval, reply_id));
}

#[rstest]
#[case::id_zero(true, 0, INVALID_ARGUMENT)]
#[case::no_picking(true, u32::MAX, INVALID_ARGUMENT)]
#[case::add(true, 3, 0)]
#[case::unknown_delete(false, 3, INVALID_ARGUMENT)]
fn socket_v1_rules(#[case] is_add: bool, #[case] id: u32, #[case] retval: i32) {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(v1_socket(&mut c, is_add, id, &m.path("v1.sock")), retval);
}

#[test]
fn relative_socket_names_go_under_the_run_directory() {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(add_socket(&mut c, 4, "pods/one/memif.sock").retval, 0);
    let dumped = c.dump(&MemifSocketFilenameDump {}).unwrap();
    let four = dumped.iter().find(|d| d.socket_id == 4).unwrap();
    let want = m.dir.path().join("pods/one/memif.sock");
    assert_eq!(four.socket_filename.as_str(), want.display().to_string());
    assert!(
        m.dir.path().join("pods/one").is_dir(),
        "VPP makes the directories"
    );
}

#[test]
fn sockets_in_use_stay_and_the_default_socket_is_listed() {
    let m = Mock::new();
    let mut c = m.client();
    let a = m.path("a.sock");
    let sw = master(&m, &mut c, 1, "a.sock");
    assert!(Path::new(&a).exists(), "a master listens on its socket");
    assert_eq!(del_socket(&mut c, 1).retval, UNEXPECTED_INTF_STATE);
    let r = c.request(&MemifDelete { sw_if_index: sw }).unwrap();
    assert_eq!(r.retval, 0);
    assert_eq!(del_socket(&mut c, 1).retval, 0);
    let sockets = c.dump(&MemifSocketFilenameDump {}).unwrap();
    let listed: Vec<(u32, &str)> = sockets
        .iter()
        .map(|s| (s.socket_id, s.socket_filename.as_str()))
        .collect();
    assert_eq!(listed, vec![(0, "/run/vpp/memif.sock")]);
}

#[rstest]
#[case::unknown_socket(7, 0, MemifRole::MASTER, 0, 0, INVALID_ARGUMENT)]
#[case::duplicate_id(1, 0, MemifRole::MASTER, 0, 0, SUBIF_ALREADY_EXISTS)]
#[case::role_mix(1, 1, MemifRole::SLAVE, 0, 0, SUBIF_ALREADY_EXISTS)]
#[case::ring_not_power_of_two(1, 1, MemifRole::MASTER, 0, 1000, INVALID_ARGUMENT)]
#[case::punt_inject_unsupported(1, 1, MemifRole::MASTER, 2, 0, SYSCALL_ERROR_2)]
#[case::second_id(1, 1, MemifRole::MASTER, 0, 0, 0)]
#[case::ip_mode(1, 1, MemifRole::MASTER, 1, 512, 0)]
fn memif_create_rules(
    #[case] socket_id: u32,
    #[case] id: u32,
    #[case] role: MemifRole,
    #[case] mode: u32,
    #[case] ring_size: u32,
    #[case] retval: i32,
) {
    let m = Mock::new();
    let mut c = m.client();
    let first = master(&m, &mut c, 1, "a.sock");
    let r = c
        .request(&MemifCreateV2 {
            role,
            mode: MemifMode(mode),
            id,
            socket_id,
            ring_size,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, retval);
    if retval == 0 {
        assert_eq!(r.sw_if_index, first + 1);
    } else {
        assert_eq!(
            r.sw_if_index, 0,
            "VPP leaves sw_if_index 0 when it made nothing"
        );
    }
}

#[test]
fn memif_details_and_names() {
    let m = Mock::new();
    let mut c = m.client();
    add_socket(&mut c, 3, &m.path("a.sock"));
    let mac: MacAddress = "02:00:00:aa:bb:cc".parse().unwrap();
    let r = c
        .request(&MemifCreate {
            role: MemifRole::SLAVE,
            mode: MemifMode::ETHERNET,
            id: 5,
            socket_id: 3,
            hw_addr: mac,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    let master = master(&m, &mut c, 4, "b.sock");
    let d = c.dump(&MemifDump {}).unwrap();
    let names: Vec<&str> = d.iter().map(|d| d.if_name.as_str()).collect();
    assert_eq!(names, vec!["memif3/5", "memif4/0"]);
    assert_eq!(
        (d[0].sw_if_index, d[1].sw_if_index),
        (r.sw_if_index, master)
    );
    assert_eq!(d[0].hw_addr, mac);
    assert_eq!(d[0].role, MemifRole::SLAVE);
    assert!(d[0].zero_copy, "a slave is zero-copy unless told otherwise");
    assert!(!d[1].zero_copy, "VPP never flags a master zero-copy");
    // No peer yet: VPP reports its zeroed run-time sizes.
    assert_eq!((d[0].ring_size, d[0].buffer_size), (1, 0));
    let picked = d[1].hw_addr.0;
    assert_eq!(picked[..2], [0x02, 0xfe], "VPP's own MAC range");
    assert!(!d[0].flags.contains(vpp_api::types::IfStatusFlags::LINK_UP));
}

#[test]
fn deleting_memifs_frees_their_sw_if_index_and_removes_side_state() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    let b = master(&m, &mut c, 2, "b.sock");
    assert_eq!((a, b), (1, 2));
    assert_eq!(bridge(&mut c, 10, true).retval, 0);
    assert_eq!(join(&mut c, a, 10, 0, true), 0);
    assert_eq!(address(&mut c, b, "10.1.0.1/24", true), 0);
    for sw in [a, b] {
        let r = c.request(&MemifDelete { sw_if_index: sw }).unwrap();
        assert_eq!(r.retval, 0);
    }
    let again = c.request(&MemifDelete { sw_if_index: a }).unwrap();
    assert_eq!(again.retval, INVALID_SW_IF_INDEX);
    assert!(bridges(&mut c)[0].sw_if_details.items.is_empty());
    assert_eq!(bridge(&mut c, 10, false).retval, 0, "no member keeps it");
    // The prefix of the deleted interface is free again, and VPP's pool hands out the
    // last freed sw_if_index first.
    let next = master(&m, &mut c, 3, "c.sock");
    assert_eq!(next, b);
    assert_eq!(address(&mut c, next, "10.1.0.1/24", true), 0);
}

#[test]
fn memif_delete_refuses_other_kinds() {
    let m = Mock::new();
    let mut c = m.client();
    let v = c
        .request(&CreateVhostUserIfV2 {
            sock_filename: FixedString::new(&m.path("vhost.sock")),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(v.retval, 0);
    for sw in [0, v.sw_if_index, 99] {
        let r = c.request(&MemifDelete { sw_if_index: sw }).unwrap();
        assert_eq!(r.retval, INVALID_SW_IF_INDEX, "sw_if_index {sw}");
    }
}
