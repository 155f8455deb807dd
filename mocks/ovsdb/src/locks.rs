//! Named locks (RFC 7047 §4.1.8-4.1.10): the first connection in a lock's queue owns it;
//! `steal` jumps the queue. Owners learn of changes by `locked`/`stolen` notifications.

use std::collections::{BTreeMap, VecDeque};

use ovsdb::OvsdbError;
use serde_json::json;

/// A notification to send: (connection, method, lock name).
pub type Notice = (u64, &'static str, String);

#[derive(Debug, Default)]
pub struct Locks {
    queues: BTreeMap<String, VecDeque<u64>>,
}

fn misuse(name: &str, details: String) -> OvsdbError {
    OvsdbError::syntax(&json!([name]), details)
}

impl Locks {
    pub fn owner(&self, name: &str) -> Option<u64> {
        self.queues.get(name).and_then(|q| q.front().copied())
    }

    /// The locks `conn` owns.
    pub fn held_by(&self, conn: u64) -> Vec<String> {
        self.queues
            .iter()
            .filter(|(_, q)| q.front() == Some(&conn))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// `lock`: whether `conn` owns it now (else it waits in line).
    pub fn lock(&mut self, name: &str, conn: u64) -> Result<bool, OvsdbError> {
        let q = self.queues.entry(name.to_string()).or_default();
        if q.contains(&conn) {
            return Err(misuse(
                name,
                "must issue \"unlock\" before new \"lock\"".into(),
            ));
        }
        q.push_back(conn);
        Ok(q.front() == Some(&conn))
    }

    /// `steal`: `conn` owns it now; the previous owner is told and waits in line.
    pub fn steal(&mut self, name: &str, conn: u64) -> Result<Vec<Notice>, OvsdbError> {
        let q = self.queues.entry(name.to_string()).or_default();
        if q.contains(&conn) {
            return Err(misuse(
                name,
                "must issue \"unlock\" before new \"steal\"".into(),
            ));
        }
        let notices = q
            .front()
            .map(|o| vec![(*o, "stolen", name.to_string())])
            .unwrap_or_default();
        q.push_front(conn);
        Ok(notices)
    }

    /// `unlock`: `conn` leaves the line; a new owner is told.
    pub fn unlock(&mut self, name: &str, conn: u64) -> Result<Vec<Notice>, OvsdbError> {
        self.queues
            .get(name)
            .filter(|q| q.contains(&conn))
            .ok_or_else(|| {
                misuse(
                    name,
                    "unlock: \"unlock\" without \"lock\" or \"steal\"".into(),
                )
            })?;
        Ok(self.leave(name, conn))
    }

    /// A closed connection leaves every line.
    pub fn drop_connection(&mut self, conn: u64) -> Vec<Notice> {
        let names: Vec<String> = self
            .queues
            .iter()
            .filter(|(_, q)| q.contains(&conn))
            .map(|(n, _)| n.clone())
            .collect();
        names.iter().flat_map(|n| self.leave(n, conn)).collect()
    }

    fn leave(&mut self, name: &str, conn: u64) -> Vec<Notice> {
        let Some(q) = self.queues.get_mut(name) else {
            return Vec::new();
        };
        let was_owner = q.front() == Some(&conn);
        q.retain(|c| *c != conn);
        let next = q.front().copied();
        if q.is_empty() {
            self.queues.remove(name);
        }
        match (was_owner, next) {
            (true, Some(n)) => vec![(n, "locked", name.to_string())],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_steal_and_hand_over() {
        let mut l = Locks::default();
        assert!(l.lock("l", 1).unwrap());
        assert!(!l.lock("l", 2).unwrap());
        assert!(l.lock("l", 1).is_err());
        assert_eq!(
            l.steal("l", 3).unwrap(),
            vec![(1, "stolen", "l".to_string())]
        );
        assert_eq!(l.held_by(3), vec!["l".to_string()]);
        assert_eq!(
            l.unlock("l", 3).unwrap(),
            vec![(1, "locked", "l".to_string())]
        );
        assert_eq!(l.drop_connection(1), vec![(2, "locked", "l".to_string())]);
        assert!(l.unlock("x", 2).is_err());
    }
}
