//! Any bytes on the socket (the same harness as the `vhost_user_message` fuzz target,
//! without descriptors): the back end answers, refuses or drops the connection, and
//! never panics.

use std::io::Write;
use std::os::unix::net::UnixStream;

use proptest::prelude::*;
use vhost_user_net::{Port, Served};

/// A message header (request, version-1 flags, body size) and a body.
fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        0u32..50,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(req, ok_flags, body)| {
            let mut m = req.to_le_bytes().to_vec();
            m.extend_from_slice(&(if ok_flags { 1u32 } else { 0xff }).to_le_bytes());
            m.extend_from_slice(&(body.len() as u32).to_le_bytes());
            m.extend(body);
            m
        })
}

fn serve(bytes: &[u8]) -> Vec<Served> {
    let (mut a, b) = UnixStream::pair().unwrap();
    let _ = a.write_all(bytes);
    // The front end has said all it will: a message cut short ends in end-of-file.
    drop(a);
    let mut port = Port::from_stream(b);
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let s = port.serve();
        let end = s != Served::Ok;
        seen.push(s);
        if end {
            break;
        }
    }
    assert!(
        !port.device().lock().unwrap().ready(),
        "no memory, no rings"
    );
    seen
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let seen = serve(&bytes);
        prop_assert!(seen.last() != Some(&Served::Ok));
    }

    #[test]
    fn arbitrary_messages_never_panic(msgs in prop::collection::vec(message(), 1..20)) {
        let seen = serve(&msgs.concat());
        prop_assert!(seen.last() != Some(&Served::Ok));
    }
}
