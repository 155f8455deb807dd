//! Thin wrappers over the few libc calls the crate needs (poll, fcntl), so that `unsafe` stays
//! in one place per concern.

use std::os::fd::RawFd;
use std::time::Duration;

use crate::error::{Error, Result};

/// Turns a `-1` return into an [`Error::Io`] carrying errno.
pub(crate) fn check(ret: libc::c_int, op: &'static str) -> Result<libc::c_int> {
    if ret < 0 {
        Err(Error::last_os(op))
    } else {
        Ok(ret)
    }
}

/// True when the last call failed only because it would block.
pub(crate) fn would_block(err: &Error) -> bool {
    matches!(err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::WouldBlock)
}

/// Puts a descriptor in non-blocking mode.
pub(crate) fn set_nonblocking(fd: RawFd) -> Result<()> {
    // SAFETY: fcntl on a descriptor we own; no memory is passed.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) }, "fcntl(F_GETFL)")?;
    // SAFETY: as above.
    check(
        // SAFETY: a plain syscall on a descriptor we own; no memory is passed.
        unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) },
        "fcntl(F_SETFL)",
    )?;
    Ok(())
}

/// Waits until any of `fds` is readable (or hung up). Returns one flag per fd; all false on
/// timeout. `None` waits forever.
pub fn poll_readable(fds: &[RawFd], timeout: Option<Duration>) -> Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int);
    loop {
        // SAFETY: pfds is a valid, exclusively borrowed array of pollfd of the given length.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if ret >= 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::Io {
                op: "poll",
                source: err,
            });
        }
    }
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}
