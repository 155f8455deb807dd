//! Ring interrupts: one eventfd per ring, created by the slave and shared with the master.
//!
//! The producer of a ring writes 1 after publishing (unless the consumer masked interrupts); the
//! consumer polls the fd and reads it to reset the counter before draining the ring.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::error::{Error, Result};
use crate::sys::check;

/// A non-blocking eventfd.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A fresh eventfd with counter 0.
    pub fn new() -> Result<Self> {
        // SAFETY: eventfd takes no pointers; the returned fd is owned by us from here on.
        let fd = check(
            unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) },
            "eventfd",
        )?;
        // SAFETY: fd was just returned by eventfd and is not owned elsewhere.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Wraps an eventfd received from the peer, making it non-blocking.
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        crate::sys::set_nonblocking(fd.as_raw_fd())?;
        Ok(EventFd(fd))
    }

    /// Kicks the other side. A full counter (EAGAIN) already means "kicked".
    pub fn signal(&self) -> Result<()> {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64.
        let ret = unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if ret < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::WouldBlock {
                return Err(Error::Io {
                    op: "write(eventfd)",
                    source: err,
                });
            }
        }
        Ok(())
    }

    /// Reads and resets the counter; returns how many kicks arrived since the last read (0 if none).
    pub fn take(&self) -> Result<u64> {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64.
        let ret = unsafe { libc::read(self.0.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
        if ret < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::WouldBlock {
                return Ok(0);
            }
            return Err(Error::Io {
                op: "read(eventfd)",
                source: err,
            });
        }
        Ok(value)
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kicks_accumulate_until_taken() {
        let e = EventFd::new().unwrap();
        assert_eq!(e.take().unwrap(), 0);
        e.signal().unwrap();
        e.signal().unwrap();
        assert_eq!(e.take().unwrap(), 2);
        assert_eq!(e.take().unwrap(), 0);
    }

    #[test]
    fn a_duplicated_fd_sees_the_same_counter() {
        let a = EventFd::new().unwrap();
        let b = EventFd::from_fd(a.as_fd().try_clone_to_owned().unwrap()).unwrap();
        a.signal().unwrap();
        let ready = crate::sys::poll_readable(&[b.as_raw_fd()], Some(std::time::Duration::ZERO));
        assert_eq!(ready.unwrap(), vec![true]);
        assert_eq!(b.take().unwrap(), 1);
    }
}
