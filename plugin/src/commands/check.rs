//! CHECK: the attachment is still as ADD made it.

use super::*;
use crate::cni::CniResult;
use crate::store::config_data::ContainerConfigData;
use crate::store::State;

pub fn check(ctx: &Context) -> Result<()> {
    let who = ctx.attachment();
    let plan = Plan::new(&ctx.conf, &who)?;
    let (store, _lock) = open_locked(&plan.data_dir, plan.timeout)?;
    let record = match store.load(&who)? {
        Some(r) if r.state == State::Ready => r,
        Some(_) => {
            return Err(Error::Mismatch(format!(
                "{}/{}: ADD did not complete",
                who.container_id, who.if_name
            )))
        }
        None => {
            return Err(Error::UnknownAttachment(format!(
                "{}/{}: no such attachment on this host",
                who.container_id, who.if_name
            )))
        }
    };
    // In Kubernetes mode the pod's directories, as ADD found them.
    let plan = kube_side::plan(&ctx.conf, &who, record.kube.as_ref())?;
    if let Some(prev) = &ctx.conf.prev_result {
        let prev =
            CniResult::from_json(prev).map_err(|e| Error::Decode(format!("prevResult: {e}")))?;
        let ours = prev
            .interfaces
            .iter()
            .any(|i| i.name == who.if_name && (i.sandbox.is_empty() || i.sandbox == ctx.env.netns));
        if !ours {
            return Err(Error::Mismatch(format!(
                "prevResult has no interface {} in {}",
                who.if_name, ctx.env.netns
            )));
        }
    }
    if !std::path::Path::new(&ctx.env.netns).exists() {
        return Err(Error::Mismatch(format!(
            "network namespace {} is gone",
            ctx.env.netns
        )));
    }
    let host = record
        .host
        .as_ref()
        .ok_or_else(|| Error::Mismatch("no host interface was recorded".into()))?;
    let engine = engine_for(&plan.host_engine, plan.timeout)?;
    engine
        .check(&plan.host, &who, host)
        .map_err(Error::engine("host interface"))?;
    let path = &plan.config_data_path;
    match ContainerConfigData::read(path).map_err(Error::io("configuration data", path))? {
        Some(d) if d.container_id == who.container_id && d.if_name == who.if_name => {}
        Some(_) => {
            return Err(Error::Mismatch(format!(
                "configuration data {} belongs to another attachment",
                path.display()
            )))
        }
        // The container-side app consumes (removes) the data once it has used it.
        None => {}
    }
    if let Some(ipam) = ipam_for(&ctx.conf, &ctx.env.path, None)? {
        ipam.check(&ctx.stdin, ctx.version)
            .map_err(Error::ipam("IPAM check"))?;
    }
    Ok(())
}
