//! The virtio-user front end against the back end: negotiation, frames both ways, and a
//! front end that stops, leaves or misbehaves.

mod common;

use std::os::unix::net::UnixStream;
use std::time::Duration;

use rstest::rstest;
use vhost::vhost_user::Frontend as VuFrontend;
use vhost::{VhostBackend, VhostUserMemoryRegionInfo};
use vhost_user_net::{Port, Served, OFFERED_FEATURES};
use vm_memory::{Bytes, GuestAddress};

use common::{pair, readable, serve_while};

fn frame(n: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i + n) as u8).collect()
}

#[rstest]
#[case(64)]
#[case(256)]
fn negotiates_and_carries_frames_both_ways(#[case] qsize: u16) {
    let (mut fe, port) = pair(qsize);
    assert_eq!(fe.features(), OFFERED_FEATURES);
    let dev = port.device().clone();
    assert!(dev.lock().unwrap().ready());

    let sent: Vec<Vec<u8>> = (0..40).map(|n| frame(n, 60 + n * 37)).collect();
    assert_eq!(
        fe.send_burst(sent.iter().map(|f| f.as_slice())).unwrap(),
        40
    );
    let mut got = Vec::new();
    dev.lock().unwrap().recv_burst(&mut got, 1000).unwrap();
    assert_eq!(got, sent);

    // 4000 bytes take two merged 2048-byte buffers.
    let back: Vec<Vec<u8>> = [64, 1500, 4000, 9000]
        .iter()
        .map(|&l| frame(l, l))
        .collect();
    let n = dev
        .lock()
        .unwrap()
        .send_burst(back.iter().map(|f| f.as_slice()))
        .unwrap();
    assert_eq!(n, 4);
    let mut got = Vec::new();
    fe.recv(&mut got, 100).unwrap();
    assert_eq!(got, back);
    let s = dev.lock().unwrap().stats;
    assert_eq!((s.rx_packets, s.tx_packets, s.errors), (40, 4, 0));
}

#[test]
fn a_full_receive_ring_refuses_the_rest_without_losing_order() {
    let (mut fe, port) = pair(8);
    let dev = port.device().clone();
    let frames: Vec<Vec<u8>> = (0..20).map(|n| frame(n, 100)).collect();
    let n = dev
        .lock()
        .unwrap()
        .send_burst(frames.iter().map(|f| f.as_slice()))
        .unwrap();
    assert_eq!(n, 8);
    let mut got = Vec::new();
    fe.recv(&mut got, 100).unwrap();
    let n2 = dev
        .lock()
        .unwrap()
        .send_burst(frames[8..].iter().map(|f| f.as_slice()))
        .unwrap();
    assert_eq!(n2, 8);
    fe.recv(&mut got, 100).unwrap();
    assert_eq!(got, frames[..16]);
}

#[test]
fn get_vring_base_stops_the_port() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut port = Port::from_stream(b);
    let t = std::thread::spawn(move || {
        let (a2, _) = (a, ());
        vhost_user_net::Frontend::start(a2, 16)
    });
    serve_while(&mut port, || t.is_finished());
    let mut fe = t.join().unwrap().unwrap();
    while readable(port.poll_fd().unwrap(), Duration::from_millis(20)) {
        port.serve();
    }
    fe.send(&frame(1, 80)).unwrap();
    let dev = port.device().clone();
    let t = std::thread::spawn(move || fe.stop().map(|b| (b, fe)));
    serve_while(&mut port, || t.is_finished());
    let (bases, _fe) = t.join().unwrap().unwrap();
    // Nothing was taken from the transmit ring yet: it stopped at 0; the receive ring's
    // buffers were all posted but none used.
    assert_eq!(bases, [0, 0]);
    assert!(!dev.lock().unwrap().ready());
}

#[test]
fn a_vanishing_front_end_takes_the_port_down() {
    let (fe, mut port) = pair(16);
    let dev = port.device().clone();
    drop(fe);
    let seen = serve_while(&mut port, || false);
    assert_eq!(seen.last(), Some(&Served::Gone));
    assert!(!dev.lock().unwrap().ready());
    assert!(!port.connected());
    assert_eq!(
        dev.lock().unwrap().stats.errors,
        0,
        "leaving is not an error"
    );
}

#[test]
fn descriptors_outside_memory_are_counted_errors_not_reads() {
    let (mut fe, port) = pair(16);
    let dev = port.device().clone();
    assert!(fe.send_split(&frame(0, 100), 1).unwrap());
    let (mem, layout) = fe.memory();
    // Descriptor 0 (the head just posted) now points far outside the shared memory.
    mem.write_obj(1u64 << 40, GuestAddress(layout[1].desc))
        .unwrap();
    fe.flush().unwrap();
    let mut got = Vec::new();
    assert!(dev.lock().unwrap().recv_burst(&mut got, 10).is_err());
    let d = dev.lock().unwrap();
    assert!(got.is_empty());
    assert!(!d.ready());
    assert_eq!(d.stats.errors, 1);
    assert!(d.failure().unwrap().contains("memory"), "{:?}", d.failure());
}

#[test]
fn an_avail_index_running_ahead_is_an_error() {
    let (fe, port) = pair(16);
    let dev = port.device().clone();
    let (mem, layout) = fe.memory();
    mem.write_obj(100u16, GuestAddress(layout[1].avail + 2))
        .unwrap();
    let mut got = Vec::new();
    assert!(dev.lock().unwrap().recv_burst(&mut got, 10).is_err());
    assert!(!dev.lock().unwrap().ready());
    assert_eq!(dev.lock().unwrap().stats.errors, 1);
}

#[rstest]
#[case::past_the_file(8192, 0)]
#[case::offset_past_the_file(4096, 4096)]
fn a_malformed_memory_table_is_refused_and_counted(#[case] size: u64, #[case] offset: u64) {
    let (a, b) = UnixStream::pair().unwrap();
    let mut port = Port::from_stream(b);
    let dev = port.device().clone();
    let t = std::thread::spawn(move || {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        let vu = VuFrontend::from_stream(a, 2);
        vu.set_owner().unwrap();
        let f = vu.get_features().unwrap();
        vu.set_features(f).unwrap();
        use std::os::fd::AsRawFd;
        let _ = vu.set_mem_table(&[VhostUserMemoryRegionInfo {
            guest_phys_addr: 0,
            memory_size: size,
            userspace_addr: 0x10000,
            mmap_offset: offset,
            mmap_handle: file.as_raw_fd(),
        }]);
        vu
    });
    let seen = serve_while(&mut port, || false);
    let _vu = t.join().unwrap();
    assert!(matches!(seen.last(), Some(Served::Refused(_))), "{seen:?}");
    assert!(!port.connected());
    let d = dev.lock().unwrap();
    assert!(!d.ready());
    assert_eq!(d.stats.errors, 1);
}

#[test]
fn garbage_on_the_socket_closes_the_connection() {
    use std::io::Write;
    let (mut a, b) = UnixStream::pair().unwrap();
    let mut port = Port::from_stream(b);
    a.write_all(&[0xff; 64]).unwrap();
    let seen = serve_while(&mut port, || false);
    assert!(
        matches!(seen.last(), Some(Served::Refused(_) | Served::Gone)),
        "{seen:?}"
    );
    assert!(!port.connected());
}

#[test]
fn server_and_client_sockets() {
    let dir = tempfile::tempdir().unwrap();
    // Back end listens, front end connects (the front end's client mode).
    let path = dir.path().join("server.sock");
    let mut port = Port::listen(&path).unwrap();
    let p2 = path.clone();
    let t = std::thread::spawn(move || vhost_user_net::Frontend::connect(&p2, 32));
    while !port.accept().unwrap() {
        std::thread::sleep(Duration::from_millis(2));
    }
    serve_while(&mut port, || t.is_finished());
    assert!(t.join().unwrap().is_ok());

    // Front end listens, back end connects and retries until it is there.
    let path = dir.path().join("client.sock");
    let mut port = Port::client(&path);
    assert!(!port.connect().unwrap(), "nobody listens yet");
    let listener = vhost::vhost_user::Listener::new(&path, true).unwrap();
    let t = std::thread::spawn(move || vhost_user_net::Frontend::accept(&listener, 32));
    assert!(port.connect().unwrap());
    serve_while(&mut port, || t.is_finished());
    let _fe = t.join().unwrap().unwrap();
    while readable(port.poll_fd().unwrap(), Duration::from_millis(20)) {
        port.serve();
    }
    assert!(port.device().lock().unwrap().ready());
}
