//! Frames through the bridge whatever their size and the buffers on either side: a frame
//! chained over several small buffers on the way in, or left in one large buffer and
//! copied straight into several small ones on the way out, arrives whole and in order.

mod common;

use std::time::{Duration, Instant};

use memif::{Burst, Slave, SlaveConfig, SocketAddr};
use rstest::rstest;
use vpp_api::types::MemifRole;

/// Lengths that fit one buffer, exactly fill one, and need several.
const LENS: [usize; 6] = [60, 256, 257, 1000, 1500, 3000];
const ROUNDS: usize = 5;

fn frame(n: usize, len: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| (i * 7 + n) as u8).collect();
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]); // nobody's MAC: flooded to the other port
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    f[14..22].copy_from_slice(&(n as u64).to_be_bytes());
    f
}

fn slave(socket: &std::path::Path, name: &str, buffer_size: u32) -> Slave {
    let cfg = SlaveConfig {
        buffer_size,
        ..SlaveConfig::new(0, name)
    };
    let mut s = Slave::new(SocketAddr::Path(socket.to_path_buf()), cfg).unwrap();
    s.connect_with_retry(Duration::from_millis(10), Duration::from_secs(5))
        .unwrap();
    s
}

#[rstest]
#[case::small_in_large_out(256, 2048)]
#[case::large_in_small_out(2048, 256)]
#[case::large_both(2048, 2048)]
fn frames_of_any_size_cross_the_bridge_whole(#[case] tx_buffer: u32, #[case] rx_buffer: u32) {
    let dir = tempfile::tempdir().unwrap();
    let host = common::Vpp::start(dir.path(), "host");
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let ports = [&a, &b].map(|s| {
        let sw = host.memif(s, MemifRole::MASTER);
        host.bridge(sw, 4, None);
        sw
    });
    let mut tx = slave(&a, "tx", tx_buffer);
    let mut rx = slave(&b, "rx", rx_buffer);
    for sw in ports {
        host.wait_link(sw, true);
    }

    let frames: Vec<Vec<u8>> = (0..ROUNDS * LENS.len())
        .map(|n| frame(n, LENS[n % LENS.len()]))
        .collect();
    let sent = tx
        .connection_mut()
        .unwrap()
        .send_burst(0, frames.iter())
        .unwrap();
    assert_eq!(sent, frames.len(), "the sender's ring took every frame");

    let mut got = Burst::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    let conn = rx.connection_mut().unwrap();
    while got.len() < frames.len() && Instant::now() < deadline {
        if conn.recv_burst(0, &mut got, 64).unwrap() == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let got: Vec<Vec<u8>> = got.iter().map(|f| f.into_owned()).collect();
    assert_eq!(got.len(), frames.len(), "frames lost or late");
    for (n, (g, f)) in got.iter().zip(&frames).enumerate() {
        assert!(
            g == f,
            "frame {n} ({} bytes) arrived as {} bytes or changed",
            f.len(),
            g.len()
        );
    }
    let out = host.counters(ports[1]);
    assert_eq!(out.tx_packets, frames.len() as u64);
    assert_eq!(
        out.tx_bytes,
        frames.iter().map(Vec::len).sum::<usize>() as u64
    );
}
