//! interface.api and ip.api: flags, addresses, MACs and the interface dumps.

use crate::message::{dump, message, reply, request};
use crate::types::{IfStatusFlags, IfType, LinkDuplex, SubIfFlags};
use crate::wire::{FixedString, MacAddress, Prefix};

message! {
    /// Only ADMIN_UP is honoured.
    SwInterfaceSetFlags = "sw_interface_set_flags", 0xf5aec1b8, ClientContext {
        sw_if_index: u32,
        flags: IfStatusFlags,
    }
}
reply! { SwInterfaceSetFlagsReply = "sw_interface_set_flags_reply", 0xe8d4e804 {} }

message! {
    SwInterfaceAddDelAddress = "sw_interface_add_del_address", 0x5463d73b, ClientContext {
        sw_if_index: u32,
        is_add: bool,
        del_all: bool,
        prefix: Prefix,
    }
}
reply! { SwInterfaceAddDelAddressReply = "sw_interface_add_del_address_reply", 0xe8d4e804 {} }

message! {
    SwInterfaceSetMacAddress = "sw_interface_set_mac_address", 0xc536e7eb, ClientContext {
        sw_if_index: u32,
        mac_address: MacAddress,
    }
}
reply! { SwInterfaceSetMacAddressReply = "sw_interface_set_mac_address_reply", 0xe8d4e804 {} }

message! {
    /// sw_if_index ~0 (or 0) dumps every interface.
    SwInterfaceDump = "sw_interface_dump", 0xaa610c27, ClientContext {
        sw_if_index: u32,
        name_filter_valid: bool,
        name_filter: String,
    }
}

message! {
    SwInterfaceDetails = "sw_interface_details", 0x6c221fc7, Context {
        sw_if_index: u32,
        sup_sw_if_index: u32,
        l2_address: MacAddress,
        flags: IfStatusFlags,
        r#type: IfType,
        link_duplex: LinkDuplex,
        link_speed: u32,
        link_mtu: u16,
        mtu: [u32; 4],
        sub_id: u32,
        sub_number_of_tags: u8,
        sub_outer_vlan_id: u16,
        sub_inner_vlan_id: u16,
        sub_if_flags: SubIfFlags,
        vtr_op: u32,
        vtr_push_dot1q: u32,
        vtr_tag1: u32,
        vtr_tag2: u32,
        outer_tag: u16,
        b_dmac: MacAddress,
        b_smac: MacAddress,
        b_vlanid: u16,
        i_sid: u32,
        interface_name: FixedString<64>,
        interface_dev_type: FixedString<64>,
        tag: FixedString<64>,
    }
}

message! {
    IpAddressDump = "ip_address_dump", 0x2d033de4, ClientContext {
        sw_if_index: u32,
        is_ipv6: bool,
    }
}

message! {
    IpAddressDetails = "ip_address_details", 0xee29b797, Context {
        sw_if_index: u32,
        prefix: Prefix,
    }
}

request!(SwInterfaceSetFlags => SwInterfaceSetFlagsReply);
request!(SwInterfaceAddDelAddress => SwInterfaceAddDelAddressReply);
request!(SwInterfaceSetMacAddress => SwInterfaceSetMacAddressReply);
dump!(SwInterfaceDump => SwInterfaceDetails);
dump!(IpAddressDump => IpAddressDetails);
