//! The control channel: a unix `SOCK_SEQPACKET` socket carrying one 128-byte message per
//! `sendmsg`, with at most one file descriptor attached (`SCM_RIGHTS`).
//!
//! `std` has no seqpacket sockets, so this goes through libc. All sockets are non-blocking so a
//! master can serve many peers from one poll loop; [`ControlSocket::recv_timeout`] gives the
//! blocking view.

use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

pub use crate::addr::SocketAddr;
use crate::error::{Error, Result};
use crate::msg::{Message, MESSAGE_SIZE};
use crate::sys::{check, poll_readable};

fn seqpacket_socket() -> Result<OwnedFd> {
    // SAFETY: socket takes no pointers; we own the returned fd.
    let fd = check(
        unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        },
        "socket(AF_UNIX, SOCK_SEQPACKET)",
    )?;
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The master's listening socket. One listener serves any number of interfaces (told apart by
/// the id in INIT). A path socket file is removed again on drop.
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
    addr: SocketAddr,
}

impl Listener {
    /// Binds and listens. A leftover socket file nobody listens on is replaced (as VPP does); a
    /// live one is an error.
    pub fn bind(addr: &SocketAddr) -> Result<Listener> {
        let fd = seqpacket_socket()?;
        let one: libc::c_int = 1;
        // SAFETY: passes a pointer to a live c_int and its size.
        check(
            // SAFETY: passes a pointer to a live c_int and its size.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_PASSCRED,
                    (&one as *const libc::c_int).cast(),
                    mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            },
            "setsockopt(SO_PASSCRED)",
        )?;
        if let SocketAddr::Path(path) = addr {
            let is_socket = std::fs::symlink_metadata(path)
                .map(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                .unwrap_or(false);
            if is_socket {
                if ControlSocket::connect(addr).is_ok() {
                    return Err(Error::Io {
                        op: "bind",
                        source: std::io::ErrorKind::AddrInUse.into(),
                    });
                }
                tracing::debug!(socket = %addr, "removing stale socket file");
                let _ = std::fs::remove_file(path);
            }
        }
        let (sa, len) = addr.to_raw()?;
        // SAFETY: sa is a valid sockaddr_un and len does not exceed its size.
        check(
            // SAFETY: sa is a valid sockaddr_un and len does not exceed its size.
            unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sa as *const libc::sockaddr_un).cast(),
                    len,
                )
            },
            "bind",
        )?;
        // SAFETY: plain syscall on our fd.
        check(unsafe { libc::listen(fd.as_raw_fd(), 16) }, "listen")?;
        tracing::debug!(socket = %addr, "memif listener bound");
        Ok(Listener {
            fd,
            addr: addr.clone(),
        })
    }

    /// The address this listener is bound to.
    pub fn addr(&self) -> &SocketAddr {
        &self.addr
    }

    /// Accepts one pending connection, `None` when there is none.
    pub fn accept(&self) -> Result<Option<ControlSocket>> {
        // SAFETY: null address pointers are allowed; we own the returned fd.
        let ret = unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        };
        match check(ret, "accept") {
            // SAFETY: fresh descriptor from accept4.
            Ok(fd) => Ok(Some(ControlSocket {
                // SAFETY: fresh descriptor from accept4.
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
            })),
            Err(e) if crate::sys::would_block(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let SocketAddr::Path(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One received control message and the descriptor that came with it, if any.
#[derive(Debug)]
pub struct Received {
    /// The decoded message.
    pub msg: Message,
    /// The `SCM_RIGHTS` descriptor (region memfd or ring eventfd), now owned by the receiver.
    pub fd: Option<OwnedFd>,
}

/// A connected, non-blocking control socket (either end).
#[derive(Debug)]
pub struct ControlSocket {
    fd: OwnedFd,
}

/// How long a send may wait for room in the peer's receive queue before giving up.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

impl ControlSocket {
    /// Connects to a listening master.
    pub fn connect(addr: &SocketAddr) -> Result<ControlSocket> {
        let fd = seqpacket_socket()?;
        let (sa, len) = addr.to_raw()?;
        // SAFETY: sa is a valid sockaddr_un of length len.
        let ret = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_un).cast(),
                len,
            )
        };
        check(ret, "connect")?;
        Ok(ControlSocket { fd })
    }

    /// A connected pair, for tests of the protocol machinery without a listener.
    pub fn pair() -> Result<(ControlSocket, ControlSocket)> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds has room for the two descriptors socketpair writes.
        check(
            // SAFETY: fds has room for the two descriptors socketpair writes.
            unsafe {
                libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    0,
                    fds.as_mut_ptr(),
                )
            },
            "socketpair",
        )?;
        // SAFETY: both descriptors are fresh and owned by nobody else.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok((ControlSocket { fd: a }, ControlSocket { fd: b }))
    }

    /// Sends one message, with `fd` attached as `SCM_RIGHTS` when given.
    pub fn send(&self, msg: &Message, fd: Option<BorrowedFd<'_>>) -> Result<()> {
        let buf = msg.encode();
        let mut iov = libc::iovec {
            iov_base: buf.as_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        let mut cmsg_buf = [0u64; 4];
        // SAFETY: msghdr is plain old data; zero is valid for every field.
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        if let Some(fd) = fd {
            // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations.
            let space = unsafe { libc::CMSG_SPACE(mem::size_of::<RawFd>() as u32) } as usize;
            debug_assert!(space <= mem::size_of_val(&cmsg_buf));
            hdr.msg_control = cmsg_buf.as_mut_ptr().cast();
            hdr.msg_controllen = space as _;
            // SAFETY: the control buffer is large enough for one header plus one int, and
            // aligned for cmsghdr (u64 array); CMSG_FIRSTHDR is non-null because controllen
            // covers a header.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&hdr);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<RawFd>() as u32) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd.as_raw_fd());
            }
        }
        let deadline = Instant::now() + SEND_TIMEOUT;
        loop {
            // SAFETY: hdr points at live buffers for the duration of the call.
            let ret = unsafe { libc::sendmsg(self.fd.as_raw_fd(), &hdr, libc::MSG_NOSIGNAL) };
            if ret == MESSAGE_SIZE as isize {
                tracing::trace!(msg = msg.kind(), fd = fd.is_some(), "memif control send");
                return Ok(());
            }
            if ret >= 0 {
                return Err(Error::MessageSize(ret as usize));
            }
            let err = Error::last_os("sendmsg");
            if !crate::sys::would_block(&err) {
                return Err(err);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout);
            }
            wait_writable(self.fd.as_raw_fd(), deadline - now)?;
        }
    }

    /// Receives one message if one is waiting; `None` when the socket is empty. End of file is
    /// [`Error::PeerClosed`].
    pub fn recv(&self) -> Result<Option<Received>> {
        let mut buf = [0u8; MESSAGE_SIZE];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for one fd and the SCM_CREDENTIALS that SO_PASSCRED adds, with slack.
        let mut cmsg_buf = [0u64; 32];
        // SAFETY: plain old data.
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = cmsg_buf.as_mut_ptr().cast();
        hdr.msg_controllen = mem::size_of_val(&cmsg_buf) as _;
        // SAFETY: hdr points at live buffers of the advertised sizes.
        // MSG_TRUNC makes the kernel report the real length of an oversized message.
        let flags = libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC;
        // SAFETY: hdr points at live buffers of the advertised sizes. MSG_TRUNC makes the kernel report the real length of an oversized message.
        let ret = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut hdr, flags) };
        if ret < 0 {
            let err = Error::last_os("recvmsg");
            return if crate::sys::would_block(&err) {
                Ok(None)
            } else {
                Err(err)
            };
        }
        let fds = take_fds(&hdr);
        if ret == 0 {
            return Err(Error::PeerClosed);
        }
        if hdr.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(Error::Protocol("control data truncated".into()));
        }
        if ret as usize != MESSAGE_SIZE {
            return Err(Error::MessageSize(ret as usize));
        }
        let msg = Message::decode(&buf)?;
        let mut fds = fds.into_iter();
        let fd = fds.next();
        if fds.len() > 0 {
            tracing::warn!(extra = fds.len(), "closing unexpected extra descriptors");
        }
        tracing::trace!(msg = msg.kind(), fd = fd.is_some(), "memif control recv");
        Ok(Some(Received { msg, fd }))
    }

    /// Waits up to `timeout` (forever if `None`) for one message.
    pub fn recv_timeout(&self, timeout: Option<Duration>) -> Result<Received> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(r) = self.recv()? {
                return Ok(r);
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => Some(left),
                    None => return Err(Error::Timeout),
                },
                None => None,
            };
            poll_readable(&[self.fd.as_raw_fd()], left)?;
        }
    }
}

/// Collects every `SCM_RIGHTS` descriptor of a received message into owned fds (so that none
/// leaks, whatever happens next); credentials and other cmsgs are ignored.
fn take_fds(hdr: &libc::msghdr) -> Vec<OwnedFd> {
    let mut out = Vec::new();
    // SAFETY: hdr was filled by recvmsg; the CMSG_* macros walk within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(hdr);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data_len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                for i in 0..data_len / mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.add(i));
                    out.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(hdr, c);
        }
    }
    out
}

fn wait_writable(fd: RawFd, timeout: Duration) -> Result<()> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd.
    check(unsafe { libc::poll(&mut p, 1, ms) }, "poll")?;
    Ok(())
}

impl AsFd for ControlSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for ControlSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
