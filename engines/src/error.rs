//! The engines' error type. The plugin maps it to CNI error codes at its edge.

/// The step of an engine operation that failed, so that errors say where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    SocketFile,
    InterfaceCreate,
    BridgeCreate,
    BridgeMember,
    InterfaceUp,
    Address,
    InterfaceDelete,
    BridgeDelete,
    Check,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Connect => "connect",
            Step::SocketFile => "socket file",
            Step::InterfaceCreate => "interface create",
            Step::BridgeCreate => "bridge create",
            Step::BridgeMember => "bridge membership",
            Step::InterfaceUp => "interface up",
            Step::Address => "interface address",
            Step::InterfaceDelete => "interface delete",
            Step::BridgeDelete => "bridge delete",
            Step::Check => "check",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown engine {0:?}")]
    UnknownEngine(String),
    /// The vswitch cannot be reached (socket missing, refused, timed out).
    #[error("{step}: vswitch unavailable at {socket}: {reason}")]
    Unavailable {
        step: Step,
        socket: String,
        reason: String,
    },
    /// The vswitch refused a request.
    #[error("{step}: {message}")]
    Refused { step: Step, message: String },
    /// The configuration cannot be applied by this engine.
    #[error("{0}")]
    Unsupported(String),
    /// CHECK found a difference between the record and the vswitch.
    #[error("check: {0}")]
    Mismatch(String),
    /// What this attachment would build is already another's (the same socket, the same
    /// port name): refused before anything is touched.
    #[error("{0}")]
    InUse(String),
    #[error("{step}: {source}")]
    Io {
        step: Step,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True when retrying later may succeed (vswitch down or busy).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
