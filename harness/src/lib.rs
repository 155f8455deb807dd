//! The scenario harness: runs the `userspace` plugin, the simulated vswitches and a CNI
//! runtime together, and reports what it saw. Its pieces also serve the workspace's
//! end-to-end tests.
//!
//! It is the one crate that knows all the others, and it drives them only from outside (as
//! binaries, sockets and their public clients): it must not reach into the plugin's or the
//! mocks' internals, nor hold rules the plugin or an engine owns.

pub mod backend;
pub mod bench;
pub mod bins;
pub mod demo;
pub mod images;
pub mod kube;
pub mod mock_kube;
pub mod mock_vpp;
pub mod netns;
pub mod ovs;
pub mod plugin;
pub mod report;
pub mod runner;
pub mod runtime;
pub mod scenario;
pub mod testbed;
pub mod up;
pub mod vpp_state;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("binary {0} is missing: build it with `{1}` in the workspace")]
    MissingBinary(PathBuf, String),
    #[error("cannot run {0}: {1}")]
    Spawn(String, #[source] std::io::Error),
    #[error("{0} exited early: {1}")]
    Exited(String, String),
    #[error("timed out waiting for {0}")]
    Timeout(String),
    #[error("{0} failed: {1}")]
    Command(String, String),
    #[error("VPP API: {0}")]
    Vpp(String),
    #[error("{0}")]
    Check(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
