//! GC (CNI 1.1): remove every attachment of this network the runtime no longer knows,
//! what unreadable records stand for, and temporary files of writes killed midway.

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
    // Records that cannot be read (torn, empty): what they stand for is removed by
    // discovery with this network's netconf, as DEL does, unless the runtime still knows
    // it or the text tells of another network.
    for torn in store.unreadable()? {
        let other_network = torn.network.as_ref().is_some_and(|n| *n != ctx.conf.name);
        if other_network || torn.candidates.iter().any(|c| valid.contains(c)) {
            continue;
        }
        tracing::info!(
            "GC: unreadable record {}: removing what it stands for",
            torn.path.display()
        );
        let mut done = Ok(());
        for who in &torn.candidates {
            done = done.and_then(|()| {
                let plan = Plan::new(&ctx.conf, who)?;
                let ipam = ipam_for(&ctx.conf, &ctx.env.path, Some(who))?;
                Teardown {
                    plan: &plan,
                    record: None,
                    ipam: ipam.as_ref(),
                    netconf: &ctx.stdin,
                    version: ctx.version,
                    host: true,
                }
                .run(&store)
            });
        }
        match done {
            Ok(()) => {
                fs::remove_file(&torn.path).map_err(Error::io("record delete", &torn.path))?
            }
            Err(e) => {
                tracing::error!("GC of {}: {e}", torn.path.display());
                first_error.get_or_insert(e);
            }
        }
    }
    // Temporary files of writes killed midway.
    store.sweep_stale_temps()?;
    if let Some(ipam) = ipam_for(&ctx.conf, &ctx.env.path, None)? {
        ipam.call_if_1_1(crate::cni::Command::Gc, &ctx.stdin)
            .map_err(Error::ipam("IPAM GC"))?;
    }
    first_error.map_or(Ok(()), Err)
}
