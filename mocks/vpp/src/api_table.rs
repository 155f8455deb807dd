//! The message table this mock hands out in its handshake: memclnt's 28 messages at
//! their fixed ids 1..=28, then every message it serves (requests, their replies and
//! details) from 29 upward, as VPP numbers the messages of its other modules.

use vpp_api::messages::*;
use vpp_api::{Message, MessageTable};

/// Every message listed after memclnt's: the requests served, their replies and details.
pub fn served_messages() -> Vec<String> {
    vec![
        ShowVersion::name_crc(),
        ShowVersionReply::name_crc(),
        CliInband::name_crc(),
        CliInbandReply::name_crc(),
        SwInterfaceSetFlags::name_crc(),
        SwInterfaceSetFlagsReply::name_crc(),
        SwInterfaceSetMacAddress::name_crc(),
        SwInterfaceSetMacAddressReply::name_crc(),
        SwInterfaceAddDelAddress::name_crc(),
        SwInterfaceAddDelAddressReply::name_crc(),
        SwInterfaceDump::name_crc(),
        SwInterfaceDetails::name_crc(),
        IpAddressDump::name_crc(),
        IpAddressDetails::name_crc(),
        MemifSocketFilenameAddDel::name_crc(),
        MemifSocketFilenameAddDelReply::name_crc(),
        MemifSocketFilenameAddDelV2::name_crc(),
        MemifSocketFilenameAddDelV2Reply::name_crc(),
        MemifSocketFilenameDump::name_crc(),
        MemifSocketFilenameDetails::name_crc(),
        MemifCreate::name_crc(),
        MemifCreateReply::name_crc(),
        MemifCreateV2::name_crc(),
        MemifCreateV2Reply::name_crc(),
        MemifDelete::name_crc(),
        MemifDeleteReply::name_crc(),
        MemifDump::name_crc(),
        MemifDetails::name_crc(),
        CreateVhostUserIf::name_crc(),
        CreateVhostUserIfReply::name_crc(),
        CreateVhostUserIfV2::name_crc(),
        CreateVhostUserIfV2Reply::name_crc(),
        DeleteVhostUserIf::name_crc(),
        DeleteVhostUserIfReply::name_crc(),
        SwInterfaceVhostUserDump::name_crc(),
        SwInterfaceVhostUserDetails::name_crc(),
        BridgeDomainAddDel::name_crc(),
        BridgeDomainAddDelReply::name_crc(),
        BridgeDomainAddDelV2::name_crc(),
        BridgeDomainAddDelV2Reply::name_crc(),
        BridgeDomainDump::name_crc(),
        BridgeDomainDetails::name_crc(),
        SwInterfaceSetL2Bridge::name_crc(),
        SwInterfaceSetL2BridgeReply::name_crc(),
        L2InterfaceVlanTagRewrite::name_crc(),
        L2InterfaceVlanTagRewriteReply::name_crc(),
    ]
}

/// The handshake table: memclnt's fixed ids, then every served message from 29 upward.
pub fn message_table() -> MessageTable {
    let mut t = MessageTable::new();
    for (i, name) in MEMCLNT_TABLE.iter().enumerate() {
        t.insert(*name, i as u16 + 1);
    }
    for (i, name) in served_messages().into_iter().enumerate() {
        t.insert(name, 29 + i as u16);
    }
    t
}
