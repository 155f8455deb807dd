//! Shared-memory regions: a file descriptor plus a size, mapped `MAP_SHARED` by both peers.
//!
//! The slave creates them (`memfd_create`, `ftruncate`, `F_SEAL_SHRINK`), the master maps the fds
//! it receives in ADD_REGION. Every access goes through bounds-checked copies because the
//! contents (descriptor offsets in particular) are written by the other, untrusted process.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use crate::error::{Error, Result};
use crate::sys::check;

/// One mapped region. Unmapped on drop.
#[derive(Debug)]
pub struct Region {
    ptr: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the mapping is plain shared memory valid for the lifetime of the Region; all access
// goes through raw copies and atomics, never through Rust references into the mapping.
unsafe impl Send for Region {}
// SAFETY: as above; concurrent access is what the memif protocol is built for.
unsafe impl Sync for Region {}

impl Region {
    /// Creates a zero-filled region of `size` bytes backed by a sealed memfd.
    pub fn create(name: &str, size: usize) -> Result<Region> {
        if size == 0 {
            return Err(Error::InvalidConfig("region of 0 bytes".into()));
        }
        let cname = CString::new(name)
            .map_err(|_| Error::InvalidConfig(format!("region name {name:?} contains NUL")))?;
        // SAFETY: cname is a valid C string; we own the returned fd.
        let raw = check(
            unsafe {
                libc::memfd_create(cname.as_ptr(), libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC)
            },
            "memfd_create",
        )?;
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: plain syscalls on our fd.
        check(
            // SAFETY: plain syscalls on our fd.
            unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) },
            "ftruncate",
        )?;
        // SAFETY: as above.
        check(
            // SAFETY: a plain syscall on a descriptor we own; no memory is passed.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) },
            "fcntl(F_ADD_SEALS)",
        )?;
        Region::mmap(fd, size)
    }

    /// Maps a region received from the peer. The file must be at least `size` bytes, otherwise
    /// touching its tail would raise SIGBUS.
    pub fn map(fd: OwnedFd, size: u64) -> Result<Region> {
        let len = usize::try_from(size)
            .ok()
            .filter(|&l| l > 0)
            .ok_or_else(|| Error::Protocol(format!("unusable region size {size}")))?;
        // SAFETY: stat is plain old data, filled by fstat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: st is a live, writable stat.
        check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, "fstat")?;
        if (st.st_size as u64) < size {
            return Err(Error::Protocol(format!(
                "region of {size} bytes announced but the file has {}",
                st.st_size
            )));
        }
        Region::mmap(fd, len)
    }

    fn mmap(fd: OwnedFd, len: usize) -> Result<Region> {
        // SAFETY: maps a file we hold open; the result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap"));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| Error::last_os("mmap"))?;
        Ok(Region { ptr, len, fd })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true (regions are at least one byte); present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pointer to `len` bytes at `offset`, or an error if that range leaves the region.
    pub(crate) fn range(&self, offset: u64, len: u64) -> Result<*mut u8> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len as u64 => {
                // SAFETY: offset + len is within the mapping.
                Ok(unsafe { self.ptr.as_ptr().add(offset as usize) })
            }
            _ => Err(Error::BadDescriptor(format!(
                "{len} bytes at offset {offset} exceed region of {} bytes",
                self.len
            ))),
        }
    }

    /// Copies `data` into the region at `offset`.
    pub(crate) fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        let dst = self.range(offset, data.len() as u64)?;
        // SAFETY: dst..dst+len is inside the mapping; data is a separate Rust allocation.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    /// Fills `out` from the region at `offset`.
    pub(crate) fn read_to(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        let src = self.range(offset, out.len() as u64)?;
        // SAFETY: src..src+len is inside the mapping; out is a separate Rust allocation.
        unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `len` bytes at `from` in `src` to `offset` in this region: one copy from one
    /// peer's buffer to another's, without a stop in between.
    pub(crate) fn copy_from(&self, offset: u64, src: &Region, from: u64, len: usize) -> Result<()> {
        let s = src.range(from, len as u64)?;
        let d = self.range(offset, len as u64)?;
        // SAFETY: both ranges are inside their mappings; `copy` rather than
        // `copy_nonoverlapping` as nothing stops a peer from making them overlap.
        unsafe { std::ptr::copy(s, d, len) };
        Ok(())
    }

    /// Appends `len` bytes from `offset` to `out`.
    pub(crate) fn read_into(&self, offset: u64, len: usize, out: &mut Vec<u8>) -> Result<()> {
        let src = self.range(offset, len as u64)?;
        out.reserve(len);
        // SAFETY: src..src+len is inside the mapping; the spare capacity has room for len bytes,
        // which are initialised by the copy before set_len.
        unsafe {
            std::ptr::copy_nonoverlapping(src, out.as_mut_ptr().add(out.len()), len);
            out.set_len(out.len() + len);
        }
        Ok(())
    }
}

impl AsFd for Region {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `mmap`; no references into it remain
        // (all users hold the Region alive through Arc).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_second_mapping_of_the_fd_sees_the_same_bytes() {
        let a = Region::create("memif_region_0", 8192).unwrap();
        let b = Region::map(a.as_fd().try_clone_to_owned().unwrap(), 8192).unwrap();
        a.write(4000, b"hello").unwrap();
        let mut out = Vec::new();
        b.read_into(4000, 5, &mut out).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn created_memory_is_zeroed() {
        let a = Region::create("zero", 4096).unwrap();
        let mut out = Vec::new();
        a.read_into(0, 4096, &mut out).unwrap();
        assert!(out.iter().all(|&b| b == 0));
    }

    #[rstest]
    #[case::past_end(4090, 10)]
    #[case::huge_offset(u64::MAX, 1)]
    #[case::overflow(1, u64::MAX)]
    fn out_of_bounds_access_is_refused(#[case] offset: u64, #[case] len: u64) {
        let a = Region::create("r", 4096).unwrap();
        assert!(matches!(a.range(offset, len), Err(Error::BadDescriptor(_))));
    }

    #[test]
    fn announced_size_larger_than_the_file_is_refused() {
        let a = Region::create("r", 4096).unwrap();
        let fd = a.as_fd().try_clone_to_owned().unwrap();
        assert!(matches!(Region::map(fd, 4096 * 4), Err(Error::Protocol(_))));
    }

    #[test]
    fn region_cannot_be_shrunk_by_the_peer() {
        let a = Region::create("r", 4096).unwrap();
        // SAFETY: plain syscall on a descriptor owned by `a`.
        let ret = unsafe { libc::ftruncate(a.as_fd().as_raw_fd(), 0) };
        assert_eq!(ret, -1, "F_SEAL_SHRINK forbids shrinking");
    }
}
