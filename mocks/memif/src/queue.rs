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

use crate::burst::{Burst, Frame};
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
    /// Slave on M2S: the next filled slot to hand back (`last_tail`).
    last: u16,
    /// Receiving: slots read after the last handed back (`tail` for the master, `last`
    /// for the slave), whose frames a burst holds in place until [`Queue::release`].
    taken: u16,
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
            taken: 0,
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
        let read = self.ring.tail().load(Ordering::Relaxed);
        self.ring.head().load(Ordering::Acquire) != read.wrapping_add(self.taken)
    }

    /// Slave on M2S: whether the master filled slots not taken yet.
    pub(crate) fn slave_pending(&self) -> bool {
        self.ring.tail().load(Ordering::Acquire) != self.last.wrapping_add(self.taken)
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
        self.send_frames(master, std::iter::once(Frame::Bytes(frame)), true)
            .map(|_| ())
    }

    /// Sends frames in order until the ring is full, publishing them with one counter update
    /// and at most one kick; how many were sent. Frames that can never be sent (empty, too
    /// long) are skipped and counted as errors. A frame a burst left in its ring is copied
    /// from there.
    pub(crate) fn send_burst<'f, F: Into<Frame<'f>>>(
        &mut self,
        master: bool,
        frames: impl IntoIterator<Item = F>,
    ) -> Result<usize> {
        self.send_frames(master, frames, false)
    }

    /// `strict`: a frame that cannot be sent is an error rather than skipped or left.
    fn send_frames<'f, F: Into<Frame<'f>>>(
        &mut self,
        master: bool,
        frames: impl IntoIterator<Item = F>,
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
            let frame = frame.into();
            let placed = if master {
                self.master_place(at, room, &frame)
            } else {
                self.slave_place(at, room, &frame)
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
    fn slave_place(&mut self, at: u16, free: u16, frame: &Frame) -> Result<u16> {
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
        for i in 0..slots {
            let counter = at.wrapping_add(i as u16);
            let flags = if i + 1 < slots { DESC_FLAG_NEXT } else { 0 };
            let from = i * bsize;
            let chunk = bsize.min(frame.len() - from);
            let d = bufs.descriptor(counter, self.mask(), chunk as u32, flags);
            frame.copy_to(from, chunk, region, d.offset as u64)?;
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
        self.recv_burst(master, &mut one, 1, false)?;
        Ok(one.into_only())
    }

    /// Appends up to `max` frames to `out`, in order; how many were appended. Packets with
    /// invalid descriptors are dropped and counted.
    ///
    /// `in_place`: a frame in one descriptor stays in the ring (`out` records where) and
    /// its slot is handed back by [`Queue::release`]; a chained one is joined into `out`.
    /// Otherwise every frame is copied into `out` and the slots (with those of frames held
    /// in place before) are handed back with one counter update.
    pub(crate) fn recv_burst(
        &mut self,
        master: bool,
        out: &mut Burst,
        max: usize,
        in_place: bool,
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
        let mut at = start.wrapping_add(self.taken);
        while out.len() - before < max {
            let Some(used) = self.take_into(at, end, out, in_place)? else {
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
        self.taken = at.wrapping_sub(start);
        if !in_place {
            self.release(master)?;
        }
        Ok(out.len() - before)
    }

    /// Hands back the slots of every frame taken so far, those held in place included:
    /// after this the peer may overwrite them.
    pub(crate) fn release(&mut self, master: bool) -> Result<()> {
        if master {
            if self.taken != 0 {
                let tail = self.ring.tail().load(Ordering::Relaxed);
                self.ring
                    .tail()
                    .store(tail.wrapping_add(self.taken), Ordering::Release);
            }
            self.taken = 0;
            Ok(())
        } else {
            self.last = self.last.wrapping_add(self.taken);
            self.taken = 0;
            self.slave_refill()
        }
    }

    /// Master: writes a frame into the buffers the slave offered from slot `at` (`offered`
    /// slots there), chaining when one buffer is too small; the slots used. Nothing is
    /// published.
    fn master_place(&mut self, at: u16, offered: u16, frame: &Frame) -> Result<u16> {
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
                let region = &self.ring.regions()[d.region as usize];
                frame.copy_to(0, frame.len(), region, d.offset as u64)?;
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
            frame.copy_to(pos, chunk, region, d.offset as u64)?;
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
    /// the slots it used. An invalid packet is dropped and counted instead. `in_place`: a
    /// packet in one descriptor is left in the ring (see [`Queue::recv_burst`]).
    fn take_into(
        &mut self,
        from: u16,
        to: u16,
        out: &mut Burst,
        in_place: bool,
    ) -> Result<Option<u16>> {
        let avail = self.distance(from, to)?;
        if in_place && avail > 0 {
            let d = self.ring.desc(from);
            if d.flags & DESC_FLAG_NEXT == 0 {
                let fits = d.length > 0 && d.length as usize <= MAX_PACKET_SIZE;
                match self.check_desc(&d) {
                    Ok(()) if fits => {
                        let regions = self.ring.regions_arc();
                        out.push_in_ring(regions, d.region, d.offset as u64, d.length as usize)?;
                        self.count(d.length as usize);
                    }
                    _ => {
                        self.stats.errors += 1;
                        tracing::warn!("dropping packet with bad descriptor: {d:?}");
                    }
                }
                return Ok(Some(1));
            }
        }
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
