//! More frames than the receiver's ring holds: the bridge drops what does not fit, as VPP
//! does, and `show interface` counts those frames as drops, not as sent.

mod common;

use std::time::{Duration, Instant};

use memif::{Burst, Slave, SlaveConfig, SocketAddr};
use vpp_api::types::MemifRole;

const FRAMES: u64 = 300;

fn frame(n: u64) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]); // nobody's MAC: flooded to the other port
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    f[14..22].copy_from_slice(&n.to_be_bytes());
    f
}

fn slave(socket: &std::path::Path, name: &str, log2_ring_size: u8) -> Slave {
    let cfg = SlaveConfig {
        log2_ring_size,
        ..SlaveConfig::new(0, name)
    };
    let mut s = Slave::new(SocketAddr::Path(socket.to_path_buf()), cfg).unwrap();
    s.connect_with_retry(Duration::from_millis(10), Duration::from_secs(5))
        .unwrap();
    s
}

#[test]
fn frames_a_full_ring_refuses_are_counted_as_drops() {
    let dir = tempfile::tempdir().unwrap();
    let host = common::Vpp::start(dir.path(), "host");
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let ports = [&a, &b].map(|s| {
        let sw = host.memif(s, MemifRole::MASTER);
        host.bridge(sw, 4, None);
        sw
    });
    let mut tx = slave(&a, "tx", 10);
    // 16 slots, and nobody reads them until the end.
    let mut rx = slave(&b, "rx", 4);
    for sw in ports {
        host.wait_link(sw, true);
    }

    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame).collect();
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sent < frames.len() && Instant::now() < deadline {
        let conn = tx.connection_mut().unwrap();
        sent += conn
            .send_burst(0, frames[sent..].iter().map(Vec::as_slice))
            .unwrap();
    }
    assert_eq!(
        sent as u64, FRAMES,
        "the sender's ring took every frame in time"
    );

    // Every frame reaches the bridge; what leaves port b is either sent or dropped.
    let out = loop {
        let (i, o) = (host.counters(ports[0]), host.counters(ports[1]));
        if i.rx_packets == FRAMES && o.tx_packets + o.drops == FRAMES {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "counters did not settle: in {i:?}, out {o:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(out.tx_packets, 16, "one ring's worth was sent: {out:?}");
    assert_eq!(out.drops, FRAMES - 16);
    assert_eq!(out.tx_bytes, 16 * 60);

    // The receiver finds exactly what was counted as sent: the first frames, in order.
    let mut got = Burst::default();
    let conn = rx.connection_mut().unwrap();
    while conn.recv_burst(0, &mut got, 64).unwrap() > 0 {}
    let want: Vec<&[u8]> = frames[..16].iter().map(Vec::as_slice).collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
}
