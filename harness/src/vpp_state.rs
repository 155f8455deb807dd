//! What a VPP (real or mock) holds, read through its API: for assertions and leak checks.

use std::path::Path;
use std::time::Duration;

use vpp_api::messages::*;
use vpp_api::types::IfStatusFlags;
use vpp_api::Client;

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub sw_if_index: u32,
    pub name: String,
    pub admin_up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memif {
    pub sw_if_index: u32,
    pub socket_id: u32,
    pub role: u32,
    pub admin_up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub bd_id: u32,
    pub tag: String,
    pub members: Vec<u32>,
}

/// A snapshot of the objects the plugin creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppState {
    pub interfaces: Vec<Interface>,
    pub memifs: Vec<Memif>,
    /// (socket id, filename)
    pub memif_sockets: Vec<(u32, String)>,
    pub bridges: Vec<Bridge>,
}

impl VppState {
    pub fn read(api_socket: &Path) -> Result<VppState> {
        let mut c = Client::connect(api_socket, "harness", Duration::from_secs(5))
            .map_err(|e| Error::Vpp(e.to_string()))?;
        let v = |e: vpp_api::Error| Error::Vpp(e.to_string());
        let interfaces = c
            .dump(&SwInterfaceDump {
                sw_if_index: u32::MAX,
                ..Default::default()
            })
            .map_err(v)?
            .into_iter()
            .map(|d| Interface {
                sw_if_index: d.sw_if_index,
                name: d.interface_name.as_str().to_string(),
                admin_up: d.flags.contains(IfStatusFlags::ADMIN_UP),
            })
            .collect();
        let memifs = c
            .dump(&MemifDump {})
            .map_err(v)?
            .into_iter()
            .map(|d| Memif {
                sw_if_index: d.sw_if_index,
                socket_id: d.socket_id,
                role: d.role.0,
                admin_up: d.flags.contains(IfStatusFlags::ADMIN_UP),
            })
            .collect();
        let memif_sockets = c
            .dump(&MemifSocketFilenameDump {})
            .map_err(v)?
            .into_iter()
            .map(|d| (d.socket_id, d.socket_filename.as_str().to_string()))
            .collect();
        let bridges = c
            .dump(&BridgeDomainDump {
                bd_id: u32::MAX,
                sw_if_index: u32::MAX,
            })
            .map_err(v)?
            .into_iter()
            .map(|d| Bridge {
                bd_id: d.bd_id,
                tag: d.bd_tag.as_str().to_string(),
                members: d
                    .sw_if_details
                    .items
                    .iter()
                    .map(|m| m.sw_if_index)
                    .collect(),
            })
            .collect();
        c.disconnect();
        Ok(VppState {
            interfaces,
            memifs,
            memif_sockets,
            bridges,
        })
    }

    /// Nothing but what a fresh VPP has: local0, the default memif socket 0, no bridges.
    pub fn is_pristine(&self) -> bool {
        self.interfaces.iter().all(|i| i.sw_if_index == 0)
            && self.memifs.is_empty()
            && self.memif_sockets.iter().all(|(id, _)| *id == 0)
            && self.bridges.is_empty()
    }

    pub fn bridge(&self, bd_id: u32) -> Option<&Bridge> {
        self.bridges.iter().find(|b| b.bd_id == bd_id)
    }
}

/// Runs one CLI command through `cli_inband` and returns VPP's text.
pub fn cli(api_socket: &Path, cmd: &str) -> Result<String> {
    let mut c = Client::connect(api_socket, "harness", Duration::from_secs(5))
        .map_err(|e| Error::Vpp(e.to_string()))?;
    let reply = c
        .request(&CliInband { cmd: cmd.into() })
        .map_err(|e| Error::Vpp(e.to_string()))?;
    c.disconnect();
    if reply.retval != 0 {
        return Err(Error::Vpp(format!("{cmd}: {}", reply.reply)));
    }
    Ok(reply.reply)
}
