//! Configuration and events shared by the master and slave state machines.

use crate::error::{Error, Result};
use crate::msg::{Mode, NAME_LEN, SECRET_LEN};
use crate::queue::QueueStats;
use crate::ring::{CopyLayout, MAX_LOG2_RING_SIZE};

/// How this end learns that packets arrived on its receive rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RxMode {
    /// The peer signals the ring's eventfd after publishing (ring flag MASK_INT clear).
    #[default]
    Interrupt,
    /// This end polls; the peer is asked not to signal (MASK_INT set), as DPDK always does.
    Polling,
}

/// A master interface on a [`crate::MasterSocket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// Matched against INIT's id; unique per socket.
    pub id: u32,
    /// When set, the slave must present exactly this secret.
    pub secret: Option<String>,
    /// The slave must ask for the same mode.
    pub mode: Mode,
    /// Sent in CONNECTED (VPP uses `memif<socket-id>/<id>`).
    pub if_name: String,
    /// Interrupt or polling on the S2M rings this end receives on.
    pub rx_mode: RxMode,
}

impl MasterConfig {
    /// Ethernet mode, no secret, interrupt mode.
    pub fn new(id: u32, if_name: impl Into<String>) -> Self {
        MasterConfig {
            id,
            secret: None,
            mode: Mode::Ethernet,
            if_name: if_name.into(),
            rx_mode: RxMode::Interrupt,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_secret(self.secret.as_deref())?;
        check_name("if_name", &self.if_name)
    }
}

/// A slave interface: what it asks the master for and how it lays out its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveConfig {
    /// The master interface to attach to on that socket.
    pub id: u32,
    /// Sent in INIT when the master requires one.
    pub secret: Option<String>,
    /// Must match the master's mode.
    pub mode: Mode,
    /// Sent in INIT.
    pub app_name: String,
    /// Sent in CONNECT.
    pub if_name: String,
    /// Ring size wanted (the master's HELLO may lower it).
    pub log2_ring_size: u8,
    /// Bytes per buffer; longer frames are chained over several slots.
    pub buffer_size: u32,
    /// Slave-to-master rings wanted (this end's transmit queues).
    pub num_s2m_rings: u16,
    /// Master-to-slave rings wanted (this end's receive queues).
    pub num_m2s_rings: u16,
    /// Interrupt or polling on the M2S rings this end receives on.
    pub rx_mode: RxMode,
}

impl SlaveConfig {
    /// The common defaults of VPP, libmemif and DPDK: 1024 slots, 2048-byte buffers, one
    /// queue each way, ethernet, no secret.
    pub fn new(id: u32, if_name: impl Into<String>) -> Self {
        SlaveConfig {
            id,
            secret: None,
            mode: Mode::Ethernet,
            app_name: format!("memif-rs {}", env!("CARGO_PKG_VERSION")),
            if_name: if_name.into(),
            log2_ring_size: 10,
            buffer_size: 2048,
            num_s2m_rings: 1,
            num_m2s_rings: 1,
            rx_mode: RxMode::Interrupt,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_secret(self.secret.as_deref())?;
        check_name("if_name", &self.if_name)?;
        check_name("app_name", &self.app_name)?;
        if self.log2_ring_size > MAX_LOG2_RING_SIZE {
            return Err(Error::InvalidConfig(format!(
                "log2_ring_size {} > {MAX_LOG2_RING_SIZE}",
                self.log2_ring_size
            )));
        }
        if self.buffer_size == 0 || self.num_s2m_rings == 0 || self.num_m2s_rings == 0 {
            return Err(Error::InvalidConfig(
                "buffer size and ring counts must be positive".into(),
            ));
        }
        let layout = CopyLayout {
            n_s2m: self.num_s2m_rings,
            n_m2s: self.num_m2s_rings,
            log2: self.log2_ring_size,
            buffer_size: self.buffer_size,
        };
        if layout.region_size() > u32::MAX as u64 {
            return Err(Error::InvalidConfig(
                "shared memory would exceed 4 GiB (descriptor offsets are 32-bit)".into(),
            ));
        }
        Ok(())
    }
}

fn check_secret(secret: Option<&str>) -> Result<()> {
    match secret {
        Some(s) if s.len() >= SECRET_LEN || s.contains('\0') => Err(Error::InvalidConfig(format!(
            "secret must be at most {} bytes without NUL",
            SECRET_LEN - 1
        ))),
        _ => Ok(()),
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.len() >= NAME_LEN || name.contains('\0') {
        return Err(Error::InvalidConfig(format!(
            "{what} must be at most {} bytes without NUL",
            NAME_LEN - 1
        )));
    }
    Ok(())
}

/// Something that happened on a control channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The interface with this id reached CONNECTED; packets can flow.
    #[allow(missing_docs)]
    Connected { id: u32 },
    /// The connection of this interface ended: the peer's DISCONNECT reason, the local reason
    /// for refusing it, or "connection closed" on EOF.
    #[allow(missing_docs)]
    Disconnected { id: u32, reason: String },
    /// A master refused a peer before it was bound to an interface (unknown id, busy, ...).
    #[allow(missing_docs)]
    Rejected { id: Option<u32>, reason: String },
}

/// Counters of every queue of a live connection (they start from zero on each connection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Receive queues, by index.
    pub rx: Vec<QueueStats>,
    /// Transmit queues, by index.
    pub tx: Vec<QueueStats>,
}

/// Who the peer said it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// Application name from HELLO (peer master) or INIT (peer slave).
    pub app_name: String,
    /// Interface name from CONNECTED (peer master) or CONNECT (peer slave).
    pub if_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::secret_too_long(SlaveConfig { secret: Some("s".repeat(24)), ..SlaveConfig::new(0, "x") })]
    #[case::ring_too_big(SlaveConfig { log2_ring_size: 15, ..SlaveConfig::new(0, "x") })]
    #[case::no_rings(SlaveConfig { num_m2s_rings: 0, ..SlaveConfig::new(0, "x") })]
    #[case::zero_buffer(SlaveConfig { buffer_size: 0, ..SlaveConfig::new(0, "x") })]
    #[case::huge(SlaveConfig { log2_ring_size: 14, buffer_size: 1 << 20, ..SlaveConfig::new(0, "x") })]
    #[case::long_name(SlaveConfig::new(0, "n".repeat(32)))]
    fn unusable_slave_configs_are_refused(#[case] cfg: SlaveConfig) {
        assert!(matches!(cfg.validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn defaults_are_valid() {
        SlaveConfig::new(0, "memif0/0").validate().unwrap();
        MasterConfig::new(0, "memif0/0").validate().unwrap();
        let with_secret = MasterConfig {
            secret: Some("s".repeat(23)),
            ..MasterConfig::new(1, "memif0/1")
        };
        with_secret.validate().unwrap();
    }
}
