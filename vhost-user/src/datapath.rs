//! Frames through the back end's rings: what the driver transmitted is read out of its
//! descriptor chains (after the virtio-net header), frames for the driver are written into
//! the buffers it posted, merged over several when `VIRTIO_NET_F_MRG_RXBUF` was agreed.
//! Every access goes through vm-memory, bounds-checked against the mapped table: a
//! descriptor outside it is an error (the port goes down and counts it), never a read or
//! write elsewhere.

use virtio_queue::{Queue, QueueOwnedT, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::device::{Device, RX, TX};
use crate::error::{Error, Result};
use crate::{net_header_len, MAX_FRAME};

/// The next available chain's head and (address, length) of its descriptors of one
/// direction; `None` when the ring is empty.
fn next_chain(
    q: &mut Queue,
    mem: &GuestMemoryMmap,
    writable: bool,
    spans: &mut Vec<(GuestAddress, usize)>,
) -> Result<Option<u16>> {
    spans.clear();
    let Some(chain) = q.iter(mem)?.next() else {
        return Ok(None);
    };
    let head = chain.head_index();
    for d in chain {
        if d.is_write_only() == writable {
            spans.push((d.addr(), d.len() as usize));
        }
    }
    Ok(Some(head))
}

impl Device {
    /// Takes up to `max` frames the driver transmitted, appended to `out`; how many.
    /// An error marks the port down (see [`Device::ready`]).
    pub fn recv_burst(&mut self, out: &mut Vec<Vec<u8>>, max: usize) -> Result<usize> {
        let r = self.recv_inner(out, max);
        self.check(r)
    }

    fn recv_inner(&mut self, out: &mut Vec<Vec<u8>>, max: usize) -> Result<usize> {
        if !self.ready() {
            return Err(Error::NotReady);
        }
        let hdr = net_header_len(self.acked_features);
        let mem = &self.memory.as_ref().ok_or(Error::NotReady)?.mem;
        let v = &mut self.vrings[TX];
        let mut spans = Vec::new();
        let mut n = 0;
        while n < max {
            let Some(head) = next_chain(&mut v.queue, mem, false, &mut spans)? else {
                break;
            };
            let total: usize = spans.iter().map(|s| s.1).sum();
            if total < hdr || total - hdr > MAX_FRAME {
                return Err(Error::Chain("transmit chain length"));
            }
            let mut frame = vec![0u8; total - hdr];
            let (mut skip, mut at) = (hdr, 0);
            for &(addr, len) in &spans {
                let take = len.saturating_sub(skip);
                let from = addr
                    .0
                    .checked_add((len - take) as u64)
                    .ok_or(Error::Chain("descriptor wraps"))?;
                skip -= len - take;
                mem.read_slice(&mut frame[at..at + take], GuestAddress(from))?;
                at += take;
            }
            v.queue.add_used(mem, head, 0)?;
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += frame.len() as u64;
            out.push(frame);
            n += 1;
        }
        if n > 0 && v.queue.needs_notification(mem)? {
            v.signal();
        }
        Ok(n)
    }

    /// Puts frames in the buffers the driver posted, in order, until it has none left;
    /// how many went (the rest are the caller's drops). An error marks the port down.
    pub fn send_burst<'a>(&mut self, frames: impl IntoIterator<Item = &'a [u8]>) -> Result<usize> {
        let r = self.send_inner(frames);
        self.check(r)
    }

    fn send_inner<'a>(&mut self, frames: impl IntoIterator<Item = &'a [u8]>) -> Result<usize> {
        if !self.ready() {
            return Err(Error::NotReady);
        }
        let hdr = net_header_len(self.acked_features);
        let merge = self.acked_features & (1 << crate::VIRTIO_NET_F_MRG_RXBUF) != 0;
        let mem = &self.memory.as_ref().ok_or(Error::NotReady)?.mem;
        let v = &mut self.vrings[RX];
        let mut spans = Vec::new();
        let mut sent = 0;
        for frame in frames {
            if frame.len() > MAX_FRAME {
                self.stats.tx_dropped += 1;
                continue;
            }
            let header = &[0u8; 12][..hdr];
            let need = hdr + frame.len();
            // (head, bytes written) per buffer taken for this frame.
            let mut used: Vec<(u16, u32)> = Vec::new();
            let mut at = 0; // bytes of header+frame written so far
            let mut first: Option<GuestAddress> = None;
            while at < need {
                let Some(head) = next_chain(&mut v.queue, mem, true, &mut spans)? else {
                    break;
                };
                let start = at;
                if first.is_none() {
                    // The header goes whole into the first buffer (as DPDK and VPP lay it).
                    match spans.first() {
                        Some(&(addr, len)) if len >= hdr => first = Some(addr),
                        _ => return Err(Error::Chain("receive buffer shorter than the header")),
                    }
                }
                for &(addr, len) in &spans {
                    if at == need {
                        break;
                    }
                    let n = len.min(need - at);
                    write_part(mem, addr, header, frame, at, n)?;
                    at += n;
                }
                used.push((head, (at - start) as u32));
                if !merge {
                    break;
                }
            }
            if at < need {
                if let (false, Some(&(head, _))) = (merge, used.first()) {
                    // One buffer, too small for this frame: it is dropped, the buffer used.
                    v.queue.add_used(mem, head, 0)?;
                    self.stats.tx_dropped += 1;
                    continue;
                }
                // Out of buffers: give back what this frame took; it and the rest wait.
                for _ in &used {
                    v.queue.go_to_previous_position();
                }
                break;
            }
            if let (12, Some(h)) = (hdr, first) {
                let count = (used.len() as u16).to_le_bytes();
                mem.write_slice(&count, GuestAddress(h.0 + 10))?;
            }
            for (head, len) in used {
                v.queue.add_used(mem, head, len)?;
            }
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += frame.len() as u64;
            sent += 1;
        }
        if sent > 0 && v.queue.needs_notification(mem)? {
            v.signal();
        }
        Ok(sent)
    }

    fn check<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            if !matches!(e, Error::NotReady) {
                self.fail(e.to_string());
            }
        }
        r
    }
}

/// Writes bytes `at..at+n` of header followed by frame at `addr`.
fn write_part(
    mem: &GuestMemoryMmap,
    addr: GuestAddress,
    header: &[u8],
    frame: &[u8],
    at: usize,
    n: usize,
) -> Result<()> {
    let hdr = header.len();
    let mut off = 0;
    if at < hdr {
        let h = (hdr - at).min(n);
        mem.write_slice(&header[at..at + h], addr)?;
        off = h;
    }
    if off < n {
        let f = at + off - hdr;
        let a = addr
            .0
            .checked_add(off as u64)
            .ok_or(Error::Chain("descriptor wraps"))?;
        mem.write_slice(&frame[f..f + (n - off)], GuestAddress(a))?;
    }
    Ok(())
}
