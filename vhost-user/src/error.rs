//! The crate's one error type.

/// What can go wrong on a vhost-user port: the peer's protocol, its memory, its rings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The vhost-user protocol layer (rust-vmm's `vhost`): a broken socket, a malformed
    /// message, a refused request.
    #[error("vhost-user: {0}")]
    Protocol(#[from] vhost::vhost_user::Error),
    /// A request of the front end was answered with an error (`vhost::Error`).
    #[error("vhost: {0}")]
    Vhost(#[from] vhost::Error),
    /// The memory table cannot be mapped as sent.
    #[error("memory table: {0}")]
    MemoryTable(String),
    /// A ring address, descriptor or buffer lies outside the mapped memory.
    #[error("guest memory: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
    /// The split ring is inconsistent (index too far ahead, bad chain).
    #[error("virtqueue: {0}")]
    Queue(#[from] virtio_queue::Error),
    /// A descriptor chain does not fit a frame (too long, wrong direction, too short).
    #[error("descriptor chain: {0}")]
    Chain(&'static str),
    /// The port is not ready for traffic (no memory, rings not started or enabled).
    #[error("port not ready")]
    NotReady,
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, source: std::io::Error) -> Error {
        Error::Io { op, source }
    }

    pub(crate) fn last_os(op: &'static str) -> Error {
        Error::io(op, std::io::Error::last_os_error())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
