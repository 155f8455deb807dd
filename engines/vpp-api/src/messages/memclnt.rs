//! memclnt.api: the socket handshake and control_ping.

use crate::message::{message, reply, request};
use crate::types::MessageTableEntry;
use crate::wire::{Counted, FixedString};

message! {
    /// Opens an API session; the reply carries the message table.
    SockclntCreate = "sockclnt_create", 0x455fb9c4, Context {
        name: FixedString<64>,
    }
}

message! {
    /// `index` is the client_index to use from now on.
    SockclntCreateReply = "sockclnt_create_reply", 0x35166268, ClientContext {
        response: i32,
        index: u32,
        message_table: Counted<u16, MessageTableEntry>,
    }
}

message! {
    SockclntDelete = "sockclnt_delete", 0x8ac76db6, ClientContext {
        index: u32,
    }
}

message! {
    /// `response` is 1 on success.
    SockclntDeleteReply = "sockclnt_delete_reply", 0x8f38b1ee, Context {
        response: i32,
    }
}

message! {
    /// Ends a dump: its reply comes after every details message of the same context.
    ControlPing = "control_ping", 0x51077d14, ClientContext {}
}

reply! {
    ControlPingReply = "control_ping_reply", 0xf6b0b8ca {
        client_index: u32,
        vpe_pid: u32,
    }
}

message! {
    GetApiJson = "get_api_json", 0x51077d14, ClientContext {}
}

reply! {
    GetApiJsonReply = "get_api_json_reply", 0xea715b59 {
        json: String,
    }
}

request!(SockclntCreate => SockclntCreateReply);
request!(SockclntDelete => SockclntDeleteReply);
request!(ControlPing => ControlPingReply);
request!(GetApiJson => GetApiJsonReply);

/// memclnt's messages in .api file order: VPP gives them the fixed ids 1 to 28.
pub const MEMCLNT_TABLE: [&str; 28] = [
    "memclnt_create_9c5e1c2f",
    "memclnt_create_reply_42ec4560",
    "memclnt_delete_7e1c04e3",
    "memclnt_delete_reply_3d3b6312",
    "rx_thread_exit_c3a3a452",
    "memclnt_rx_thread_suspend_c3a3a452",
    "memclnt_read_timeout_c3a3a452",
    "rpc_call_7e8a2c95",
    "rpc_call_reply_e8d4e804",
    "get_first_msg_id_ebf79a66",
    "get_first_msg_id_reply_7d337472",
    "api_versions_51077d14",
    "api_versions_reply_5f0d99d6",
    "trace_plugin_msg_ids_f476d3ce",
    "sockclnt_create_455fb9c4",
    "sockclnt_create_reply_35166268",
    "sockclnt_delete_8ac76db6",
    "sockclnt_delete_reply_8f38b1ee",
    "sock_init_shm_51646d92",
    "sock_init_shm_reply_e8d4e804",
    "memclnt_keepalive_51077d14",
    "memclnt_keepalive_reply_e8d4e804",
    "control_ping_51077d14",
    "control_ping_reply_f6b0b8ca",
    "memclnt_create_v2_c4bd4882",
    "memclnt_create_v2_reply_42ec4560",
    "get_api_json_51077d14",
    "get_api_json_reply_ea715b59",
];

/// The fixed id of sockclnt_create, the only message sent before the table is known.
pub const SOCKCLNT_CREATE_ID: u16 = 15;
/// The fixed id of sockclnt_create_reply.
pub const SOCKCLNT_CREATE_REPLY_ID: u16 = 16;
