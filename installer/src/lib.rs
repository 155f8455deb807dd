//! Installing the plugin on a node: the DaemonSet's container copies its binaries into the
//! host's CNI bin directory (a hostPath mount) and then waits.
//!
//! It knows nothing of CNI's protocol, of netconfs or of vswitches: it installs files.
//!
//! The runtime may exec the plugin at any moment, also while the new version is being
//! copied, so a binary is never written in place: it is written under a temporary name in
//! the same directory, synced, given its mode, and then renamed over the old one.
//! `rename(2)` replaces the name atomically, so an exec (or any reader) sees either the
//! old complete file or the new complete file. A running process keeps the old inode.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}: not a plain file name")]
    BadName(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What [`install`] did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written (new or different content).
    Installed(PathBuf),
    /// The destination already had the same content and mode.
    Unchanged(PathBuf),
}

/// Installs `from/<name>` as `to/<name>` (mode 0755) atomically; see the module doc.
/// Leaves no temporary file behind, also when it fails.
pub fn install(from: &Path, to: &Path, name: &str) -> Result<Outcome, Error> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(Error::BadName(name.into()));
    }
    let src = from.join(name);
    let dst = to.join(name);
    let content = fs::read(&src).map_err(io_at(&src))?;
    if unchanged(&dst, &content) {
        return Ok(Outcome::Unchanged(dst));
    }
    fs::create_dir_all(to).map_err(io_at(to))?;
    // Hidden, and unique per installer process: two installers never share a temporary.
    let tmp = to.join(format!(".{name}.usrsp-install.{}", std::process::id()));
    let written = write_synced(&tmp, &content).and_then(|()| {
        fs::rename(&tmp, &dst).map_err(io_at(&dst))?;
        // The rename itself is made durable by syncing the directory.
        File::open(to).and_then(|d| d.sync_all()).map_err(io_at(to))
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(Outcome::Installed(dst))
}

fn write_synced(path: &Path, content: &[u8]) -> Result<(), Error> {
    let _ = fs::remove_file(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(path)
        .map_err(io_at(path))?;
    f.write_all(content).map_err(io_at(path))?;
    // The umask may have cleared bits of the create mode.
    f.set_permissions(fs::Permissions::from_mode(0o755))
        .map_err(io_at(path))?;
    f.sync_all().map_err(io_at(path))
}

fn unchanged(dst: &Path, content: &[u8]) -> bool {
    let Ok(mut f) = File::open(dst) else {
        return false;
    };
    let Ok(meta) = f.metadata() else {
        return false;
    };
    if meta.len() != content.len() as u64 || meta.permissions().mode() & 0o7777 != 0o755 {
        return false;
    }
    let mut old = Vec::with_capacity(content.len());
    f.read_to_end(&mut old).is_ok() && old == content
}

/// Installs every name in `names`, in order; stops at the first failure.
pub fn install_all(from: &Path, to: &Path, names: &[String]) -> Result<Vec<Outcome>, Error> {
    names.iter().map(|n| install(from, to, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("")]
    #[case(".")]
    #[case("..")]
    #[case("a/b")]
    #[case("../userspace")]
    fn names_with_a_path_are_refused(#[case] name: &str) {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(
            install(t.path(), t.path(), name),
            Err(Error::BadName(_))
        ));
    }

    #[test]
    fn installs_then_reports_unchanged_then_replaces() {
        let t = tempfile::tempdir().unwrap();
        let (from, to) = (t.path().join("from"), t.path().join("host/opt/cni/bin"));
        fs::create_dir_all(&from).unwrap();
        fs::write(from.join("userspace"), b"v1").unwrap();
        let dst = to.join("userspace");
        assert_eq!(
            install(&from, &to, "userspace").unwrap(),
            Outcome::Installed(dst.clone())
        );
        assert_eq!(fs::read(&dst).unwrap(), b"v1");
        assert_eq!(
            fs::metadata(&dst).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            install(&from, &to, "userspace").unwrap(),
            Outcome::Unchanged(dst.clone())
        );
        fs::write(from.join("userspace"), b"v2").unwrap();
        assert_eq!(
            install(&from, &to, "userspace").unwrap(),
            Outcome::Installed(dst.clone())
        );
        assert_eq!(fs::read(&dst).unwrap(), b"v2");
        let names: Vec<_> = fs::read_dir(&to)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["userspace"], "no temporary file left");
    }

    #[test]
    fn a_missing_source_leaves_the_installed_file_and_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("userspace"), b"old").unwrap();
        let err = install(&t.path().join("nowhere"), t.path(), "userspace").unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
        assert_eq!(fs::read(t.path().join("userspace")).unwrap(), b"old");
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
