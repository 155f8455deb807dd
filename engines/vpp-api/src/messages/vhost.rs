//! vhost_user.api (plugin): vhost-user interfaces.

use crate::message::{dump, message, reply, request};
use crate::types::{VirtioFeaturesFirst32, VirtioFeaturesLast32};
use crate::wire::{FixedString, MacAddress};

message! {
    /// Deprecated since VPP 21.10 (no enable_event_idx).
    CreateVhostUserIf = "create_vhost_user_if", 0xc785c6fc, ClientContext {
        is_server: bool,
        sock_filename: FixedString<256>,
        renumber: bool,
        disable_mrg_rxbuf: bool,
        disable_indirect_desc: bool,
        enable_gso: bool,
        enable_packed: bool,
        custom_dev_instance: u32,
        use_custom_mac: bool,
        mac_address: MacAddress,
        tag: FixedString<64>,
    }
}
reply! { CreateVhostUserIfReply = "create_vhost_user_if_reply", 0x5383d31f { sw_if_index: u32 } }

message! {
    CreateVhostUserIfV2 = "create_vhost_user_if_v2", 0xdba1cc1d, ClientContext {
        is_server: bool,
        sock_filename: FixedString<256>,
        renumber: bool,
        disable_mrg_rxbuf: bool,
        disable_indirect_desc: bool,
        enable_gso: bool,
        enable_packed: bool,
        enable_event_idx: bool,
        custom_dev_instance: u32,
        use_custom_mac: bool,
        mac_address: MacAddress,
        tag: FixedString<64>,
    }
}
reply! { CreateVhostUserIfV2Reply = "create_vhost_user_if_v2_reply", 0x5383d31f { sw_if_index: u32 } }

message! {
    DeleteVhostUserIf = "delete_vhost_user_if", 0xf9e6675e, ClientContext {
        sw_if_index: u32,
    }
}
reply! { DeleteVhostUserIfReply = "delete_vhost_user_if_reply", 0xe8d4e804 {} }

message! {
    /// sw_if_index ~0 dumps every vhost-user interface.
    SwInterfaceVhostUserDump = "sw_interface_vhost_user_dump", 0xf9e6675e, ClientContext {
        sw_if_index: u32,
    }
}

message! {
    SwInterfaceVhostUserDetails = "sw_interface_vhost_user_details", 0x0cee1e53, Context {
        sw_if_index: u32,
        interface_name: FixedString<64>,
        virtio_net_hdr_sz: u32,
        features_first_32: VirtioFeaturesFirst32,
        features_last_32: VirtioFeaturesLast32,
        is_server: bool,
        sock_filename: FixedString<256>,
        num_regions: u32,
        sock_errno: i32,
    }
}

request!(CreateVhostUserIf => CreateVhostUserIfReply);
request!(CreateVhostUserIfV2 => CreateVhostUserIfV2Reply);
request!(DeleteVhostUserIf => DeleteVhostUserIfReply);
dump!(SwInterfaceVhostUserDump => SwInterfaceVhostUserDetails);
