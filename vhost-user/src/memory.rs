//! The back end's view of the front end's memory: the regions of a `SET_MEM_TABLE`
//! mapped with vm-memory (every later access is bounds-checked against them), and the
//! translation of the front end's own addresses (ring addresses are sent as such) to the
//! guest addresses descriptors use.
//!
//! A region is only mapped when its file is at least as long as the region claims: a
//! mapping past the end of a file would raise SIGBUS on first touch instead of an error.

use std::fs::File;

use vhost::vhost_user::message::VhostUserMemoryRegion;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryMmap, GuestRegionMmap};

use crate::error::{Error, Result};

/// Largest region accepted (VPP and DPDK map hugepage-backed guests of a few GiB).
const MAX_REGION: u64 = 1 << 40;

/// One region as the front end described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub guest: u64,
    pub user: u64,
    pub size: u64,
    pub offset: u64,
}

/// The mapped memory table.
#[derive(Debug)]
pub struct Memory {
    pub(crate) mem: GuestMemoryMmap,
    spans: Vec<Span>,
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant; no memory is passed.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

fn bad(what: String) -> Error {
    Error::MemoryTable(what)
}

impl Memory {
    /// Maps every region (one file each), after checking sizes, offsets, overlaps and
    /// that each file really holds the bytes its region names.
    pub fn map(regions: &[VhostUserMemoryRegion], files: Vec<File>) -> Result<Memory> {
        if regions.is_empty() || regions.len() != files.len() {
            return Err(bad(format!(
                "{} regions with {} files",
                regions.len(),
                files.len()
            )));
        }
        let page = page_size();
        let mut ranges = Vec::with_capacity(regions.len());
        let mut spans = Vec::with_capacity(regions.len());
        for (r, file) in regions.iter().zip(files) {
            let (guest, size, user, offset) =
                (r.guest_phys_addr, r.memory_size, r.user_addr, r.mmap_offset);
            if size == 0 || size > MAX_REGION {
                return Err(bad(format!("region size {size}")));
            }
            let end = offset
                .checked_add(size)
                .filter(|_| guest.checked_add(size).is_some() && user.checked_add(size).is_some())
                .ok_or_else(|| bad("region wraps around".into()))?;
            let len = file
                .metadata()
                .map_err(|e| Error::io("fstat(region)", e))?
                .len();
            if len < end {
                return Err(bad(format!(
                    "region needs {end} bytes of a {len}-byte file"
                )));
            }
            // mmap needs a page-aligned offset: map from the page start, and let the
            // region begin that many bytes lower in guest space.
            let skew = offset % page;
            let base = guest
                .checked_sub(skew)
                .ok_or_else(|| bad("unaligned region at guest address 0".into()))?;
            ranges.push((
                GuestAddress(base),
                (size + skew) as usize,
                Some(FileOffset::new(file, offset - skew)),
            ));
            spans.push(Span {
                guest,
                user,
                size,
                offset,
            });
        }
        ranges.sort_by_key(|r| r.0);
        let regions = ranges
            .into_iter()
            .map(|(a, s, f)| GuestRegionMmap::from_range(a, s, f))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("mmap: {e}")))?;
        let mem = GuestMemoryMmap::from_regions(regions).map_err(|e| bad(format!("{e}")))?;
        Ok(Memory { mem, spans })
    }

    /// The regions as the front end described them.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The guest address of a front-end address (ring addresses come as those).
    pub fn translate(&self, user: u64) -> Result<GuestAddress> {
        self.spans
            .iter()
            .find(|s| user >= s.user && user - s.user < s.size)
            .map(|s| GuestAddress(s.guest + (user - s.user)))
            .ok_or_else(|| bad(format!("address {user:#x} is in no region")))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use vm_memory::{Bytes, GuestMemoryBackend};

    use super::*;

    fn file(len: usize) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; len]).unwrap();
        f
    }

    fn region(guest: u64, size: u64, user: u64, offset: u64) -> VhostUserMemoryRegion {
        VhostUserMemoryRegion::new(guest, size, user, offset)
    }

    #[test]
    fn maps_and_translates() {
        let m = Memory::map(&[region(0x1000, 8192, 0x7000_0000, 0)], vec![file(8192)]).unwrap();
        assert_eq!(m.translate(0x7000_0010).unwrap(), GuestAddress(0x1010));
        assert!(m.translate(0x7000_2000).is_err());
        let mut b = [0u8; 4];
        m.mem.read_slice(&mut b, GuestAddress(0x1000)).unwrap();
        assert_eq!(b, [7; 4]);
        assert!(m.mem.read_slice(&mut b, GuestAddress(0x2ffe)).is_err());
        assert!(m.mem.address_in_range(GuestAddress(0x2fff)));
    }

    #[test]
    fn an_unaligned_offset_is_mapped_from_its_page() {
        let m = Memory::map(&[region(0x10000, 100, 0x9000, 40)], vec![file(4096)]).unwrap();
        let mut b = [0u8; 1];
        m.mem
            .read_slice(&mut b, GuestAddress(0x10000 + 99))
            .unwrap();
        assert_eq!(m.translate(0x9000 + 5).unwrap(), GuestAddress(0x10005));
    }

    #[test]
    fn refuses_what_would_read_past_a_file_or_overlap() {
        // Past the end of the file: no mapping (a touch would be SIGBUS).
        assert!(Memory::map(&[region(0, 8192, 0, 0)], vec![file(4096)]).is_err());
        assert!(Memory::map(&[region(0, 4096, 0, 4096)], vec![file(4096)]).is_err());
        assert!(Memory::map(&[region(0, 0, 0, 0)], vec![file(4096)]).is_err());
        assert!(Memory::map(&[region(u64::MAX - 10, 4096, 0, 0)], vec![file(4096)]).is_err());
        assert!(Memory::map(&[region(0, 4096, 0, 0)], vec![]).is_err());
        let overlap = [region(0, 8192, 0, 0), region(4096, 4096, 1 << 20, 0)];
        assert!(Memory::map(&overlap, vec![file(8192), file(8192)]).is_err());
    }
}
