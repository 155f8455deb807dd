//! The data-plane thread's traffic: taking bursts from ports that have frames (polling
//! the busy ones, sleeping on interrupts otherwise) and sending what forwarding decided,
//! one burst per egress port. Received frames stay in their ingress ring until sent, so a
//! forwarded frame is copied once, from the ingress ring's buffer into the egress ring's.

use std::time::Instant;

use memif::{Burst, Frame};

use super::forward::{Egress, Payload};
use super::{Worker, BURST, SPIN};

impl Worker {
    /// Frames from ports whose interrupt fired and from polled ports. A port that got
    /// frames is polled with its interrupts masked until it has had none for [`SPIN`].
    pub(super) fn receive(&mut self) {
        let now = Instant::now();
        for sw in std::mem::take(&mut self.ready) {
            let Some(p) = self.port(sw) else {
                continue;
            };
            p.ready = false;
            let hot = p.hot.is_some();
            // Also resets the interrupt (a hot port may have one left from before masking).
            if self.drain(sw, false) > 0 && !hot {
                self.heat(sw, now);
            }
        }
        let mut hot = std::mem::take(&mut self.hot);
        hot.retain(|&sw| {
            if self.drain(sw, true) > 0 {
                return self.port(sw).map(|p| p.hot = Some(now)).is_some();
            }
            let Some(since) = self.port(sw).and_then(|p| p.hot) else {
                return false;
            };
            if now.saturating_duration_since(since) < SPIN {
                return true;
            }
            // Back to interrupts; then one more look for a frame that came unsignalled.
            if let Some(c) = self.connection(sw) {
                c.mask_rx_interrupts(false);
            }
            if self.drain(sw, false) > 0 {
                if let Some(c) = self.connection(sw) {
                    c.mask_rx_interrupts(true);
                }
                return self.port(sw).map(|p| p.hot = Some(now)).is_some();
            }
            if let Some(p) = self.port(sw) {
                p.hot = None;
            }
            false
        });
        hot.append(&mut self.hot);
        self.hot = hot;
    }

    /// Starts polling a port that received frames.
    fn heat(&mut self, sw: u32, now: Instant) {
        let Some(c) = self.connection(sw) else {
            return;
        };
        c.mask_rx_interrupts(true);
        if let Some(p) = self.port(sw) {
            p.hot = Some(now);
            self.hot.push(sw);
        }
    }

    /// Takes up to [`BURST`] frames from each of a port's queues into this round's
    /// bursts; how many. `polled`: only look at the rings (no system call when they are
    /// empty) instead of also resetting the interrupts.
    fn drain(&mut self, sw: u32, polled: bool) -> usize {
        let mut frames = self.spare.pop().unwrap_or_default();
        let Some(conn) = self.connection(sw) else {
            self.spare.push(frames);
            return 0;
        };
        for q in 0..conn.num_rx_queues() {
            if polled && !conn.rx_pending(q) {
                continue;
            }
            // Frames stay in the peer's ring until sent (one copy, ring to ring); their
            // slots go back in `send_out`.
            if let Err(e) = conn.recv_burst_in_place(q, &mut frames, BURST) {
                tracing::debug!("rx on {sw}: {e}");
            }
        }
        let n = frames.len();
        if n > 0 {
            self.inbound.push((sw, frames));
        } else {
            self.spare.push(frames);
        }
        n
    }

    /// Sends what forwarding decided: the frames for one port as one burst, in the order
    /// they were decided. Then this round's bursts are emptied for reuse.
    pub(super) fn send_out(&mut self, mut out: Egress) {
        out.sort_by_key(|(sw, _)| *sw);
        let mut inbound = std::mem::take(&mut self.inbound);
        for run in out.chunk_by(|a, b| a.0 == b.0) {
            let sw = run[0].0;
            let sent = if let Some(v) = self.vhost.get(&sw) {
                // A vhost-user port copies from the frame's bytes (in-ring frames read out).
                let owned: Vec<Vec<u8>> = run
                    .iter()
                    .map(|(_, p)| frame(p, &inbound).to_vec())
                    .collect();
                super::super::vhost::send(v, owned.iter().map(Vec::as_slice))
            } else {
                let Some(conn) = self.connection(sw) else {
                    continue;
                };
                let frames = run.iter().map(|(_, p)| frame(p, &inbound));
                conn.send_burst(0, frames).unwrap_or_else(|e| {
                    tracing::debug!("tx on {sw}: {e}");
                    0
                })
            };
            if sent < run.len() {
                // As VPP's tx-error: the peer's ring was full.
                let unsent: usize = run[sent..]
                    .iter()
                    .map(|(_, p)| frame(p, &inbound).len())
                    .sum();
                let frames = (run.len() - sent) as u64;
                self.unsent.push((sw, frames, unsent as u64));
            }
        }
        for (sw, mut frames) in inbound.drain(..) {
            if let Some(conn) = self.connection(sw) {
                for q in 0..conn.num_rx_queues() {
                    if let Err(e) = conn.release(q) {
                        tracing::debug!("rx release on {sw}: {e}");
                    }
                }
            }
            frames.clear();
            self.spare.push(frames);
        }
        self.inbound = inbound;
    }
}

/// A frame to send, from this round's bursts (in the ingress ring or copied) or made
/// for it.
fn frame<'a>(p: &'a Payload, inbound: &'a [(u32, Burst)]) -> Frame<'a> {
    match p {
        Payload::Received { burst, frame } => inbound[*burst].1.frame(*frame),
        Payload::Made(f) => Frame::Bytes(f),
    }
}
