//! File primitives that never follow a planted symlink and never expose a half-written
//! file: directories are created with an exact mode and checked to be real directories,
//! files are written to a temporary name and renamed into place (or, where a torn file
//! reads as a missing one, created in place).
//!
//! Nothing is `fsync`ed, as in the runtimes' own result caches and host-local's
//! allocations: the rename is atomic for every process, and a plugin killed at any point
//! leaves either the old file or the new one. Only a power loss can tear a file that was
//! just written, and then the pods and the vswitch's own state are gone too; readers
//! treat a torn record like a missing one (see `store`). An `fsync` of the file and one
//! of the directory cost about a millisecond per file here, half of an ADD.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and missing parents, 0755) with `mode` when missing; fails when it
/// exists as anything but a real directory (a symlink is refused). Returns whether it
/// created it.
pub fn ensure_dir(dir: &Path, mode: u32) -> io::Result<bool> {
    // One call in the usual cases: the parent is there (ADD), or `dir` is.
    match make_dir(dir, mode) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)?;
            }
            make_dir(dir, mode)
        }
        other => other,
    }
}

/// `mkdir` with exactly `mode` (whatever the umask); false when a real directory is there.
fn make_dir(dir: &Path, mode: u32) -> io::Result<bool> {
    match fs::DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::symlink_metadata(dir)?.file_type().is_dir() {
                Ok(false)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a directory", dir.display()),
                ))
            }
        }
        Err(e) => Err(e),
    }
}

/// Atomically replaces `path` with `bytes` (mode `mode`, group `gid` when given).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, gid: Option<u32>) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(temp_name(&name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = match create_new(&tmp, mode) {
            // Left by a process of the same pid that died mid-write.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&tmp)?;
                create_new(&tmp, mode)?
            }
            other => other?,
        };
        if let Some(gid) = gid {
            chown_group(&tmp, gid)?;
        }
        f.write_all(bytes)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temporary name [`write_atomic`] writes `name` under, in the same directory.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.tmp.{pid}")
}

/// Removes the temporary files of [`write_atomic`] in `dir` (of file `name`, or of any
/// file) that a process killed mid-write left behind: those whose process is gone. A live
/// writer's is kept. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path, name: Option<&str>) -> io::Result<usize> {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // No directory there (or a file in the way): no temporary file either.
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            return Ok(0)
        }
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some((stem, pid)) = file.strip_prefix('.').and_then(|f| f.rsplit_once(".tmp.")) else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        if name.is_some_and(|n| n != stem) || pid <= 0 {
            continue;
        }
        if kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH) {
            remove_file(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `bytes` to `path` when no file is there (`Ok(false)` when one is), in place:
/// no temporary file and no rename, for a file whose readers take a torn one for a
/// missing one.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    let mut f = match create_new(path, mode) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        other => other?,
    };
    if let Err(e) = f.write_all(bytes) {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(true)
}

/// A new file with exactly `mode` (whatever the umask), never through a symlink.
fn create_new(path: &Path, mode: u32) -> io::Result<fs::File> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(f)
}

/// Reads a regular file without following a symlink; `None` when it does not exist.
pub fn read_no_follow(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(Some(buf))
}

/// Removes a file (or a symlink itself, never its target). Missing is fine, and so is
/// a directory or a non-directory parent in the way: then there is no file of ours there.
pub fn remove_file(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::EISDIR)) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Removes `dir` when it is an empty real directory; anything else is left alone.
pub fn remove_dir_if_empty(dir: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_dir() => {}
        _ => return Ok(false),
    }
    match fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || e.kind() == io::ErrorKind::DirectoryNotEmpty =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The topmost ancestor of `dir` (or `dir` itself) that does not exist yet, i.e. the
/// first directory `ensure_dir(dir)` would create; `None` when `dir` exists.
pub fn first_missing(dir: &Path) -> Option<std::path::PathBuf> {
    let mut missing = None;
    for a in dir.ancestors() {
        if fs::symlink_metadata(a).is_ok() {
            break;
        }
        missing = Some(a.to_path_buf());
    }
    missing
}

/// Removes `dir` and its ancestors up to and including `top`, each only while empty.
/// `top` must be `dir` or one of its ancestors; otherwise only `dir` is considered.
pub fn remove_dirs_up_to(dir: &Path, top: &Path) -> io::Result<()> {
    let stop_at = if dir.starts_with(top) { top } else { dir };
    for a in dir.ancestors() {
        if !remove_dir_if_empty(a)? && fs::symlink_metadata(a).is_ok() {
            break;
        }
        if a == stop_at {
            break;
        }
    }
    Ok(())
}

/// Changes the group of `path` (not following a symlink).
pub fn chown_group(path: &Path, gid: u32) -> io::Result<()> {
    nix::unistd::fchownat(
        None,
        path,
        None,
        Some(nix::unistd::Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

/// Resolves a group name to its gid.
pub fn group_id(name: &str) -> io::Result<Option<u32>> {
    if name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "group name contains NUL",
        ));
    }
    let group = nix::unistd::Group::from_name(name).map_err(io::Error::from)?;
    Ok(group.map(|g| g.gid.as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn dirs_get_exact_mode_and_symlinks_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b");
        assert!(ensure_dir(&d, 0o700).unwrap());
        assert!(!ensure_dir(&d, 0o700).unwrap());
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let link = t.path().join("link");
        symlink(&d, &link).unwrap();
        assert!(ensure_dir(&link, 0o700).is_err());
    }

    #[test]
    fn atomic_write_replaces_and_never_follows() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f.json");
        write_atomic(&p, b"one", 0o600, None).unwrap();
        write_atomic(&p, b"two", 0o600, None).unwrap();
        assert_eq!(read_no_follow(&p).unwrap().unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        // A symlink planted at the target is replaced, its target untouched.
        let victim = t.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let q = t.path().join("g.json");
        symlink(&victim, &q).unwrap();
        assert!(read_no_follow(&q).is_err());
        write_atomic(&q, b"new", 0o600, None).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        // f.json, victim, g.json: no temporary file is left behind.
        assert_eq!(entries(t.path()), 3);
    }

    /// A temporary file whose writer is gone is removed; a live writer's (this process)
    /// and other files are kept.
    #[test]
    fn stale_temporary_files_are_swept() {
        let t = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = t.path().join(temp_name("a.json", dead));
        let other_stale = t.path().join(temp_name("b.json", dead));
        let live = t.path().join(temp_name("a.json", std::process::id()));
        let plain = t.path().join("a.json");
        for f in [&stale, &other_stale, &live, &plain] {
            fs::write(f, b"x").unwrap();
        }
        assert_eq!(remove_stale_temps(t.path(), Some("a.json")).unwrap(), 1);
        assert!(!stale.exists() && other_stale.exists() && live.exists() && plain.exists());
        assert_eq!(remove_stale_temps(t.path(), None).unwrap(), 1);
        assert!(!other_stale.exists() && live.exists() && plain.exists());
        assert_eq!(
            remove_stale_temps(&t.path().join("missing"), None).unwrap(),
            0
        );
    }

    #[test]
    fn rmdir_only_when_empty() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"").unwrap();
        assert!(!remove_dir_if_empty(&d).unwrap());
        fs::remove_file(d.join("x")).unwrap();
        assert!(remove_dir_if_empty(&d).unwrap());
        assert!(!remove_dir_if_empty(&d).unwrap());
    }

    #[test]
    fn created_directories_are_removed_up_to_the_first_created() {
        let t = tempfile::tempdir().unwrap();
        let deep = t.path().join("a/b/c");
        let top = first_missing(&deep).unwrap();
        assert_eq!(top, t.path().join("a"));
        ensure_dir(&deep, 0o700).unwrap();
        assert_eq!(first_missing(&deep), None);
        fs::write(t.path().join("a/keep"), b"").unwrap();
        remove_dirs_up_to(&deep, &top).unwrap();
        assert!(!t.path().join("a/b").exists());
        assert!(t.path().join("a/keep").exists());
        fs::remove_file(t.path().join("a/keep")).unwrap();
        ensure_dir(&deep, 0o700).unwrap();
        remove_dirs_up_to(&deep, &top).unwrap();
        assert!(!t.path().join("a").exists());
        assert!(t.path().exists());
    }

    #[test]
    fn root_group_resolves() {
        assert_eq!(group_id("root").unwrap(), Some(0));
        assert_eq!(group_id("no-such-group-here").unwrap(), None);
    }

    fn entries(p: &Path) -> usize {
        fs::read_dir(p).unwrap().count()
    }
}
