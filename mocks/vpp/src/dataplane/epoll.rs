//! The data-plane thread's wait: one epoll set that descriptors join once and leave once,
//! so that a wake-up costs what is ready, not how many interfaces exist.
//!
//! Descriptors are registered as duplicates owned here ([`Registered`]): the memif state
//! machines close their own descriptors whenever a peer leaves, and a registration made on
//! a descriptor that was closed while the peer still holds the same file (an eventfd it
//! passed us) would linger in the set and report events for ever.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

/// An epoll instance.
#[derive(Debug)]
pub struct Epoll(OwnedFd);

fn cvt(ret: libc::c_int) -> std::io::Result<libc::c_int> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl Epoll {
    pub fn new() -> std::io::Result<Arc<Epoll>> {
        // SAFETY: no pointers; the new descriptor is owned from here on.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: fd was just returned by epoll_create1 and is not owned elsewhere.
        Ok(Arc::new(Epoll(unsafe { OwnedFd::from_raw_fd(fd) })))
    }

    /// Watches `fd` for readability (level-triggered); events carry `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> std::io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: ev is a live epoll_event; both descriptors are open.
        cvt(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    pub fn delete(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as in `add`; a descriptor that is not registered only makes this fail.
        unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout` (zero: just looks) and fills `events`; returns how many are
    /// ready. An interrupted wait returns 0.
    pub fn wait(&self, events: &mut [libc::epoll_event], timeout: Duration) -> usize {
        // Rounded up, so that a deadline 0.3 ms away is not polled for in a tight loop.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        // SAFETY: events is a live, writable array of the length given.
        let n = unsafe {
            libc::epoll_wait(
                self.0.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                ms,
            )
        };
        usize::try_from(n).unwrap_or(0)
    }
}

/// The descriptors one owner (a socket, a port) has in the set, as duplicates, and the
/// owner's generation they were taken at. Leaves the set when cleared or dropped.
#[derive(Debug)]
pub struct Registered {
    epoll: Arc<Epoll>,
    dups: Vec<OwnedFd>,
    generation: Option<u64>,
}

impl Registered {
    pub fn new(epoll: &Arc<Epoll>) -> Registered {
        Registered {
            epoll: epoll.clone(),
            dups: Vec::new(),
            generation: None,
        }
    }

    /// Whether the owner's descriptors were registered at this generation.
    pub fn is_current(&self, generation: u64) -> bool {
        self.generation == Some(generation)
    }

    /// Replaces the registrations with `fds` (descriptor, token), taken at `generation`.
    pub fn set(&mut self, generation: u64, fds: impl IntoIterator<Item = (RawFd, u64)>) {
        self.clear();
        for (fd, token) in fds {
            // SAFETY: F_DUPFD_CLOEXEC on a descriptor the owner holds open; no pointers.
            let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if dup < 0 {
                tracing::warn!("dup of fd {fd}: {}", std::io::Error::last_os_error());
                continue;
            }
            // SAFETY: dup was just created and is owned by nobody else.
            let dup = unsafe { OwnedFd::from_raw_fd(dup) };
            match self.epoll.add(dup.as_raw_fd(), token) {
                Ok(()) => self.dups.push(dup),
                Err(e) => tracing::warn!("epoll add of fd {fd}: {e}"),
            }
        }
        self.generation = Some(generation);
    }

    pub fn clear(&mut self) {
        for d in self.dups.drain(..) {
            self.epoll.delete(d.as_raw_fd());
        }
        self.generation = None;
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memif::eventfd::EventFd;
    use std::os::fd::AsFd;

    fn ready(ep: &Epoll) -> Vec<u64> {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 8];
        let n = ep.wait(&mut evs, Duration::ZERO);
        let mut t: Vec<u64> = evs[..n].iter().map(|e| e.u64).collect();
        t.sort();
        t
    }

    #[test]
    fn a_registration_outlives_the_owners_descriptor_and_leaves_cleanly() {
        let ep = Epoll::new().unwrap();
        let ours = EventFd::new().unwrap();
        // The peer's copy of the same eventfd, as SCM_RIGHTS would give it.
        let peers = EventFd::from_fd(ours.as_fd().try_clone_to_owned().unwrap()).unwrap();
        let mut reg = Registered::new(&ep);
        reg.set(1, [(ours.as_raw_fd(), 7)]);
        assert!(reg.is_current(1) && !reg.is_current(2));
        peers.signal().unwrap();
        assert_eq!(ready(&ep), vec![7]);
        ours.take().unwrap();
        assert_eq!(ready(&ep), Vec::<u64>::new());
        drop(ours);
        peers.signal().unwrap();
        assert_eq!(ready(&ep), vec![7], "still watched through the duplicate");
        reg.clear();
        assert_eq!(
            ready(&ep),
            Vec::<u64>::new(),
            "gone although the peer signals"
        );
    }

    #[test]
    fn set_replaces_and_drop_removes() {
        let ep = Epoll::new().unwrap();
        let (a, b) = (EventFd::new().unwrap(), EventFd::new().unwrap());
        a.signal().unwrap();
        b.signal().unwrap();
        let mut reg = Registered::new(&ep);
        reg.set(1, [(a.as_raw_fd(), 1)]);
        assert_eq!(ready(&ep), vec![1]);
        reg.set(2, [(a.as_raw_fd(), 1), (b.as_raw_fd(), 2)]);
        assert_eq!(ready(&ep), vec![1, 2]);
        drop(reg);
        assert_eq!(ready(&ep), Vec::<u64>::new());
    }
}
