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

use crate::burst::Burst;
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

    /// Slave transmit on an S2M ring.
    #[cfg(test)]
    pub(crate) fn slave_send(&mut self, frame: &[u8]) -> Result<()> {
        self.send(false, frame)
    }

    /// Master transmit on an M2S ring.
    #[cfg(test)]
    pub(crate) fn master_send(&mut self, frame: &[u8]) -> Result<()> {
        self.send(true, frame)
    }

    /// Slave receive on an M2S ring (then the slots are offered again).
    #[cfg(test)]
    pub(crate) fn slave_recv(&mut self) -> Result<Option<Vec<u8>>> {
        self.recv(false)
    }

    /// Master receive on an S2M ring.
    #[cfg(test)]
    pub(crate) fn master_recv(&mut self) -> Result<Option<Vec<u8>>> {
        self.recv(true)
    }

    /// Sends one frame: [`Error::RingFull`] when there is no room, [`Error::BadFrame`] when
    /// it can never be sent.
    pub(crate) fn send(&mut self, master: bool, frame: &[u8]) -> Result<()> {
        self.send_frames(master, std::iter::once(frame), true)
            .map(|_| ())
    }

    /// Sends frames in order until the ring is full, publishing them with one counter update
    /// and at most one kick; how many were sent. Frames that can never be sent (empty, too
    /// long) are skipped and counted as errors.
    pub(crate) fn send_burst<'f>(
        &mut self,
        master: bool,
        frames: impl IntoIterator<Item = &'f [u8]>,
    ) -> Result<usize> {
        self.send_frames(master, frames, false)
    }

    /// `strict`: a frame that cannot be sent is an error rather than skipped or left.
    fn send_frames<'f>(
        &mut self,
        master: bool,
        frames: impl IntoIterator<Item = &'f [u8]>,
        strict: bool,
    ) -> Result<usize> {
        // The master fills the slots the slave offered (tail..head) and publishes `tail`; the
        // slave fills its free slots (head..tail + size) and publishes `head`.
        let (start, mut room) = if master {
            let head = self.ring.head().load(Ordering::Acquire);
            let tail = self.ring.tail().load(Ordering::Relaxed);
            (tail, self.distance(tail, head)?)
        } else {
            let head = self.ring.head().load(Ordering::Relaxed);
            let tail = self.ring.tail().load(Ordering::Acquire);
            (head, self.ring.size() - self.distance(tail, head)?)
        };
        let mut at = start;
        let mut sent = 0;
        let mut result = Ok(());
        for frame in frames {
            let placed = if master {
                self.master_place(at, room, frame)
            } else {
                self.slave_place(at, room, frame)
            };
            match placed {
                Ok(used) => {
                    at = at.wrapping_add(used);
                    room -= used;
                    sent += 1;
                    self.count(frame.len());
                }
                Err(Error::BadFrame(_)) if !strict => self.stats.errors += 1,
                Err(e) => {
                    if matches!(e, Error::RingFull) {
                        self.stats.full += 1;
                    }
                    if strict || !matches!(e, Error::RingFull) {
                        result = Err(e);
                    }
                    break;
                }
            }
        }
        if at != start {
            let counter = if master {
                self.ring.tail()
            } else {
                self.ring.head()
            };
            counter.store(at, Ordering::Release);
            self.kick()?;
        }
        result.map(|()| sent)
    }

    /// Slave: writes a frame into its own buffers from slot `at` (`free` slots there), one slot
    /// per `buffer_size` bytes chained with NEXT; the slots used. Nothing is published.
    fn slave_place(&mut self, at: u16, free: u16, frame: &[u8]) -> Result<u16> {
        let bufs = self.buffers.expect("slave queue has buffers");
        let bsize = bufs.layout.buffer_size as usize;
        let slots = frame.len().div_ceil(bsize);
        if frame.is_empty() || slots > self.ring.size() as usize || frame.len() > MAX_PACKET_SIZE {
            return Err(Error::BadFrame(frame.len()));
        }
        if slots > free as usize {
            return Err(Error::RingFull);
        }
        let region = &self.ring.regions()[0];
        for (i, chunk) in frame.chunks(bsize).enumerate() {
            let counter = at.wrapping_add(i as u16);
            let flags = if i + 1 < slots { DESC_FLAG_NEXT } else { 0 };
            let d = bufs.descriptor(counter, self.mask(), chunk.len() as u32, flags);
            region.write(d.offset as u64, chunk)?;
            self.ring.set_desc(counter, d);
        }
        Ok(slots as u16)
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

    /// Takes one frame, `None` when the ring is empty.
    #[cfg(test)]
    pub(crate) fn recv(&mut self, master: bool) -> Result<Option<Vec<u8>>> {
        let mut one = Burst::default();
        self.recv_burst(master, &mut one, 1)?;
        Ok(one.into_only())
    }

    /// Appends up to `max` frames to `out` (joining chains), handing their slots back with
    /// one counter update; how many were appended. Packets with invalid descriptors are
    /// dropped and counted.
    pub(crate) fn recv_burst(
        &mut self,
        master: bool,
        out: &mut Burst,
        max: usize,
    ) -> Result<usize> {
        let before = out.len();
        // The master consumes what the slave published (tail..head) and returns the slots by
        // advancing `tail`; the slave consumes what the master filled (last..tail), then
        // offers the slots again by advancing `head`.
        let (start, end) = if master {
            let head = self.ring.head().load(Ordering::Acquire);
            (self.ring.tail().load(Ordering::Relaxed), head)
        } else {
            (self.last, self.ring.tail().load(Ordering::Acquire))
        };
        let mut at = start;
        while out.len() - before < max {
            let Some(used) = self.take_into(at, end, out)? else {
                break;
            };
            if master {
                // Clear stale NEXT flags before handing slots back (protects against
                // producers that only set, never clear, the flag).
                for i in 0..used {
                    let c = at.wrapping_add(i);
                    let mut d = self.ring.desc(c);
                    if d.flags != 0 {
                        d.flags = 0;
                        self.ring.set_desc(c, d);
                    }
                }
            }
            at = at.wrapping_add(used);
        }
        if master {
            if at != start {
                self.ring.tail().store(at, Ordering::Release);
            }
        } else {
            self.last = at;
            self.slave_refill()?;
        }
        Ok(out.len() - before)
    }

    /// Master: writes a frame into the buffers the slave offered from slot `at` (`offered`
    /// slots there), chaining when one buffer is too small; the slots used. Nothing is
    /// published.
    fn master_place(&mut self, at: u16, offered: u16, frame: &[u8]) -> Result<u16> {
        if frame.is_empty() || frame.len() > MAX_PACKET_SIZE {
            return Err(Error::BadFrame(frame.len()));
        }
        // The common case: the frame fits the first offered buffer.
        if offered > 0 {
            let d = self.ring.desc(at);
            if frame.len() <= d.length as usize {
                if let Err(e) = self.check_desc(&d) {
                    self.stats.errors += 1;
                    return Err(e);
                }
                self.ring.regions()[d.region as usize].write(d.offset as u64, frame)?;
                self.ring.set_desc(
                    at,
                    Descriptor {
                        flags: 0,
                        length: frame.len() as u32,
                        metadata: 0,
                        ..d
                    },
                );
                return Ok(1);
            }
        }
        // Plan first: a frame that does not fit must leave the offered slots untouched.
        let mut plan: Vec<(Descriptor, usize)> = Vec::new();
        let mut remaining = frame.len();
        for i in 0..offered {
            if remaining == 0 {
                break;
            }
            let d = self.ring.desc(at.wrapping_add(i));
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
                at.wrapping_add(i as u16),
                Descriptor {
                    flags,
                    length: chunk as u32,
                    metadata: 0,
                    ..d
                },
            );
        }
        Ok(last as u16 + 1)
    }

    fn check_desc(&self, d: &Descriptor) -> Result<()> {
        let region = self
            .ring
            .regions()
            .get(d.region as usize)
            .ok_or_else(|| Error::BadDescriptor(format!("unknown region {}", d.region)))?;
        region.range(d.offset as u64, d.length as u64).map(|_| ())
    }

    /// Appends the packet starting at `from` to `out` if a complete one lies before `to`;
    /// the slots it used. An invalid packet is dropped and counted instead.
    fn take_into(&mut self, from: u16, to: u16, out: &mut Burst) -> Result<Option<u16>> {
        let avail = self.distance(from, to)?;
        let mut bad: Option<Error> = None;
        let mut used = 0;
        loop {
            if used == avail {
                if avail < self.ring.size() {
                    out.discard();
                    return Ok(None); // the rest of the chain is not published yet
                }
                bad.get_or_insert(Error::BadDescriptor("chain never ends".into()));
                break;
            }
            let d = self.ring.desc(from.wrapping_add(used));
            used += 1;
            if bad.is_none() {
                if let Err(e) = self.read_desc(&d, out) {
                    bad = Some(e);
                }
            }
            if d.flags & DESC_FLAG_NEXT == 0 {
                break;
            }
        }
        if bad.is_none() && out.pending_len() == 0 {
            bad = Some(Error::BadDescriptor("empty packet".into()));
        }
        match bad {
            None => {
                self.count(out.pending_len());
                out.commit();
            }
            Some(e) => {
                out.discard();
                self.stats.errors += 1;
                tracing::warn!(error = %e, "dropping packet with bad descriptor");
            }
        }
        Ok(Some(used))
    }

    fn read_desc(&self, d: &Descriptor, out: &mut Burst) -> Result<()> {
        self.check_desc(d)?;
        if out.pending_len() + d.length as usize > MAX_PACKET_SIZE {
            return Err(Error::BadDescriptor("packet too large".into()));
        }
        self.ring.regions()[d.region as usize].read_into(
            d.offset as u64,
            d.length as usize,
            out.pending(),
        )
    }

    fn count(&mut self, bytes: usize) {
        self.stats.packets += 1;
        self.stats.bytes += bytes as u64;
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
