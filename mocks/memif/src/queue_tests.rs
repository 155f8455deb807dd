use std::sync::Arc;

use proptest::prelude::*;
use rstest::rstest;

use super::*;
use crate::burst::{Burst, Frame};
use crate::region::Region;

/// Both ends of one S2M and one M2S ring over a single memfd, mapped twice as two processes
/// would.
struct Link {
    slave_tx: Queue,
    master_rx: Queue,
    master_tx: Queue,
    slave_rx: Queue,
}

fn link(log2: u8, buffer_size: u32) -> Link {
    let layout = CopyLayout {
        n_s2m: 1,
        n_m2s: 1,
        log2,
        buffer_size,
    };
    let slave_region = Region::create("test", layout.region_size() as usize).unwrap();
    let fd = slave_region.as_fd().try_clone_to_owned().unwrap();
    let slave_regions = Arc::new(vec![slave_region]);
    let master_regions = Arc::new(vec![Region::map(fd, layout.region_size()).unwrap()]);
    let mut queues = Vec::new();
    for dir in [Direction::S2M, Direction::M2S] {
        let off = layout.ring_offset(dir, 0);
        let slave_ring = Ring::new(slave_regions.clone(), 0, off, log2).unwrap();
        slave_ring.init();
        let master_ring = Ring::new(master_regions.clone(), 0, off, log2).unwrap();
        let kick = EventFd::new().unwrap();
        let kick2 = EventFd::from_fd(kick.as_fd().try_clone_to_owned().unwrap()).unwrap();
        let bufs = SlaveBuffers {
            layout,
            direction: dir,
            index: 0,
        };
        queues.push((
            Queue::new(slave_ring, kick, Some(bufs)),
            Queue::new(master_ring, kick2, None),
        ));
    }
    let (slave_rx, master_tx) = queues.pop().unwrap();
    let (slave_tx, master_rx) = queues.pop().unwrap();
    Link {
        slave_tx,
        master_rx,
        master_tx,
        slave_rx,
    }
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[rstest]
#[case::one_slot(60, 64)]
#[case::exact(64, 64)]
#[case::chained(200, 64)]
#[case::jumbo(9000, 2048)]
fn slave_to_master_carries_frames(#[case] len: usize, #[case] bsize: u32) {
    let mut l = link(4, bsize);
    let f = frame(len, 7);
    l.slave_tx.slave_send(&f).unwrap();
    assert_eq!(l.master_rx.master_recv().unwrap(), Some(f));
    assert_eq!(l.master_rx.master_recv().unwrap(), None);
    assert_eq!(l.master_rx.stats().packets, 1);
    assert_eq!(l.master_rx.stats().bytes, len as u64);
}

#[rstest]
#[case::one_slot(60, 64)]
#[case::chained(200, 64)]
#[case::jumbo(9000, 2048)]
fn master_to_slave_carries_frames(#[case] len: usize, #[case] bsize: u32) {
    let mut l = link(4, bsize);
    let f = frame(len, 3);
    assert!(
        matches!(l.master_tx.master_send(&f), Err(Error::RingFull)),
        "nothing offered yet"
    );
    l.slave_rx.slave_refill().unwrap();
    l.master_tx.master_send(&f).unwrap();
    assert_eq!(l.slave_rx.slave_recv().unwrap(), Some(f));
    assert_eq!(l.slave_rx.slave_recv().unwrap(), None);
}

#[test]
fn counters_wrap_around_many_times() {
    let mut l = link(3, 128);
    l.slave_rx.slave_refill().unwrap();
    for i in 0..70_000u32 {
        let f = frame(60 + (i % 100) as usize, i as u8);
        l.slave_tx.slave_send(&f).unwrap();
        assert_eq!(l.master_rx.master_recv().unwrap().as_ref(), Some(&f));
        l.master_tx.master_send(&f).unwrap();
        assert_eq!(l.slave_rx.slave_recv().unwrap(), Some(f));
    }
    assert_eq!(l.slave_tx.stats().packets, 70_000);
}

#[test]
fn full_rings_refuse_then_recover() {
    let mut l = link(3, 64);
    for i in 0..8 {
        l.slave_tx.slave_send(&frame(60, i)).unwrap();
    }
    assert!(matches!(
        l.slave_tx.slave_send(&frame(60, 9)),
        Err(Error::RingFull)
    ));
    assert_eq!(l.slave_tx.stats().full, 1);
    assert_eq!(l.master_rx.master_recv().unwrap(), Some(frame(60, 0)));
    l.slave_tx.slave_send(&frame(60, 9)).unwrap();

    l.slave_rx.slave_refill().unwrap();
    for i in 0..8 {
        l.master_tx.master_send(&frame(60, i)).unwrap();
    }
    assert!(matches!(
        l.master_tx.master_send(&frame(60, 9)),
        Err(Error::RingFull)
    ));
    assert_eq!(l.slave_rx.slave_recv().unwrap(), Some(frame(60, 0)));
    l.master_tx.master_send(&frame(60, 9)).unwrap();
}

#[rstest]
#[case::empty(0)]
#[case::larger_than_ring(64 * 8 + 1)]
fn unsendable_frames_are_refused(#[case] len: usize) {
    let mut l = link(3, 64);
    l.slave_rx.slave_refill().unwrap();
    assert!(matches!(
        l.slave_tx.slave_send(&vec![0; len]),
        Err(Error::BadFrame(_))
    ));
    assert!(matches!(
        l.master_tx.master_send(&vec![0; len]),
        Err(Error::BadFrame(_))
    ));
}

#[test]
fn bad_descriptor_is_dropped_and_counted() {
    let mut l = link(3, 64);
    l.slave_tx.slave_send(&frame(60, 1)).unwrap();
    l.slave_tx.slave_send(&frame(60, 2)).unwrap();
    let mut d = l.slave_tx.ring().desc(0);
    d.region = 5;
    l.slave_tx.ring().set_desc(0, d);
    assert_eq!(l.master_rx.master_recv().unwrap(), Some(frame(60, 2)));
    assert_eq!(l.master_rx.stats().errors, 1);
    assert_eq!(l.master_rx.ring().tail().load(Ordering::Acquire), 2);
}

#[test]
fn master_refuses_offered_buffer_outside_the_region() {
    let mut l = link(3, 64);
    l.slave_rx.slave_refill().unwrap();
    let mut d = l.slave_rx.ring().desc(0);
    d.offset = u32::MAX - 10;
    l.slave_rx.ring().set_desc(0, d);
    assert!(matches!(
        l.master_tx.master_send(&frame(60, 0)),
        Err(Error::BadDescriptor(_))
    ));
    assert_eq!(l.master_tx.ring().tail().load(Ordering::Acquire), 0);
}

#[test]
fn impossible_counters_are_a_protocol_error() {
    let mut l = link(3, 64);
    l.slave_tx.ring().head().store(100, Ordering::Release);
    assert!(matches!(l.master_rx.master_recv(), Err(Error::Protocol(_))));
}

#[test]
fn master_clears_stale_next_flags_when_returning_slots() {
    let mut l = link(3, 64);
    l.slave_tx.slave_send(&frame(100, 1)).unwrap();
    assert_eq!(l.slave_tx.ring().desc(0).flags, DESC_FLAG_NEXT);
    l.master_rx.master_recv().unwrap().unwrap();
    assert_eq!(l.slave_tx.ring().desc(0).flags, 0);
}

#[test]
fn incomplete_chain_waits_for_the_rest() {
    let mut l = link(3, 64);
    l.slave_tx.slave_send(&frame(100, 1)).unwrap();
    l.slave_tx.ring().head().store(1, Ordering::Release); // hide the second slot
    assert_eq!(l.master_rx.master_recv().unwrap(), None);
    l.slave_tx.ring().head().store(2, Ordering::Release);
    assert_eq!(l.master_rx.master_recv().unwrap(), Some(frame(100, 1)));
}

#[rstest]
#[case::unmasked(false, 1)]
#[case::masked(true, 0)]
fn producer_kicks_unless_consumer_masked(#[case] masked: bool, #[case] kicks: u64) {
    let mut l = link(3, 64);
    l.master_rx.mask_interrupts(masked);
    l.slave_tx.slave_send(&frame(60, 0)).unwrap();
    assert_eq!(l.master_rx.interrupt().take().unwrap(), kicks);

    l.slave_rx.mask_interrupts(masked);
    l.slave_rx.slave_refill().unwrap();
    assert_eq!(
        l.slave_rx.interrupt().take().unwrap(),
        0,
        "refill never kicks"
    );
    l.master_tx.master_send(&frame(60, 0)).unwrap();
    assert_eq!(l.slave_rx.interrupt().take().unwrap(), kicks);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any sequence of frame sizes arrives intact and in order in both directions.
    #[test]
    fn frames_arrive_intact_in_order(sizes in proptest::collection::vec(1usize..600, 1..40)) {
        let mut l = link(4, 128);
        l.slave_rx.slave_refill().unwrap();
        for (i, &len) in sizes.iter().enumerate() {
            let f = frame(len, i as u8);
            l.slave_tx.slave_send(&f).unwrap();
            l.master_tx.master_send(&f).unwrap();
            prop_assert_eq!(l.master_rx.master_recv().unwrap(), Some(f.clone()));
            prop_assert_eq!(l.slave_rx.slave_recv().unwrap(), Some(f));
        }
    }
}

/// A frame that carries its sequence number in its first four bytes.
fn numbered(n: u32, len: usize) -> Vec<u8> {
    let mut f = frame(len.max(4), n as u8);
    f[..4].copy_from_slice(&n.to_be_bytes());
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any ring size, buffer size (chaining included) and pattern of bursts: what the
    /// receiver gets is exactly what was accepted for sending, in order, once — in both
    /// directions. A full ring refuses (RingFull) rather than dropping.
    #[test]
    fn bursts_never_lose_duplicate_or_reorder(
        log2 in 1u8..=6,
        buffer in prop::sample::select(vec![64u32, 128, 2048]),
        bursts in proptest::collection::vec((0usize..48, 0usize..48, 1usize..400), 1..24),
    ) {
        let mut l = link(log2, buffer);
        l.slave_rx.slave_refill().unwrap();
        let (mut s2m, mut m2s) = (std::collections::VecDeque::new(), std::collections::VecDeque::new());
        let mut n = 0u32;
        // A frame longer than the whole ring can never be sent; stay within it.
        let capacity = (1usize << log2) * buffer as usize;
        for (tx, rx, len) in bursts {
            let len = len.min(capacity);
            for _ in 0..tx {
                let f = numbered(n, len);
                n += 1;
                match l.slave_tx.slave_send(&f) {
                    Ok(()) => s2m.push_back(f),
                    Err(Error::RingFull) => break,
                    Err(e) => return Err(TestCaseError::fail(format!("slave send: {e}"))),
                }
            }
            for _ in 0..tx {
                let f = numbered(n, len);
                n += 1;
                match l.master_tx.master_send(&f) {
                    Ok(()) => m2s.push_back(f),
                    Err(Error::RingFull) => break,
                    Err(e) => return Err(TestCaseError::fail(format!("master send: {e}"))),
                }
            }
            for _ in 0..rx {
                match l.master_rx.master_recv().unwrap() {
                    Some(f) => prop_assert_eq!(Some(f), s2m.pop_front()),
                    None => break,
                }
            }
            for _ in 0..rx {
                match l.slave_rx.slave_recv().unwrap() {
                    Some(f) => prop_assert_eq!(Some(f), m2s.pop_front()),
                    None => break,
                }
            }
        }
        while let Some(f) = l.master_rx.master_recv().unwrap() {
            prop_assert_eq!(Some(f), s2m.pop_front());
        }
        while let Some(f) = l.slave_rx.slave_recv().unwrap() {
            prop_assert_eq!(Some(f), m2s.pop_front());
        }
        prop_assert!(s2m.is_empty(), "{} S2M frames lost", s2m.len());
        prop_assert!(m2s.is_empty(), "{} M2S frames lost", m2s.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The burst operations keep the same promise, mixed with single-frame ones: a burst
    /// send publishes a prefix of its frames (the rest did not fit) and a burst receive
    /// takes at most `max` frames, in order, each once.
    #[test]
    fn burst_operations_never_lose_duplicate_or_reorder(
        log2 in 1u8..=6,
        buffer in prop::sample::select(vec![64u32, 128, 2048]),
        rounds in proptest::collection::vec((0usize..48, 0usize..48, 1usize..400, any::<bool>()), 1..24),
    ) {
        let mut l = link(log2, buffer);
        l.slave_rx.slave_refill().unwrap();
        let (mut s2m, mut m2s) = (std::collections::VecDeque::new(), std::collections::VecDeque::new());
        let mut n = 0u32;
        let capacity = (1usize << log2) * buffer as usize;
        let mut got = Burst::default();
        for (tx, rx, len, single) in rounds {
            let len = len.min(capacity);
            for (q, master, sent) in [(&mut l.slave_tx, false, &mut s2m), (&mut l.master_tx, true, &mut m2s)] {
                let frames: Vec<Vec<u8>> = (0..tx).map(|i| numbered(n + i as u32, len)).collect();
                n += tx as u32;
                let k = if single {
                    frames.iter().take_while(|f| q.send(master, f).is_ok()).count()
                } else {
                    q.send_burst(master, frames.iter().map(Vec::as_slice)).unwrap()
                };
                sent.extend(frames.into_iter().take(k));
            }
            for (q, master, sent) in [(&mut l.master_rx, true, &mut s2m), (&mut l.slave_rx, false, &mut m2s)] {
                got.clear();
                let k = q.recv_burst(master, &mut got, rx, false).unwrap();
                prop_assert_eq!(k, got.len());
                prop_assert!(k <= rx);
                for f in got.iter() {
                    let want = sent.pop_front();
                    prop_assert_eq!(Some(&f[..]), want.as_deref());
                }
            }
        }
        for (q, master, sent) in [(&mut l.master_rx, true, &mut s2m), (&mut l.slave_rx, false, &mut m2s)] {
            got.clear();
            q.recv_burst(master, &mut got, usize::MAX, false).unwrap();
            let rest: Vec<Vec<u8>> = got.iter().map(|f| f.into_owned()).collect();
            let want: Vec<Vec<u8>> = sent.iter().cloned().collect();
            prop_assert_eq!(rest, want);
        }
    }
}

#[rstest]
#[case::master(true)]
#[case::slave(false)]
fn a_burst_is_published_once_and_kicks_once(#[case] master: bool) {
    let mut l = link(4, 128);
    l.slave_rx.slave_refill().unwrap();
    let (tx, rx) = if master {
        (&mut l.master_tx, &mut l.slave_rx)
    } else {
        (&mut l.slave_tx, &mut l.master_rx)
    };
    let frames: Vec<Vec<u8>> = (0..5).map(|i| frame(60, i)).collect();
    let sent = tx
        .send_burst(master, frames.iter().map(Vec::as_slice))
        .unwrap();
    assert_eq!(sent, 5);
    assert_eq!(rx.interrupt().take().unwrap(), 1, "one kick for the burst");
    assert_eq!(tx.stats().packets, 5);
    let mut got = Burst::default();
    assert_eq!(rx.recv_burst(!master, &mut got, 3, false).unwrap(), 3);
    assert_eq!(rx.recv_burst(!master, &mut got, 3, false).unwrap(), 2);
    assert_eq!(
        got.iter().collect::<Vec<_>>(),
        frames.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
}

#[rstest]
#[case::master(true)]
#[case::slave(false)]
fn a_burst_skips_unsendable_frames_and_stops_when_full(#[case] master: bool) {
    let mut l = link(2, 64);
    l.slave_rx.slave_refill().unwrap();
    let tx = if master {
        &mut l.master_tx
    } else {
        &mut l.slave_tx
    };
    let (empty, ok) = (Vec::new(), frame(60, 1));
    let frames = [&ok[..], &empty, &ok, &ok, &ok, &ok];
    // Four slots: the empty frame is skipped, the fifth good one does not fit.
    assert_eq!(tx.send_burst(master, frames).unwrap(), 4);
    assert_eq!(tx.stats().errors, 1);
    assert_eq!(tx.stats().full, 1);
    assert_eq!(tx.send_burst(master, [&ok[..]]).unwrap(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Receiving in place keeps the promise too: frames held in their ring (released now or
    /// some rounds later) read back as sent, in order, each once, chains included; held
    /// slots are not offered to the sender again until released.
    #[test]
    fn in_place_receive_never_loses_duplicates_or_reorders(
        log2 in 1u8..=6,
        buffer in prop::sample::select(vec![64u32, 128, 2048]),
        rounds in proptest::collection::vec((0usize..48, 0usize..48, 1usize..400, any::<bool>()), 1..24),
    ) {
        let mut l = link(log2, buffer);
        l.slave_rx.slave_refill().unwrap();
        let (mut s2m, mut m2s) = (std::collections::VecDeque::new(), std::collections::VecDeque::new());
        let mut n = 0u32;
        let capacity = (1usize << log2) * buffer as usize;
        let mut got = Burst::default();
        for (tx, rx, len, release) in rounds {
            let len = len.min(capacity);
            for (q, master, sent) in [(&mut l.slave_tx, false, &mut s2m), (&mut l.master_tx, true, &mut m2s)] {
                let frames: Vec<Vec<u8>> = (0..tx).map(|i| numbered(n + i as u32, len)).collect();
                n += tx as u32;
                let k = q.send_burst(master, frames.iter().map(Vec::as_slice)).unwrap();
                sent.extend(frames.into_iter().take(k));
            }
            for (q, master, sent) in [(&mut l.master_rx, true, &mut s2m), (&mut l.slave_rx, false, &mut m2s)] {
                got.clear();
                let k = q.recv_burst(master, &mut got, rx, true).unwrap();
                prop_assert_eq!(k, got.len());
                prop_assert!(k <= rx);
                for i in 0..k {
                    let want = sent.pop_front();
                    prop_assert_eq!(Some(&got.get(i)[..]), want.as_deref());
                }
                if release {
                    q.release(master).unwrap();
                }
            }
        }
        for (q, master, sent) in [(&mut l.master_rx, true, &mut s2m), (&mut l.slave_rx, false, &mut m2s)] {
            got.clear();
            q.recv_burst(master, &mut got, usize::MAX, true).unwrap();
            let rest: Vec<Vec<u8>> = got.iter().map(|f| f.into_owned()).collect();
            let want: Vec<Vec<u8>> = sent.iter().cloned().collect();
            prop_assert_eq!(rest, want);
            q.release(master).unwrap();
            let pending = if master { q.master_pending() } else { q.slave_pending() };
            prop_assert!(!pending);
        }
    }

    /// A bridge's path: frames received in place on one link are sent from there on
    /// another whose buffers may be smaller (chained on the way out) or larger; they
    /// arrive whole, in order, each once.
    #[test]
    fn frames_sent_from_another_ring_arrive_whole(
        log2 in 2u8..=6,
        in_buffer in prop::sample::select(vec![64u32, 128, 2048]),
        out_buffer in prop::sample::select(vec![64u32, 128, 2048]),
        lens in proptest::collection::vec(1usize..300, 1..40),
        master in any::<bool>(),
    ) {
        let mut a = link(log2, in_buffer);
        let mut b = link(log2, out_buffer);
        a.slave_rx.slave_refill().unwrap();
        b.slave_rx.slave_refill().unwrap();
        // Frames no ring can hold are skipped by a send, not this test's subject.
        let most = (1usize << log2) * in_buffer.min(out_buffer) as usize;
        let frames: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &len)| numbered(i as u32, len.min(most))).collect();
        let (a_tx, a_rx) = if master { (&mut a.slave_tx, &mut a.master_rx) } else { (&mut a.master_tx, &mut a.slave_rx) };
        let (b_tx, b_rx) = if master { (&mut b.master_tx, &mut b.slave_rx) } else { (&mut b.slave_tx, &mut b.master_rx) };
        let sent = a_tx.send_burst(!master, frames.iter().map(Vec::as_slice)).unwrap();
        let mut held = Burst::default();
        let k = a_rx.recv_burst(master, &mut held, usize::MAX, true).unwrap();
        prop_assert_eq!(k, sent);
        let forwarded = b_tx.send_burst(master, (0..k).map(|i| held.frame(i))).unwrap();
        a_rx.release(master).unwrap();
        let mut got = Burst::default();
        b_rx.recv_burst(!master, &mut got, usize::MAX, false).unwrap();
        let got: Vec<Vec<u8>> = got.iter().map(|f| f.into_owned()).collect();
        prop_assert_eq!(&got[..], &frames[..forwarded]);
    }
}

#[rstest]
#[case::master(true)]
#[case::slave(false)]
fn frames_held_in_place_are_not_overwritten_until_released(#[case] master: bool) {
    let mut l = link(2, 128);
    l.slave_rx.slave_refill().unwrap();
    let (tx, rx) = if master {
        (&mut l.slave_tx, &mut l.master_rx)
    } else {
        (&mut l.master_tx, &mut l.slave_rx)
    };
    let first: Vec<Vec<u8>> = (0..4).map(|i| frame(100, i)).collect();
    assert_eq!(tx.send_burst(!master, first.iter()).unwrap(), 4);
    let mut held = Burst::default();
    assert_eq!(rx.recv_burst(master, &mut held, 4, true).unwrap(), 4);
    assert!(matches!(held.frame(0), Frame::InRing { .. }));
    let second = frame(100, 9);
    assert_eq!(
        tx.send_burst(!master, [&second[..]]).unwrap(),
        0,
        "ring still held"
    );
    assert_eq!(held.iter().collect::<Vec<_>>(), first);
    rx.release(master).unwrap();
    assert_eq!(tx.send_burst(!master, [&second[..]]).unwrap(), 1);
    held.clear();
    assert_eq!(rx.recv_burst(master, &mut held, 4, true).unwrap(), 1);
    assert_eq!(&held.get(0)[..], &second[..]);
}
