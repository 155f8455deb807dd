//! The CNI protocol as a plugin sees it: environment, versions, results and errors.
//!
//! Written here rather than built on the `cni-plugin` crate because that crate only knows
//! spec versions 0.4.0 and 1.0.0 and has no GC or STATUS, while runtimes in the field
//! still send 0.3.x netconfs (the original plugin's own examples are 0.3.1) and CNI 1.1
//! adds GC, STATUS and `socketPath` in results, which suit a userspace interface. The
//! protocol surface is small: a handful of env variables, stdin, and one JSON document
//! or error on stdout.

pub mod env;
pub mod error;
pub mod result;
pub mod version;

pub mod about;
pub use env::{Command, Environment};
pub use error::{CniError, ErrorCode};
pub use result::CniResult;
pub use version::Version;
