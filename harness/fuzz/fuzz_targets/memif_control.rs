//! Any bytes as a memif control message: decoding never panics, and what decodes encodes
//! to a message that then round-trips (full-length text loses its last byte to the NUL).
#![no_main]

use libfuzzer_sys::fuzz_target;
use memif::msg::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let first = Message::decode(&m.encode()).expect("an encoded message decodes");
        let again = Message::decode(&first.encode()).expect("an encoded message decodes");
        assert_eq!(again, first);
    }
});
