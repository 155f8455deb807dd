//! Split rings against a model: whatever the ring size, the shape of the transmit chains
//! and the pattern of bursts, frames come out of the rings exactly as they went in: none
//! lost, none twice, none out of order. The driver side is this crate's; the device side
//! is rust-vmm's virtio-queue under the back end's data path.

mod common;

use proptest::prelude::*;

use common::pair;

#[derive(Debug, Clone)]
enum Op {
    /// The driver transmits frames (length, descriptors per chain).
    DriverSend(Vec<(usize, usize)>),
    /// The back end takes up to this many transmitted frames.
    DeviceRecv(usize),
    /// The back end offers frames of these lengths to the driver.
    DeviceSend(Vec<usize>),
    /// The driver takes up to this many received frames.
    DriverRecv(usize),
}

fn op(max_rx: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::vec((14usize..3000, 1usize..5), 1..20).prop_map(Op::DriverSend),
        (1usize..40).prop_map(Op::DeviceRecv),
        prop::collection::vec(14usize..max_rx, 1..20).prop_map(Op::DeviceSend),
        (1usize..40).prop_map(Op::DriverRecv),
    ]
}

/// A frame that says which one it is in its first bytes.
fn frame(seq: u32, len: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| (i as u32 ^ seq) as u8).collect();
    f[..4].copy_from_slice(&seq.to_be_bytes());
    f
}

fn case() -> impl Strategy<Value = (u16, Vec<Op>)> {
    (0u32..=8).prop_flat_map(|exp| {
        let size = 1u16 << exp;
        // A frame for the driver must fit the buffers a ring of this size can hold.
        let max_rx = (usize::from(size).min(3) * 2048 - 12).min(5000);
        (Just(size), prop::collection::vec(op(max_rx), 1..40))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rings_neither_lose_duplicate_nor_reorder((size, ops) in case()) {
        let (mut fe, port) = pair(size);
        let dev = port.device().clone();
        let mut seq = 0u32;
        let (mut sent_tx, mut got_tx) = (Vec::new(), Vec::new());
        let (mut pending_rx, mut sent_rx, mut got_rx) = (Vec::new(), Vec::new(), Vec::new());
        let offer = |pending: &mut Vec<Vec<u8>>, sent: &mut Vec<Vec<u8>>| {
            let n = dev.lock().unwrap().send_burst(pending.iter().map(|f| f.as_slice())).unwrap();
            sent.extend(pending.drain(..n));
        };
        for op in ops {
            match op {
                Op::DriverSend(frames) => {
                    for (len, pieces) in frames {
                        let f = frame(seq, len);
                        seq += 1;
                        if fe.send_split(&f, pieces).unwrap() {
                            sent_tx.push(f);
                        }
                    }
                    fe.flush().unwrap();
                }
                Op::DeviceRecv(max) => {
                    dev.lock().unwrap().recv_burst(&mut got_tx, max).unwrap();
                }
                Op::DeviceSend(lens) => {
                    for len in lens {
                        pending_rx.push(frame(seq, len));
                        seq += 1;
                    }
                    offer(&mut pending_rx, &mut sent_rx);
                }
                Op::DriverRecv(max) => {
                    fe.recv(&mut got_rx, max).unwrap();
                }
            }
        }
        // Drain both directions.
        dev.lock().unwrap().recv_burst(&mut got_tx, usize::MAX).unwrap();
        while !pending_rx.is_empty() || got_rx.len() < sent_rx.len() {
            fe.recv(&mut got_rx, usize::MAX).unwrap();
            offer(&mut pending_rx, &mut sent_rx);
        }
        prop_assert_eq!(&got_tx, &sent_tx);
        prop_assert_eq!(&got_rx, &sent_rx);
        prop_assert_eq!(dev.lock().unwrap().stats.errors, 0);
        prop_assert!(dev.lock().unwrap().ready());
    }
}
