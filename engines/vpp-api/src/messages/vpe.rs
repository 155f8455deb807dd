//! vpe.api and vlib.api: version and the CLI.

use crate::message::{message, reply, request};
use crate::wire::FixedString;

message! {
    ShowVersion = "show_version", 0x51077d14, ClientContext {}
}

reply! {
    ShowVersionReply = "show_version_reply", 0xc919bde1 {
        program: FixedString<32>,
        version: FixedString<32>,
        build_date: FixedString<32>,
        build_directory: FixedString<256>,
    }
}

message! {
    /// Runs one CLI line (what `vppctl` sends).
    CliInband = "cli_inband", 0xf8377302, ClientContext {
        cmd: String,
    }
}

reply! {
    CliInbandReply = "cli_inband_reply", 0x05879051 {
        reply: String,
    }
}

request!(ShowVersion => ShowVersionReply);
request!(CliInband => CliInbandReply);
