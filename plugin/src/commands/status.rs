//! STATUS (CNI 1.1): can this plugin serve ADDs right now?

use super::*;

pub fn status(ctx: &Context) -> Result<()> {
    let name = crate::plan::host_engine(&ctx.conf)?;
    let timeout = crate::plan::timeout(&ctx.conf)?;
    let api_socket = crate::plan::api_socket(&ctx.conf.host, "host")?;
    let engine = engine_for(name, timeout)?;
    engine
        .status(api_socket.as_deref())
        .map_err(|e| Error::NotAvailable(format!("host vswitch ({name}) is not available: {e}")))?;
    let data_dir = crate::plan::data_dir(&ctx.conf)?;
    Store::open(&data_dir).map_err(|e| Error::NotAvailable(format!("data directory: {e}")))?;
    if let Some(ipam) = ipam_for(&ctx.conf, &ctx.env.path, None)? {
        ipam.call_if_1_1(crate::cni::Command::Status, &ctx.stdin)
            .map_err(|e| Error::NotAvailable(format!("IPAM: {e}")))?;
    }
    Ok(())
}
