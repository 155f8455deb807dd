use super::*;
use crate::eventfd::EventFd;
use crate::msg::{AddRegion, Disconnect};
use rstest::rstest;
use std::path::PathBuf;

fn send_raw(sock: &ControlSocket, bytes: &[u8]) {
    // SAFETY: sends from a live slice.
    let ret = unsafe { libc::send(sock.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
    assert_eq!(ret, bytes.len() as isize);
}

#[rstest]
#[case::at("@memif.sock", SocketAddr::Abstract("memif.sock".into()))]
#[case::vpp("abstract:x", SocketAddr::Abstract("x".into()))]
#[case::path("/run/vpp/memif.sock", SocketAddr::Path("/run/vpp/memif.sock".into()))]
fn parses_address_spellings(#[case] text: &str, #[case] want: SocketAddr) {
    assert_eq!(SocketAddr::parse(text), want);
}

#[test]
fn abstract_address_length_has_no_trailing_nul() {
    let (sa, len) = SocketAddr::Abstract("/tmp/memif0.sock".into())
        .to_raw()
        .unwrap();
    assert_eq!(len as usize, 2 + 1 + "/tmp/memif0.sock".len());
    assert_eq!(sa.sun_path[0], 0);
    assert_eq!(sa.sun_path[1] as u8, b'/');
}

#[rstest]
#[case::empty(SocketAddr::Path(PathBuf::new()))]
#[case::too_long(SocketAddr::Path(PathBuf::from("x".repeat(200))))]
#[case::nul(SocketAddr::Abstract("a\0b".into()))]
fn unusable_addresses_are_refused(#[case] addr: SocketAddr) {
    assert!(matches!(addr.to_raw(), Err(Error::InvalidConfig(_))));
}

#[test]
fn message_and_fd_cross_a_pair() {
    let (a, b) = ControlSocket::pair().unwrap();
    assert!(b.recv().unwrap().is_none(), "nothing sent yet");
    let kick = EventFd::new().unwrap();
    let msg = Message::AddRegion(AddRegion {
        index: 0,
        size: 4096,
    });
    a.send(&msg, Some(kick.as_fd())).unwrap();
    let got = b.recv().unwrap().unwrap();
    assert_eq!(got.msg, msg);
    let received = EventFd::from_fd(got.fd.expect("fd attached")).unwrap();
    kick.signal().unwrap();
    assert_eq!(received.take().unwrap(), 1, "same kernel object");
}

#[test]
fn message_without_fd_has_none() {
    let (a, b) = ControlSocket::pair().unwrap();
    a.send(&Message::Ack, None).unwrap();
    let got = b.recv_timeout(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(got.msg, Message::Ack);
    assert!(got.fd.is_none());
}

#[rstest]
#[case::short(64)]
#[case::long(200)]
fn wrong_sized_messages_are_errors(#[case] len: usize) {
    let (a, b) = ControlSocket::pair().unwrap();
    send_raw(&a, &vec![1u8; len]);
    assert!(matches!(b.recv(), Err(Error::MessageSize(n)) if n == len));
}

#[test]
fn closed_peer_is_reported() {
    let (a, b) = ControlSocket::pair().unwrap();
    a.send(
        &Message::Disconnect(Disconnect {
            code: 0,
            reason: "bye".into(),
        }),
        None,
    )
    .unwrap();
    drop(a);
    assert!(matches!(
        b.recv().unwrap().unwrap().msg,
        Message::Disconnect(_)
    ));
    assert!(matches!(b.recv(), Err(Error::PeerClosed)));
}

#[test]
fn recv_timeout_gives_up() {
    let (_a, b) = ControlSocket::pair().unwrap();
    let err = b.recv_timeout(Some(Duration::from_millis(20))).unwrap_err();
    assert!(matches!(err, Error::Timeout));
}

fn listener_roundtrip(addr: &SocketAddr) {
    let listener = Listener::bind(addr).unwrap();
    assert!(listener.accept().unwrap().is_none());
    let client = ControlSocket::connect(addr).unwrap();
    poll_readable(&[listener.as_raw_fd()], Some(Duration::from_secs(1))).unwrap();
    let server = listener.accept().unwrap().expect("pending connection");
    // The accepted socket has SO_PASSCRED: the fd must survive next to the credentials.
    let kick = EventFd::new().unwrap();
    client.send(&Message::Ack, Some(kick.as_fd())).unwrap();
    let got = server.recv_timeout(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(got.msg, Message::Ack);
    assert!(got.fd.is_some());
}

#[test]
fn path_listener_accepts_and_removes_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memif.sock");
    let addr = SocketAddr::Path(path.clone());
    listener_roundtrip(&addr);
    assert!(!path.exists(), "socket file removed on drop");
}

#[test]
fn abstract_listener_accepts() {
    let name = format!("memif-test-{}-abstract", std::process::id());
    listener_roundtrip(&SocketAddr::Abstract(name));
}

#[test]
fn stale_socket_file_is_replaced_but_live_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::Path(dir.path().join("memif.sock"));
    let first = Listener::bind(&addr).unwrap();
    let err = Listener::bind(&addr).unwrap_err();
    assert!(matches!(err, Error::Io { op: "bind", .. }), "{err}");
    // Leak the file as a killed process would: forget the listener's cleanup, close its fd.
    let fd = first.fd.as_raw_fd();
    mem::forget(first);
    // SAFETY: fd belonged to the forgotten listener and is closed exactly once here.
    unsafe { libc::close(fd) };
    Listener::bind(&addr).expect("stale file replaced");
}

#[test]
fn regular_file_in_the_way_is_not_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memif.sock");
    std::fs::write(&path, b"data").unwrap();
    assert!(Listener::bind(&SocketAddr::Path(path.clone())).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
}
