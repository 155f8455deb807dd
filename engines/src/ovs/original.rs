//! Removing a port the original plugin made (node upgraded in place), named in its
//! record: only when it is on the netconf's bridge, and with it the vhost-user socket in
//! the pod's shared directory. The bridge is kept: nothing says whether the original
//! made it (it deleted any bridge left without ports, the user's too).

use super::{bridge, remove_socket_file, vhost, OvsEngine};
use crate::{Attachment, HostSide, OriginalRecord, Result};

pub(super) fn del(
    engine: &OvsEngine,
    side: &HostSide,
    _who: &Attachment,
    saved: &OriginalRecord,
) -> Result<bool> {
    let OriginalRecord::Ovs { port } = saved else {
        return Ok(false);
    };
    let (socket, _) = vhost(side)?;
    let b = bridge(side)?;
    if port.is_empty() {
        return Ok(false);
    }
    let mut s = engine.connect(side.api_socket.as_deref())?;
    if !s.port_in_bridge(&b.name, port)? {
        return Ok(false);
    }
    s.del_port(port, None)?;
    remove_socket_file(socket);
    Ok(true)
}
