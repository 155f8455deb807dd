//! A virtio-user front end: the driver side of a vhost-user port, as DPDK's
//! `net_virtio_user` is. It owns the memory (one memfd, shared with the back end through
//! `SET_MEM_TABLE`), lays out both split rings and their buffers in it, and speaks the
//! protocol through rust-vmm's `vhost::vhost_user::Frontend`, as client (connect to a
//! back end's socket) or server (listen; the back end connects).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost::vhost_user::{Frontend as VuFrontend, Listener, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use vm_memory::{Bytes, FileOffset, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use crate::driver::{layout, DriverQueue};
use crate::error::{Error, Result};
use crate::{net_header_len, Stats, MAX_FRAME, VIRTIO_F_VERSION_1, VIRTIO_NET_F_MRG_RXBUF};

/// Each posted buffer: a header and a 1500-byte frame with room to spare, as DPDK's
/// default mbuf data room.
pub const BUF_SIZE: u32 = 2048;

/// The features this front end asks for.
const WANTED: u64 = 1 << VIRTIO_F_VERSION_1
    | 1 << VIRTIO_NET_F_MRG_RXBUF
    | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits();

/// A running virtio-user device.
pub struct Frontend {
    vu: VuFrontend,
    _memfd: File,
    mem: GuestMemoryMmap,
    /// 0: receive (the back end writes), 1: transmit (the back end reads).
    queues: [DriverQueue; 2],
    kick: [EventFd; 2],
    call: [EventFd; 2],
    features: u64,
    pub stats: Stats,
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frontend")
            .field("features", &format_args!("{:#x}", self.features))
            .finish()
    }
}

fn memfd(size: u64) -> Result<File> {
    let name = c"virtio-user";
    // SAFETY: memfd_create with a valid C string; returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last_os("memfd_create"));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let f = unsafe { File::from_raw_fd(fd) };
    f.set_len(size)
        .map_err(|e| Error::io("ftruncate(memfd)", e))?;
    Ok(f)
}

impl Frontend {
    /// Connects to a back end listening on `path` and starts the device (client mode).
    pub fn connect(path: &Path, queue_size: u16) -> Result<Frontend> {
        let s = UnixStream::connect(path).map_err(|e| Error::io("connect", e))?;
        Frontend::start(s, queue_size)
    }

    /// Waits on `listener` for a back end to connect, then starts the device (server
    /// mode).
    pub fn accept(listener: &Listener, queue_size: u16) -> Result<Frontend> {
        listener.set_nonblocking(false)?;
        loop {
            if let Some(s) = listener.accept()? {
                return Frontend::start(s, queue_size);
            }
        }
    }

    /// Runs the protocol on a connected socket: features, memory, both rings, enable.
    pub fn start(sock: UnixStream, queue_size: u16) -> Result<Frontend> {
        if !queue_size.is_power_of_two() {
            return Err(Error::Chain("queue size is not a power of two"));
        }
        let (rx, end) = layout(0, queue_size, BUF_SIZE);
        let (tx, end) = layout(end, queue_size, BUF_SIZE);
        let file = memfd(end)?;
        let dup = file.try_clone().map_err(|e| Error::io("dup(memfd)", e))?;
        let mem = GuestMemoryMmap::from_ranges_with_files([(
            GuestAddress(0),
            end as usize,
            Some(FileOffset::new(dup, 0)),
        )])
        .map_err(|e| Error::MemoryTable(e.to_string()))?;
        let host = mem
            .get_host_address(GuestAddress(0))
            .map_err(Error::Memory)? as u64;

        let mut vu = VuFrontend::from_stream(sock, 2);
        vu.set_owner()?;
        let offered = vu.get_features()?;
        let features = offered & WANTED;
        vu.set_features(features)?;
        if features & VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits() != 0 {
            let p = vu.get_protocol_features()?;
            vu.set_protocol_features(p & VhostUserProtocolFeatures::REPLY_ACK)?;
        }
        vu.set_mem_table(&[VhostUserMemoryRegionInfo {
            guest_phys_addr: 0,
            memory_size: end,
            userspace_addr: host,
            mmap_offset: 0,
            mmap_handle: file.as_raw_fd(),
        }])?;
        let queues = [DriverQueue::new(&mem, rx)?, DriverQueue::new(&mem, tx)?];
        let kick = [event()?, event()?];
        let call = [event()?, event()?];
        for (i, q) in queues.iter().enumerate() {
            let l = q.layout;
            vu.set_vring_call(i, &call[i])?;
            vu.set_vring_num(i, l.size)?;
            vu.set_vring_base(i, 0)?;
            vu.set_vring_addr(
                i,
                &VringConfigData {
                    queue_max_size: l.size,
                    queue_size: l.size,
                    flags: 0,
                    desc_table_addr: host + l.desc,
                    used_ring_addr: host + l.used,
                    avail_ring_addr: host + l.avail,
                    log_addr: None,
                },
            )?;
            vu.set_vring_kick(i, &kick[i])?;
        }
        if features & VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits() != 0 {
            for i in 0..2 {
                vu.set_vring_enable(i, true)?;
            }
        }
        let mut f = Frontend {
            vu,
            _memfd: file,
            mem,
            queues,
            kick,
            call,
            features,
            stats: Stats::default(),
        };
        f.queues[0].post_writable(&f.mem)?;
        f.kick(0)?;
        Ok(f)
    }

    /// The shared memory and a queue's layout in it (0: receive, 1: transmit), for
    /// inspection.
    pub fn memory(&self) -> (&GuestMemoryMmap, [crate::driver::Layout; 2]) {
        (&self.mem, [self.queues[0].layout, self.queues[1].layout])
    }

    /// The features agreed with the back end.
    pub fn features(&self) -> u64 {
        self.features
    }

    /// The protocol socket: readable with nothing to read when the back end left.
    pub fn socket_fd(&self) -> RawFd {
        self.vu.as_raw_fd()
    }

    /// The eventfd the back end signals when it has put frames on the receive queue.
    pub fn rx_call_fd(&self) -> RawFd {
        self.call[0].as_raw_fd()
    }

    fn kick(&self, q: usize) -> Result<()> {
        if self.queues[q].kick_wanted(&self.mem)? {
            self.kick[q]
                .write(1)
                .map_err(|e| Error::io("eventfd write", e))?;
        }
        Ok(())
    }

    /// Frees the transmit descriptors the back end is done with.
    fn reclaim(&mut self) -> Result<()> {
        while self.queues[1].take_used(&self.mem)?.is_some() {}
        Ok(())
    }

    /// Transmits one frame (one descriptor); false when the ring is full.
    pub fn send(&mut self, frame: &[u8]) -> Result<bool> {
        let sent = self.send_split(frame, 1)?;
        if sent {
            self.kick(1)?;
        }
        Ok(sent)
    }

    /// Transmits frames, one kick for all; how many went (the ring filled).
    pub fn send_burst<'a>(&mut self, frames: impl IntoIterator<Item = &'a [u8]>) -> Result<usize> {
        let mut n = 0;
        for f in frames {
            if !self.send_split(f, 1)? {
                break;
            }
            n += 1;
        }
        if n > 0 {
            self.kick(1)?;
        }
        Ok(n)
    }

    /// Puts a frame on the transmit ring spread over `pieces` descriptors, without a
    /// kick; false when it does not fit now. (The header goes in front, zeroed: no
    /// offloads are negotiated.)
    pub fn send_split(&mut self, frame: &[u8], pieces: usize) -> Result<bool> {
        if frame.len() > MAX_FRAME {
            return Ok(false);
        }
        self.reclaim()?;
        let header = [0u8; 12];
        let header = &header[..net_header_len(self.features)];
        let ok = self.queues[1].post_readable(&self.mem, &[header, frame], pieces)?;
        if ok {
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += frame.len() as u64;
        } else {
            self.stats.tx_dropped += 1;
        }
        Ok(ok)
    }

    /// Kicks the transmit queue (after [`Frontend::send_split`]).
    pub fn flush(&self) -> Result<()> {
        self.kick(1)
    }

    /// Takes up to `max` frames the back end delivered into `out`; how many. The buffers
    /// go back on the ring.
    pub fn recv(&mut self, out: &mut Vec<Vec<u8>>, max: usize) -> Result<usize> {
        let _ = self.call[0].read();
        let hdr = net_header_len(self.features);
        let merge = self.features & (1 << VIRTIO_NET_F_MRG_RXBUF) != 0;
        let q = &mut self.queues[0];
        let mut n = 0;
        while n < max {
            let Some((_, len, addr)) = q.take_used(&self.mem)? else {
                break;
            };
            let len = (len as usize).min(BUF_SIZE as usize);
            if len < hdr {
                self.stats.errors += 1;
                continue;
            }
            let mut buffers = 1u16;
            if merge {
                let mut b = [0u8; 2];
                self.mem.read_slice(&mut b, GuestAddress(addr.0 + 10))?;
                buffers = u16::from_le_bytes(b).max(1);
            }
            let mut frame = vec![0u8; len - hdr];
            self.mem
                .read_slice(&mut frame, GuestAddress(addr.0 + hdr as u64))?;
            for _ in 1..buffers {
                let Some((_, len, addr)) = q.take_used(&self.mem)? else {
                    return Err(Error::Chain("merged frame missing a buffer"));
                };
                let len = (len as usize).min(BUF_SIZE as usize);
                let at = frame.len();
                frame.resize(at + len, 0);
                self.mem.read_slice(&mut frame[at..], addr)?;
            }
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += frame.len() as u64;
            out.push(frame);
            n += 1;
        }
        if q.post_writable(&self.mem)? > 0 {
            self.kick(0)?;
        }
        Ok(n)
    }

    /// Stops both rings (`GET_VRING_BASE`) and returns where the back end stopped.
    pub fn stop(&mut self) -> Result<[u32; 2]> {
        Ok([self.vu.get_vring_base(0)?, self.vu.get_vring_base(1)?])
    }
}

fn event() -> Result<EventFd> {
    EventFd::new(EFD_NONBLOCK).map_err(|e| Error::io("eventfd", e))
}
