//! DEL and GC of attachments the original plugin made, from its records (see
//! [`crate::store::legacy`]): the engine removes the host side the record names, then the
//! pod side goes as for one of ours (IPAM release, configuration data, the pod's directory
//! when empty), then the record. A record that cannot be read fails DEL in the original's
//! words and is kept.

use std::path::Path;

use engines::OriginalRecord;

use super::*;
use crate::cni::env::short_id;
use crate::store::legacy;

/// The original's record of `path`, for the host engine `engine`.
fn load(path: &Path, engine: &str) -> Result<Option<OriginalRecord>> {
    let unreadable = |e: legacy::Unreadable| Error::OriginalRecord {
        verb: e.verb,
        kind: legacy::kind(engine),
        path: path.to_path_buf(),
        reason: e.reason,
    };
    match legacy::read(path).map_err(unreadable)? {
        None => Ok(None),
        Some(bytes) => legacy::parse(&bytes, engine).map(Some).map_err(unreadable),
    }
}

/// Removes what the original made for `plan`'s attachment; whether the vswitch still had it.
fn remove_host(plan: &Plan, saved: &OriginalRecord) -> Result<bool> {
    let engine = engine_for(&plan.host_engine, plan.timeout)?;
    engine
        .del_original(&plan.host, &plan.attachment, saved)
        .map_err(engine_error(&*engine, "host interface delete"))
}

/// DEL of the attachment when the original made it: `false` when it has no record here.
pub(super) fn del(ctx: &Context, store: &Store, data_dir: &Path) -> Result<bool> {
    let who = ctx.attachment();
    let path = legacy::path(data_dir, &who);
    if !path.exists() {
        return Ok(false);
    }
    // A netconf naming no engine of ours: nothing it describes can be removed.
    let Ok(engine) = crate::plan::host_engine(&ctx.conf) else {
        return Ok(false);
    };
    let Some(saved) = load(&path, engine)? else {
        return Ok(false);
    };
    let plan = Plan::new(&ctx.conf, &who)?;
    if !remove_host(&plan, &saved)? {
        tracing::warn!(
            "{}: what the original plugin made is no longer on the vswitch",
            path.display()
        );
    }
    let ipam = ipam_for(&ctx.conf, &ctx.env.path, None)?;
    Teardown {
        plan: &plan,
        record: None,
        ipam: ipam.as_ref(),
        netconf: &ctx.stdin,
        version: ctx.version,
        host: false,
    }
    .run(store)?;
    legacy::remove(&path).map_err(Error::io("original record delete", &path))?;
    Ok(true)
}

/// GC: removes the original's attachments the runtime no longer knows, of this network:
/// records of this netconf's engine whose object the vswitch shows on this netconf's
/// network. The IPAM allocations are the IPAM plugin's own GC's (the original kept only
/// 12 characters of the container id, too few for a release). Unreadable records are
/// logged and kept.
pub(super) fn gc(
    ctx: &Context,
    store: &Store,
    data_dir: &Path,
    valid: &[Attachment],
) -> Result<()> {
    let Ok(engine) = crate::plan::host_engine(&ctx.conf) else {
        return Ok(());
    };
    let mut first_error = None;
    for (who, path) in legacy::list(data_dir) {
        let known = valid
            .iter()
            .any(|v| short_id(&v.container_id) == who.container_id && v.if_name == who.if_name);
        let of_engine = legacy::read(&path)
            .ok()
            .flatten()
            .is_some_and(|b| legacy::is_of(&b, engine));
        if known || !of_engine {
            continue;
        }
        let saved = match load(&path, engine) {
            Ok(Some(saved)) => saved,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!("GC: {e}; kept");
                continue;
            }
        };
        let done = (|| {
            let plan = Plan::new(&ctx.conf, &who)?;
            if !remove_host(&plan, &saved)? {
                return Ok(());
            }
            tracing::info!("GC: removed the original plugin's {}", path.display());
            Teardown {
                plan: &plan,
                record: None,
                ipam: None,
                netconf: &ctx.stdin,
                version: ctx.version,
                host: false,
            }
            .run(store)?;
            legacy::remove(&path).map_err(Error::io("original record delete", &path))
        })();
        if let Err(e) = done {
            tracing::error!("GC: {e}");
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
