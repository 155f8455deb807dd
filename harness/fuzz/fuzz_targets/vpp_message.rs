//! Any bytes as a VPP API frame or message body: decoding never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpp_api::message::decode;
use vpp_api::messages::*;

fuzz_target!(|data: &[u8]| {
    let _ = vpp_api::frame::read_frame(&mut &data[..], 1 << 20);
    let _ = vpp_api::message::peek_id(data);
    let _ = decode::<SockclntCreate>(data);
    let _ = decode::<SockclntCreateReply>(data);
    let _ = decode::<MemifCreateV2>(data);
    let _ = decode::<MemifSocketFilenameAddDelV2>(data);
    let _ = decode::<MemifDetails>(data);
    let _ = decode::<BridgeDomainDetails>(data);
    let _ = decode::<SwInterfaceDetails>(data);
    let _ = decode::<SwInterfaceAddDelAddress>(data);
    let _ = decode::<CreateVhostUserIfV2>(data);
    let _ = decode::<CliInband>(data);
    let _ = decode::<CliInbandReply>(data);
});
