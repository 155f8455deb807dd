//! ADD: host interface, IPAM, configuration data; all or nothing.

use serde_json::Value;

use super::*;
use crate::cni::result::Interface;
use crate::cni::CniResult;
use crate::store::config_data::ContainerConfigData;
use crate::store::State;

pub fn add(ctx: &Context) -> Result<Value> {
    let who = ctx.attachment();
    let mut pod = kube_side::open_for_add(&ctx.conf, &ctx.env.args)?;
    let plan = match pod.as_ref().and_then(|p| p.dirs.as_ref()) {
        Some(dirs) => Plan::for_pod(&ctx.conf, &who, dirs)?,
        None => Plan::new(&ctx.conf, &who)?,
    };
    let gid = match &plan.group {
        None => None,
        Some(g) => Some(
            fs::group_id(g)
                .ok()
                .flatten()
                .ok_or_else(|| Invalid(format!("group: unknown group {g}")))?,
        ),
    };
    if !std::path::Path::new(&ctx.env.netns).exists() {
        return Err(Error::Cni(crate::cni::CniError::new(
            "",
            crate::cni::ErrorCode::InvalidEnvironment,
            format!("failed to open netns {:?}: no such file", ctx.env.netns),
        )));
    }
    let prev = match &ctx.conf.prev_result {
        None => CniResult::default(),
        Some(v) => {
            CniResult::from_json(v).map_err(|e| Error::Decode(format!("prevResult: {e}")))?
        }
    };
    let ipam = ipam_for(&ctx.conf, &ctx.env.path, None)?;
    // Fails early when the engine is not built in; the one that works is made below.
    engine_for(&plan.host_engine, plan.timeout)?;
    let (store, _lock) = open_locked(&plan.data_dir, plan.timeout)?;
    // The IPAM plugin's calls are bounded too: ADD's by the forward part, the undo's by
    // the whole.
    let ipam = ipam_bounded(ipam, Duration::ZERO);
    let ipam_forward = ipam_bounded(ipam.clone(), undo_reserve(plan.timeout));

    let earlier = match store.load(&who) {
        Err(crate::store::StoreError::Corrupt { path, reason }) => {
            // Torn (a power loss): remove what this netconf would have built.
            tracing::warn!(
                "{}: unreadable record ({reason}); clearing the attachment first",
                path.display()
            );
            Teardown {
                plan: &plan,
                record: None,
                ipam: ipam.as_ref(),
                netconf: &ctx.stdin,
                version: ctx.version,
                host: true,
            }
            .run(&store)?;
            None
        }
        other => other?,
    };
    if let Some(old) = earlier {
        // The runtime lost track of an earlier ADD (e.g. it timed out): clear it first.
        tracing::warn!(
            "{}/{}: an earlier ADD left state; removing it first",
            who.container_id,
            who.if_name
        );
        let (old_conf, old_plan) = plan_of_record(&old).unwrap_or((ctx.conf.clone(), plan.clone()));
        let old_ipam = ipam_for(&old_conf, &ctx.env.path, None)?;
        Teardown {
            plan: &old_plan,
            record: Some(&old),
            ipam: old_ipam.as_ref(),
            netconf: &record_netconf(&old),
            version: version_of(&old_conf),
            host: true,
        }
        .run(&store)?;
    }

    refuse_collisions(&store, &plan)?;
    // What is left of `timeoutMs` but the undo's part.
    let engine = engine_leaving(&plan.host_engine, plan.timeout, undo_reserve(plan.timeout))?;

    let mut rec = AttachmentRecord {
        container_id: who.container_id.clone(),
        if_name: who.if_name.clone(),
        network: ctx.conf.name.clone(),
        state: State::Adding,
        netconf: stdin_value(&ctx.stdin),
        // Decoded by serde_json, so valid UTF-8.
        netconf_text: String::from_utf8(ctx.stdin.clone()).ok(),
        shared_dir: plan.shared_dir.clone(),
        created_dir: fs::first_missing(&plan.shared_dir),
        host: None,
        // Set before IPAM runs, so that a crash during it still releases on DEL
        // (releasing what was never allocated is harmless).
        ipam_allocated: ipam.is_some(),
        result: None,
        // Before the mount and the annotation exist, so that an undo finds them.
        kube: pod.as_ref().map(|p| crate::kube::KubeRecord {
            short_dir: plan.short_dir.clone(),
            annotated: true,
            ..p.record.clone()
        }),
        device_info_file: kube_side::device_info_file(&ctx.conf),
    };
    store.create(&rec)?;

    let mut host_created = false;
    let outcome = build(
        ctx,
        pod.as_mut().map(|p| &mut p.session),
        &plan,
        gid,
        &prev,
        ipam_forward.as_ref(),
        &*engine,
        &store,
        &mut rec,
        &mut host_created,
    );
    match outcome {
        Ok(result) => Ok(result),
        Err(e) => {
            tracing::error!("ADD failed, undoing it: {e}");
            let undo = Teardown {
                plan: &plan,
                record: Some(&rec),
                ipam: ipam.as_ref(),
                netconf: &ctx.stdin,
                version: ctx.version,
                host: host_created,
            };
            if let Err(u) = undo.run(&store) {
                tracing::error!("undo incomplete (the next DEL or GC finishes it): {u}");
            }
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    ctx: &Context,
    session: Option<&mut crate::kube::Session>,
    plan: &Plan,
    gid: Option<u32>,
    prev: &CniResult,
    ipam: Option<&Ipam>,
    engine: &dyn Engine,
    store: &Store,
    rec: &mut AttachmentRecord,
    host_created: &mut bool,
) -> Result<Value> {
    let who = &plan.attachment;
    let dir = &plan.shared_dir;
    // Open to the pod's application whatever user it runs as (nothing in it is secret;
    // the sockets' own modes guard them), or to the vhost group only.
    let mode = if gid.is_some() { 0o750 } else { 0o755 };
    make_shared_dir(dir, mode)?;
    if let (Some(gid), true) = (gid, rec.created_dir.is_some()) {
        fs::chown_group(dir, gid).map_err(Error::io("shared directory", dir))?;
    }
    kube_side::make_short_dir(plan)?;

    let mac = engines::mac::for_attachment(who, "container").to_string();
    let interface = Interface {
        name: who.if_name.clone(),
        mac: mac.clone(),
        sandbox: ctx.env.netns.clone(),
        socket_path: plan.socket_path().display().to_string(),
        ..Interface::default()
    };
    // The host interface on one side, the IPAM allocation and the configuration data on
    // the other: independent, so the pod side is done while the vswitch works. With an
    // IPAM exec to wait for, on a second thread; without, it is a file, written once the
    // vswitch has the request (a thread would cost more than it overlaps). Either
    // failing undoes both.
    let device_info = rec.device_info_file.clone();
    let placed = rec.kube.as_ref().is_some_and(|k| k.placed_socket.is_some());
    let pod_side = || {
        allocate_and_describe(ctx, plan, ipam, &interface, &mac, gid).and_then(|(alloc, data)| {
            publish(plan, session, device_info.as_deref(), placed, &data)?;
            Ok(alloc)
        })
    };
    let (host, allocation) = if ipam.is_some() {
        std::thread::scope(|s| {
            let pod_side = s.spawn(pod_side);
            let host = engine.begin_add(&plan.host, who);
            (host, pod_side.join())
        })
    } else {
        let host = engine.begin_add(&plan.host, who);
        let allocation = match &host {
            Ok(_) => pod_side(),
            Err(_) => Ok(CniResult::default()),
        };
        (host, Ok(allocation))
    };
    // An IPAM plugin that answered ADD with an error refused this config: it holds
    // nothing for it, and its DEL of the same config would only be refused again.
    if let Ok(Err(Error::Ipam {
        source: crate::ipam::IpamError::Plugin { .. },
        ..
    })) = &allocation
    {
        rec.ipam_allocated = false;
    }
    let pending = host.map_err(|e| {
        // The vswitch went away mid-ADD: the engine could not undo what it did on that
        // connection, so the teardown must look (DEL finds leftovers by discovery).
        if e.is_transient()
            && !matches!(
                e,
                engines::Error::Unavailable {
                    step: engines::Step::Connect,
                    ..
                }
            )
        {
            *host_created = true;
        }
        engine_error(engine, "host interface")(e)
    })?;
    *host_created = true;
    // Kept in memory only until the final save: a DEL after a crash here finds the host
    // interface from its socket path.
    rec.host = Some(pending.record.clone());
    let allocation = allocation.unwrap_or_else(|p| std::panic::resume_unwind(p))?;

    let mut result = prev.clone();
    let index = result.interfaces.len();
    result.interfaces.push(interface);
    for ip in &allocation.ips {
        let mut ip = ip.clone();
        ip.interface = Some(index);
        result.ips.push(ip);
    }
    result.routes.extend(allocation.routes.iter().cloned());
    if result.dns.is_empty() {
        result.dns = allocation.dns.clone();
    }

    // Saved while the vswitch may still be at work: the record is what DEL needs either
    // way, and a failed wait undoes the whole ADD, record included.
    rec.state = State::Ready;
    rec.result = Some(result.to_json(crate::cni::Version::LATEST));
    store.save(rec)?;
    // On failure the engine has removed the interface; the teardown's DEL of it finds
    // nothing (or what an unreachable vswitch kept).
    pending.finish().map_err(Error::engine("host interface"))?;
    Ok(result.to_json(ctx.version))
}

/// Creates the pod's shared directory when missing. Failures read as the original's
/// (`stat <dir>: ...` when it cannot be looked at, `mkdir <dir>: ...` when it cannot be
/// made), naming the directory that failed.
fn make_shared_dir(dir: &std::path::Path, mode: u32) -> Result<()> {
    const WHAT: &str = "the pod's shared directory";
    let os = |op, path: &std::path::Path, source| Error::Os {
        op,
        path: path.to_path_buf(),
        what: WHAT,
        source,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(os("stat", dir, e)),
        _ => {}
    }
    match fs::ensure_dir(dir, mode) {
        Ok(_) => Ok(()),
        // Something else is there: Go's MkdirAll says ENOTDIR.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(os(
            "mkdir",
            dir,
            std::io::Error::from_raw_os_error(libc::ENOTDIR),
        )),
        Err(e) => {
            // The first directory that could not be made.
            let at = fs::first_missing(dir).unwrap_or_else(|| dir.to_path_buf());
            Err(os("mkdir", &at, e))
        }
    }
}

/// The pod's side of ADD: the IPAM allocation (none without IPAM), and the configuration
/// data the container side reads, with the interface as the result names it.
fn allocate_and_describe(
    ctx: &Context,
    plan: &Plan,
    ipam: Option<&Ipam>,
    interface: &Interface,
    mac: &str,
    gid: Option<u32>,
) -> Result<(CniResult, ContainerConfigData)> {
    let who = &plan.attachment;
    let mut allocation = CniResult::default();
    if let Some(ipam) = ipam {
        allocation = ipam
            .add(&ctx.stdin, ctx.version)
            .map_err(Error::ipam("IPAM"))?;
        if allocation.ips.is_empty() {
            return Err(Error::Ipam {
                step: "IPAM",
                source: crate::ipam::IpamError::BadOutput {
                    name: ipam.name().to_string(),
                    reason: "ERROR: Unable to get IP Address (the result has no IPs)".into(),
                },
            });
        }
    }
    let mut ip_result = allocation.clone();
    ip_result.interfaces = vec![interface.clone()];
    for ip in &mut ip_result.ips {
        ip.interface = Some(0);
    }
    let data = ContainerConfigData {
        container_id: who.container_id.clone(),
        if_name: who.if_name.clone(),
        name: ctx.conf.name.clone(),
        config: plan.container.clone(),
        ip_result: ip_result.to_json(crate::cni::Version::V1_0_0),
        mac: mac.to_string(),
    };
    let path = &plan.config_data_path;
    data.write(path, gid)
        .map_err(Error::io("configuration data", path))?;
    Ok((allocation, data))
}

/// Kubernetes mode and device info: the annotation entry on the pod, the device-info
/// file. Either failing fails the ADD (which then undoes both).
fn publish(
    plan: &Plan,
    session: Option<&mut crate::kube::Session>,
    device_info: Option<&std::path::Path>,
    placed: bool,
    data: &ContainerConfigData,
) -> Result<()> {
    // The socket as the pod sees it: in its `shared-dir` mount (`userspace/mapped-dir`),
    // unless a device plugin placed it (its path is the one it gave).
    let mut seen_at = None;
    if let Some(s) = session {
        s.publish(kube_side::entry(data))?;
        if !placed {
            seen_at = Some(std::path::Path::new(&s.mapped_dir()).join(&plan.socket_file));
        }
    }
    if let Some(f) = device_info {
        kube_side::write_device_info(plan, f, seen_at.as_deref())?;
    }
    Ok(())
}

/// Refuses an attachment whose socket or configuration data would be another's (two
/// container ids sharing their first 12 characters, a fixed socket file name), before
/// anything is touched: undoing it, or DEL, would otherwise remove the other's. (The
/// engines refuse what is another's on the vswitch, whichever data directory it is in.)
fn refuse_collisions(store: &Store, plan: &Plan) -> Result<()> {
    let who = &plan.attachment;
    let taken = |what: &str, path: &Path, other: &Attachment| {
        Error::Invalid(Invalid(format!(
            "ERROR: {what} {} is already used by attachment {}/{}; nothing was changed",
            path.display(),
            other.container_id,
            other.if_name
        )))
    };
    let cd = &plan.config_data_path;
    if let Ok(Some(d)) = ContainerConfigData::read(cd) {
        if d.container_id != who.container_id || d.if_name != who.if_name {
            let other = Attachment {
                container_id: d.container_id,
                if_name: d.if_name,
            };
            return Err(taken("configuration data", cd, &other));
        }
    }
    let prefix = crate::cni::env::short_id(&who.container_id);
    for rec in store.others_with_prefix(who, prefix)? {
        let Some((_, theirs)) = plan_of_record(&rec) else {
            continue;
        };
        let other = rec.attachment();
        if theirs.socket_path() == plan.socket_path() {
            return Err(taken("socket", &plan.socket_path(), &other));
        }
        if theirs.config_data_path == *cd {
            return Err(taken("configuration data", cd, &other));
        }
    }
    Ok(())
}
