use super::*;
use proptest::prelude::*;
use rstest::rstest;

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn cstr_at(b: &[u8], off: usize) -> &[u8] {
    let end = b[off..].iter().position(|&c| c == 0).unwrap();
    &b[off..off + end]
}

#[rstest]
#[case::ack(Message::Ack, 1)]
#[case::hello(Message::Hello(Hello::default()), 2)]
#[case::init(Message::Init(Init::default()), 3)]
#[case::add_region(Message::AddRegion(AddRegion::default()), 4)]
#[case::add_ring(Message::AddRing(AddRing { direction: Direction::M2S, index: 0, region: 0, offset: 0, log2_ring_size: 0, private_hdr_size: 0 }), 5)]
#[case::connect(Message::Connect { if_name: String::new() }, 6)]
#[case::connected(Message::Connected { if_name: String::new() }, 7)]
#[case::disconnect(Message::Disconnect(Disconnect::default()), 8)]
fn type_field_is_first_u16(#[case] msg: Message, #[case] wire_type: u16) {
    let b = msg.encode();
    assert_eq!(b.len(), MESSAGE_SIZE);
    assert_eq!(u16_at(&b, 0), wire_type);
}

#[test]
fn hello_field_offsets() {
    let b = Message::Hello(Hello {
        name: "DPDK 22.11.11".into(),
        min_version: 0x0200,
        max_version: 0x0201,
        max_region: 255,
        max_m2s_ring: 7,
        max_s2m_ring: 9,
        max_log2_ring_size: 14,
    })
    .encode();
    assert_eq!(cstr_at(&b, 2), b"DPDK 22.11.11");
    assert_eq!(u16_at(&b, 34), 0x0200);
    assert_eq!(u16_at(&b, 36), 0x0201);
    assert_eq!(u16_at(&b, 38), 255);
    assert_eq!(u16_at(&b, 40), 7);
    assert_eq!(u16_at(&b, 42), 9);
    assert_eq!(b[44], 14);
    assert!(b[45..].iter().all(|&c| c == 0));
}

#[test]
fn init_field_offsets() {
    let b = Message::Init(Init {
        version: VERSION,
        id: 0xA1B2_C3D4,
        mode: 1,
        secret: "s3cr3t".into(),
        name: "app".into(),
    })
    .encode();
    assert_eq!(u16_at(&b, 2), 0x0200);
    assert_eq!(u32_at(&b, 4), 0xA1B2_C3D4);
    assert_eq!(b[8], 1);
    assert_eq!(cstr_at(&b, 9), b"s3cr3t");
    assert_eq!(cstr_at(&b, 33), b"app");
}

#[test]
fn add_region_size_is_unaligned_u64_at_4() {
    let b = Message::AddRegion(AddRegion {
        index: 3,
        size: 4_227_328,
    })
    .encode();
    assert_eq!(u16_at(&b, 2), 3);
    assert_eq!(u64::from_le_bytes(b[4..12].try_into().unwrap()), 4_227_328);
}

#[rstest]
#[case::s2m(Direction::S2M, 1)]
#[case::m2s(Direction::M2S, 0)]
fn add_ring_field_offsets(#[case] direction: Direction, #[case] flags: u16) {
    let b = Message::AddRing(AddRing {
        direction,
        index: 2,
        region: 1,
        offset: 16_512,
        log2_ring_size: 10,
        private_hdr_size: 0x0102,
    })
    .encode();
    assert_eq!(u16_at(&b, 2), flags);
    assert_eq!(u16_at(&b, 4), 2);
    assert_eq!(u16_at(&b, 6), 1);
    assert_eq!(u32_at(&b, 8), 16_512);
    assert_eq!(b[12], 10);
    assert_eq!(u16_at(&b, 13), 0x0102);
}

#[test]
fn disconnect_field_offsets() {
    let b = Message::Disconnect(Disconnect {
        code: 5,
        reason: "incorrect secret".into(),
    })
    .encode();
    assert_eq!(u32_at(&b, 2), 5);
    assert_eq!(cstr_at(&b, 6), b"incorrect secret");
}

#[rstest]
#[case::name(Message::Connect { if_name: "x".repeat(40) }, Message::Connect { if_name: "x".repeat(31) })]
#[case::multibyte(Message::Connect { if_name: "é".repeat(20) }, Message::Connect { if_name: "é".repeat(15) })]
#[case::secret(
    Message::Init(Init { secret: "y".repeat(30), ..Init::default() }),
    Message::Init(Init { secret: "y".repeat(23), ..Init::default() })
)]
#[case::reason(
    Message::Disconnect(Disconnect { code: 0, reason: "z".repeat(200) }),
    Message::Disconnect(Disconnect { code: 0, reason: "z".repeat(95) })
)]
fn long_strings_are_truncated_keeping_a_nul(#[case] sent: Message, #[case] received: Message) {
    assert_eq!(Message::decode(&sent.encode()).unwrap(), received);
}

#[rstest]
#[case::empty(0)]
#[case::short(127)]
#[case::long(129)]
fn wrong_length_is_rejected(#[case] len: usize) {
    let mut b = vec![0u8; len];
    if len >= 2 {
        b[0] = 1;
    }
    assert!(matches!(Message::decode(&b), Err(Error::MessageSize(n)) if n == len));
}

#[rstest]
#[case::none(0)]
#[case::nine(9)]
#[case::max(u16::MAX)]
fn unknown_type_is_rejected(#[case] ty: u16) {
    let mut b = [0u8; MESSAGE_SIZE];
    b[..2].copy_from_slice(&ty.to_ne_bytes());
    assert!(matches!(Message::decode(&b), Err(Error::UnknownMessageType(t)) if t == ty));
}

#[test]
fn unterminated_string_field_uses_the_whole_field() {
    let mut b = Message::Connected {
        if_name: String::new(),
    }
    .encode();
    b[2..34].fill(b'a');
    assert_eq!(
        Message::decode(&b).unwrap(),
        Message::Connected {
            if_name: "a".repeat(32)
        }
    );
}

fn text(max_bytes: usize) -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ./_@é-]{0,31}".prop_filter("fits its field", move |s| s.len() < max_bytes)
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::S2M), Just(Direction::M2S)]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Ack),
        (
            text(NAME_LEN),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>()
        )
            .prop_map(|(name, a, b, c, d, e, f)| Message::Hello(Hello {
                name,
                min_version: a,
                max_version: b,
                max_region: c,
                max_m2s_ring: d,
                max_s2m_ring: e,
                max_log2_ring_size: f,
            })),
        (
            any::<u16>(),
            any::<u32>(),
            any::<u8>(),
            text(SECRET_LEN),
            text(NAME_LEN)
        )
            .prop_map(|(version, id, mode, secret, name)| Message::Init(Init {
                version,
                id,
                mode,
                secret,
                name
            })),
        (any::<u16>(), any::<u64>())
            .prop_map(|(index, size)| Message::AddRegion(AddRegion { index, size })),
        (
            direction(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>()
        )
            .prop_map(|(direction, index, region, offset, log2, phs)| {
                Message::AddRing(AddRing {
                    direction,
                    index,
                    region,
                    offset,
                    log2_ring_size: log2,
                    private_hdr_size: phs,
                })
            }),
        text(NAME_LEN).prop_map(|if_name| Message::Connect { if_name }),
        text(NAME_LEN).prop_map(|if_name| Message::Connected { if_name }),
        (any::<u32>(), text(REASON_LEN))
            .prop_map(|(code, reason)| Message::Disconnect(Disconnect { code, reason })),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(msg in message()) {
        prop_assert_eq!(Message::decode(&msg.encode()).unwrap(), msg);
    }

    #[test]
    fn decode_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
    }

    /// Whatever a peer sends that decodes, one encode pass yields a message that then
    /// round-trips.
    #[test]
    fn decoded_messages_reach_a_fixpoint(bytes in proptest::collection::vec(any::<u8>(), 126), ty in 1u16..=8) {
        let mut b = [0u8; MESSAGE_SIZE];
        b[..2].copy_from_slice(&ty.to_ne_bytes());
        b[2..].copy_from_slice(&bytes);
        // Text that is not UTF-8 is refused; anything accepted re-encodes to a message
        // that decodes (full-length text loses its last byte to the NUL once).
        if let Ok(m) = Message::decode(&b) {
            let first = Message::decode(&m.encode()).unwrap();
            let again = Message::decode(&first.encode()).unwrap();
            prop_assert_eq!(again, first);
        }
    }
}

#[test]
fn secrets_that_are_not_text_are_refused() {
    // Two different byte strings must never decode to the same secret.
    let mut b = [0u8; MESSAGE_SIZE];
    b[..2].copy_from_slice(&3u16.to_ne_bytes());
    b[9] = 0xff;
    assert!(Message::decode(&b).is_err());
}
