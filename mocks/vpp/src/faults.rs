//! Fault injection, for testing what a client does when VPP misbehaves: fail the Nth
//! occurrence of a message with a given error, swallow it (no reply ever comes), drop the
//! connection, or exit the whole process — as `--fault ACTION:MESSAGE[:N[:RETVAL]]`
//! (MESSAGE is the message name, e.g. `memif_create_v2`, or `*` for any request).

use vpp_api::message::{encode, Envelope};
use vpp_api::messages::*;
use vpp_api::{Message, MessageTable, Request};

/// The retval a failed request is answered with (VPP's "unspecified" when the rule gives
/// none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retval(pub i32);

impl std::str::FromStr for Retval {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Retval, Self::Err> {
        s.parse().map(Retval)
    }
}

impl mock_faults::Failure for Retval {
    const NAME: &'static str = "MESSAGE";
    const PAYLOAD: &'static str = "RETVAL";

    fn unspecified() -> Retval {
        Retval(vpp_api::retval::UNSPECIFIED)
    }
}

pub type Action = mock_faults::Action<Retval>;
pub type Fault = mock_faults::Fault<Retval>;
pub type Faults = mock_faults::Faults<Retval>;

/// The name of a message from its `name_crc`.
pub fn bare_name(name_crc: &str) -> &str {
    name_crc.rsplit_once('_').map_or(name_crc, |(n, _)| n)
}

fn refuse<M: Request>(table: &MessageTable, context: u32, retval: i32) -> Option<Vec<u8>>
where
    M::Reply: Default,
{
    let msg_id = table.id_of::<M::Reply>()?;
    let mut body = encode(
        Envelope {
            msg_id,
            client_index: 0,
            context,
        },
        &M::Reply::default(),
    );
    // Every reply here is id, context, then retval.
    body.get_mut(6..10)?.copy_from_slice(&retval.to_be_bytes());
    Some(body)
}

/// The reply to request `name_crc` carrying `retval` and nothing else.
pub fn refusal(table: &MessageTable, name_crc: &str, context: u32, retval: i32) -> Option<Vec<u8>> {
    macro_rules! by_name {
        ($($m:ty),* $(,)?) => {
            $(if name_crc == <$m>::name_crc() { return refuse::<$m>(table, context, retval); })*
        };
    }
    by_name!(
        ShowVersion,
        CliInband,
        SwInterfaceSetFlags,
        SwInterfaceSetMacAddress,
        SwInterfaceAddDelAddress,
        MemifSocketFilenameAddDel,
        MemifSocketFilenameAddDelV2,
        MemifCreate,
        MemifCreateV2,
        MemifDelete,
        CreateVhostUserIf,
        CreateVhostUserIfV2,
        DeleteVhostUserIf,
        BridgeDomainAddDel,
        BridgeDomainAddDelV2,
        SwInterfaceSetL2Bridge,
        L2InterfaceVlanTagRewrite,
        ControlPing,
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "fail:memif_create_v2",
        Action::Fail(Retval(vpp_api::retval::UNSPECIFIED))
    )]
    #[case("fail:*:3:-73", Action::Fail(Retval(-73)))]
    #[case("stall:bridge_domain_add_del_v2:2", Action::Stall)]
    fn parses_vpp_rules(#[case] text: &str, #[case] action: Action) {
        assert_eq!(text.parse::<Fault>().map(|f| f.action), Ok(action));
    }

    #[test]
    fn a_bad_rule_is_explained_in_vpp_terms() {
        let e = "fail:x:1:minus".parse::<Fault>().unwrap_err();
        assert!(e.contains("ACTION:MESSAGE[:N[:RETVAL]]"), "{e}");
    }

    #[test]
    fn rules_name_messages_without_their_crc() {
        assert_eq!(bare_name("memif_create_v2_8c7de5f7"), "memif_create_v2");
        assert_eq!(bare_name("noname"), "noname");
    }
}
