//! Fault injection for the simulated vswitches, for testing what a client does when its
//! vswitch misbehaves: `ACTION:NAME[:N[:PAYLOAD]]` makes the Nth request named NAME (or any
//! request, `*`) fail with PAYLOAD and change nothing, stall (no reply to it or anything
//! after it on that connection), drop the connection, or exit the process. Each server says
//! what its names are (VPP message names, OVSDB methods) and what a failure carries.
//!
//! It knows no server's protocol and nothing of CNI: each mock says what its names and
//! payloads are.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

/// What a `fail` fault answers with, as a server defines it.
pub trait Failure: FromStr + Clone {
    /// What the rules name, for messages: `MESSAGE`, `METHOD`.
    const NAME: &'static str;
    /// What a failure carries, for messages: `RETVAL`, `ERROR`.
    const PAYLOAD: &'static str;
    /// The failure of a rule that gives none.
    fn unspecified() -> Self;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<F> {
    /// Answer with this failure and change nothing.
    Fail(F),
    /// Never reply, to this request or any later one on the connection (a stuck server).
    Stall,
    /// Close the client's connection.
    Drop,
    /// Exit the process (a crash, as far as clients can tell).
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault<F> {
    pub action: Action<F>,
    /// The request's name, or `*` for any.
    pub name: String,
    /// Which occurrence (1-based) triggers it.
    pub nth: u32,
}

impl<F: Failure> FromStr for Fault<F> {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault<F>, String> {
        let bad = || {
            format!(
                "fault {s:?}: want ACTION:{}[:N[:{}]] (ACTION fail|stall|drop|exit)",
                F::NAME,
                F::PAYLOAD
            )
        };
        // The payload is last and may itself hold colons (an OVSDB error text).
        let mut parts = s.splitn(4, ':');
        let action = parts.next().ok_or_else(bad)?;
        let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        let nth = parts
            .next()
            .map_or(Ok(1), |n| n.parse().map_err(|_| bad()))?;
        let action = match (action, parts.next()) {
            ("fail", None) => Action::Fail(F::unspecified()),
            ("fail", Some(p)) => Action::Fail(p.parse().map_err(|_| bad())?),
            ("stall", None) => Action::Stall,
            ("drop", None) => Action::Drop,
            ("exit", None) => Action::Exit,
            _ => return Err(bad()),
        };
        Ok(Fault {
            action,
            name: name.to_string(),
            nth,
        })
    }
}

/// The fault rules of one server, and how often each name has been seen.
#[derive(Debug)]
pub struct Faults<F> {
    rules: Vec<Fault<F>>,
    seen: Mutex<HashMap<String, u32>>,
}

impl<F> Default for Faults<F> {
    fn default() -> Faults<F> {
        Faults::new(Vec::new())
    }
}

impl<F> Faults<F> {
    pub fn new(rules: Vec<Fault<F>>) -> Faults<F> {
        Faults {
            rules,
            seen: Mutex::new(HashMap::new()),
        }
    }
}

impl<F: Clone> Faults<F> {
    /// Counts a request named `name` (and `*`) and returns the fault that fires now, if any.
    pub fn check(&self, name: &str) -> Option<Action<F>> {
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
                    .find(|f| f.name == key && f.nth == n)
                    .map(|f| f.action.clone());
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// A failure that is a number, defaulting to -1.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Code(i32);

    impl FromStr for Code {
        type Err = std::num::ParseIntError;
        fn from_str(s: &str) -> Result<Code, Self::Err> {
            s.parse().map(Code)
        }
    }

    impl Failure for Code {
        const NAME: &'static str = "MESSAGE";
        const PAYLOAD: &'static str = "CODE";
        fn unspecified() -> Code {
            Code(-1)
        }
    }

    #[rstest]
    #[case("fail:create", Action::Fail(Code(-1)), "create", 1)]
    #[case("fail:*:3:-73", Action::Fail(Code(-73)), "*", 3)]
    #[case("stall:add_del:2", Action::Stall, "add_del", 2)]
    #[case("drop:ping", Action::Drop, "ping", 1)]
    #[case("exit:*:7", Action::Exit, "*", 7)]
    fn parses(
        #[case] text: &str,
        #[case] action: Action<Code>,
        #[case] name: &str,
        #[case] nth: u32,
    ) {
        let want = Fault {
            action,
            name: name.into(),
            nth,
        };
        assert_eq!(text.parse::<Fault<Code>>(), Ok(want));
    }

    #[rstest]
    #[case("boom:x")]
    #[case("fail")]
    #[case("fail::2")]
    #[case("stall:x:1:-2")]
    #[case("fail:x:one")]
    #[case("fail:x:1:minus one")]
    fn rejects(#[case] text: &str) {
        let e = text.parse::<Fault<Code>>().unwrap_err();
        assert!(e.contains("ACTION:MESSAGE[:N[:CODE]]"), "{e}");
    }

    #[test]
    fn fires_on_the_nth_occurrence_only() {
        let f: Faults<Code> = Faults::new(vec![
            "fail:a:2".parse().unwrap(),
            "stall:*:4".parse().unwrap(),
        ]);
        assert_eq!(f.check("a"), None);
        assert_eq!(f.check("a"), Some(Action::Fail(Code(-1))));
        assert_eq!(f.check("b"), None);
        assert_eq!(
            f.check("a"),
            Some(Action::Stall),
            "the 4th request of any name"
        );
        assert_eq!(f.check("a"), None);
    }
}
