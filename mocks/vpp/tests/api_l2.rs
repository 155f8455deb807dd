//! Bridge domains, bridge ports and VLAN tag rewrite through the API, with VPP's answers
//! and error numbers (l2_api.c, l2_bd.c, l2_input.c, l2_vtr.c).

mod mock;

use mock::*;
use rstest::rstest;
use vpp_api::messages::*;
use vpp_api::retval::*;
use vpp_api::types::{MemifMode, MemifRole};
use vpp_api::wire::FixedString;
use vpp_api::Client;

const BVI: u32 = 1;
const UU_FWD: u32 = 2;

fn v1_bridge(c: &mut Client, bd_id: u32, is_add: bool) -> i32 {
    c.request(&BridgeDomainAddDel {
        bd_id,
        is_add,
        ..Default::default()
    })
    .unwrap()
    .retval
}

fn vtr(c: &mut Client, sw: u32, op: u32, tag1: u32, tag2: u32) -> i32 {
    c.request(&L2InterfaceVlanTagRewrite {
        sw_if_index: sw,
        vtr_op: op,
        push_dot1q: 1,
        tag1,
        tag2,
    })
    .unwrap()
    .retval
}

#[rstest]
#[case::add(4, true, 0, 4)]
#[case::add_again(1, true, BD_ALREADY_EXISTS, 1)]
#[case::bd_zero_exists(0, true, BD_ALREADY_EXISTS, 0)]
#[case::too_big(16_777_216, true, BD_ID_EXCEED_MAX, 16_777_216)]
#[case::pick(u32::MAX, true, 0, FIRST_BD_PICK)]
#[case::delete(1, false, 0, 1)]
#[case::delete_unknown(9, false, NO_SUCH_ENTRY, 9)]
#[case::delete_bd_zero(0, false, BD_NOT_MODIFIABLE, 0)]
#[case::delete_all_marker(u32::MAX, false, NO_SUCH_ENTRY, u32::MAX)]
fn bridge_v2_rules(
    #[case] bd_id: u32,
    #[case] is_add: bool,
    #[case] retval: i32,
    #[case] reply_bd_id: u32,
) {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(bridge(&mut c, 1, true).retval, 0);
    let r = bridge(&mut c, bd_id, is_add);
    assert_eq!((r.retval, r.bd_id), (retval, reply_bd_id));
}

#[rstest]
#[case::add(4, true, 0)]
#[case::no_picking(u32::MAX, true, BD_ID_EXCEED_MAX)]
#[case::bd_zero(0, true, BD_ALREADY_EXISTS)]
#[case::delete_unknown(4, false, NO_SUCH_ENTRY)]
fn bridge_v1_rules(#[case] bd_id: u32, #[case] is_add: bool, #[case] retval: i32) {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(v1_bridge(&mut c, bd_id, is_add), retval);
}

#[test]
fn a_bridge_with_members_stays() {
    let m = Mock::new();
    let mut c = m.client();
    let sw = master(&m, &mut c, 1, "a.sock");
    assert_eq!(bridge(&mut c, 4, true).retval, 0);
    assert_eq!(join(&mut c, sw, 4, 0, true), 0);
    assert_eq!(bridge(&mut c, 4, false).retval, BD_IN_USE);
    assert_eq!(
        join(&mut c, sw, 123, 0, false),
        0,
        "bd_id is ignored on disable"
    );
    assert_eq!(bridge(&mut c, 4, false).retval, 0);
}

#[rstest]
#[case::unknown_port(99, 4, 0, true, INVALID_SW_IF_INDEX)]
#[case::bad_port_type(1, 4, 3, true, INVALID_VALUE)]
#[case::bd_too_big(1, 16_777_216, 0, true, BD_ID_EXCEED_MAX)]
#[case::new_bridge_made(1, 8, 0, true, 0)]
#[case::local0_may_bridge(0, 4, 0, true, 0)]
#[case::leave_when_not_in_one(1, 4, 0, false, 0)]
fn set_l2_bridge_rules(
    #[case] sw: u32,
    #[case] bd_id: u32,
    #[case] port_type: u32,
    #[case] enable: bool,
    #[case] retval: i32,
) {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(master(&m, &mut c, 1, "a.sock"), 1);
    assert_eq!(join(&mut c, sw, bd_id, port_type, enable), retval);
}

#[test]
fn ports_move_between_bridges_and_missing_bridges_are_made() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    let b = master(&m, &mut c, 2, "b.sock");
    assert_eq!(bridge(&mut c, 20, true).retval, 0);
    assert_eq!(join(&mut c, a, 20, 0, true), 0);
    assert_eq!(join(&mut c, b, 20, 0, true), 0);
    assert_eq!(join(&mut c, a, 7, 0, true), 0);
    let all = bridges(&mut c);
    let seen: Vec<(u32, Vec<u32>)> = all
        .iter()
        .map(|d| {
            let members = d.sw_if_details.items.iter().map(|s| s.sw_if_index);
            (d.bd_id, members.collect())
        })
        .collect();
    // Listed in VPP's bd_index order: creation order, not bd_id order.
    assert_eq!(seen, vec![(20, vec![b]), (7, vec![a])]);
    let made = &all[1];
    assert!(made.flood && made.uu_flood && made.forward && made.learn);
    assert!(!made.arp_term && !made.arp_ufwd);
    assert_eq!(made.bd_tag.as_str(), "");
    assert_eq!(
        (made.bvi_sw_if_index, made.uu_fwd_sw_if_index),
        (u32::MAX, u32::MAX)
    );
}

#[test]
fn bvi_and_uu_fwd_ports() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    let b = master(&m, &mut c, 2, "b.sock");
    let u = master(&m, &mut c, 3, "c.sock");
    assert_eq!(join(&mut c, a, 5, BVI, true), 0);
    assert_eq!(
        join(&mut c, a, 5, BVI, true),
        0,
        "the BVI again replaces itself"
    );
    assert_eq!(join(&mut c, b, 5, BVI, true), BD_ALREADY_HAS_BVI);
    assert_eq!(join(&mut c, u, 5, UU_FWD, true), 0);
    let d = &bridges(&mut c)[0];
    assert_eq!((d.bvi_sw_if_index, d.uu_fwd_sw_if_index), (a, u));
    let members: Vec<u32> = d
        .sw_if_details
        .items
        .iter()
        .map(|s| s.sw_if_index)
        .collect();
    assert_eq!(
        members,
        vec![a],
        "the refused BVI left no trace; UU-fwd is no member"
    );
    assert_eq!(join(&mut c, a, 0, 0, false), 0);
    assert_eq!(bridges(&mut c)[0].bvi_sw_if_index, u32::MAX);
}

#[test]
fn bridge_zero_is_never_dumped() {
    let m = Mock::new();
    let mut c = m.client();
    let a = master(&m, &mut c, 1, "a.sock");
    assert_eq!(join(&mut c, a, 0, 0, true), 0);
    assert!(bridges(&mut c).is_empty());
    let zero = c
        .dump(&BridgeDomainDump {
            bd_id: 0,
            sw_if_index: u32::MAX,
        })
        .unwrap();
    assert!(zero.is_empty());
    assert_eq!(bridge(&mut c, 3, true).retval, 0);
    let filtered = c
        .dump(&BridgeDomainDump {
            bd_id: u32::MAX,
            sw_if_index: a,
        })
        .unwrap();
    assert!(
        filtered.is_empty(),
        "VPP does not implement the sw_if_index filter"
    );
    let one = c
        .dump(&BridgeDomainDump {
            bd_id: 3,
            sw_if_index: u32::MAX,
        })
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].bd_tag.as_str(), "t");
}

#[rstest]
#[case::push_1(1, 100, 0, 0)]
#[case::push_2(2, 100, 200, 0)]
#[case::disable(0, 0, 0, 0)]
#[case::pop_1_needs_a_tag(3, 0, 0, INVALID_VLAN_TAG_COUNT)]
#[case::pop_2_needs_tags(4, 0, 0, INVALID_VLAN_TAG_COUNT)]
#[case::translate_needs_tags(5, 100, 0, INVALID_VLAN_TAG_COUNT)]
#[case::unknown_op(9, 100, 0, INVALID_VALUE)]
fn tag_rewrite_rules(#[case] op: u32, #[case] tag1: u32, #[case] tag2: u32, #[case] retval: i32) {
    let m = Mock::new();
    let mut c = m.client();
    let sw = master(&m, &mut c, 1, "a.sock");
    assert_eq!(vtr(&mut c, sw, op, tag1, tag2), retval);
    let d = &interfaces(&mut c)[1];
    if retval == 0 {
        assert_eq!((d.vtr_op, d.vtr_tag1, d.vtr_tag2), (op, tag1, tag2));
        assert_eq!(d.vtr_push_dot1q, u32::from(op != 0));
    } else {
        assert_eq!(d.vtr_op, 0, "a refused rewrite changes nothing");
    }
}

#[test]
fn tag_rewrite_needs_an_ethernet_interface() {
    let m = Mock::new();
    let mut c = m.client();
    assert_eq!(vtr(&mut c, 42, 1, 100, 0), INVALID_SW_IF_INDEX);
    assert_eq!(vtr(&mut c, 0, 1, 100, 0), INVALID_INTERFACE, "local0");
    add_socket(&mut c, 1, &m.path("a.sock"));
    let ip = c
        .request(&MemifCreateV2 {
            role: MemifRole::MASTER,
            mode: MemifMode::IP,
            socket_id: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ip.retval, 0);
    assert_eq!(vtr(&mut c, ip.sw_if_index, 1, 100, 0), INVALID_INTERFACE);
}

#[test]
fn leaving_a_bridge_clears_the_tag_rewrite() {
    let m = Mock::new();
    let mut c = m.client();
    let sw = master(&m, &mut c, 1, "a.sock");
    assert_eq!(join(&mut c, sw, 4, 0, true), 0);
    assert_eq!(vtr(&mut c, sw, 1, 100, 0), 0);
    assert_eq!(join(&mut c, sw, 9, 0, true), 0);
    assert_eq!(interfaces(&mut c)[1].vtr_op, 1, "moving bridges keeps it");
    assert_eq!(join(&mut c, sw, 9, 0, false), 0);
    assert_eq!(interfaces(&mut c)[1].vtr_op, 0, "back to L3 clears it");
}

#[test]
fn bridge_settings_are_stored_as_given() {
    let m = Mock::new();
    let mut c = m.client();
    let r = c
        .request(&BridgeDomainAddDelV2 {
            bd_id: 12,
            flood: false,
            uu_flood: true,
            forward: false,
            learn: true,
            arp_term: true,
            arp_ufwd: true,
            mac_age: 5,
            bd_tag: FixedString::new("pods"),
            is_add: true,
        })
        .unwrap();
    assert_eq!(r.retval, 0);
    let d = &bridges(&mut c)[0];
    let flags = (
        d.flood, d.uu_flood, d.forward, d.learn, d.arp_term, d.arp_ufwd,
    );
    assert_eq!(flags, (false, true, false, true, true, true));
    assert_eq!((d.mac_age, d.bd_tag.as_str()), (5, "pods"));
}
