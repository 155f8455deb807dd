//! Ring layout in shared memory: a 128-byte header (cookie, flags, head on the first cache line,
//! tail on the second) followed by `1 << log2` descriptors of 16 bytes.
//!
//! `head` and `tail` are free-running `u16` counters accessed only through single atomic 16-bit
//! loads/stores (a peer polling them must never observe a half-written value). On both rings the
//! slave is the only writer of `head` and the master the only writer of `tail`.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::region::Region;

/// Marks a valid ring header.
pub const COOKIE: u32 = 0x3E31F20;
/// Size of the ring header (two 64-byte cache lines).
pub const RING_HEADER_SIZE: usize = 128;
/// Size of one descriptor.
pub const DESCRIPTOR_SIZE: usize = 16;
/// Largest log2 ring size any implementation accepts.
pub const MAX_LOG2_RING_SIZE: u8 = 14;
/// Ring flag owned by the consumer: set means "I poll, do not signal me".
pub const RING_FLAG_MASK_INT: u16 = 1;
/// Descriptor flag: the packet continues in the next slot.
pub const DESC_FLAG_NEXT: u16 = 1;

const OFF_COOKIE: usize = 0;
const OFF_FLAGS: usize = 4;
const OFF_HEAD: usize = 6;
const OFF_TAIL: usize = 64;

/// Which way a ring carries packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Slave to master (DPDK: client to server, C2S). Ring type 0.
    S2M,
    /// Master to slave (DPDK: S2C). Ring type 1.
    M2S,
}

/// One ring slot as laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Descriptor {
    /// [`DESC_FLAG_NEXT`] when the packet continues in the next slot.
    pub flags: u16,
    /// Region holding the buffer.
    pub region: u16,
    /// Bytes of data; on an offered M2S slot, the room available.
    pub length: u32,
    /// Byte offset of the buffer in its region.
    pub offset: u32,
    /// Unused by every implementation; kept 0.
    pub metadata: u32,
}

impl Descriptor {
    fn to_bytes(self) -> [u8; DESCRIPTOR_SIZE] {
        let mut b = [0u8; DESCRIPTOR_SIZE];
        b[0..2].copy_from_slice(&self.flags.to_ne_bytes());
        b[2..4].copy_from_slice(&self.region.to_ne_bytes());
        b[4..8].copy_from_slice(&self.length.to_ne_bytes());
        b[8..12].copy_from_slice(&self.offset.to_ne_bytes());
        b[12..16].copy_from_slice(&self.metadata.to_ne_bytes());
        b
    }

    fn from_bytes(b: [u8; DESCRIPTOR_SIZE]) -> Descriptor {
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        Descriptor {
            flags: u16_at(0),
            region: u16_at(2),
            length: u32_at(4),
            offset: u32_at(8),
            metadata: u32_at(12),
        }
    }
}

/// Bytes taken by a ring of `1 << log2` slots, header included.
pub fn ring_block_size(log2: u8) -> usize {
    RING_HEADER_SIZE + (DESCRIPTOR_SIZE << log2)
}

/// A view of one ring inside a mapped region; keeps the regions mapped while it lives.
#[derive(Debug)]
pub(crate) struct Ring {
    regions: Arc<Vec<Region>>,
    base: *mut u8,
    log2: u8,
}

// SAFETY: `base` points into a mapping kept alive by `regions`; every access is atomic or a
// bounds-checked raw copy.
unsafe impl Send for Ring {}

impl Ring {
    /// Locates the ring at `offset` in region `region`, checking that it fits and that the
    /// counters are 2-byte aligned (so they can be accessed atomically).
    pub(crate) fn new(
        regions: Arc<Vec<Region>>,
        region: u16,
        offset: u64,
        log2: u8,
    ) -> Result<Ring> {
        if log2 > MAX_LOG2_RING_SIZE {
            return Err(Error::Protocol(format!("log2 ring size {log2} too large")));
        }
        if offset & 1 != 0 {
            return Err(Error::Protocol(format!(
                "ring offset {offset} is not aligned"
            )));
        }
        let r = regions
            .get(region as usize)
            .ok_or_else(|| Error::Protocol(format!("ring in unknown region {region}")))?;
        let base = r.range(offset, ring_block_size(log2) as u64).map_err(|_| {
            Error::Protocol(format!("ring at {offset} does not fit region {region}"))
        })?;
        Ok(Ring {
            regions,
            base,
            log2,
        })
    }

    /// The regions a descriptor's `region` field indexes.
    pub(crate) fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The same, shared: what a burst holding frames in place keeps mapped.
    pub(crate) fn regions_arc(&self) -> &Arc<Vec<Region>> {
        &self.regions
    }

    pub(crate) fn log2(&self) -> u8 {
        self.log2
    }

    /// Number of slots.
    pub(crate) fn size(&self) -> u16 {
        1u16 << self.log2
    }

    fn counter(&self, off: usize) -> &AtomicU16 {
        // SAFETY: base+off lies inside the header (checked in `new`), is 2-byte aligned, and the
        // memory is only ever accessed atomically at this address.
        unsafe { AtomicU16::from_ptr(self.base.add(off).cast()) }
    }

    pub(crate) fn head(&self) -> &AtomicU16 {
        self.counter(OFF_HEAD)
    }

    pub(crate) fn tail(&self) -> &AtomicU16 {
        self.counter(OFF_TAIL)
    }

    pub(crate) fn flags(&self) -> &AtomicU16 {
        self.counter(OFF_FLAGS)
    }

    pub(crate) fn cookie(&self) -> u32 {
        // SAFETY: the header is inside the mapping; unaligned volatile read of 4 bytes.
        let b: [u8; 4] = unsafe { std::ptr::read_volatile(self.base.add(OFF_COOKIE).cast()) };
        u32::from_ne_bytes(b)
    }

    fn desc_ptr(&self, counter: u16) -> *mut [u8; DESCRIPTOR_SIZE] {
        let slot = (counter & (self.size() - 1)) as usize;
        // SAFETY: slot < size, so the descriptor lies inside the ring block checked in `new`.
        unsafe {
            self.base
                .add(RING_HEADER_SIZE + slot * DESCRIPTOR_SIZE)
                .cast()
        }
    }

    /// Reads the descriptor addressed by a free-running counter.
    pub(crate) fn desc(&self, counter: u16) -> Descriptor {
        // SAFETY: see desc_ptr; [u8; 16] has alignment 1.
        Descriptor::from_bytes(unsafe { std::ptr::read_volatile(self.desc_ptr(counter)) })
    }

    /// Writes the descriptor addressed by a free-running counter.
    pub(crate) fn set_desc(&self, counter: u16, d: Descriptor) {
        // SAFETY: see desc_ptr.
        unsafe { std::ptr::write_volatile(self.desc_ptr(counter), d.to_bytes()) }
    }

    /// Writes a fresh header (cookie, zero counters and flags, zero descriptors). Only for the
    /// slave, before the ring is announced to the peer.
    pub(crate) fn init(&self) {
        // SAFETY: the cookie lies inside the header; nobody else sees the ring yet.
        unsafe {
            std::ptr::write_volatile(self.base.add(OFF_COOKIE).cast(), COOKIE.to_ne_bytes());
        }
        self.flags().store(0, Ordering::Relaxed);
        self.head().store(0, Ordering::Relaxed);
        self.tail().store(0, Ordering::Release);
        for c in 0..self.size() {
            self.set_desc(c, Descriptor::default());
        }
    }
}

/// The copy-mode layout a slave creates (same as VPP and DPDK): one region holding all S2M ring
/// blocks, then all M2S ring blocks, then one buffer per slot of every ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CopyLayout {
    pub n_s2m: u16,
    pub n_m2s: u16,
    pub log2: u8,
    pub buffer_size: u32,
}

impl CopyLayout {
    fn ring_number(&self, dir: Direction, index: u16) -> u64 {
        match dir {
            Direction::S2M => index as u64,
            Direction::M2S => self.n_s2m as u64 + index as u64,
        }
    }

    /// Offset of a ring header in region 0.
    pub(crate) fn ring_offset(&self, dir: Direction, index: u16) -> u64 {
        self.ring_number(dir, index) * ring_block_size(self.log2) as u64
    }

    /// Offset of the fixed buffer of a ring slot in region 0.
    pub(crate) fn buffer_offset(&self, dir: Direction, index: u16, slot: u16) -> u64 {
        let rings = (self.n_s2m as u64 + self.n_m2s as u64) * ring_block_size(self.log2) as u64;
        let slots_before = self.ring_number(dir, index) << self.log2;
        rings + (slots_before + slot as u64) * self.buffer_size as u64
    }

    /// Total size of region 0.
    pub(crate) fn region_size(&self) -> u64 {
        let rings = self.n_s2m as u64 + self.n_m2s as u64;
        rings * (ring_block_size(self.log2) as u64 + ((self.buffer_size as u64) << self.log2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn worked_example_matches_dpdk_and_vpp_defaults() {
        let l = CopyLayout {
            n_s2m: 1,
            n_m2s: 1,
            log2: 10,
            buffer_size: 2048,
        };
        assert_eq!(l.ring_offset(Direction::S2M, 0), 0);
        assert_eq!(l.ring_offset(Direction::M2S, 0), 16_512);
        assert_eq!(l.buffer_offset(Direction::S2M, 0, 0), 33_024);
        assert_eq!(l.buffer_offset(Direction::M2S, 0, 0), 2_130_176);
        assert_eq!(l.region_size(), 4_227_328);
    }

    #[rstest]
    #[case(2, 3, 4, 64)]
    #[case(1, 1, 0, 128)]
    #[case(3, 1, 6, 2048)]
    fn last_buffer_ends_at_region_end(
        #[case] n_s2m: u16,
        #[case] n_m2s: u16,
        #[case] log2: u8,
        #[case] buffer_size: u32,
    ) {
        let l = CopyLayout {
            n_s2m,
            n_m2s,
            log2,
            buffer_size,
        };
        let last_slot = (1u16 << log2) - 1;
        let end = l.buffer_offset(Direction::M2S, n_m2s - 1, last_slot) + buffer_size as u64;
        assert_eq!(end, l.region_size());
        let first_buffer = l.buffer_offset(Direction::S2M, 0, 0);
        let last_ring_end = l.ring_offset(Direction::M2S, n_m2s - 1) + ring_block_size(log2) as u64;
        assert_eq!(first_buffer, last_ring_end);
    }

    fn ring_in_fresh_region(log2: u8) -> Ring {
        let r = Region::create("ring", ring_block_size(log2)).unwrap();
        let ring = Ring::new(Arc::new(vec![r]), 0, 0, log2).unwrap();
        ring.init();
        ring
    }

    #[test]
    fn header_fields_sit_at_their_offsets() {
        let ring = ring_in_fresh_region(2);
        ring.head().store(0x1234, Ordering::Release);
        ring.tail().store(0x5678, Ordering::Release);
        ring.flags().store(RING_FLAG_MASK_INT, Ordering::Release);
        ring.set_desc(
            5,
            Descriptor {
                flags: DESC_FLAG_NEXT,
                region: 2,
                length: 3,
                offset: 4,
                metadata: 0,
            },
        );
        let mut raw = Vec::new();
        ring.regions()[0]
            .read_into(0, ring_block_size(2), &mut raw)
            .unwrap();
        assert_eq!(u32::from_le_bytes(raw[0..4].try_into().unwrap()), COOKIE);
        assert_eq!(u16::from_le_bytes([raw[4], raw[5]]), 1);
        assert_eq!(u16::from_le_bytes([raw[6], raw[7]]), 0x1234);
        assert_eq!(u16::from_le_bytes([raw[64], raw[65]]), 0x5678);
        // counter 5 addresses slot 5 & 3 = 1
        let d = &raw[RING_HEADER_SIZE + DESCRIPTOR_SIZE..RING_HEADER_SIZE + 2 * DESCRIPTOR_SIZE];
        assert_eq!(d, &[1, 0, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(ring.desc(1).region, 2);
    }

    #[rstest]
    #[case::odd_offset(1, 1, 4096)]
    #[case::does_not_fit(4096 - 100, 2, 4096)]
    #[case::too_big(0, 15, 1 << 20)]
    fn bad_ring_placement_is_refused(#[case] offset: u64, #[case] log2: u8, #[case] size: usize) {
        let r = Region::create("ring", size).unwrap();
        assert!(Ring::new(Arc::new(vec![r]), 0, offset, log2).is_err());
    }

    #[test]
    fn unknown_region_is_refused() {
        let r = Region::create("ring", 4096).unwrap();
        assert!(Ring::new(Arc::new(vec![r]), 1, 0, 2).is_err());
    }
}
