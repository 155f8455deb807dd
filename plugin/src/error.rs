//! The plugin's error type, and its one mapping to CNI error codes.

use crate::cni::{CniError, ErrorCode};
use crate::ipam::IpamError;
use crate::kube::KubeError;
use crate::plan::Invalid;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already a CNI error (environment, version).
    #[error("{0}")]
    Cni(CniError),
    #[error("failed to load netconf: {0}")]
    Decode(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{step}: {source}")]
    Engine {
        step: &'static str,
        #[source]
        source: engines::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{step}: {source}")]
    Ipam {
        step: &'static str,
        #[source]
        source: IpamError,
    },
    #[error("{step}: {path}: {source}")]
    Io {
        step: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file-system call failed: said as the original plugin (Go's `os` package) said it,
    /// `<op> <path>: <error>`, then what for.
    #[error("{op} {}: {} ({what})", path.display(), go_error_text(source))]
    Os {
        op: &'static str,
        path: std::path::PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The original plugin's record of an attachment cannot be used (it is kept): said in
    /// the original's words, then which file.
    #[error("ERROR: Failed to {verb} {kind} saved data: {reason} ({})", path.display())]
    OriginalRecord {
        verb: &'static str,
        kind: &'static str,
        path: std::path::PathBuf,
        reason: String,
    },
    /// An error the original plugin had words of its own for: those first, then ours.
    #[error("{words} ({inner})")]
    Worded { words: String, inner: Box<Error> },
    /// CHECK or DEL for an attachment this plugin has no trace of.
    #[error("{0}")]
    UnknownAttachment(String),
    /// CHECK found the attachment different from what ADD made.
    #[error("{0}")]
    Mismatch(String),
    /// STATUS: the plugin cannot serve ADDs now.
    #[error("{0}")]
    NotAvailable(String),
    #[error("{0}")]
    Kube(#[from] KubeError),
    /// Independent steps that all failed (a teardown tries each): the first decides the
    /// code, the message names every one.
    #[error("{}", join_messages(.0))]
    Several(Vec<Error>),
}

fn join_messages(all: &[Error]) -> String {
    all.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Every failure of `results`, in order: none is `Ok`, one is itself, more are
    /// [`Error::Several`] (nested ones flattened).
    pub fn all(results: impl IntoIterator<Item = Result<()>>) -> Result<()> {
        let mut failed = Vec::new();
        for r in results {
            match r {
                Ok(()) => {}
                Err(Error::Several(more)) => failed.extend(more),
                Err(e) => failed.push(e),
            }
        }
        match failed.len() {
            0 => Ok(()),
            1 => Err(failed.remove(0)),
            _ => Err(Error::Several(failed)),
        }
    }
}

impl Error {
    pub fn engine(step: &'static str) -> impl FnOnce(engines::Error) -> Error {
        move |source| Error::Engine { step, source }
    }

    pub fn ipam(step: &'static str) -> impl FnOnce(IpamError) -> Error {
        move |source| Error::Ipam { step, source }
    }

    pub fn io(step: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io { step, path, source }
    }

    /// The CNI error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Cni(e) => ErrorCode::Delegated(e.code),
            Error::Decode(_) => ErrorCode::Decode,
            Error::Invalid(_) => ErrorCode::InvalidConfig,
            Error::Engine { source, .. } => match source {
                engines::Error::Unavailable { .. } => ErrorCode::TryAgainLater,
                engines::Error::UnknownEngine(_)
                | engines::Error::Unsupported(_)
                | engines::Error::InUse(_) => ErrorCode::InvalidConfig,
                engines::Error::Refused { .. } => ErrorCode::Vswitch,
                engines::Error::Mismatch(_) => ErrorCode::CheckMismatch,
                engines::Error::Io { .. } => ErrorCode::Io,
            },
            Error::Store(StoreError::Busy { .. }) => ErrorCode::TryAgainLater,
            Error::Store(_)
            | Error::Io { .. }
            | Error::Os { .. }
            | Error::OriginalRecord { .. } => ErrorCode::Io,
            Error::Worded { inner, .. } => inner.code(),
            Error::Ipam { source, .. } => match source {
                IpamError::Plugin { error, .. } => ErrorCode::Delegated(error.code),
                IpamError::BadName { .. } | IpamError::NotFound { .. } => ErrorCode::InvalidConfig,
                IpamError::Exec { .. } | IpamError::BadOutput { .. } => ErrorCode::Io,
                IpamError::TimedOut { .. } => ErrorCode::TryAgainLater,
            },
            Error::UnknownAttachment(_) => ErrorCode::UnknownContainer,
            Error::Mismatch(_) => ErrorCode::CheckMismatch,
            Error::NotAvailable(_) => ErrorCode::NotAvailable,
            Error::Kube(KubeError::Config(_)) => ErrorCode::InvalidConfig,
            Error::Kube(k) if k.is_transient() => ErrorCode::TryAgainLater,
            Error::Kube(_) => ErrorCode::Kubernetes,
            Error::Several(all) => all.first().map_or(ErrorCode::Io, Error::code),
        }
    }

    /// The error as printed on stdout, in the caller's version.
    pub fn to_cni(&self, version: &str) -> CniError {
        match self {
            Error::Cni(e) => CniError {
                cni_version: version.to_string(),
                ..e.clone()
            },
            Error::Ipam {
                step,
                source: IpamError::Plugin { name, error },
            } => CniError::new(version, self.code(), format!("{step}: {}", error.msg))
                .with_details(if error.details.is_empty() {
                    format!("from IPAM plugin {name}")
                } else {
                    format!("from IPAM plugin {name}: {}", error.details)
                }),
            Error::Several(all) if !all.is_empty() => CniError {
                msg: self.to_string(),
                ..all[0].to_cni(version)
            },
            other => CniError::new(version, other.code(), other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O error as Go prints a system call's: the C library's text with a lower-case
/// first letter (`permission denied`, `not a directory`), without Rust's `(os error N)`.
pub fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match (e.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => &text[..at],
        _ => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(libc::EACCES, "permission denied")]
    #[case(libc::ENOTDIR, "not a directory")]
    #[case(libc::ENOENT, "no such file or directory")]
    fn os_errors_read_as_go_prints_them(#[case] errno: i32, #[case] text: &str) {
        assert_eq!(
            go_error_text(&std::io::Error::from_raw_os_error(errno)),
            text
        );
        let e = Error::Os {
            op: "mkdir",
            path: "/run/x".into(),
            what: "the pod's shared directory",
            source: std::io::Error::from_raw_os_error(errno),
        };
        assert_eq!(
            e.to_string(),
            format!("mkdir /run/x: {text} (the pod's shared directory)")
        );
        assert_eq!(e.code(), ErrorCode::Io);
    }

    #[test]
    fn every_failed_step_is_reported_the_first_decides_the_code() {
        let busy = || Error::NotAvailable("vswitch busy".into());
        let gone = || Error::UnknownAttachment("no record".into());
        assert!(Error::all([Ok(()), Ok(())]).is_ok());
        let one = Error::all([Ok(()), Err(busy())]).unwrap_err();
        assert!(matches!(one, Error::NotAvailable(_)), "{one:?}");
        let both = Error::all([
            Err(busy()),
            Ok(()),
            Err(Error::all([Err(gone()), Err(busy())]).unwrap_err()),
        ])
        .unwrap_err();
        let Error::Several(all) = &both else {
            panic!("{both:?}")
        };
        assert_eq!(all.len(), 3, "nested failures are flattened");
        assert_eq!(both.code(), ErrorCode::NotAvailable);
        assert_eq!(both.to_string(), "vswitch busy; no record; vswitch busy");
        let cni = both.to_cni("1.1.0");
        assert_eq!(cni.msg, both.to_string());
        assert_eq!(cni.code, busy().to_cni("1.1.0").code);
    }
}
