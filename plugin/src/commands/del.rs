//! DEL: remove whatever is left of one attachment; succeed when nothing is.
//!
//! Whatever the netconf: one that ADD refuses (not decodable, an unknown version, a bad
//! `timeoutMs`, an IPAM plugin not in `CNI_PATH`) cannot have built anything, so without a
//! record DEL has nothing to remove and succeeds; with one, the record's own netconf says
//! what to remove.

use super::*;
use crate::cni::Environment;

pub fn del(ctx: &Context) -> Result<()> {
    let who = ctx.attachment();
    let Ok(data_dir) = crate::plan::data_dir(&ctx.conf) else {
        tracing::warn!("DEL with an unusable dataDir: ADD refuses it, nothing to remove");
        return Ok(());
    };
    let timeout = crate::plan::timeout(&ctx.conf).unwrap_or(crate::plan::DEFAULT_TIMEOUT);
    del_in(
        &who,
        &data_dir,
        timeout,
        Some(&ctx.conf),
        &ctx.stdin,
        &ctx.env.path,
        Some(ctx),
    )
}

/// DEL with a netconf the plugin cannot read at all (or of a version it does not speak):
/// only a record in the data directory it names (else the default one) can say that
/// something exists.
pub fn del_unreadable(env: &Environment, stdin: &[u8]) -> Result<()> {
    let who = Attachment {
        container_id: env.container_id.clone(),
        if_name: env.if_name.clone(),
    };
    let data_dir = lenient_data_dir(stdin);
    del_in(
        &who,
        &data_dir,
        crate::plan::DEFAULT_TIMEOUT,
        None,
        stdin,
        &env.path,
        None,
    )
}

/// `dataDir` of a netconf that does not decode as a whole, when it can be told.
fn lenient_data_dir(stdin: &[u8]) -> PathBuf {
    let dir = serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| match v {
            Value::Object(o) => Some(crate::netconf::keys::canonicalize(
                o,
                crate::netconf::keys::NETCONF,
            )),
            _ => None,
        })
        .and_then(|o| o.get("dataDir").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let conf = NetConf {
        data_dir: dir,
        ..NetConf::default()
    };
    crate::plan::data_dir(&conf).unwrap_or_else(|_| PathBuf::from(crate::plan::DEFAULT_DATA_DIR))
}

fn del_in(
    who: &Attachment,
    data_dir: &Path,
    timeout: Duration,
    conf: Option<&NetConf>,
    stdin: &[u8],
    cni_path: &[PathBuf],
    ctx: Option<&Context>,
) -> Result<()> {
    let (store, _lock) = open_locked(data_dir, timeout)?;
    let record = store.load_or_discard(who)?;
    // A pod the original plugin made (the node was upgraded since).
    if let (None, Some(ctx)) = (&record, ctx) {
        if original::del(ctx, &store, data_dir)? {
            return Ok(());
        }
    }

    // What was built is described by the ADD's own netconf; fall back to this one.
    let from_record = record.as_ref().and_then(plan_of_record);
    let (conf, plan) = match (from_record, conf) {
        (Some(pair), _) => pair,
        (None, Some(conf)) => match Plan::new(conf, who) {
            Ok(plan) => (conf.clone(), plan),
            Err(e) if record.is_none() => {
                // Nothing was recorded and nothing could have been built from this
                // netconf by this plugin: there is nothing to remove.
                tracing::warn!("DEL with an unusable netconf and no record: {e}");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        },
        (None, None) if record.is_none() => {
            tracing::warn!("DEL with an unreadable netconf and no record: nothing to remove");
            return Ok(());
        }
        (None, None) => {
            return Err(Error::Decode(
                "the netconf cannot be read, and neither can the record's".into(),
            ))
        }
    };
    let netconf = match &record {
        Some(r) => record_netconf(r),
        None => stdin.to_vec(),
    };
    let ipam = match ipam_for(&conf, cni_path, None) {
        // ADD refuses an IPAM plugin it cannot find before any change.
        Err(e) if record.is_none() => {
            tracing::warn!("DEL: {e}; without a record nothing was allocated");
            None
        }
        other => other?,
    };
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
