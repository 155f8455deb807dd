//! Round trips of wire structs for arbitrary values, decode robustness on arbitrary
//! bytes, and the byte-exact examples of the transport spec.

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vpp_api::message::{self, Envelope, Message};
use vpp_api::messages::*;
use vpp_api::types::*;
use vpp_api::wire::{FixedString, MacAddress, Prefix};

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap()
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (any::<u16>(), any::<u32>(), any::<u32>()).prop_map(|(msg_id, client_index, context)| {
        Envelope {
            msg_id,
            client_index,
            context,
        }
    })
}

fn prefix() -> impl Strategy<Value = Prefix> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), l)),
        (any::<u128>(), 0u8..=128).prop_map(|(a, l)| Prefix::new(IpAddr::V6(Ipv6Addr::from(a)), l)),
    ]
}

fn roundtrip<M: Message + PartialEq + std::fmt::Debug>(env: Envelope, msg: M) {
    let body = message::encode(env, &msg);
    assert_eq!(message::peek_id(&body).unwrap(), env.msg_id);
    let (env2, back) = message::decode::<M>(&body).unwrap();
    assert_eq!(back, msg);
    assert_eq!(env2.context, env.context);
    if M::HEADER == vpp_api::Header::ClientContext {
        assert_eq!(env2.client_index, env.client_index);
    }
}

proptest! {
    #[test]
    fn memif_create_v2(env in envelope(), role in 0u32..2, mode in 0u32..3, q in any::<(u8, u8)>(),
                       id in any::<u32>(), sock in any::<u32>(), ring in any::<u32>(),
                       buf in any::<u16>(), mac in any::<[u8; 6]>(), secret in text(23)) {
        roundtrip(env, MemifCreateV2 {
            role: MemifRole(role), mode: MemifMode(mode), rx_queues: q.0, tx_queues: q.1, id,
            socket_id: sock, ring_size: ring, buffer_size: buf, no_zero_copy: id % 2 == 0,
            use_dma: false, hw_addr: MacAddress(mac), secret: FixedString::new(&secret),
        });
    }

    #[test]
    fn bridge_domain_details(env in envelope(), bd in any::<u32>(), tag in text(63),
                             members in proptest::collection::vec((any::<u32>(), any::<u8>()), 0..40)) {
        roundtrip(env, BridgeDomainDetails {
            bd_id: bd, flood: true, learn: bd % 3 == 0, bd_tag: FixedString::new(&tag),
            bvi_sw_if_index: u32::MAX, uu_fwd_sw_if_index: u32::MAX,
            sw_if_details: members.into_iter()
                .map(|(sw_if_index, shg)| BridgeDomainSwIf { context: 0, sw_if_index, shg })
                .collect::<Vec<_>>().into(),
            ..Default::default()
        });
    }

    #[test]
    fn sockclnt_create_reply(env in envelope(), index in any::<u32>(),
                             names in proptest::collection::vec(text(63), 0..50)) {
        roundtrip(env, SockclntCreateReply {
            response: 0, index,
            message_table: names.iter().enumerate()
                .map(|(i, n)| MessageTableEntry { index: i as u16, name: FixedString::new(n) })
                .collect::<Vec<_>>().into(),
        });
    }

    #[test]
    fn variable_strings(env in envelope(), cmd in ".{0,300}", filename in text(200), sock in any::<u32>()) {
        roundtrip(env, CliInband { cmd: cmd.clone() });
        roundtrip(env, CliInbandReply { retval: -1, reply: cmd });
        roundtrip(env, MemifSocketFilenameAddDelV2 { is_add: true, socket_id: sock, socket_filename: filename });
    }

    #[test]
    fn addresses(env in envelope(), sw in any::<u32>(), p in prefix()) {
        roundtrip(env, SwInterfaceAddDelAddress { sw_if_index: sw, is_add: true, del_all: false, prefix: p });
        roundtrip(env, IpAddressDetails { sw_if_index: sw, prefix: p });
    }

    /// Decoding arbitrary bytes returns a value or an error, never a panic, and never
    /// reserves memory from an untrusted count.
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = message::decode::<SockclntCreateReply>(&bytes);
        let _ = message::decode::<BridgeDomainDetails>(&bytes);
        let _ = message::decode::<SwInterfaceDetails>(&bytes);
        let _ = message::decode::<CliInband>(&bytes);
        let _ = message::decode::<MemifSocketFilenameAddDelV2>(&bytes);
        let _ = message::decode::<SwInterfaceAddDelAddress>(&bytes);
        let _ = message::decode::<MemifDetails>(&bytes);
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn handshake_bytes_match_the_spec_example() {
    let body = message::encode(
        Envelope {
            msg_id: 15,
            client_index: 0,
            context: 124,
        },
        &SockclntCreate {
            name: FixedString::new("probe"),
        },
    );
    let mut expected = hex("000f 0000007c 70726f6265");
    expected.resize(70, 0);
    assert_eq!(body, expected);
    assert_eq!(
        vpp_api::frame::header(body.len()).to_vec(),
        hex("00000000 00000000 00000046 00000000")
    );
}

#[test]
fn memif_create_v2_bytes_match_the_spec_example() {
    let body = message::encode(
        Envelope {
            msg_id: 0x011a,
            client_index: 0x8000_0218,
            context: 11,
        },
        &MemifCreateV2 {
            socket_id: 1,
            ..Default::default()
        },
    );
    let mut expected = hex(
        "011a 80000218 0000000b 00000000 00000000 00 00 00000000 00000001 00000000 0000 00 00 000000000000",
    );
    expected.resize(66, 0);
    assert_eq!(body, expected);
}

#[test]
fn short_bodies_are_errors() {
    let full = message::encode(Envelope::default(), &MemifDetails::default());
    for cut in 0..full.len() {
        assert!(
            message::decode::<MemifDetails>(&full[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn fixed_strings_keep_a_nul() {
    let long = "x".repeat(200);
    let s: FixedString<64> = FixedString::new(&long);
    assert_eq!(s.as_str().len(), 63);
    assert!(FixedString::<64>::exact(&long).is_none());
    assert_eq!(FixedString::<8>::exact("abc").unwrap().as_str(), "abc");
}
