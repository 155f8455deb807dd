//! One module per CNI command, sharing the teardown that DEL, GC and a failed ADD use.

mod add;
mod check;
mod del;
mod gc;
mod kube_side;
mod original;
mod status;

pub use add::add;
pub use check::check;
pub use del::{del, del_unreadable};
pub use gc::gc;
pub use status::status;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engines::{Attachment, Engine};
use serde_json::Value;

use crate::cni::{Environment, Version};
use crate::error::{Error, Result};
use crate::ipam::Ipam;
use crate::netconf::NetConf;
use crate::plan::{Invalid, Plan};
use crate::store::{fs, AttachmentRecord, Lock, Store};

/// What every command starts from.
pub struct Context {
    pub env: Environment,
    pub conf: NetConf,
    /// The netconf exactly as received (delegated plugins get the same bytes).
    pub stdin: Vec<u8>,
    pub version: Version,
}

impl Context {
    pub fn attachment(&self) -> Attachment {
        Attachment {
            container_id: self.env.container_id.clone(),
            if_name: self.env.if_name.clone(),
        }
    }
}

thread_local! {
    /// When the command running on this thread must be over: `timeoutMs` after it took
    /// the lock. Every engine it makes, undo included, gets only what is left.
    static ENDS: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// The part of `timeoutMs` a failed ADD keeps for undoing itself: its requests are few
/// and quick, but a loaded host slows them as much as the forward path's.
fn undo_reserve(timeout: Duration) -> Duration {
    timeout / 2
}

/// The engine for the plan's host side, bounded by what is left of the operation.
fn engine_for(name: &str, timeout: Duration) -> Result<Box<dyn Engine>> {
    engine_leaving(name, timeout, Duration::ZERO)
}

/// [`engine_for`], ending `reserve` before the operation does.
fn engine_leaving(name: &str, timeout: Duration, reserve: Duration) -> Result<Box<dyn Engine>> {
    let left = ENDS
        .get()
        .map_or(timeout, |end| end.saturating_duration_since(Instant::now()))
        .min(timeout)
        .saturating_sub(reserve);
    engines::by_name(name, left).map_err(|_| {
        Error::Invalid(Invalid(format!(
            "ERROR: Host Engine {name} is not built into this plugin (built with: {})",
            engines::compiled_engines().join(", ")
        )))
    })
}

/// [`Error::engine`], led by the original plugin's words for the error when it had some.
fn engine_error<'a>(
    engine: &'a dyn Engine,
    step: &'static str,
) -> impl FnOnce(engines::Error) -> Error + 'a {
    move |e| {
        let words = engine.original_words(&e);
        let inner = Error::engine(step)(e);
        match words {
            Some(words) => Error::Worded {
                words,
                inner: Box::new(inner),
            },
            None => inner,
        }
    }
}

/// The IPAM plugin of a netconf, resolved in `CNI_PATH`, set up to act for `who`.
fn ipam_for(conf: &NetConf, path: &[PathBuf], who: Option<&Attachment>) -> Result<Option<Ipam>> {
    let Some(name) = conf.ipam_type() else {
        return Ok(None);
    };
    let ipam = Ipam::find(name, path).map_err(Error::ipam("IPAM"))?;
    let ipam = match who {
        Some(w) => ipam.for_attachment(w),
        None => ipam,
    };
    Ok(ipam_bounded(Some(ipam), Duration::ZERO))
}

/// Bounds an IPAM plugin's calls by what is left of the operation, less `reserve` (no
/// bound before the operation's clock has started).
fn ipam_bounded(ipam: Option<Ipam>, reserve: Duration) -> Option<Ipam> {
    match ENDS.get() {
        Some(end) => ipam.map(|i| i.until(end.checked_sub(reserve).unwrap_or(end))),
        None => ipam,
    }
}

/// Stops the clock of a command that ran before on this thread (tests run many).
pub(crate) fn reset_clock() {
    ENDS.set(None);
}

/// How long to wait for other plugin instances to finish: each holds the lock for at
/// most its own `timeoutMs` (its whole operation, undo included), so this lets up to four
/// of the same netconf go first.
fn lock_wait(plan_timeout: Duration) -> Duration {
    plan_timeout * 4
}

/// Takes the lock, and starts the operation's clock: from here `timeout` bounds all the
/// vswitch work of the command.
fn open_locked(data_dir: &std::path::Path, timeout: Duration) -> Result<(Store, Lock)> {
    let store = Store::open(data_dir)?;
    let lock = store.lock(lock_wait(timeout))?;
    ENDS.set(Some(Instant::now() + timeout));
    Ok((store, lock))
}

/// The plan an existing record was made with (its own netconf), else `None`.
fn plan_of_record(rec: &AttachmentRecord) -> Option<(NetConf, Plan)> {
    let conf = NetConf::parse(&record_netconf(rec)).ok()?;
    let plan = kube_side::plan(&conf, &rec.attachment(), rec.kube.as_ref()).ok()?;
    Some((conf, plan))
}

/// Removes everything of one attachment: the host interface, and at the same time the IPAM
/// allocation and the configuration data; then the shared directory (when ADD made it) and
/// the record. Idempotent. On failure the record is kept, so the next DEL or GC finishes
/// the job.
struct Teardown<'a> {
    plan: &'a Plan,
    record: Option<&'a AttachmentRecord>,
    ipam: Option<&'a Ipam>,
    /// The netconf for the IPAM release.
    netconf: &'a [u8],
    version: Version,
    /// False when the engine is known to have created nothing (its ADD failed and
    /// unwound itself).
    host: bool,
}

impl Teardown<'_> {
    fn run(&self, store: &Store) -> Result<()> {
        let who = &self.plan.attachment;
        // The host interface on one side, the IPAM release and the configuration data on
        // the other: at the same time when there is an IPAM exec to wait for (as in ADD),
        // else one after the other. The shared directory only once both are done (the
        // vswitch's socket may be in it), the record last.
        let (host, pod_side) = if self.ipam_to_release().is_some() {
            std::thread::scope(|s| {
                let pod_side = s.spawn(|| self.release_pod_side());
                (self.delete_host(), pod_side.join())
            })
        } else {
            let host = self.delete_host();
            (host, Ok(self.release_pod_side()))
        };
        // Both ran: report every failure, not only the first.
        Error::all([
            host,
            pod_side.unwrap_or_else(|p| std::panic::resume_unwind(p)),
        ])?;
        kube_side::release_short_dir(self.record.and_then(|r| r.kube.as_ref()))?;
        // Without a record only the per-container directory is assumed to be ours.
        let top = match self.record {
            Some(r) => r.created_dir.clone(),
            None => Some(self.plan.shared_dir.clone()),
        };
        let dir = &self.plan.shared_dir;
        let remove_dirs = |top: &Path| {
            fs::remove_dirs_up_to(dir, top).map_err(Error::io("shared directory delete", dir))
        };
        match top {
            None => store.remove(who)?,
            // The pod's own directory alone may go at the same time as the record (each
            // removal waits for the disk where it is mounted with `discard`): a DEL
            // repeated after a crash between the two finds it from the netconf.
            Some(top) if top == *dir => {
                let (dirs, record) = std::thread::scope(|s| {
                    let dirs = s.spawn(|| remove_dirs(&top));
                    let record = store.remove(who);
                    (dirs.join(), record)
                });
                dirs.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
                record?;
            }
            // Directories above it only the record remembers: those first.
            Some(top) => {
                remove_dirs(&top)?;
                store.remove(who)?;
            }
        }
        Ok(())
    }

    fn delete_host(&self) -> Result<()> {
        if !self.host {
            return Ok(());
        }
        let engine = engine_for(&self.plan.host_engine, self.plan.timeout)?;
        engine
            .del(
                &self.plan.host,
                &self.plan.attachment,
                self.record.and_then(|r| r.host.as_ref()),
            )
            .map_err(engine_error(&*engine, "host interface delete"))
    }

    /// The IPAM plugin, when it may hold an allocation for the attachment.
    fn ipam_to_release(&self) -> Option<&Ipam> {
        self.ipam
            .filter(|_| self.record.is_none_or(|r| r.ipam_allocated))
    }

    /// The IPAM release, the Kubernetes side and the configuration data: independent, so
    /// each is tried and every failure reported (the record stays for a DEL to retry).
    fn release_pod_side(&self) -> Result<()> {
        Error::all([
            self.release_ipam(),
            self.release_kube(),
            remove_config_data(self.plan),
        ])
    }

    fn release_ipam(&self) -> Result<()> {
        if let Some(ipam) = self.ipam_to_release() {
            match ipam.del(self.netconf, self.version) {
                // The IPAM plugin refuses this config (e.g. an invalid subnet): unless an
                // ADD with it completed, nothing can have been allocated under it.
                Err(crate::ipam::IpamError::Plugin { name, error })
                    if self
                        .record
                        .is_none_or(|r| r.state != crate::store::State::Ready) =>
                {
                    tracing::warn!(
                        "IPAM plugin {name} refuses the release ({}); no ADD with this config completed, so nothing is allocated",
                        error.msg
                    );
                }
                other => other.map_err(Error::ipam("IPAM release"))?,
            }
        }
        Ok(())
    }

    fn release_kube(&self) -> Result<()> {
        if let Some(r) = self
            .record
            .filter(|r| r.kube.is_some() || r.device_info_file.is_some())
        {
            let kubeconfig = NetConf::parse(self.netconf)
                .map(|c| c.kubeconfig)
                .unwrap_or_default();
            kube_side::release(
                &kubeconfig,
                r.kube.as_ref(),
                r.device_info_file.as_deref(),
                &self.plan.attachment,
                self.plan.timeout,
            )?;
        }
        Ok(())
    }
}

/// Removes the attachment's configuration data, unless it names another attachment
/// (then it is that one's: the paths of two attachments can collide).
fn remove_config_data(plan: &Plan) -> Result<()> {
    let who = &plan.attachment;
    let cd = &plan.config_data_path;
    if let Ok(Some(d)) = crate::store::config_data::ContainerConfigData::read(cd) {
        if d.container_id != who.container_id || d.if_name != who.if_name {
            tracing::info!("{}: another attachment's; kept", cd.display());
            return Ok(());
        }
    }
    fs::remove_file(cd).map_err(Error::io("configuration data delete", cd))?;
    // A write of it killed midway leaves a temporary file (which keeps the directory).
    if let (Some(dir), Some(name)) = (cd.parent(), cd.file_name().and_then(|n| n.to_str())) {
        fs::remove_stale_temps(dir, Some(name))
            .map_err(Error::io("configuration data delete", cd))?;
    }
    Ok(())
}

/// The netconf of a record as ADD received it (records of earlier versions: as decoded).
fn record_netconf(rec: &AttachmentRecord) -> Vec<u8> {
    match &rec.netconf_text {
        Some(text) => text.as_bytes().to_vec(),
        None => serde_json::to_vec(&rec.netconf).unwrap_or_default(),
    }
}

/// A netconf's version, or the latest when it names none this plugin knows.
fn version_of(conf: &NetConf) -> Version {
    Version::parse(&conf.cni_version).unwrap_or(Version::LATEST)
}

/// The stdin of a command parsed as JSON (for storing in a record), as Go reads it: a
/// key given twice is merged, so the record parses back to the same netconf.
fn stdin_value(stdin: &[u8]) -> Value {
    NetConf::canonical(stdin).map_or(Value::Null, Value::Object)
}
