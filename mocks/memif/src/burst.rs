//! A burst of frames stored back to back in one buffer: what a receive fills and a transmit
//! reads, so that moving many frames costs one allocation (reused) instead of one per frame.

use std::ops::Range;

/// Frames back to back in one reusable buffer.
#[derive(Debug, Default, Clone)]
pub struct Burst {
    data: Vec<u8>,
    /// Where each frame ends in `data`.
    ends: Vec<usize>,
}

impl Burst {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Forgets the frames, keeping the memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    /// Appends a copy of `frame`.
    pub fn push(&mut self, frame: &[u8]) {
        self.data.extend_from_slice(frame);
        self.ends.push(self.data.len());
    }

    /// Frame `i`.
    ///
    /// # Panics
    /// When `i >= len()`.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.data[self.range(i)]
    }

    /// The frames in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn range(&self, i: usize) -> Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    /// The buffer a receive appends one frame's bytes to; [`Burst::commit`] makes them a
    /// frame, [`Burst::discard`] forgets them.
    pub(crate) fn pending(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Ends the frame whose bytes were appended since the last one.
    pub(crate) fn commit(&mut self) {
        self.ends.push(self.data.len());
    }

    /// Drops bytes appended since the last frame (a packet found invalid half-way).
    pub(crate) fn discard(&mut self) {
        let end = self.ends.last().copied().unwrap_or(0);
        self.data.truncate(end);
    }

    /// The only frame, without copying it.
    pub(crate) fn into_only(mut self) -> Option<Vec<u8>> {
        (self.len() == 1).then(|| {
            self.data.truncate(self.ends[0]);
            self.data
        })
    }

    /// Length of the frame being appended.
    pub(crate) fn pending_len(&self) -> usize {
        self.data.len() - self.ends.last().copied().unwrap_or(0)
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
            let back: Vec<Vec<u8>> = b.iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(back, frames);
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
        assert_eq!(b.get(1), b"two");
        b.clear();
        assert!(b.is_empty());
    }
}
