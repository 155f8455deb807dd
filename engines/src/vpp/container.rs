//! The container's end on the pod's own VPP: the interface on the shared socket, its MAC
//! and addresses, admin up. The same undo journal as the host side.

use vpp_api::wire::MacAddress;

use super::{wire_mode, wire_role, Undo, VppEngine, ENGINE_NAME};
use crate::{Attachment, ContainerSide, Error, HostRecord, InterfaceSpec, Result, VhostMode};

pub(super) fn add(
    engine: &VppEngine,
    side: &ContainerSide,
    who: &Attachment,
) -> Result<HostRecord> {
    let mac = match &side.mac {
        Some(text) => text
            .parse::<MacAddress>()
            .map_err(|_| Error::Unsupported(format!("invalid MAC address {text:?}")))?,
        None => MacAddress(crate::mac::for_attachment(who, "container").0),
    };
    let mut s = engine.connect(side.api_socket.as_deref())?;
    let mut undo = Vec::new();
    let outcome = (|| -> Result<u32> {
        let sw = match &side.interface {
            InterfaceSpec::Memif {
                role,
                mode,
                socket_path,
            } => {
                let socket_id = match s.find_memif_socket(socket_path)? {
                    Some(id) => id,
                    None => {
                        let id = s.add_memif_socket(socket_path)?;
                        undo.push(Undo::MemifSocket(id));
                        id
                    }
                };
                let sw = s.create_memif(wire_role(*role), wire_mode(*mode), socket_id, mac)?;
                undo.push(Undo::Memif(sw));
                sw
            }
            InterfaceSpec::VhostUser {
                mode, socket_path, ..
            } => {
                // The pod drives the host's vhost-user port: a virtio-user front end.
                let sw = s.create_virtio_user(socket_path, *mode == VhostMode::Server, mac)?;
                undo.push(Undo::VhostUser(sw));
                sw
            }
        };
        for cidr in &side.addresses {
            s.add_address(sw, cidr)?;
        }
        s.set_admin_up(sw, true)?;
        Ok(sw)
    })();
    match outcome {
        Ok(sw) => {
            s.close();
            Ok(HostRecord {
                engine: ENGINE_NAME.to_string(),
                data: serde_json::json!({ "swIfIndex": sw }),
                mac: Some(mac.to_string()),
            })
        }
        Err(e) => {
            VppEngine::unwind(&mut s, undo);
            s.close();
            Err(e)
        }
    }
}
