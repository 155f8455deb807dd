//! CNI error results: `{"cniVersion", "code", "msg", "details"}` on stdout.

use serde::Serialize;

/// Error codes of the CNI spec (section "Error"), plus the plugin's own (100 and up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    IncompatibleVersion,
    UnsupportedField,
    UnknownContainer,
    InvalidEnvironment,
    Io,
    Decode,
    InvalidConfig,
    TryAgainLater,
    NotAvailable,
    /// The vswitch refused a request (plugin-specific).
    Vswitch,
    /// CHECK found the attachment different from what ADD made (plugin-specific).
    CheckMismatch,
    /// The Kubernetes API refused or does not know the pod (plugin-specific).
    Kubernetes,
    /// An error passed through from a delegated plugin, with its own code.
    Delegated(u32),
}

impl ErrorCode {
    pub fn number(self) -> u32 {
        match self {
            ErrorCode::IncompatibleVersion => 1,
            ErrorCode::UnsupportedField => 2,
            ErrorCode::UnknownContainer => 3,
            ErrorCode::InvalidEnvironment => 4,
            ErrorCode::Io => 5,
            ErrorCode::Decode => 6,
            ErrorCode::InvalidConfig => 7,
            ErrorCode::TryAgainLater => 11,
            ErrorCode::NotAvailable => 50,
            ErrorCode::Vswitch => 100,
            ErrorCode::CheckMismatch => 101,
            ErrorCode::Kubernetes => 102,
            ErrorCode::Delegated(n) => n,
        }
    }
}

/// A CNI error as printed on stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CniError {
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    pub code: u32,
    pub msg: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl CniError {
    pub fn new(version: &str, code: ErrorCode, msg: impl Into<String>) -> Self {
        CniError {
            cni_version: version.to_string(),
            code: code.number(),
            msg: msg.into(),
            details: String::new(),
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("error serializes")
    }
}

impl std::fmt::Display for CniError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.msg, self.code)?;
        if !self.details.is_empty() {
            write!(f, ": {}", self.details)?;
        }
        Ok(())
    }
}
