//! Fault injection for tests of OVSDB clients: `--fault ACTION:METHOD[:N[:ERROR]]` makes
//! the Nth request of METHOD (`transact`, `monitor_cond`, ... or `*`) fail with ERROR (a
//! `transact` then commits nothing), stall (no reply to it or anything after it on that
//! connection), drop the connection, or exit the process.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Fail(String),
    Stall,
    Drop,
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub action: Action,
    pub method: String,
    pub nth: u32,
}

impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault, String> {
        let mut parts = s.splitn(4, ':');
        let bad =
            || format!("fault {s:?}: want ACTION:METHOD[:N[:ERROR]] (ACTION fail|stall|drop|exit)");
        let (action, method) = (
            parts.next().ok_or_else(bad)?,
            parts.next().filter(|m| !m.is_empty()).ok_or_else(bad)?,
        );
        let nth = parts
            .next()
            .map_or(Ok(1), |n| n.parse().map_err(|_| bad()))?;
        let error = parts.next();
        let action = match (action, error) {
            ("fail", e) => Action::Fail(e.unwrap_or("not supported").to_string()),
            ("stall", None) => Action::Stall,
            ("drop", None) => Action::Drop,
            ("exit", None) => Action::Exit,
            _ => return Err(bad()),
        };
        Ok(Fault {
            action,
            method: method.to_string(),
            nth,
        })
    }
}

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

    /// Counts a request of `method` and returns the fault that fires now, if any.
    pub fn check(&self, method: &str) -> Option<Action> {
        if self.rules.is_empty() {
            return None;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = None;
        for key in [method, "*"] {
            let n = seen.entry(key.to_string()).or_insert(0);
            *n += 1;
            let n = *n;
            if fired.is_none() {
                fired = self
                    .rules
                    .iter()
                    .find(|f| f.method == key && f.nth == n)
                    .map(|f| f.action.clone());
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_fires_once() {
        let f: Fault = "fail:transact:2:constraint violation".parse().unwrap();
        assert_eq!(f.action, Action::Fail("constraint violation".into()));
        assert!("boom:transact".parse::<Fault>().is_err());
        assert!("stall:transact:x".parse::<Fault>().is_err());
        let faults = Faults::new(vec![f, "drop:*:4".parse().unwrap()]);
        assert_eq!(faults.check("transact"), None);
        assert_eq!(
            faults.check("transact"),
            Some(Action::Fail("constraint violation".into()))
        );
        assert_eq!(faults.check("echo"), None);
        assert_eq!(faults.check("transact"), Some(Action::Drop));
    }
}
