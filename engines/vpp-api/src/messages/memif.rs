//! memif.api (plugin): memif socket files and interfaces.

use crate::message::{dump, message, reply, request};
use crate::types::{IfStatusFlags, MemifMode, MemifRole};
use crate::wire::{FixedString, MacAddress};

message! {
    /// Deprecated since VPP 23.06: the caller picks the socket id (not 0, not ~0).
    MemifSocketFilenameAddDel = "memif_socket_filename_add_del", 0xa2ce1a10, ClientContext {
        is_add: bool,
        socket_id: u32,
        socket_filename: FixedString<108>,
    }
}
reply! { MemifSocketFilenameAddDelReply = "memif_socket_filename_add_del_reply", 0xe8d4e804 {} }

message! {
    /// socket_id ~0 on add lets VPP pick the id; the reply returns it.
    MemifSocketFilenameAddDelV2 = "memif_socket_filename_add_del_v2", 0x34223bdf, ClientContext {
        is_add: bool,
        socket_id: u32,
        socket_filename: String,
    }
}
reply! {
    MemifSocketFilenameAddDelV2Reply = "memif_socket_filename_add_del_v2_reply", 0x9f29bdb9 {
        socket_id: u32,
    }
}

message! {
    /// Deprecated since VPP 23.06 (no use_dma).
    MemifCreate = "memif_create", 0xb1b25061, ClientContext {
        role: MemifRole,
        mode: MemifMode,
        rx_queues: u8,
        tx_queues: u8,
        id: u32,
        socket_id: u32,
        ring_size: u32,
        buffer_size: u16,
        no_zero_copy: bool,
        hw_addr: MacAddress,
        secret: FixedString<24>,
    }
}
reply! { MemifCreateReply = "memif_create_reply", 0x5383d31f { sw_if_index: u32 } }

message! {
    MemifCreateV2 = "memif_create_v2", 0x8c7de5f7, ClientContext {
        role: MemifRole,
        mode: MemifMode,
        rx_queues: u8,
        tx_queues: u8,
        id: u32,
        socket_id: u32,
        ring_size: u32,
        buffer_size: u16,
        no_zero_copy: bool,
        use_dma: bool,
        hw_addr: MacAddress,
        secret: FixedString<24>,
    }
}
reply! { MemifCreateV2Reply = "memif_create_v2_reply", 0x5383d31f { sw_if_index: u32 } }

message! {
    MemifDelete = "memif_delete", 0xf9e6675e, ClientContext {
        sw_if_index: u32,
    }
}
reply! { MemifDeleteReply = "memif_delete_reply", 0xe8d4e804 {} }

message! {
    MemifDump = "memif_dump", 0x51077d14, ClientContext {}
}

message! {
    MemifDetails = "memif_details", 0xda34feb9, Context {
        sw_if_index: u32,
        hw_addr: MacAddress,
        id: u32,
        role: MemifRole,
        mode: MemifMode,
        zero_copy: bool,
        socket_id: u32,
        ring_size: u32,
        buffer_size: u16,
        flags: IfStatusFlags,
        if_name: FixedString<64>,
    }
}

message! {
    MemifSocketFilenameDump = "memif_socket_filename_dump", 0x51077d14, ClientContext {}
}

message! {
    MemifSocketFilenameDetails = "memif_socket_filename_details", 0x7ff326f7, Context {
        socket_id: u32,
        socket_filename: FixedString<108>,
    }
}

request!(MemifSocketFilenameAddDel => MemifSocketFilenameAddDelReply);
request!(MemifSocketFilenameAddDelV2 => MemifSocketFilenameAddDelV2Reply);
request!(MemifCreate => MemifCreateReply);
request!(MemifCreateV2 => MemifCreateV2Reply);
request!(MemifDelete => MemifDeleteReply);
dump!(MemifDump => MemifDetails);
dump!(MemifSocketFilenameDump => MemifSocketFilenameDetails);
