//! Control socket addresses: filesystem paths, or Linux abstract names (DPDK's default).

use std::fmt;
use std::mem;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where the control socket lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SocketAddr {
    /// A filesystem path; crosses network namespaces through bind mounts.
    Path(PathBuf),
    /// A Linux abstract name (no file; scoped to the network namespace). DPDK's default.
    Abstract(String),
}

impl SocketAddr {
    /// Parses the spellings peers use: `@name` (libmemif) and `abstract:name` (VPP) are abstract,
    /// anything else is a path.
    pub fn parse(s: &str) -> SocketAddr {
        if let Some(name) = s.strip_prefix('@') {
            SocketAddr::Abstract(name.to_owned())
        } else if let Some(name) = s.strip_prefix("abstract:") {
            SocketAddr::Abstract(name.to_owned())
        } else {
            SocketAddr::Path(PathBuf::from(s))
        }
    }

    /// Builds the kernel address and its exact length (abstract names have no trailing NUL).
    pub(crate) fn to_raw(&self) -> Result<(libc::sockaddr_un, libc::socklen_t)> {
        // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
        let mut sa: libc::sockaddr_un = unsafe { mem::zeroed() };
        sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let (bytes, start): (&[u8], usize) = match self {
            SocketAddr::Path(p) => (p.as_os_str().as_encoded_bytes(), 0),
            SocketAddr::Abstract(name) => (name.as_bytes(), 1),
        };
        // Paths need room for their terminating NUL.
        let room = sa.sun_path.len() - start - usize::from(start == 0);
        if bytes.is_empty() || bytes.len() > room || bytes.contains(&0) {
            return Err(Error::InvalidConfig(format!(
                "unusable socket address {self}"
            )));
        }
        for (dst, &src) in sa.sun_path[start..].iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        let base = mem::offset_of!(libc::sockaddr_un, sun_path);
        let len = match self {
            SocketAddr::Path(_) => base + bytes.len() + 1,
            SocketAddr::Abstract(_) => base + 1 + bytes.len(),
        };
        Ok((sa, len as libc::socklen_t))
    }
}

impl fmt::Display for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddr::Path(p) => write!(f, "{}", p.display()),
            SocketAddr::Abstract(name) => write!(f, "@{name}"),
        }
    }
}
