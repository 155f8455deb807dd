//! A blocking OVSDB client: one unix-socket connection, one call at a time, each bounded
//! by a deadline. Server `echo` requests are answered while waiting; notifications
//! (monitor updates, lock changes) that arrive meanwhile are kept for
//! [`Client::next_notification`].

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::operation::Operation;
use crate::result::OpResult;
use crate::rpc::Message;
use crate::schema::DatabaseSchema;
use crate::stream::JsonStream;
use crate::Error;

/// A blocking JSON-RPC connection to an OVSDB server's unix socket.
pub struct Client {
    stream: UnixStream,
    incoming: JsonStream,
    next_id: u64,
    timeout: Duration,
    /// When set, no call waits past it (the caller's whole operation is bounded).
    deadline: Option<Instant>,
    notifications: VecDeque<(String, Value)>,
}

/// Notifications kept unread before the oldest are dropped (a monitor nobody reads).
const MAX_KEPT_NOTIFICATIONS: usize = 1024;

impl Client {
    /// Connects to `path`; every call then waits at most `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Client, Error> {
        let stream = UnixStream::connect(path).map_err(|source| Error::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Client {
            stream,
            incoming: JsonStream::new(),
            next_id: 1,
            timeout,
            deadline: None,
            notifications: VecDeque::new(),
        })
    }

    /// The bound on each call from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Bounds every later call by `deadline` as well as by the per-call timeout.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Sends a request and waits for its reply (`result`), answering `echo`s meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let req = Message::Request {
            id: json!(id),
            method: method.into(),
            params,
        };
        self.send(&req)?;
        let own = Instant::now() + self.timeout;
        let deadline = self.deadline.map_or(own, |d| d.min(own));
        loop {
            match self.receive(deadline)? {
                Message::Reply { id: rid, result } if rid == json!(id) => return Ok(result),
                Message::Error { id: rid, error } if rid == json!(id) => {
                    return Err(Error::Rpc(error))
                }
                Message::Request { id, method, params } if method == "echo" => {
                    self.send(&Message::Reply { id, result: params })?;
                }
                Message::Notification { method, params } => self.keep(method, params),
                _ => {}
            }
        }
    }

    fn keep(&mut self, method: String, params: Value) {
        if self.notifications.len() == MAX_KEPT_NOTIFICATIONS {
            self.notifications.pop_front();
        }
        self.notifications.push_back((method, params));
    }

    /// The next notification (`update2`, `locked`, ...) as (method, params), waiting up to
    /// `wait` for one; `None` if none came.
    pub fn next_notification(&mut self, wait: Duration) -> Result<Option<(String, Value)>, Error> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(n) = self.notifications.pop_front() {
                return Ok(Some(n));
            }
            match self.receive(deadline) {
                Ok(Message::Notification { method, params }) => self.keep(method, params),
                Ok(Message::Request { id, method, params }) if method == "echo" => {
                    self.send(&Message::Reply { id, result: params })?;
                }
                Ok(_) => {}
                Err(Error::Timeout(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    fn send(&mut self, m: &Message) -> Result<(), Error> {
        self.stream.set_write_timeout(Some(self.timeout))?;
        self.stream.write_all(&m.to_bytes())?;
        Ok(())
    }

    fn receive(&mut self, deadline: Instant) -> Result<Message, Error> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(v) = self.incoming.next_value()? {
                return Message::from_json(v).map_err(Error::Protocol);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout(self.timeout));
            }
            // A zero read timeout would mean "block for ever".
            let left = left.max(Duration::from_millis(1));
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(Error::Closed),
                Ok(n) => self.incoming.push(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Error::Timeout(self.timeout))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `list_dbs`: the databases served.
    pub fn list_dbs(&mut self) -> Result<Vec<String>, Error> {
        let v = self.call("list_dbs", json!([]))?;
        v.as_array()
            .and_then(|a| a.iter().map(|d| d.as_str().map(str::to_string)).collect())
            .ok_or_else(|| Error::Protocol(format!("list_dbs answered {v}")))
    }

    /// The database's schema, parsed.
    pub fn get_schema(&mut self, db: &str) -> Result<DatabaseSchema, Error> {
        DatabaseSchema::from_json(self.get_schema_json(db)?)
    }

    /// The database's schema document as the server sent it.
    pub fn get_schema_json(&mut self, db: &str) -> Result<Value, Error> {
        self.call("get_schema", json!([db]))
    }

    /// `echo`: the server answers.
    pub fn echo(&mut self) -> Result<(), Error> {
        self.call("echo", json!(["ping"])).map(drop)
    }

    /// Runs typed `ops` as one transaction: one result per op, or the first error as
    /// [`Error::Operation`] (`index` = the op, or `ops.len()` for a commit-time error).
    pub fn transact_ops(&mut self, db: &str, ops: &[Operation]) -> Result<Vec<OpResult>, Error> {
        let results = self.transact(db, ops.iter().map(Operation::to_json).collect())?;
        results
            .iter()
            .take(ops.len())
            .map(|r| {
                OpResult::from_json(r)
                    .ok_or_else(|| Error::Protocol(format!("not an operation result: {r}")))
            })
            .collect()
    }

    /// Runs `ops` (JSON operations) as one transaction; returns one result per op, or the
    /// first error (an op's, or the commit's, which the server appends after the op
    /// results) as [`Error::Operation`].
    pub fn transact(&mut self, db: &str, ops: Vec<Value>) -> Result<Vec<Value>, Error> {
        let n = ops.len();
        let mut params = vec![json!(db)];
        params.extend(ops);
        let result = self.call("transact", Value::Array(params))?;
        let results = match result {
            Value::Array(a) => a,
            other => return Err(Error::Protocol(format!("transact answered {other}"))),
        };
        for (index, r) in results.iter().enumerate() {
            if let Some(OpResult::Error(e)) = OpResult::from_json(r) {
                return Err(Error::Operation {
                    index,
                    error: e.error,
                    details: e.details.unwrap_or_default(),
                });
            }
        }
        if results.len() < n {
            return Err(Error::Protocol(format!(
                "{} results for {n} operations",
                results.len()
            )));
        }
        Ok(results)
    }

    /// Starts a `monitor_cond` of `db` (`requests`: `{table: [{"columns": [..],
    /// "where": [..]}]}`) under `id`; returns the initial contents (`table-updates2`).
    /// Later changes arrive as `update2` notifications ([`Client::next_notification`]).
    pub fn monitor_cond(&mut self, db: &str, id: Value, requests: Value) -> Result<Value, Error> {
        self.call("monitor_cond", json!([db, id, requests]))
    }

    /// `monitor_cancel` of the monitor `id`.
    pub fn monitor_cancel(&mut self, id: Value) -> Result<(), Error> {
        self.call("monitor_cancel", json!([id])).map(drop)
    }

    /// Asks for the named lock; true when it was granted at once (otherwise a `locked`
    /// notification comes when it is).
    pub fn lock(&mut self, name: &str) -> Result<bool, Error> {
        let r = self.call("lock", json!([name]))?;
        Ok(r["locked"] == json!(true))
    }

    /// `unlock` of the lock `name`.
    pub fn unlock(&mut self, name: &str) -> Result<(), Error> {
        self.call("unlock", json!([name])).map(drop)
    }
}
