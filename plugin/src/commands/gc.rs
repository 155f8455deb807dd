//! GC (CNI 1.1): remove every attachment of this network the runtime no longer knows.

use super::*;

pub fn gc(ctx: &Context) -> Result<()> {
    let data_dir = crate::plan::data_dir(&ctx.conf)?;
    let timeout = crate::plan::timeout(&ctx.conf)?;
    let valid: Vec<Attachment> = ctx
        .conf
        .valid_attachments
        .iter()
        .flatten()
        .map(|v| Attachment {
            container_id: v.container_id.clone(),
            if_name: v.ifname.clone(),
        })
        .collect();
    let (store, _lock) = open_locked(&data_dir, timeout)?;
    let mut first_error = None;
    for rec in store.list()? {
        if rec.network != ctx.conf.name || valid.contains(&rec.attachment()) {
            continue;
        }
        let who = rec.attachment();
        tracing::info!(
            "GC: removing stale attachment {}/{}",
            who.container_id,
            who.if_name
        );
        let Some((conf, plan)) = plan_of_record(&rec) else {
            tracing::warn!(
                "GC: record of {}/{} has an unusable netconf; dropping it",
                who.container_id,
                who.if_name
            );
            store.remove(&who)?;
            continue;
        };
        let done = ipam_for(&conf, &ctx.env.path, Some(&who)).and_then(|ipam| {
            Teardown {
                plan: &plan,
                record: Some(&rec),
                ipam: ipam.as_ref(),
                netconf: &record_netconf(&rec),
                version: version_of(&conf),
                host: true,
            }
            .run(&store)
        });
        if let Err(e) = done {
            tracing::error!("GC of {}/{}: {e}", who.container_id, who.if_name);
            first_error.get_or_insert(e);
        }
    }
    // Pods the original plugin made (the node was upgraded since).
    if let Err(e) = original::gc(ctx, &store, &data_dir, &valid) {
        first_error.get_or_insert(e);
    }
    if let Some(ipam) = ipam_for(&ctx.conf, &ctx.env.path, None)? {
        ipam.call_if_1_1(crate::cni::Command::Gc, &ctx.stdin)
            .map_err(Error::ipam("IPAM GC"))?;
    }
    first_error.map_or(Ok(()), Err)
}
