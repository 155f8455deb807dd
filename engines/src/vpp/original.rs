//! Removing a memif the original plugin made (node upgraded in place), from the ids in
//! its record: the memif, its bridge-domain membership and its socket registration and
//! file. Ids are checked first (VPP may have restarted and given them to others): the id
//! must name a memif on that socket, the socket's file must carry this attachment's socket
//! name (the directory may differ: the original took it from the pod), and with a bridge
//! the memif must be in the netconf's bridge domain. The bridge domain itself is kept:
//! nothing says whether the original made it.

use std::path::Path;

use super::{bridge_domain_id, remove_socket_file, VppEngine};
use crate::{Attachment, HostSide, InterfaceSpec, Network, OriginalRecord, Result};

pub(super) fn del(
    engine: &VppEngine,
    side: &HostSide,
    _who: &Attachment,
    saved: &OriginalRecord,
) -> Result<bool> {
    let (
        &OriginalRecord::Vpp {
            sw_if_index: sw,
            memif_socket_id: socket_id,
        },
        InterfaceSpec::Memif { socket_path, .. },
    ) = (saved, &side.interface)
    else {
        return Ok(false);
    };
    let bd = match &side.network {
        Network::Bridge(b) => Some(bridge_domain_id(b)?),
        Network::Interface => None,
    };
    // VPP's own default socket (id 0) is never the original's.
    if socket_id == 0 {
        return Ok(false);
    }
    let mut s = engine.connect(side.api_socket.as_deref())?;
    let Some(file) = s.memif_socket_file(socket_id)? else {
        s.close();
        return Ok(false);
    };
    let ours = Path::new(&file).file_name() == socket_path.file_name()
        && s.is_memif_on(sw, socket_id)?
        && match bd {
            Some(bd) => s.bridge(bd)?.is_some_and(|b| b.members.contains(&sw)),
            None => true,
        };
    if !ours {
        s.close();
        return Ok(false);
    }
    if let Some(bd) = bd {
        s.set_bridge_member(sw, bd, false)?;
    }
    s.delete_memif(sw)?;
    if !s.memifs()?.iter().any(|m| m.socket_id == socket_id) {
        s.del_memif_socket(socket_id)?;
        remove_socket_file(Path::new(&file));
    }
    s.close();
    Ok(true)
}
