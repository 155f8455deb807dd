//! The plugin binary's allocator. A CNI plugin lives a millisecond or two and allocates a
//! few hundred kilobytes, so a bump allocator over a static arena fits it: an allocation is
//! a few instructions, a free is nothing, and the memory goes back when the process exits.
//! (With musl's allocator, malloc, free and the mmap/munmap calls behind them took about a
//! third of an ADD's CPU time.) What does not fit the arena comes from the system
//! allocator. Only touched pages of the arena count against the process (it is zeroed,
//! uninitialised data).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A bump allocator over `N` bytes, falling back to [`System`] when they run out.
pub struct Arena<const N: usize> {
    memory: UnsafeCell<[u8; N]>,
    /// Bytes of `memory` handed out (with alignment padding).
    used: AtomicUsize,
}

// SAFETY: `used` is only changed atomically, and each successful compare-exchange hands out
// a byte range that no other call can also get; the bytes themselves are only touched
// through the pointers handed out.
unsafe impl<const N: usize> Sync for Arena<N> {}

impl<const N: usize> Default for Arena<N> {
    fn default() -> Arena<N> {
        Arena::new()
    }
}

impl<const N: usize> Arena<N> {
    pub const fn new() -> Arena<N> {
        Arena {
            memory: UnsafeCell::new([0; N]),
            used: AtomicUsize::new(0),
        }
    }

    fn base(&self) -> usize {
        self.memory.get() as usize
    }

    fn contains(&self, ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= self.base() && p < self.base() + N
    }

    /// Bytes handed out so far.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The next `layout`-sized, aligned range, or `None` when it does not fit.
    fn carve(&self, layout: Layout) -> Option<*mut u8> {
        let base = self.base();
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let start = (base + used).checked_add(layout.align() - 1)? & !(layout.align() - 1);
            let end = start.checked_add(layout.size())?;
            if end > base + N {
                return None;
            }
            match self.used.compare_exchange_weak(
                used,
                end - base,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(start as *mut u8),
                Err(now) => used = now,
            }
        }
    }
}

// SAFETY: every pointer returned is either a range of the arena that no other allocation
// overlaps (see `carve`) or comes from `System`; arena pointers are never given to
// `System`, and `System` pointers always go back to it.
unsafe impl<const N: usize> GlobalAlloc for Arena<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.carve(layout) {
            Some(p) => p,
            // SAFETY: the caller's contract for `layout` is passed on unchanged.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.contains(ptr) {
            // SAFETY: `ptr` is not in the arena, so `System` handed it out with `layout`.
            unsafe { System.dealloc(ptr, layout) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.contains(ptr) {
            // SAFETY: `ptr` is not in the arena, so `System` handed it out with `layout`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // The latest allocation grows in place.
        let (base, start) = (self.base(), ptr as usize);
        let end = start + layout.size();
        if let Some(new_end) = start.checked_add(new_size) {
            if new_end <= base + N
                && self
                    .used
                    .compare_exchange(
                        end - base,
                        new_end - base,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                return ptr;
            }
        }
        // SAFETY: the caller guarantees new_size, rounded up to align, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` is valid (above) and of non-zero size (new_size > layout.size()).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both ranges are live allocations of at least layout.size() bytes and
            // distinct (the new one was just handed out).
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a test holds: a pointer, its layout, and the byte it was filled with.
    struct Block {
        ptr: *mut u8,
        layout: Layout,
        fill: u8,
    }

    fn fill(b: &Block) {
        // SAFETY: ptr is a live allocation of layout.size() bytes.
        unsafe { std::ptr::write_bytes(b.ptr, b.fill, b.layout.size()) };
    }

    fn intact(b: &Block) -> bool {
        // SAFETY: as in fill.
        let bytes = unsafe { std::slice::from_raw_parts(b.ptr, b.layout.size()) };
        bytes.iter().all(|&x| x == b.fill)
    }

    proptest! {
        /// Any sequence of allocations, growths, shrinks and frees, inside the arena and
        /// past its end: every block is aligned, keeps its bytes, and overlaps no other.
        #[test]
        fn blocks_never_overlap_or_lose_their_bytes(
            ops in proptest::collection::vec((0u8..4, 1usize..700, 0u32..5, any::<u8>()), 1..120)
        ) {
            let arena: Box<Arena<8192>> = Box::default();
            let mut live: Vec<Block> = Vec::new();
            for (op, size, align_log2, byte) in ops {
                match op {
                    0 | 1 => {
                        let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                        // SAFETY: non-zero size.
                        let ptr = unsafe { arena.alloc(layout) };
                        prop_assert!(!ptr.is_null());
                        prop_assert_eq!(ptr as usize % layout.align(), 0);
                        let b = Block { ptr, layout, fill: byte };
                        fill(&b);
                        live.push(b);
                    }
                    2 if !live.is_empty() => {
                        let i = size % live.len();
                        let b = &mut live[i];
                        let new_size = (size * 3) % 1400 + 1;
                        // SAFETY: b is live with this layout; new_size is non-zero.
                        let ptr = unsafe { arena.realloc(b.ptr, b.layout, new_size) };
                        prop_assert!(!ptr.is_null());
                        prop_assert_eq!(ptr as usize % b.layout.align(), 0);
                        let kept = Block {
                            ptr,
                            layout: Layout::from_size_align(new_size.min(b.layout.size()), 1).unwrap(),
                            fill: b.fill,
                        };
                        prop_assert!(intact(&kept), "realloc kept the old bytes");
                        b.ptr = ptr;
                        b.layout = Layout::from_size_align(new_size, b.layout.align()).unwrap();
                        b.fill = byte;
                        fill(b);
                    }
                    3 if !live.is_empty() => {
                        let b = live.swap_remove(size % live.len());
                        prop_assert!(intact(&b));
                        // SAFETY: b is live with this layout.
                        unsafe { arena.dealloc(b.ptr, b.layout) };
                    }
                    _ => {}
                }
                prop_assert!(live.iter().all(intact));
            }
            for b in live {
                // SAFETY: as above.
                unsafe { arena.dealloc(b.ptr, b.layout) };
            }
        }
    }

    #[test]
    fn the_latest_block_grows_in_place_and_a_full_arena_falls_back() {
        let arena: Box<Arena<1024>> = Box::default();
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: valid layouts; every pointer is released with its layout.
        unsafe {
            let a = arena.alloc(layout);
            assert!(arena.contains(a));
            let grown = arena.realloc(a, layout, 400);
            assert_eq!(grown, a, "the latest allocation grows where it is");
            assert_eq!(arena.used(), 400);
            let big = Layout::from_size_align(4096, 8).unwrap();
            let outside = arena.alloc(big);
            assert!(!outside.is_null() && !arena.contains(outside));
            arena.dealloc(outside, big);
            arena.dealloc(grown, Layout::from_size_align(400, 8).unwrap());
        }
    }

    #[test]
    fn threads_get_disjoint_blocks() {
        let arena: &'static Arena<65536> = Box::leak(Box::default());
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let layout = Layout::from_size_align(64, 16).unwrap();
                    (0..200)
                        .map(|_| {
                            // SAFETY: valid layout; the blocks are checked, never freed.
                            let p = unsafe { arena.alloc(layout) };
                            // SAFETY: `p` is a fresh 64-byte block of this arena.
                            unsafe { std::ptr::write_bytes(p, t, 64) };
                            p as usize
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, u8)> = Vec::new();
        for (t, h) in handles.into_iter().enumerate() {
            all.extend(h.join().unwrap().into_iter().map(|p| (p, t as u8)));
        }
        all.sort();
        for w in all.windows(2) {
            assert!(w[0].0 + 64 <= w[1].0, "blocks overlap");
        }
        for (p, t) in all {
            // SAFETY: each block is 64 live bytes.
            let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, 64) };
            assert!(
                bytes.iter().all(|&b| b == t),
                "a block was written by another thread"
            );
        }
    }
}
