//! A mock-vpp in a temporary directory and the requests the API tests repeat.
#![allow(dead_code)]

use std::time::Duration;

use vpp_api::messages::*;
use vpp_api::types::{L2PortType, MemifMode, MemifRole};
use vpp_api::wire::{FixedString, Prefix};
use vpp_api::Client;

/// The first id VPP picks for a "choose one for me" request: vppinfra's random_u32
/// from seed 0 (1664525 * 0 + 1013904223).
pub const FIRST_PICK: u32 = 1_013_904_223;
/// Bridge-domain ids are kept within 24 bits.
pub const FIRST_BD_PICK: u32 = FIRST_PICK & 0xff_ffff;

pub struct Mock {
    pub dir: tempfile::TempDir,
    pub server: mock_vpp::Server,
}

impl Mock {
    pub fn new() -> Mock {
        let dir = tempfile::tempdir().unwrap();
        let server = mock_vpp::serve(&dir.path().join("api.sock")).unwrap();
        Mock { dir, server }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.server.path(), "test", Duration::from_secs(5)).unwrap()
    }

    /// A path in the mock's directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

pub fn add_socket(c: &mut Client, id: u32, file: &str) -> MemifSocketFilenameAddDelV2Reply {
    c.request(&MemifSocketFilenameAddDelV2 {
        is_add: true,
        socket_id: id,
        socket_filename: file.into(),
    })
    .unwrap()
}

pub fn del_socket(c: &mut Client, id: u32) -> MemifSocketFilenameAddDelV2Reply {
    c.request(&MemifSocketFilenameAddDelV2 {
        is_add: false,
        socket_id: id,
        socket_filename: String::new(),
    })
    .unwrap()
}

pub fn memif(c: &mut Client, socket_id: u32, id: u32, role: MemifRole) -> MemifCreateV2Reply {
    c.request(&MemifCreateV2 {
        role,
        mode: MemifMode::ETHERNET,
        id,
        socket_id,
        ..Default::default()
    })
    .unwrap()
}

/// A master memif on a new socket file `name`; its sw_if_index.
pub fn master(m: &Mock, c: &mut Client, socket_id: u32, name: &str) -> u32 {
    assert_eq!(add_socket(c, socket_id, &m.path(name)).retval, 0);
    let r = memif(c, socket_id, 0, MemifRole::MASTER);
    assert_eq!(r.retval, 0);
    r.sw_if_index
}

pub fn bridge(c: &mut Client, bd_id: u32, is_add: bool) -> BridgeDomainAddDelV2Reply {
    c.request(&BridgeDomainAddDelV2 {
        bd_id,
        flood: true,
        forward: true,
        learn: true,
        uu_flood: true,
        bd_tag: FixedString::new("t"),
        is_add,
        ..Default::default()
    })
    .unwrap()
}

pub fn join(c: &mut Client, sw: u32, bd_id: u32, port_type: u32, enable: bool) -> i32 {
    c.request(&SwInterfaceSetL2Bridge {
        rx_sw_if_index: sw,
        bd_id,
        port_type: L2PortType(port_type),
        shg: 0,
        enable,
    })
    .unwrap()
    .retval
}

pub fn address(c: &mut Client, sw: u32, prefix: &str, is_add: bool) -> i32 {
    let (ip, len) = prefix.split_once('/').unwrap();
    c.request(&SwInterfaceAddDelAddress {
        sw_if_index: sw,
        is_add,
        del_all: false,
        prefix: Prefix::new(ip.parse().unwrap(), len.parse().unwrap()),
    })
    .unwrap()
    .retval
}

pub fn interfaces(c: &mut Client) -> Vec<SwInterfaceDetails> {
    c.dump(&SwInterfaceDump {
        sw_if_index: u32::MAX,
        ..Default::default()
    })
    .unwrap()
}

pub fn bridges(c: &mut Client) -> Vec<BridgeDomainDetails> {
    c.dump(&BridgeDomainDump {
        bd_id: u32::MAX,
        sw_if_index: u32::MAX,
    })
    .unwrap()
}
