//! Moving packets through one ring, for each of the four (role, direction) combinations.
//!
//! | ring | slave | master |
//! |---|---|---|
//! | S2M | [`Queue::slave_send`]: fills its own buffers, advances `head`, kicks | [`Queue::master_recv`]: copies out, advances `tail` |
//! | M2S | [`Queue::slave_recv`] + [`Queue::slave_refill`]: copies out, offers empty buffers by advancing `head` | [`Queue::master_send`]: copies into offered buffers, advances `tail`, kicks |
//!
//! The master never allocates: it only uses buffers the slave's descriptors point at, and it
//! validates every descriptor against the regions before touching memory.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::eventfd::EventFd;
use crate::ring::{CopyLayout, Descriptor, Direction, Ring, DESC_FLAG_NEXT, RING_FLAG_MASK_INT};

/// Largest packet a chain may add up to; a guard against a peer chaining the whole ring of
/// huge descriptors.
pub const MAX_PACKET_SIZE: usize = 256 * 1024;

/// Traffic counters of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Packets moved.
    pub packets: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// Packets dropped because their descriptors were invalid.
    pub errors: u64,
    /// Sends refused because the ring had no room.
    pub full: u64,
}

/// Where a slave's fixed copy-mode buffers for this ring are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlaveBuffers {
    pub layout: CopyLayout,
    pub direction: Direction,
    pub index: u16,
}

impl SlaveBuffers {
    fn descriptor(&self, counter: u16, mask: u16, length: u32, flags: u16) -> Descriptor {
        let offset = self
            .layout
            .buffer_offset(self.direction, self.index, counter & mask);
        Descriptor {
            flags,
            region: 0,
            length,
            offset: offset as u32,
            metadata: 0,
        }
    }
}

/// One ring plus its interrupt eventfd and the private state of this end.
#[derive(Debug)]
pub(crate) struct Queue {
    ring: Ring,
    interrupt: EventFd,
    /// Slave on M2S: the next filled slot to consume (`last_tail`).
    last: u16,
    /// Slave only: its fixed buffers.
    buffers: Option<SlaveBuffers>,
    stats: QueueStats,
}

impl Queue {
    pub(crate) fn new(ring: Ring, interrupt: EventFd, buffers: Option<SlaveBuffers>) -> Queue {
        let last = ring.tail().load(Ordering::Acquire);
        Queue {
            ring,
            interrupt,
            last,
            buffers,
            stats: QueueStats::default(),
        }
    }

    pub(crate) fn stats(&self) -> QueueStats {
        self.stats
    }

    pub(crate) fn ring(&self) -> &Ring {
        &self.ring
    }

    pub(crate) fn interrupt(&self) -> &EventFd {
        &self.interrupt
    }

    pub(crate) fn interrupt_fd(&self) -> BorrowedFd<'_> {
        self.interrupt.as_fd()
    }

    /// As the consumer of this ring: ask the producer to signal (`false`) or not (`true`).
    pub(crate) fn mask_interrupts(&self, masked: bool) {
        if masked {
            self.ring
                .flags()
                .fetch_or(RING_FLAG_MASK_INT, Ordering::AcqRel);
        } else {
            self.ring
                .flags()
                .fetch_and(!RING_FLAG_MASK_INT, Ordering::AcqRel);
        }
    }

    /// Master on S2M: whether the slave published slots not taken yet.
    pub(crate) fn master_pending(&self) -> bool {
        self.ring.head().load(Ordering::Acquire) != self.ring.tail().load(Ordering::Relaxed)
    }

    /// Slave on M2S: whether the master filled slots not taken yet.
    pub(crate) fn slave_pending(&self) -> bool {
        self.ring.tail().load(Ordering::Acquire) != self.last
    }

    /// As the producer: signal the consumer unless it masked interrupts.
    fn kick(&self) -> Result<()> {
        if self.ring.flags().load(Ordering::Acquire) & RING_FLAG_MASK_INT == 0 {
            self.interrupt.signal()?;
        }
        Ok(())
    }

    fn mask(&self) -> u16 {
        self.ring.size() - 1
    }

    /// Distance `to - from` in slots, refusing values a sane peer cannot produce.
    fn distance(&self, from: u16, to: u16) -> Result<u16> {
        let d = to.wrapping_sub(from);
        if d > self.ring.size() {
            return Err(Error::Protocol(format!(
                "ring counters {from}..{to} exceed ring size {}",
                self.ring.size()
            )));
        }
        Ok(d)
    }

    /// Slave transmit on an S2M ring: one slot per `buffer_size` bytes, chained with NEXT.
    pub(crate) fn slave_send(&mut self, frame: &[u8]) -> Result<()> {
        let bufs = self.buffers.expect("slave queue has buffers");
        let bsize = bufs.layout.buffer_size as usize;
        let n = self.ring.size();
        let slots = frame.len().div_ceil(bsize);
        if frame.is_empty() || slots > n as usize || frame.len() > MAX_PACKET_SIZE {
            return Err(Error::BadFrame(frame.len()));
        }
        let head = self.ring.head().load(Ordering::Relaxed);
        let tail = self.ring.tail().load(Ordering::Acquire);
        let free = n - self.distance(tail, head)?;
        if slots > free as usize {
            self.stats.full += 1;
            return Err(Error::RingFull);
        }
        let region = &self.ring.regions()[0];
        for (i, chunk) in frame.chunks(bsize).enumerate() {
            let counter = head.wrapping_add(i as u16);
            let flags = if i + 1 < slots { DESC_FLAG_NEXT } else { 0 };
            let d = bufs.descriptor(counter, self.mask(), chunk.len() as u32, flags);
            region.write(d.offset as u64, chunk)?;
            self.ring.set_desc(counter, d);
        }
        self.ring
            .head()
            .store(head.wrapping_add(slots as u16), Ordering::Release);
        self.count(frame.len());
        self.kick()
    }

    /// Slave offering empty buffers on an M2S ring: every slot it owns goes back to the master.
    pub(crate) fn slave_refill(&mut self) -> Result<()> {
        let bufs = self.buffers.expect("slave queue has buffers");
        let head = self.ring.head().load(Ordering::Relaxed);
        let offer = self.ring.size() - self.distance(self.last, head)?;
        for i in 0..offer {
            let counter = head.wrapping_add(i);
            let d = bufs.descriptor(counter, self.mask(), bufs.layout.buffer_size, 0);
            self.ring.set_desc(counter, d);
        }
        if offer > 0 {
            self.ring
                .head()
                .store(head.wrapping_add(offer), Ordering::Release);
        }
        Ok(())
    }

    /// Slave receive on an M2S ring: one packet (joining chains), then a refill.
    pub(crate) fn slave_recv(&mut self) -> Result<Option<Vec<u8>>> {
        let result = loop {
            let tail = self.ring.tail().load(Ordering::Acquire);
            match self.take_packet(self.last, tail)? {
                None => break None,
                Some((packet, used)) => {
                    self.last = self.last.wrapping_add(used);
                    if let Some(p) = self.accept(packet) {
                        break Some(p);
                    }
                }
            }
        };
        self.slave_refill()?;
        Ok(result)
    }

    /// Master receive on an S2M ring: one packet, then the slots go back by advancing `tail`.
    pub(crate) fn master_recv(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let head = self.ring.head().load(Ordering::Acquire);
            let tail = self.ring.tail().load(Ordering::Relaxed);
            let Some((packet, used)) = self.take_packet(tail, head)? else {
                return Ok(None);
            };
            // Clear stale NEXT flags before handing slots back (protects against producers that
            // only set, never clear, the flag).
            for i in 0..used {
                let c = tail.wrapping_add(i);
                let mut d = self.ring.desc(c);
                if d.flags != 0 {
                    d.flags = 0;
                    self.ring.set_desc(c, d);
                }
            }
            self.ring
                .tail()
                .store(tail.wrapping_add(used), Ordering::Release);
            if let Some(p) = self.accept(packet) {
                return Ok(Some(p));
            }
        }
    }

    /// Master transmit on an M2S ring: fills the buffers the slave offered, chaining when one
    /// buffer is too small.
    pub(crate) fn master_send(&mut self, frame: &[u8]) -> Result<()> {
        if frame.is_empty() || frame.len() > MAX_PACKET_SIZE {
            return Err(Error::BadFrame(frame.len()));
        }
        let head = self.ring.head().load(Ordering::Acquire);
        let tail = self.ring.tail().load(Ordering::Relaxed);
        let offered = self.distance(tail, head)?;
        // The common case: the frame fits the first offered buffer.
        if offered > 0 {
            let d = self.ring.desc(tail);
            if frame.len() <= d.length as usize {
                if let Err(e) = self.check_desc(&d) {
                    self.stats.errors += 1;
                    return Err(e);
                }
                self.ring.regions()[d.region as usize].write(d.offset as u64, frame)?;
                self.ring.set_desc(
                    tail,
                    Descriptor {
                        flags: 0,
                        length: frame.len() as u32,
                        metadata: 0,
                        ..d
                    },
                );
                self.ring
                    .tail()
                    .store(tail.wrapping_add(1), Ordering::Release);
                self.count(frame.len());
                return self.kick();
            }
        }
        // Plan first: a frame that does not fit must leave the offered slots untouched.
        let mut plan: Vec<(Descriptor, usize)> = Vec::new();
        let mut remaining = frame.len();
        for i in 0..offered {
            if remaining == 0 {
                break;
            }
            let d = self.ring.desc(tail.wrapping_add(i));
            if let Err(e) = self.check_desc(&d) {
                self.stats.errors += 1;
                return Err(e);
            }
            let chunk = remaining.min(d.length as usize);
            plan.push((d, chunk));
            remaining -= chunk;
        }
        if remaining > 0 {
            if offered == self.ring.size() {
                return Err(Error::BadFrame(frame.len()));
            }
            self.stats.full += 1;
            return Err(Error::RingFull);
        }
        let mut pos = 0;
        let last = plan.len() - 1;
        for (i, (d, chunk)) in plan.into_iter().enumerate() {
            let region = &self.ring.regions()[d.region as usize];
            region.write(d.offset as u64, &frame[pos..pos + chunk])?;
            pos += chunk;
            let flags = if i < last { DESC_FLAG_NEXT } else { 0 };
            self.ring.set_desc(
                tail.wrapping_add(i as u16),
                Descriptor {
                    flags,
                    length: chunk as u32,
                    metadata: 0,
                    ..d
                },
            );
        }
        self.ring
            .tail()
            .store(tail.wrapping_add(last as u16 + 1), Ordering::Release);
        self.count(frame.len());
        self.kick()
    }

    fn check_desc(&self, d: &Descriptor) -> Result<()> {
        let region = self
            .ring
            .regions()
            .get(d.region as usize)
            .ok_or_else(|| Error::BadDescriptor(format!("unknown region {}", d.region)))?;
        region.range(d.offset as u64, d.length as u64).map(|_| ())
    }

    /// Collects the packet starting at `from` if a complete one lies before `to`. Returns the
    /// packet (or why it is invalid) and the number of slots it used.
    fn take_packet(&mut self, from: u16, to: u16) -> Result<Option<(Result<Vec<u8>>, u16)>> {
        let avail = self.distance(from, to)?;
        let mut out = Vec::new();
        let mut bad: Option<Error> = None;
        let mut used = 0;
        loop {
            if used == avail {
                if avail < self.ring.size() {
                    return Ok(None); // the rest of the chain is not published yet
                }
                bad.get_or_insert(Error::BadDescriptor("chain never ends".into()));
                break;
            }
            let d = self.ring.desc(from.wrapping_add(used));
            used += 1;
            if bad.is_none() {
                if let Err(e) = self.read_desc(&d, &mut out) {
                    bad = Some(e);
                }
            }
            if d.flags & DESC_FLAG_NEXT == 0 {
                break;
            }
        }
        if bad.is_none() && out.is_empty() {
            bad = Some(Error::BadDescriptor("empty packet".into()));
        }
        Ok(Some((bad.map_or(Ok(out), Err), used)))
    }

    fn read_desc(&self, d: &Descriptor, out: &mut Vec<u8>) -> Result<()> {
        self.check_desc(d)?;
        if out.len() + d.length as usize > MAX_PACKET_SIZE {
            return Err(Error::BadDescriptor("packet too large".into()));
        }
        self.ring.regions()[d.region as usize].read_into(d.offset as u64, d.length as usize, out)
    }

    /// Counts a received packet, or drops and counts an invalid one.
    fn accept(&mut self, packet: Result<Vec<u8>>) -> Option<Vec<u8>> {
        match packet {
            Ok(p) => {
                self.count(p.len());
                Some(p)
            }
            Err(e) => {
                self.stats.errors += 1;
                tracing::warn!(error = %e, "dropping packet with bad descriptor");
                None
            }
        }
    }

    fn count(&mut self, bytes: usize) {
        self.stats.packets += 1;
        self.stats.bytes += bytes as u64;
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
