//! The back end's device state and its answers to the front end's requests, as rust-vmm's
//! `VhostUserBackendReqHandlerMut`: features, the memory table, two split virtqueues
//! (0: the driver's receive queue, 1: its transmit queue) with their kick and call
//! eventfds. `vhost` decodes and validates the messages; this decides what they mean.
//! Requests a virtio-net port does not need (config space, inflight, shared objects,
//! postcopy, device state) are refused.

use std::fs::File;
use std::os::fd::AsRawFd;

use vhost::vhost_user::message::{
    VhostTransferStateDirection, VhostTransferStatePhase, VhostUserConfigFlags, VhostUserInflight,
    VhostUserLog, VhostUserMemoryRegion, VhostUserProtocolFeatures, VhostUserShMemConfig,
    VhostUserSharedMsg, VhostUserSingleMemoryRegion, VhostUserVirtioFeatures,
    VhostUserVringAddrFlags, VhostUserVringState,
};
use vhost::vhost_user::VhostUserBackendReqHandlerMut;
use vhost::vhost_user::{Error as VuError, GpuBackend, Result as VuResult};
use vhost::VhostUserMemoryRegionBase;
use virtio_queue::{Queue, QueueT};

use crate::memory::Memory;
use crate::{Stats, OFFERED_FEATURES, QUEUE_MAX};

/// The driver's receive queue: the back end writes frames into it.
pub const RX: usize = 0;
/// The driver's transmit queue: the back end reads frames from it.
pub const TX: usize = 1;

/// One virtqueue and its eventfds.
#[derive(Debug)]
pub(crate) struct Vring {
    pub(crate) queue: Queue,
    pub(crate) kick: Option<File>,
    pub(crate) call: Option<File>,
    /// `SET_VRING_ENABLE` (or enabled from the start without protocol features).
    pub(crate) enabled: bool,
    /// A kick (or no-fd) message came: the ring is running until `GET_VRING_BASE`.
    pub(crate) started: bool,
    /// Addresses came and lie in memory.
    pub(crate) addressed: bool,
}

impl Vring {
    fn new() -> Vring {
        Vring {
            queue: Queue::new(QUEUE_MAX).expect("QUEUE_MAX is a power of two"),
            kick: None,
            call: None,
            enabled: false,
            started: false,
            addressed: false,
        }
    }

    fn live(&self) -> bool {
        self.enabled && self.started && self.addressed
    }

    /// Tells the driver that used entries are there.
    pub(crate) fn signal(&self) {
        if let Some(f) = &self.call {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a local buffer to an eventfd we hold.
            let _ = unsafe { libc::write(f.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        }
    }
}

/// A ring as `show vhost-user` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueInfo {
    pub size: u16,
    pub next_avail: u16,
    pub next_used: u16,
    pub kick_fd: i32,
    pub call_fd: i32,
    pub enabled: bool,
    pub started: bool,
}

/// A virtio-net device as the back end serves it to one front end.
#[derive(Debug)]
pub struct Device {
    owned: bool,
    pub(crate) acked_features: u64,
    acked_protocol: u64,
    pub(crate) memory: Option<Memory>,
    pub(crate) vrings: [Vring; 2],
    /// Why the port stopped carrying traffic, after a bad ring or buffer.
    pub(crate) failed: Option<String>,
    pub stats: Stats,
}

impl Default for Device {
    fn default() -> Self {
        Device::new()
    }
}

fn invalid(what: &'static str) -> VuError {
    VuError::InvalidOperation(what)
}

impl Device {
    pub fn new() -> Device {
        Device {
            owned: false,
            acked_features: 0,
            acked_protocol: 0,
            memory: None,
            vrings: [Vring::new(), Vring::new()],
            failed: None,
            stats: Stats::default(),
        }
    }

    /// Both rings run in mapped memory and nothing has gone wrong: the link is up.
    pub fn ready(&self) -> bool {
        self.failed.is_none() && self.memory.is_some() && self.vrings.iter().all(Vring::live)
    }

    /// The features both sides agreed on.
    pub fn features(&self) -> u64 {
        self.acked_features
    }

    /// The protocol features both sides agreed on.
    pub fn protocol_features(&self) -> u64 {
        self.acked_protocol
    }

    /// The memory regions mapped, as the front end described them.
    pub fn regions(&self) -> &[crate::memory::Span] {
        self.memory.as_ref().map(|m| m.spans()).unwrap_or(&[])
    }

    /// A ring's state, for display.
    pub fn queue_info(&self, queue: usize) -> QueueInfo {
        let v = &self.vrings[queue];
        QueueInfo {
            size: v.queue.size(),
            next_avail: v.queue.next_avail(),
            next_used: v.queue.next_used(),
            kick_fd: v.kick.as_ref().map_or(-1, |f| f.as_raw_fd()),
            call_fd: v.call.as_ref().map_or(-1, |f| f.as_raw_fd()),
            enabled: v.enabled,
            started: v.started,
        }
    }

    /// Why traffic stopped, if it did because of the front end.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// The eventfd the driver kicks when it has put frames on its transmit queue.
    pub fn kick_fd(&self, queue: usize) -> Option<std::os::fd::RawFd> {
        self.vrings.get(queue)?.kick.as_ref().map(|f| f.as_raw_fd())
    }

    /// Resets a kick eventfd's count (it is non-blocking: nothing to read is fine).
    pub fn clear_kick(&self, queue: usize) {
        if let Some(fd) = self.kick_fd(queue) {
            let mut b = [0u8; 8];
            // SAFETY: reads at most 8 bytes into a local buffer from an eventfd we hold.
            let _ = unsafe { libc::read(fd, b.as_mut_ptr().cast(), b.len()) };
        }
    }

    /// Marks the port down after a fault of the front end, counted once per fault.
    pub(crate) fn fail(&mut self, why: String) {
        self.stats.errors += 1;
        tracing::debug!("vhost-user port down: {why}");
        self.failed = Some(why);
    }

    fn vring(&mut self, index: u32) -> VuResult<&mut Vring> {
        self.vrings
            .get_mut(index as usize)
            .ok_or(VuError::InvalidParam)
    }

    fn protocol_features_acked(&self) -> bool {
        self.acked_features & VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits() != 0
    }

    fn reset_rings(&mut self) {
        self.vrings = [Vring::new(), Vring::new()];
        self.failed = None;
    }
}

impl VhostUserBackendReqHandlerMut for Device {
    fn set_owner(&mut self) -> VuResult<()> {
        if self.owned {
            return Err(invalid("already owned"));
        }
        self.owned = true;
        Ok(())
    }

    fn reset_owner(&mut self) -> VuResult<()> {
        self.owned = false;
        self.acked_features = 0;
        self.acked_protocol = 0;
        self.reset_rings();
        Ok(())
    }

    fn reset_device(&mut self) -> VuResult<()> {
        self.acked_features = 0;
        self.reset_rings();
        Ok(())
    }

    fn get_features(&mut self) -> VuResult<u64> {
        Ok(OFFERED_FEATURES)
    }

    fn set_features(&mut self, features: u64) -> VuResult<()> {
        if features & !OFFERED_FEATURES != 0 {
            return Err(VuError::InvalidParam);
        }
        self.acked_features = features;
        // Without protocol features a ring is enabled once started (vhost-user spec).
        let enabled = !self.protocol_features_acked();
        for v in &mut self.vrings {
            v.enabled = enabled;
        }
        Ok(())
    }

    fn set_mem_table(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
        _postcopy: Option<bool>,
    ) -> VuResult<Option<Vec<VhostUserMemoryRegionBase>>> {
        match Memory::map(ctx, files) {
            Ok(m) => {
                self.memory = Some(m);
                Ok(None)
            }
            Err(e) => {
                self.memory = None;
                self.fail(e.to_string());
                Err(VuError::InvalidParam)
            }
        }
    }

    fn set_vring_num(&mut self, index: u32, num: u32) -> VuResult<()> {
        let v = self.vring(index)?;
        let n = u16::try_from(num).map_err(|_| VuError::InvalidParam)?;
        v.queue.try_set_size(n).map_err(|_| VuError::InvalidParam)
    }

    fn set_vring_addr(
        &mut self,
        index: u32,
        _flags: VhostUserVringAddrFlags,
        descriptor: u64,
        used: u64,
        available: u64,
        _log: u64,
    ) -> VuResult<()> {
        let Some(mem) = &self.memory else {
            return Err(invalid("ring addresses before the memory table"));
        };
        let t = |a: u64| mem.translate(a).map_err(|_| VuError::InvalidParam);
        let (d, u, a) = (t(descriptor)?, t(used)?, t(available)?);
        let valid = {
            let mut q = Queue::new(QUEUE_MAX).expect("power of two");
            q.set_size(
                self.vrings
                    .get(index as usize)
                    .ok_or(VuError::InvalidParam)?
                    .queue
                    .size(),
            );
            q.try_set_desc_table_address(d).is_ok()
                && q.try_set_used_ring_address(u).is_ok()
                && q.try_set_avail_ring_address(a).is_ok()
                && {
                    q.set_ready(true);
                    q.is_valid(&mem.mem)
                }
        };
        if !valid {
            self.fail(format!("ring {index} addresses outside memory"));
            return Err(VuError::InvalidParam);
        }
        let v = self.vring(index)?;
        let q = &mut v.queue;
        let _ = q.try_set_desc_table_address(d);
        let _ = q.try_set_used_ring_address(u);
        let _ = q.try_set_avail_ring_address(a);
        v.addressed = true;
        Ok(())
    }

    fn set_vring_base(&mut self, index: u32, base: u32) -> VuResult<()> {
        let v = self.vring(index)?;
        let b = u16::try_from(base).map_err(|_| VuError::InvalidParam)?;
        v.queue.set_next_avail(b);
        v.queue.set_next_used(b);
        Ok(())
    }

    fn get_vring_base(&mut self, index: u32) -> VuResult<VhostUserVringState> {
        let v = self.vring(index)?;
        // The ring stops: the front end takes it back from here.
        v.started = false;
        v.queue.set_ready(false);
        v.kick = None;
        if self.protocol_features_acked() {
            self.vrings[index as usize].enabled = false;
        }
        let next = self.vrings[index as usize].queue.next_avail();
        Ok(VhostUserVringState::new(index, u32::from(next)))
    }

    fn set_vring_kick(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        let pf = self.protocol_features_acked();
        let v = self.vring(u32::from(index))?;
        if let Some(f) = &fd {
            set_nonblocking(f);
        }
        v.kick = fd;
        v.started = true;
        v.queue.set_ready(true);
        if !pf {
            v.enabled = true;
        }
        Ok(())
    }

    fn set_vring_call(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        self.vring(u32::from(index))?.call = fd;
        Ok(())
    }

    fn set_vring_err(&mut self, index: u8, _fd: Option<File>) -> VuResult<()> {
        self.vring(u32::from(index)).map(|_| ())
    }

    fn get_protocol_features(&mut self) -> VuResult<VhostUserProtocolFeatures> {
        Ok(VhostUserProtocolFeatures::REPLY_ACK)
    }

    fn set_protocol_features(&mut self, features: u64) -> VuResult<()> {
        self.acked_protocol = features;
        Ok(())
    }

    fn get_queue_num(&mut self) -> VuResult<u64> {
        Ok(2)
    }

    fn set_vring_enable(&mut self, index: u32, enable: bool) -> VuResult<()> {
        self.vring(index)?.enabled = enable;
        Ok(())
    }

    fn get_config(&mut self, _: u32, _: u32, _: VhostUserConfigFlags) -> VuResult<Vec<u8>> {
        Err(invalid("no config space"))
    }

    fn set_config(&mut self, _: u32, _: &[u8], _: VhostUserConfigFlags) -> VuResult<()> {
        Err(invalid("no config space"))
    }

    fn set_gpu_socket(&mut self, _: GpuBackend) -> VuResult<()> {
        Err(invalid("not a gpu"))
    }

    fn get_shared_object(&mut self, _: VhostUserSharedMsg) -> VuResult<File> {
        Err(invalid("no shared objects"))
    }

    fn get_inflight_fd(&mut self, _: &VhostUserInflight) -> VuResult<(VhostUserInflight, File)> {
        Err(invalid("no inflight tracking"))
    }

    fn set_inflight_fd(&mut self, _: &VhostUserInflight, _: File) -> VuResult<()> {
        Err(invalid("no inflight tracking"))
    }

    fn get_max_mem_slots(&mut self) -> VuResult<u64> {
        Err(invalid("no memory slots"))
    }

    fn add_mem_region(
        &mut self,
        _: &VhostUserSingleMemoryRegion,
        _: File,
        _: Option<bool>,
    ) -> VuResult<Option<VhostUserMemoryRegionBase>> {
        Err(invalid("no memory slots"))
    }

    fn remove_mem_region(&mut self, _: &VhostUserSingleMemoryRegion) -> VuResult<()> {
        Err(invalid("no memory slots"))
    }

    fn set_device_state_fd(
        &mut self,
        _: VhostTransferStateDirection,
        _: VhostTransferStatePhase,
        _: File,
    ) -> VuResult<Option<File>> {
        Err(invalid("no migration"))
    }

    fn check_device_state(&mut self) -> VuResult<()> {
        Err(invalid("no migration"))
    }

    fn get_shmem_config(&mut self) -> VuResult<VhostUserShMemConfig> {
        Err(invalid("no shared memory"))
    }

    fn set_log_base(&mut self, _: &VhostUserLog, _: File) -> VuResult<()> {
        Err(invalid("no dirty log"))
    }
}

/// Kick eventfds are read without blocking (the data plane only drains their count).
fn set_nonblocking(f: &File) {
    let fd = f.as_raw_fd();
    // SAFETY: fcntl on a descriptor we hold; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}
