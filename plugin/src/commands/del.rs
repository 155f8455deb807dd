//! DEL: remove whatever is left of one attachment; succeed when nothing is.

use super::*;

pub fn del(ctx: &Context) -> Result<()> {
    let who = ctx.attachment();
    let data_dir = crate::plan::data_dir(&ctx.conf)?;
    let timeout = crate::plan::timeout(&ctx.conf)?;
    let (store, _lock) = open_locked(&data_dir, timeout)?;
    let record = store.load_or_discard(&who)?;
    // A pod the original plugin made (the node was upgraded since).
    if record.is_none() && original::del(ctx, &store, &data_dir)? {
        return Ok(());
    }

    // What was built is described by the ADD's own netconf; fall back to this one.
    let from_record = record.as_ref().and_then(plan_of_record);
    let (conf, plan) = match from_record {
        Some(pair) => pair,
        None => match Plan::new(&ctx.conf, &who) {
            Ok(plan) => (ctx.conf.clone(), plan),
            Err(e) if record.is_none() => {
                // Nothing was recorded and nothing could have been built from this
                // netconf by this plugin: there is nothing to remove.
                tracing::warn!("DEL with an unusable netconf and no record: {e}");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        },
    };
    let netconf = match &record {
        Some(r) => record_netconf(r),
        None => ctx.stdin.clone(),
    };
    let ipam = ipam_for(&conf, &ctx.env.path, None)?;
    Teardown {
        plan: &plan,
        record: record.as_ref(),
        ipam: ipam.as_ref(),
        netconf: &netconf,
        version: version_of(&conf),
        host: true,
    }
    .run(&store)
}
