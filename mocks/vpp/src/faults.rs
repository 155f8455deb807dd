//! Fault injection, for testing what a client does when VPP misbehaves: fail the Nth
//! occurrence of a message with a given error, swallow it (no reply ever comes), drop the
//! connection, or exit the whole process — as `--fault ACTION:MESSAGE[:N[:RETVAL]]`
//! (MESSAGE is the message name, e.g. `memif_create_v2`, or `*` for any request).

use std::collections::HashMap;
use std::sync::Mutex;

use vpp_api::message::{encode, Envelope};
use vpp_api::messages::*;
use vpp_api::{Message, MessageTable, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reply with this retval and change nothing.
    Fail(i32),
    /// Never reply, to this request or any later one on the connection (a stuck VPP).
    Stall,
    /// Close the client's connection.
    Drop,
    /// Exit the process (a crash, as far as clients can tell).
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub action: Action,
    /// Message name without CRC, or `*`.
    pub message: String,
    /// Which occurrence (1-based) triggers it.
    pub nth: u32,
}

impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || {
            format!("fault {s:?}: want ACTION:MESSAGE[:N[:RETVAL]] (ACTION fail|stall|drop|exit)")
        };
        if parts.len() < 2 || parts.len() > 4 || parts[1].is_empty() {
            return Err(bad());
        }
        let nth = match parts.get(2) {
            Some(n) => n.parse().map_err(|_| bad())?,
            None => 1,
        };
        let action = match (parts[0], parts.get(3)) {
            ("fail", rv) => Action::Fail(match rv {
                Some(v) => v.parse().map_err(|_| bad())?,
                None => vpp_api::retval::UNSPECIFIED,
            }),
            ("stall", None) => Action::Stall,
            ("drop", None) => Action::Drop,
            ("exit", None) => Action::Exit,
            _ => return Err(bad()),
        };
        Ok(Fault {
            action,
            message: parts[1].to_string(),
            nth,
        })
    }
}

/// The faults of one server and how often each message has been seen.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
    seen: Mutex<HashMap<String, u32>>,
}

impl Faults {
    pub fn new(rules: Vec<Fault>) -> Faults {
        Faults {
            rules,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `name` (and `*`) and returns the fault that fires now, if any.
    pub fn check(&self, name: &str) -> Option<Action> {
        if self.rules.is_empty() {
            return None;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = None;
        for key in [name, "*"] {
            let n = seen.entry(key.to_string()).or_insert(0);
            *n += 1;
            let n = *n;
            if fired.is_none() {
                fired = self
                    .rules
                    .iter()
                    .find(|f| f.message == key && f.nth == n)
                    .map(|f| f.action);
            }
        }
        fired
    }
}

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
    #[case("fail:memif_create_v2", Action::Fail(-1), "memif_create_v2", 1)]
    #[case("fail:*:3:-73", Action::Fail(-73), "*", 3)]
    #[case(
        "stall:bridge_domain_add_del_v2:2",
        Action::Stall,
        "bridge_domain_add_del_v2",
        2
    )]
    #[case("drop:control_ping", Action::Drop, "control_ping", 1)]
    #[case("exit:*:7", Action::Exit, "*", 7)]
    fn parses(#[case] text: &str, #[case] action: Action, #[case] message: &str, #[case] nth: u32) {
        assert_eq!(
            text.parse::<Fault>().unwrap(),
            Fault {
                action,
                message: message.into(),
                nth
            }
        );
    }

    #[rstest]
    #[case("boom:x")]
    #[case("fail")]
    #[case("stall:x:1:-2")]
    #[case("fail:x:one")]
    fn rejects(#[case] text: &str) {
        assert!(text.parse::<Fault>().is_err());
    }

    #[test]
    fn fires_on_the_nth_occurrence_only() {
        let f = Faults::new(vec![
            "fail:a:2".parse().unwrap(),
            "stall:*:4".parse().unwrap(),
        ]);
        assert_eq!(f.check("a"), None);
        assert_eq!(f.check("a"), Some(Action::Fail(-1)));
        assert_eq!(f.check("b"), None);
        assert_eq!(f.check("a"), Some(Action::Stall));
        assert_eq!(f.check("a"), None);
        assert_eq!(bare_name("memif_create_v2_8c7de5f7"), "memif_create_v2");
    }
}
