//! The crate's single error type.

use std::io;

/// Everything that can go wrong while talking memif.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; `op` names it so logs say what was attempted.
    #[error("{op}: {source}")]
    Io {
        /// The failing call, e.g. `"connect"`.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A control message was not exactly 128 bytes (0 bytes is reported as [`Error::PeerClosed`]).
    #[error("control message of {0} bytes, expected 128")]
    MessageSize(usize),
    /// A control message carried a type this protocol version does not define.
    #[error("unknown message type {0}")]
    UnknownMessageType(u16),
    /// The peer broke the protocol (wrong order, bad index, bad cookie, ...).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The peer sent DISCONNECT with this reason.
    #[error("peer disconnected: {0}")]
    PeerDisconnected(String),
    /// The control socket reached end of file (DPDK closes without a DISCONNECT).
    #[error("peer closed the control connection")]
    PeerClosed,
    /// The interface has no peer (or the queue index does not exist).
    #[error("interface is not connected")]
    NotConnected,
    /// No queue with that index in this connection.
    #[error("no queue {0}")]
    NoSuchQueue(usize),
    /// Not enough free slots for the frame right now; retry after the peer consumed some.
    #[error("ring full")]
    RingFull,
    /// The frame cannot be sent: empty, or larger than the whole ring can carry.
    #[error("frame of {0} bytes cannot be sent")]
    BadFrame(usize),
    /// A descriptor points outside the peer's regions.
    #[error("bad descriptor: {0}")]
    BadDescriptor(String),
    /// The local configuration is unusable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A master interface with this id already exists on the socket.
    #[error("interface id {0} already exists on this socket")]
    DuplicateId(u32),
    /// A blocking call gave up.
    #[error("timed out")]
    Timeout,
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The last OS error, tagged with the failing operation.
    pub(crate) fn last_os(op: &'static str) -> Self {
        Error::Io {
            op,
            source: io::Error::last_os_error(),
        }
    }

    /// The text for a DISCONNECT reason: protocol errors without the "protocol error" prefix.
    pub(crate) fn into_reason(self) -> String {
        match self {
            Error::Protocol(reason) => reason,
            other => other.to_string(),
        }
    }
}
