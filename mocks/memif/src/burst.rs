//! A burst of frames: what a receive fills and a transmit reads, so that moving many frames
//! costs one allocation (reused) instead of one per frame.
//!
//! A frame is either copied into the burst's buffer (frames back to back) or, after
//! [`crate::Connection::recv_burst_in_place`], left where the peer wrote it: the burst then
//! records where it is (and keeps the peer's regions mapped) plus a copy of its first
//! [`HEAD`] bytes, and a transmit copies it straight from the ingress ring's buffer into the
//! egress ring's buffer: one copy per frame instead of two.

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::Result;
use crate::region::Region;

/// Bytes of a frame left in its ring that the burst copies for the caller to look at
/// (Ethernet addresses, ethertype, a VLAN tag).
pub const HEAD: usize = 32;

/// Where one frame's bytes are.
#[derive(Debug, Clone, Copy)]
enum At {
    /// `data[start..end]`.
    Copied { start: usize, end: usize },
    /// In region `region` of `sources[source]`, checked against it on receive.
    InRing {
        source: u16,
        region: u16,
        offset: u64,
        len: u32,
        head: [u8; HEAD],
    },
}

/// Frames in order, copied into one reusable buffer or left in their ring.
#[derive(Debug, Default, Clone)]
pub struct Burst {
    data: Vec<u8>,
    frames: Vec<At>,
    /// The regions frames left in place are in (kept mapped while the burst holds them).
    sources: Vec<Arc<Vec<Region>>>,
    /// End in `data` of the last copied frame: where the next one's bytes start.
    committed: usize,
}

impl Burst {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Forgets the frames, keeping the memory (and letting go of the peer's regions).
    pub fn clear(&mut self) {
        self.data.clear();
        self.frames.clear();
        self.sources.clear();
        self.committed = 0;
    }

    /// Appends a copy of `frame`.
    pub fn push(&mut self, frame: &[u8]) {
        self.data.extend_from_slice(frame);
        self.commit();
    }

    /// Frame `i`, wherever it is.
    ///
    /// # Panics
    /// When `i >= len()`.
    pub fn frame(&self, i: usize) -> Frame<'_> {
        match self.frames[i] {
            At::Copied { start, end } => Frame::Bytes(&self.data[start..end]),
            At::InRing {
                source,
                region,
                offset,
                len,
                ref head,
            } => Frame::InRing {
                region: &self.sources[source as usize][region as usize],
                offset,
                len: len as usize,
                head: &head[..HEAD.min(len as usize)],
            },
        }
    }

    /// The bytes of frame `i`: borrowed when copied into the burst, copied out of the ring
    /// otherwise.
    ///
    /// # Panics
    /// When `i >= len()`.
    pub fn get(&self, i: usize) -> Cow<'_, [u8]> {
        match self.frame(i) {
            Frame::Bytes(b) => Cow::Borrowed(b),
            f => Cow::Owned(f.to_vec()),
        }
    }

    /// The frames' bytes in order (see [`Burst::get`]).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Cow<'_, [u8]>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The buffer a receive appends one frame's bytes to; [`Burst::commit`] makes them a
    /// frame, [`Burst::discard`] forgets them.
    pub(crate) fn pending(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Ends the frame whose bytes were appended since the last one.
    pub(crate) fn commit(&mut self) {
        let end = self.data.len();
        self.frames.push(At::Copied {
            start: self.committed,
            end,
        });
        self.committed = end;
    }

    /// Drops bytes appended since the last frame (a packet found invalid half-way).
    pub(crate) fn discard(&mut self) {
        self.data.truncate(self.committed);
    }

    /// Length of the frame being appended.
    pub(crate) fn pending_len(&self) -> usize {
        self.data.len() - self.committed
    }

    /// Appends a frame left in place: `len` bytes at `offset` of region `region` of
    /// `regions`, a range the caller checked.
    pub(crate) fn push_in_ring(
        &mut self,
        regions: &Arc<Vec<Region>>,
        region: u16,
        offset: u64,
        len: usize,
    ) -> Result<()> {
        let mut head = [0u8; HEAD];
        let n = HEAD.min(len);
        regions[region as usize].read_to(offset, &mut head[..n])?;
        let source = match self.sources.iter().rposition(|s| Arc::ptr_eq(s, regions)) {
            Some(s) => s,
            None => {
                self.sources.push(regions.clone());
                self.sources.len() - 1
            }
        };
        self.frames.push(At::InRing {
            source: source as u16,
            region,
            offset,
            len: len as u32,
            head,
        });
        Ok(())
    }

    /// The only frame, without copying it when it is in the buffer.
    pub(crate) fn into_only(mut self) -> Option<Vec<u8>> {
        if self.len() != 1 {
            return None;
        }
        match self.frames[0] {
            At::Copied { start, end } => {
                self.data.truncate(end);
                self.data.drain(..start);
                Some(self.data)
            }
            At::InRing { .. } => Some(self.frame(0).to_vec()),
        }
    }
}

impl<'a> FromIterator<&'a [u8]> for Burst {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Burst {
        let mut b = Burst::default();
        for f in iter {
            b.push(f);
        }
        b
    }
}

/// One frame to send or look at: bytes, or a frame a burst left in its ring.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    Bytes(&'a [u8]),
    /// `len` bytes at `offset` of `region` (checked on receive); `head` is a copy of the
    /// first bytes.
    InRing {
        region: &'a Region,
        offset: u64,
        len: usize,
        head: &'a [u8],
    },
}

impl<'a> From<&'a [u8]> for Frame<'a> {
    fn from(b: &'a [u8]) -> Frame<'a> {
        Frame::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for Frame<'a> {
    fn from(b: &'a Vec<u8>) -> Frame<'a> {
        Frame::Bytes(b)
    }
}

impl Frame<'_> {
    pub fn len(&self) -> usize {
        match self {
            Frame::Bytes(b) => b.len(),
            Frame::InRing { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first [`HEAD`] bytes (all of a shorter frame), without touching the ring.
    pub fn head(&self) -> &[u8] {
        match self {
            Frame::Bytes(b) => &b[..HEAD.min(b.len())],
            Frame::InRing { head, .. } => head,
        }
    }

    /// A copy of the whole frame.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Frame::Bytes(b) => b.to_vec(),
            Frame::InRing {
                region,
                offset,
                len,
                ..
            } => {
                let mut v = Vec::with_capacity(*len);
                // The range was checked on receive and regions never shrink.
                region
                    .read_into(*offset, *len, &mut v)
                    .expect("checked on receive");
                v
            }
        }
    }

    /// Copies `len` bytes from byte `from` of the frame to `offset` in `dst`.
    pub(crate) fn copy_to(&self, from: usize, len: usize, dst: &Region, offset: u64) -> Result<()> {
        match self {
            Frame::Bytes(b) => dst.write(offset, &b[from..from + len]),
            Frame::InRing {
                region,
                offset: src,
                ..
            } => dst.copy_from(offset, region, src + from as u64, len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_come_back_as_pushed(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)
        ) {
            let b: Burst = frames.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(b.len(), frames.len());
            let back: Vec<Vec<u8>> = b.iter().map(Cow::into_owned).collect();
            prop_assert_eq!(back, frames);
        }

        /// Frames left in a ring and copied ones mix in order; each reads back whole, its
        /// head is its first bytes, and a copy to another region is the frame.
        #[test]
        fn frames_in_place_and_copied_mix(
            frames in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 1..200), any::<bool>()), 0..12)
        ) {
            let regions = Arc::new(vec![Region::create("src", 4096).unwrap()]);
            let dst = Region::create("dst", 4096).unwrap();
            let mut b = Burst::default();
            let mut at = 0u64;
            for (f, in_place) in &frames {
                if *in_place {
                    regions[0].write(at, f).unwrap();
                    b.push_in_ring(&regions, 0, at, f.len()).unwrap();
                    at += f.len() as u64;
                } else {
                    b.push(f);
                }
            }
            prop_assert_eq!(b.len(), frames.len());
            for (i, (f, _)) in frames.iter().enumerate() {
                let got = b.frame(i);
                prop_assert_eq!(got.len(), f.len());
                prop_assert_eq!(got.head(), &f[..HEAD.min(f.len())]);
                prop_assert_eq!(&b.get(i)[..], &f[..]);
                got.copy_to(0, f.len(), &dst, 100).unwrap();
                let mut out = Vec::new();
                dst.read_into(100, f.len(), &mut out).unwrap();
                prop_assert_eq!(&out, f);
            }
        }
    }

    #[test]
    fn a_discarded_frame_leaves_no_trace() {
        let mut b = Burst::default();
        b.push(b"one");
        b.pending().extend_from_slice(b"half");
        assert_eq!(b.pending_len(), 4);
        b.discard();
        b.pending().extend_from_slice(b"two");
        b.commit();
        assert_eq!(b.iter().collect::<Vec<_>>(), [&b"one"[..], b"two"]);
        assert_eq!(&b.get(1)[..], b"two");
        b.clear();
        assert!(b.is_empty());
    }
}
