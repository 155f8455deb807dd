//! l2.api: bridge domains and bridge membership.

use crate::message::{dump, message, reply, request};
use crate::types::{BridgeDomainSwIf, L2PortType};
use crate::wire::{Counted, FixedString};

message! {
    /// Deprecated since VPP 23.02 (same layout and CRC as the v2 request, plain reply).
    BridgeDomainAddDel = "bridge_domain_add_del", 0x600b7170, ClientContext {
        bd_id: u32,
        flood: bool,
        uu_flood: bool,
        forward: bool,
        learn: bool,
        arp_term: bool,
        arp_ufwd: bool,
        mac_age: u8,
        bd_tag: FixedString<64>,
        is_add: bool,
    }
}
reply! { BridgeDomainAddDelReply = "bridge_domain_add_del_reply", 0xe8d4e804 {} }

message! {
    /// bd_id ~0 on add lets VPP pick the id; the reply returns it.
    BridgeDomainAddDelV2 = "bridge_domain_add_del_v2", 0x600b7170, ClientContext {
        bd_id: u32,
        flood: bool,
        uu_flood: bool,
        forward: bool,
        learn: bool,
        arp_term: bool,
        arp_ufwd: bool,
        mac_age: u8,
        bd_tag: FixedString<64>,
        is_add: bool,
    }
}
reply! { BridgeDomainAddDelV2Reply = "bridge_domain_add_del_v2_reply", 0xfcb1e980 { bd_id: u32 } }

message! {
    /// bd_id ~0 dumps every bridge domain but 0.
    BridgeDomainDump = "bridge_domain_dump", 0x74396a43, ClientContext {
        bd_id: u32,
        sw_if_index: u32,
    }
}

message! {
    BridgeDomainDetails = "bridge_domain_details", 0x0fa506fd, Context {
        bd_id: u32,
        flood: bool,
        uu_flood: bool,
        forward: bool,
        learn: bool,
        arp_term: bool,
        arp_ufwd: bool,
        mac_age: u8,
        bd_tag: FixedString<64>,
        bvi_sw_if_index: u32,
        uu_fwd_sw_if_index: u32,
        sw_if_details: Counted<u32, BridgeDomainSwIf>,
    }
}

message! {
    /// enable = false puts the interface back to L3 (bd_id ignored).
    SwInterfaceSetL2Bridge = "sw_interface_set_l2_bridge", 0xd0678b13, ClientContext {
        rx_sw_if_index: u32,
        bd_id: u32,
        port_type: L2PortType,
        shg: u8,
        enable: bool,
    }
}
reply! { SwInterfaceSetL2BridgeReply = "sw_interface_set_l2_bridge_reply", 0xe8d4e804 {} }

message! {
    /// Tag rewrite on an L2 port: with `vtr_op` PUSH_1 and `push_dot1q` the port becomes an
    /// access port of VLAN `tag1` (tag pushed on ingress, popped on egress).
    L2InterfaceVlanTagRewrite = "l2_interface_vlan_tag_rewrite", 0x62cc0bbc, ClientContext {
        sw_if_index: u32,
        vtr_op: u32,
        push_dot1q: u32,
        tag1: u32,
        tag2: u32,
    }
}
reply! { L2InterfaceVlanTagRewriteReply = "l2_interface_vlan_tag_rewrite_reply", 0xe8d4e804 {} }

/// `vtr_op` values (VPP's l2_vtr.h).
pub mod vtr_op {
    /// No tag rewrite.
    pub const DISABLED: u32 = 0;
    /// Push one tag.
    pub const PUSH_1: u32 = 1;
    /// Push two tags.
    pub const PUSH_2: u32 = 2;
    /// Pop one tag.
    pub const POP_1: u32 = 3;
    /// Pop two tags.
    pub const POP_2: u32 = 4;
}

request!(L2InterfaceVlanTagRewrite => L2InterfaceVlanTagRewriteReply);
request!(BridgeDomainAddDel => BridgeDomainAddDelReply);
request!(BridgeDomainAddDelV2 => BridgeDomainAddDelV2Reply);
request!(SwInterfaceSetL2Bridge => SwInterfaceSetL2BridgeReply);
dump!(BridgeDomainDump => BridgeDomainDetails);
