//! The plugin's local data: one record per attachment, and the lock that serialises
//! ADD, DEL, CHECK and GC on one host.
//!
//! A record is written *before* the first side effect (state `adding`) and updated as
//! ADD goes, so that a plugin killed at any point leaves enough behind for the next DEL or
//! GC to remove everything. Records live in `dataDir` (0700), one file each: the first
//! written in place (before it, nothing of the attachment exists), every later one
//! replacing it atomically (not synced: see [`fs`]). DEL and ADD treat a record they
//! cannot read (torn by a power loss) like a missing one: they remove what the netconf at
//! hand would have built, found by discovery, and then the record.
//!
//! A record is named `<containerId>@<ifname>.json`: a container id has no `@`, so no two
//! attachments share a name. Records of earlier versions, `<containerId>-<ifname>.json`
//! (the same name for (`a-b`, `c`) and (`a`, `b-c`)), are still read, and taken as an
//! attachment's only when they hold that attachment; saving a record removes its
//! old-scheme file.

pub mod config_data;
pub mod fs;
pub mod legacy;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engines::{Attachment, HostRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("store {path}: unreadable record: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("store {path}: another plugin instance held the lock for {waited:?}")]
    Busy { path: PathBuf, waited: Duration },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How far ADD got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Adding,
    Ready,
}

/// What the plugin keeps for one attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRecord {
    pub container_id: String,
    pub if_name: String,
    /// The network (netconf `name`) the attachment belongs to; GC is per network.
    pub network: String,
    pub state: State,
    /// The netconf of the ADD, so that GC can remove an attachment the runtime forgot.
    pub netconf: Value,
    /// The same, exactly as ADD received it: what was built, and the IPAM release, are
    /// read from these bytes, as ADD read them (keys repeated in other cases included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netconf_text: Option<String>,
    pub shared_dir: PathBuf,
    /// The topmost directory ADD created on the way to `shared_dir` (`None` when
    /// `shared_dir` existed): DEL removes the empty ones from `shared_dir` up to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostRecord>,
    /// Whether the IPAM plugin may hold an allocation for it.
    #[serde(default)]
    pub ipam_allocated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Kubernetes mode: the pod, its directories and annotation (see [`crate::kube`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube: Option<crate::kube::KubeRecord>,
    /// The device-info file written for the attachment (`CNIDeviceInfoFile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info_file: Option<PathBuf>,
}

impl AttachmentRecord {
    pub fn attachment(&self) -> Attachment {
        Attachment {
            container_id: self.container_id.clone(),
            if_name: self.if_name.clone(),
        }
    }
}

/// A record file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub path: PathBuf,
    /// The attachments its name may stand for.
    pub candidates: Vec<Attachment>,
    /// The network, when the torn text still has it.
    pub network: Option<String>,
}

/// The `"network": "..."` of a torn record's text, when it is all there.
fn network_in(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let at = text.find("\"network\"")? + "\"network\"".len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
    de.next()?.ok()
}

/// The data directory.
pub struct Store {
    dir: PathBuf,
}

/// Held for the duration of one command; released on drop.
pub struct Lock {
    _file: nix::fcntl::Flock<File>,
}

const RECORD_SUFFIX: &str = ".json";

/// A record's file name: `<containerId>@<ifname>.json` (no container id has an `@`).
fn record_name(who: &Attachment) -> String {
    format!("{}@{}{RECORD_SUFFIX}", who.container_id, who.if_name)
}

impl Store {
    /// Opens the data directory, creating it (0700) when missing.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        fs::ensure_dir(dir, 0o700).map_err(io_err(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the host-wide lock, waiting at most `wait`.
    pub fn lock(&self, wait: Duration) -> Result<Lock, StoreError> {
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io_err(&path))?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        let mut file = file;
        loop {
            use nix::{
                errno::Errno,
                fcntl::{Flock, FlockArg},
            };
            file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(Lock { _file: lock }),
                Err((file, Errno::EWOULDBLOCK | Errno::EINTR)) => file,
                Err((_, errno)) => {
                    return Err(StoreError::Io {
                        path,
                        source: errno.into(),
                    })
                }
            };
            if start.elapsed() >= wait {
                return Err(StoreError::Busy {
                    path,
                    waited: start.elapsed(),
                });
            }
            std::thread::sleep(pause.min(wait.saturating_sub(start.elapsed())));
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    fn record_path(&self, who: &Attachment) -> PathBuf {
        self.dir.join(record_name(who))
    }

    /// The name earlier versions gave the record (ambiguous: see the module doc).
    fn old_record_path(&self, who: &Attachment) -> PathBuf {
        self.dir.join(format!(
            "{}-{}{RECORD_SUFFIX}",
            who.container_id, who.if_name
        ))
    }

    pub fn load(&self, who: &Attachment) -> Result<Option<AttachmentRecord>, StoreError> {
        let path = self.record_path(who);
        let Some(bytes) = fs::read_no_follow(&path).map_err(io_err(&path))? else {
            return self.load_old(who);
        };
        let rec: AttachmentRecord =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        // A file named for one attachment must hold that attachment.
        if rec.attachment() != *who {
            return Err(StoreError::Corrupt {
                path,
                reason: "record belongs to another attachment".into(),
            });
        }
        Ok(Some(rec))
    }

    /// The old-scheme record, when it holds `who` (else it is another attachment's).
    fn load_old(&self, who: &Attachment) -> Result<Option<AttachmentRecord>, StoreError> {
        let path = self.old_record_path(who);
        let Some(bytes) = fs::read_no_follow(&path).map_err(io_err(&path))? else {
            return Ok(None);
        };
        match serde_json::from_slice::<AttachmentRecord>(&bytes) {
            Ok(rec) if rec.attachment() == *who => Ok(Some(rec)),
            Ok(_) => Ok(None),
            Err(e) => Err(StoreError::Corrupt {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Removes the old-scheme file of `who`, when it holds `who` (or nobody: unreadable).
    fn remove_old(&self, who: &Attachment) -> Result<(), StoreError> {
        let path = self.old_record_path(who);
        match fs::read_no_follow(&path) {
            Ok(Some(bytes)) => {
                let ours = serde_json::from_slice::<AttachmentRecord>(&bytes)
                    .map_or(true, |rec| rec.attachment() == *who);
                if ours {
                    fs::remove_file(&path).map_err(io_err(&path))?;
                }
                Ok(())
            }
            // Missing, or something else in the way: no record of ours.
            Ok(None) | Err(_) => Ok(()),
        }
    }

    /// [`Store::load`], but a record that cannot be read is logged and taken as missing
    /// (the caller then works from its own netconf and removes the file at the end).
    pub fn load_or_discard(
        &self,
        who: &Attachment,
    ) -> Result<Option<AttachmentRecord>, StoreError> {
        match self.load(who) {
            Err(StoreError::Corrupt { path, reason }) => {
                tracing::warn!("{}: unreadable record ignored: {reason}", path.display());
                Ok(None)
            }
            other => other,
        }
    }

    /// A record's file and its contents.
    fn encode(&self, rec: &AttachmentRecord) -> (PathBuf, Vec<u8>) {
        let bytes = serde_json::to_vec_pretty(rec).expect("record serializes");
        (self.record_path(&rec.attachment()), bytes)
    }

    pub fn save(&self, rec: &AttachmentRecord) -> Result<(), StoreError> {
        let (path, bytes) = self.encode(rec);
        fs::write_atomic(&path, &bytes, 0o600, None).map_err(io_err(&path))?;
        self.remove_old(&rec.attachment())
    }

    /// Saves the first record of an attachment, before anything else of it exists: in
    /// place, since a crash that tears it leaves nothing to remove but what the netconf
    /// describes (which is what DEL and ADD do with a torn record).
    pub fn create(&self, rec: &AttachmentRecord) -> Result<(), StoreError> {
        let (path, bytes) = self.encode(rec);
        match fs::write_new(&path, &bytes, 0o600) {
            Ok(true) => Ok(()),
            Ok(false) => fs::write_atomic(&path, &bytes, 0o600, None),
            Err(e) => Err(e),
        }
        .map_err(io_err(&path))
    }

    pub fn remove(&self, who: &Attachment) -> Result<(), StoreError> {
        let path = self.record_path(who);
        fs::remove_file(&path).map_err(io_err(&path))?;
        // A save killed mid-write leaves its temporary file.
        fs::remove_stale_temps(&self.dir, Some(&record_name(who))).map_err(io_err(&self.dir))?;
        self.remove_old(who)
    }

    /// Removes every temporary file a process killed mid-write left (GC).
    pub fn sweep_stale_temps(&self) -> Result<usize, StoreError> {
        fs::remove_stale_temps(&self.dir, None).map_err(io_err(&self.dir))
    }

    /// The record files that cannot be read (torn, empty), each with the attachments it
    /// may stand for (one for a current name; for an old-scheme name every way of
    /// splitting it into a container id and an ifname) and its network when the text
    /// still tells it.
    pub fn unreadable(&self) -> Result<Vec<Unreadable>, StoreError> {
        use crate::cni::env::{validate_container_id, validate_if_name};
        let valid = |id: &str, ifname: &str| {
            validate_container_id(id).is_ok() && validate_if_name(ifname).is_ok()
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let Some(stem) = name
                .to_str()
                // The original's records are its own kind (see `legacy`), not torn ones.
                .filter(|n| !n.starts_with('.') && !legacy::is_original_name(n))
                .and_then(|n| n.strip_suffix(RECORD_SUFFIX))
            else {
                continue;
            };
            let Ok(Some(bytes)) = fs::read_no_follow(&entry.path()) else {
                continue;
            };
            if serde_json::from_slice::<AttachmentRecord>(&bytes).is_ok() {
                continue;
            }
            let pair = |id: &str, ifname: &str| Attachment {
                container_id: id.to_string(),
                if_name: ifname.to_string(),
            };
            let candidates: Vec<Attachment> = match stem.split_once('@') {
                Some((id, ifname)) if valid(id, ifname) => vec![pair(id, ifname)],
                _ => stem
                    .match_indices('-')
                    .map(|(i, _)| (&stem[..i], &stem[i + 1..]))
                    .filter(|(id, ifname)| valid(id, ifname))
                    .map(|(id, ifname)| pair(id, ifname))
                    .collect(),
            };
            out.push(Unreadable {
                path: entry.path(),
                candidates,
                network: network_in(&bytes),
            });
        }
        Ok(out)
    }

    /// The readable records of attachments other than `who` whose container id begins
    /// with `prefix`: the only ones that can share `who`'s pod directory (and so its
    /// socket and configuration data paths). Only their names are read for the others.
    pub fn others_with_prefix(
        &self,
        who: &Attachment,
        prefix: &str,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !name.starts_with(prefix) || !name.ends_with(RECORD_SUFFIX) {
                continue;
            }
            if let Ok(Some(bytes)) = fs::read_no_follow(&entry.path()) {
                if let Ok(rec) = serde_json::from_slice::<AttachmentRecord>(&bytes) {
                    if rec.attachment() != *who {
                        out.push(rec);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every readable record (unreadable ones are logged and skipped).
    pub fn list(&self) -> Result<Vec<AttachmentRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                || !name.ends_with(RECORD_SUFFIX)
                || legacy::is_original_name(&name)
            {
                continue;
            }
            match fs::read_no_follow(&entry.path()) {
                Ok(Some(bytes)) => match serde_json::from_slice::<AttachmentRecord>(&bytes) {
                    Ok(rec) if self.record_path(&rec.attachment()) == entry.path() => out.push(rec),
                    // An old-scheme record, unless a current one of it exists.
                    Ok(rec)
                        if self.old_record_path(&rec.attachment()) == entry.path()
                            && !self.record_path(&rec.attachment()).exists() =>
                    {
                        out.push(rec)
                    }
                    Ok(_) => tracing::warn!("{name}: record belongs to another attachment"),
                    Err(e) => tracing::warn!("{name}: unreadable record: {e}"),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!("{name}: {e}"),
            }
        }
        out.sort_by(|a, b| (&a.container_id, &a.if_name).cmp(&(&b.container_id, &b.if_name)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
