//! Host vswitch engines behind one trait.
//!
//! The plugin turns a netconf into a [`HostSide`] (what to build on the host vswitch for
//! one attachment) and hands it to the [`Engine`] picked by name. Engines know nothing of
//! CNI: no env, no JSON netconf, no result types. Each implementation lives in its own
//! module and is a cargo feature, so a build links only the engines it needs.

mod error;
pub mod mac;
mod spec;

#[cfg(feature = "ovs")]
pub mod ovs;
#[cfg(feature = "vpp")]
pub mod vpp;

pub use error::{Error, Result, Step};
pub use spec::*;

use std::path::Path;
use std::time::Duration;

/// What one engine can do on the host side for one attachment.
///
/// `add` is all-or-nothing: when it fails it has already undone what it did.
/// `del` is idempotent: it removes whatever is left of the attachment, whether or not a
/// saved record exists and whether or not an earlier ADD or DEL finished.
pub trait Engine {
    /// Starts `add`: returns once the vswitch has taken the interface on, with the record
    /// DEL will need already final, and leaves the wait for the vswitch to have set it up
    /// (OVS builds a port after its transaction commits) to [`PendingAdd::finish`], so
    /// that the caller can do its own work meanwhile. An engine that is done at once
    /// returns a finished `PendingAdd`. When this fails it has undone what it did; a
    /// `PendingAdd` dropped unfinished leaves the interface for the caller's `del`.
    fn begin_add<'a>(&'a self, side: &'a HostSide, who: &'a Attachment) -> Result<PendingAdd<'a>>;
    /// Creates the host interface, connects it to its network and brings it up.
    fn add(&self, side: &HostSide, who: &Attachment) -> Result<HostRecord> {
        self.begin_add(side, who)?.finish()
    }
    /// Removes everything `add` created for `who`. `saved` is the record of the ADD when
    /// the store still has it.
    fn del(&self, side: &HostSide, who: &Attachment, saved: Option<&HostRecord>) -> Result<()>;
    /// Verifies that what `add` created is still there and as configured.
    fn check(&self, side: &HostSide, who: &Attachment, saved: &HostRecord) -> Result<()>;
    /// Builds the container's end inside the pod (the container-side app calls this):
    /// the interface, its MAC and addresses, admin up. All-or-nothing like `add`.
    fn add_container(&self, side: &ContainerSide, who: &Attachment) -> Result<HostRecord>;
    /// Removes the container's end; idempotent.
    fn del_container(&self, side: &ContainerSide, who: &Attachment) -> Result<()>;
    /// Whether the vswitch at `api_socket` (the engine's standard socket when `None`)
    /// answers (CNI STATUS).
    fn status(&self, api_socket: Option<&Path>) -> Result<()>;
    /// Removes what the original plugin made for `who`, as its record `saved` names it,
    /// once the vswitch confirms that object is that attachment's on `side`'s network;
    /// whether it was found (nothing is touched otherwise). Bridges are kept: nothing
    /// says whether the original made them.
    fn del_original(
        &self,
        _side: &HostSide,
        _who: &Attachment,
        _saved: &OriginalRecord,
    ) -> Result<bool> {
        Ok(false)
    }
    /// The original plugin's words for `e`, when it had its own (the plugin leads its
    /// message with them, so that what operators grep for still matches).
    fn original_words(&self, _e: &Error) -> Option<String> {
        None
    }
}

/// An ADD the vswitch has taken on but may still be carrying out.
pub struct PendingAdd<'a> {
    /// What DEL and CHECK need: final, whatever the wait brings.
    pub record: HostRecord,
    wait: Option<Box<dyn FnOnce() -> Result<()> + 'a>>,
}

impl<'a> PendingAdd<'a> {
    /// An ADD with nothing left to wait for.
    pub fn done(record: HostRecord) -> PendingAdd<'a> {
        PendingAdd { record, wait: None }
    }

    /// An ADD that `wait` finishes: it waits for the vswitch, and when the vswitch fails,
    /// undoes the ADD and says why.
    pub fn then(record: HostRecord, wait: impl FnOnce() -> Result<()> + 'a) -> PendingAdd<'a> {
        PendingAdd {
            record,
            wait: Some(Box::new(wait)),
        }
    }

    /// Waits for the vswitch to have set the interface up; all-or-nothing like `add`.
    pub fn finish(self) -> Result<HostRecord> {
        if let Some(wait) = self.wait {
            wait()?;
        }
        Ok(self.record)
    }
}

/// Names of the engines this build was compiled with.
pub fn compiled_engines() -> &'static [&'static str] {
    &[
        #[cfg(feature = "vpp")]
        vpp::ENGINE_NAME,
        #[cfg(feature = "ovs")]
        ovs::ENGINE_NAME,
    ]
}

/// Picks the engine implementation by its netconf name.
pub fn by_name(name: &str, timeout: Duration) -> Result<Box<dyn Engine>> {
    match name {
        #[cfg(feature = "vpp")]
        vpp::ENGINE_NAME => Ok(Box::new(vpp::VppEngine::new(timeout))),
        #[cfg(feature = "ovs")]
        ovs::ENGINE_NAME => Ok(Box::new(ovs::OvsEngine::new(timeout))),
        other => Err(Error::UnknownEngine(other.to_string())),
    }
}
