//! The JSON-RPC methods of ovsdb-server (RFC 7047 §4.1 and OVS's additions), with its
//! error replies. A `transact` whose `wait` must wait is kept in the session and tried
//! again after each commit until it succeeds or times out (or the client cancels it).

use std::sync::Mutex;
use std::time::Instant;

use ovsdb::rpc::Message;
use ovsdb::OvsdbError;
use serde_json::{json, Value};

use crate::monitor::{Monitor, Version};
use crate::server_db::ZERO_TXN;
use crate::state::State;
use crate::transact::{self, Context};

/// A `transact` waiting for the database to change.
struct Pending {
    id: Value,
    params: Value,
    first_try: Instant,
    deadline: Option<Instant>,
    generation: u64,
}

/// One connection's requests in progress.
pub struct Session {
    pub conn: u64,
    pending: Vec<Pending>,
}

type Answer = Result<Value, Value>;

fn err(e: OvsdbError) -> Value {
    e.to_json()
}

/// Checks that `params` start with the name of a database this server has.
fn database(st: &State, method: &str, params: &Value) -> Result<String, Value> {
    let name = params.get(0).and_then(Value::as_str).ok_or_else(|| {
        err(OvsdbError::syntax(
            params,
            format!("{method} request params must begin with <db-name>"),
        ))
    })?;
    if st.database(name).is_none() {
        let e = OvsdbError::new(
            "unknown database",
            format!("{method} request specifies unknown database {name}"),
        );
        return Err(err(e.with_syntax(params)));
    }
    Ok(name.to_string())
}

fn lock_name(params: &Value) -> Result<String, Value> {
    params
        .get(0)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| err(OvsdbError::syntax(params, "lock name expected")))
}

impl Session {
    pub fn new(conn: u64) -> Session {
        Session {
            conn,
            pending: Vec::new(),
        }
    }

    /// Whether a `transact` waits (the connection must then look again now and then).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Answers a request; `None` when the answer comes later.
    pub fn handle(
        &mut self,
        state: &Mutex<State>,
        id: Value,
        method: &str,
        params: &Value,
    ) -> Option<Message> {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        let answer = match method {
            "transact" => return self.transact(&mut st, id, params, Instant::now()),
            "list_dbs" => Ok(json!([st.schema.name, st.server_schema.name])),
            "get_schema" => database(&st, method, params)
                .map(|db| st.database(&db).expect("checked").0.to_json()),
            "echo" => Ok(params.clone()),
            "get_server_id" => Ok(json!(st.server_id)),
            "set_db_change_aware" => Ok(json!({})),
            "lock" => lock_name(params).and_then(|n| {
                st.locks
                    .lock(&n, self.conn)
                    .map(|l| json!({"locked": l}))
                    .map_err(err)
            }),
            "steal" => lock_name(params).and_then(|n| {
                let notices = st.locks.steal(&n, self.conn).map_err(err)?;
                notify(&st, notices);
                Ok(json!({"locked": true}))
            }),
            "unlock" => lock_name(params).and_then(|n| {
                let notices = st.locks.unlock(&n, self.conn).map_err(err)?;
                notify(&st, notices);
                Ok(json!({}))
            }),
            "monitor" => self.monitor(&mut st, params, Version::V1),
            "monitor_cond" => self.monitor(&mut st, params, Version::V2),
            "monitor_cond_since" => self.monitor(&mut st, params, Version::V3),
            "monitor_cond_change" => self.monitor_cond_change(&mut st, params),
            "monitor_cancel" => {
                let before = st.monitors.len();
                let conn = self.conn;
                st.monitors
                    .retain(|(c, m)| !(*c == conn && Some(&m.id) == params.get(0)));
                if st.monitors.len() == before {
                    Err(json!("unknown monitor"))
                } else {
                    Ok(json!({}))
                }
            }
            _ => Err(json!("unknown method")),
        };
        Some(match answer {
            Ok(result) => Message::Reply { id, result },
            Err(error) => Message::Error { id, error },
        })
    }

    /// `cancel`: a waiting `transact` is dropped without a reply.
    pub fn cancel(&mut self, id: &Value) {
        self.pending.retain(|p| p.id != *id);
    }

    /// Tries the waiting transactions again if the database changed or a deadline passed;
    /// returns their replies.
    pub fn retry(&mut self, state: &Mutex<State>) -> Vec<Message> {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let due: Vec<Pending> = {
            let (due, keep) = std::mem::take(&mut self.pending)
                .into_iter()
                .partition(|p| {
                    p.generation != st.generation || p.deadline.is_some_and(|d| now >= d)
                });
            self.pending = keep;
            due
        };
        due.into_iter()
            .filter_map(|p| self.transact(&mut st, p.id, &p.params, p.first_try))
            .collect()
    }

    fn transact(
        &mut self,
        st: &mut State,
        id: Value,
        params: &Value,
        first_try: Instant,
    ) -> Option<Message> {
        let db = match database(st, "transact", params) {
            Ok(db) => db,
            Err(error) => return Some(Message::Error { id, error }),
        };
        let ops: Vec<Value> = params
            .as_array()
            .map(|a| a[1..].to_vec())
            .unwrap_or_default();
        let ctx = Context {
            locks: st.locks.held_by(self.conn).into_iter().collect(),
            first_try: Some(first_try),
            read_only: (db != st.schema.name).then(|| db.clone()),
        };
        let (schema, tables) = st.database(&db).expect("checked");
        let outcome = transact::run(schema, tables, &ops, &ctx);
        if let Some(b) = outcome.blocked {
            let generation = st.generation;
            self.pending.push(Pending {
                id,
                params: params.clone(),
                first_try,
                deadline: b.deadline,
                generation,
            });
            return None;
        }
        if let Some(new) = outcome.committed {
            if new != st.tables {
                let comment = (!outcome.comments.is_empty()).then(|| outcome.comments.join("\n"));
                st.commit(new, comment);
            }
        }
        Some(Message::Reply {
            id,
            result: Value::Array(outcome.results),
        })
    }

    fn monitor(&mut self, st: &mut State, params: &Value, version: Version) -> Answer {
        let method = match version {
            Version::V1 => "monitor",
            Version::V2 => "monitor_cond",
            Version::V3 => "monitor_cond_since",
        };
        let db = database(st, method, params)?;
        let (Some(mon_id), Some(requests)) = (params.get(1), params.get(2)) else {
            return Err(err(OvsdbError::syntax(
                params,
                format!("{method} request has too few parameters"),
            )));
        };
        if st
            .monitors
            .iter()
            .any(|(c, m)| *c == self.conn && m.id == *mon_id)
        {
            return Err(err(OvsdbError::syntax(mon_id, "duplicate monitor ID")));
        }
        let (schema, tables) = st.database(&db).expect("checked");
        let m = Monitor::parse(mon_id.clone(), &db, requests, version, schema).map_err(err)?;
        let initial = m.initial(schema, tables);
        st.monitors.push((self.conn, m));
        Ok(match version {
            Version::V3 => json!([false, ZERO_TXN, initial]),
            _ => initial,
        })
    }

    fn monitor_cond_change(&mut self, st: &mut State, params: &Value) -> Answer {
        let (Some(old_id), Some(new_id), Some(requests)) =
            (params.get(0), params.get(1), params.get(2))
        else {
            return Err(err(OvsdbError::syntax(
                params,
                "monitor_cond_change request has too few parameters",
            )));
        };
        let unknown = || err(OvsdbError::syntax(old_id, "unknown monitor session"));
        let previous = st
            .monitor_of(self.conn, old_id)
            .ok_or_else(unknown)?
            .clone();
        if new_id != old_id
            && st
                .monitors
                .iter()
                .any(|(c, m)| *c == self.conn && m.id == *new_id)
        {
            return Err(err(OvsdbError::syntax(new_id, "duplicate monitor ID")));
        }
        let (schema, tables) = st.database(&previous.db).expect("monitored");
        let mut changed = previous.clone();
        changed.change(requests, schema).map_err(err)?;
        changed.id = new_id.clone();
        let update = changed.refilter(&previous, schema, tables);
        if let Some(u) = update {
            let (method, params) = changed.notification(u);
            st.send(
                self.conn,
                &Message::Notification {
                    method: method.into(),
                    params,
                },
            );
        }
        *st.monitor_of(self.conn, old_id).expect("found above") = changed;
        Ok(json!({}))
    }
}

fn notify(st: &State, notices: Vec<crate::locks::Notice>) {
    for (to, method, name) in notices {
        st.send(
            to,
            &Message::Notification {
                method: method.into(),
                params: json!([name]),
            },
        );
    }
}
