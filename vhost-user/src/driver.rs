//! The driver's half of a split virtqueue, as a virtio-user front end runs it in memory
//! it owns: a free list of descriptors, chains published on the available ring, used
//! entries taken back. rust-vmm's `virtio-queue` only implements the device's half (its
//! `mock` module writes rings for tests, not for traffic), so this half is written here,
//! on vm-memory's bounds-checked accessors. Entries a device returns are checked against
//! what was posted; a device that returns something else is an error, not a crash.

use std::num::Wrapping;
use std::sync::atomic::Ordering;

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::error::{Error, Result};

const DESC_F_NEXT: u16 = 1;
const DESC_F_WRITE: u16 = 2;
/// used.flags: the device does not want kicks.
const USED_F_NO_NOTIFY: u16 = 1;

/// Where a queue of `size` lives, from `base`: descriptor table, available ring, used
/// ring (page aligned, as legacy layouts want), then one buffer of `buf_size` per
/// descriptor. Returns the layout and the first byte after it.
pub fn layout(base: u64, size: u16, buf_size: u32) -> (Layout, u64) {
    let n = u64::from(size);
    let desc = base;
    let avail = desc + 16 * n;
    let used = (avail + 6 + 2 * n).next_multiple_of(4096);
    let buffers = (used + 6 + 8 * n).next_multiple_of(4096);
    let end = buffers + n * u64::from(buf_size);
    (
        Layout {
            size,
            desc,
            avail,
            used,
            buffers,
            buf_size,
        },
        end.next_multiple_of(4096),
    )
}

/// A queue's addresses in the driver's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub size: u16,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    pub buffers: u64,
    pub buf_size: u32,
}

/// The driver's state of one queue.
#[derive(Debug)]
pub struct DriverQueue {
    pub layout: Layout,
    free: Vec<u16>,
    /// Descriptors of each posted chain, by head.
    chains: Vec<Option<Vec<u16>>>,
    avail_idx: Wrapping<u16>,
    last_used: Wrapping<u16>,
}

impl DriverQueue {
    /// A queue with every descriptor free; the rings are zeroed in `mem`.
    pub fn new(mem: &GuestMemoryMmap, layout: Layout) -> Result<DriverQueue> {
        let n = usize::from(layout.size);
        mem.write_slice(&vec![0u8; 16 * n], GuestAddress(layout.desc))?;
        mem.write_slice(&vec![0u8; 6 + 2 * n], GuestAddress(layout.avail))?;
        mem.write_slice(&vec![0u8; 6 + 8 * n], GuestAddress(layout.used))?;
        Ok(DriverQueue {
            layout,
            free: (0..layout.size).rev().collect(),
            chains: vec![None; n],
            avail_idx: Wrapping(0),
            last_used: Wrapping(0),
        })
    }

    /// Descriptors not posted.
    pub fn free(&self) -> usize {
        self.free.len()
    }

    fn buffer(&self, d: u16) -> GuestAddress {
        GuestAddress(self.layout.buffers + u64::from(d) * u64::from(self.layout.buf_size))
    }

    fn write_desc(
        &self,
        mem: &GuestMemoryMmap,
        d: u16,
        len: u32,
        flags: u16,
        next: u16,
    ) -> Result<()> {
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&self.buffer(d).0.to_le_bytes());
        raw[8..12].copy_from_slice(&len.to_le_bytes());
        raw[12..14].copy_from_slice(&flags.to_le_bytes());
        raw[14..16].copy_from_slice(&next.to_le_bytes());
        mem.write_slice(&raw, GuestAddress(self.layout.desc + 16 * u64::from(d)))?;
        Ok(())
    }

    /// Posts `bytes` (a header and a frame) for the device to read, spread over `pieces`
    /// descriptors (as scatter-gather drivers do); false when not enough are free or a
    /// piece would not fit its buffer.
    pub fn post_readable(
        &mut self,
        mem: &GuestMemoryMmap,
        parts: &[&[u8]],
        pieces: usize,
    ) -> Result<bool> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let pieces = pieces.clamp(1, total.max(1));
        if self.free.len() < pieces {
            return Ok(false);
        }
        let per = total.div_ceil(pieces);
        if per > self.layout.buf_size as usize {
            return Ok(false);
        }
        let ds: Vec<u16> = (0..pieces)
            .map(|_| self.free.pop().expect("counted"))
            .collect();
        let mut bytes = parts.iter().flat_map(|p| p.iter().copied());
        let mut chunk = Vec::with_capacity(per);
        for (i, &d) in ds.iter().enumerate() {
            chunk.clear();
            chunk.extend(bytes.by_ref().take(per));
            mem.write_slice(&chunk, self.buffer(d))?;
            let (flags, next) = match ds.get(i + 1) {
                Some(&n) => (DESC_F_NEXT, n),
                None => (0, 0),
            };
            self.write_desc(mem, d, chunk.len() as u32, flags, next)?;
        }
        self.publish(mem, ds)?;
        Ok(true)
    }

    /// Posts every free descriptor as a one-buffer chain for the device to write; how
    /// many.
    pub fn post_writable(&mut self, mem: &GuestMemoryMmap) -> Result<usize> {
        let mut n = 0;
        while let Some(d) = self.free.pop() {
            self.write_desc(mem, d, self.layout.buf_size, DESC_F_WRITE, 0)?;
            self.publish(mem, vec![d])?;
            n += 1;
        }
        Ok(n)
    }

    fn publish(&mut self, mem: &GuestMemoryMmap, chain: Vec<u16>) -> Result<()> {
        let head = chain[0];
        let slot = u64::from(self.avail_idx.0 % self.layout.size);
        mem.write_obj(head.to_le(), GuestAddress(self.layout.avail + 4 + 2 * slot))?;
        self.chains[usize::from(head)] = Some(chain);
        self.avail_idx += 1;
        // The entry is visible before the index that announces it.
        mem.store(
            self.avail_idx.0.to_le(),
            GuestAddress(self.layout.avail + 2),
            Ordering::Release,
        )?;
        Ok(())
    }

    /// Whether the device asked not to be kicked.
    pub fn kick_wanted(&self, mem: &GuestMemoryMmap) -> Result<bool> {
        let flags: u16 = mem.load(GuestAddress(self.layout.used), Ordering::Acquire)?;
        Ok(u16::from_le(flags) & USED_F_NO_NOTIFY == 0)
    }

    /// The next used entry: (head, bytes written, the head's buffer), its descriptors
    /// freed; `None` when the device has returned nothing new.
    pub fn take_used(&mut self, mem: &GuestMemoryMmap) -> Result<Option<(u16, u32, GuestAddress)>> {
        let idx: u16 = mem.load(GuestAddress(self.layout.used + 2), Ordering::Acquire)?;
        let idx = Wrapping(u16::from_le(idx));
        if idx == self.last_used {
            return Ok(None);
        }
        if (idx - self.last_used).0 > self.layout.size {
            return Err(Error::Chain("used index ahead of the ring"));
        }
        let slot = u64::from(self.last_used.0 % self.layout.size);
        let mut raw = [0u8; 8];
        mem.read_slice(&mut raw, GuestAddress(self.layout.used + 4 + 8 * slot))?;
        let id = u32::from_le_bytes(raw[..4].try_into().expect("4"));
        let len = u32::from_le_bytes(raw[4..].try_into().expect("4"));
        let chain = usize::try_from(id)
            .ok()
            .and_then(|i| self.chains.get_mut(i))
            .and_then(Option::take)
            .ok_or(Error::Chain("used entry for a chain not posted"))?;
        self.last_used += 1;
        let head = chain[0];
        self.free.extend(chain);
        Ok(Some((head, len, self.buffer(head))))
    }
}
