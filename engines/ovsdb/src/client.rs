//! A blocking OVSDB client: one unix-socket connection, one call at a time, each bounded
//! by a deadline. Server `echo` requests are answered while waiting.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::rpc::Message;
use crate::stream::JsonStream;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("OVSDB connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("OVSDB did not answer within {0:?}")]
    Timeout(Duration),
    #[error("OVSDB closed the connection")]
    Closed,
    #[error("OVSDB protocol: {0}")]
    Protocol(String),
    /// The server refused the whole request.
    #[error("OVSDB error: {0}")]
    Rpc(Value),
    /// One operation (or the commit, `index` = number of ops) failed.
    #[error("OVSDB transaction failed at operation {index}: {error}: {details}")]
    Operation {
        index: usize,
        error: String,
        details: String,
    },
}

pub struct Client {
    stream: UnixStream,
    incoming: JsonStream,
    next_id: u64,
    timeout: Duration,
}

impl Client {
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
        })
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
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.receive(deadline)? {
                Message::Reply { id: rid, result } if rid == json!(id) => return Ok(result),
                Message::Error { id: rid, error } if rid == json!(id) => {
                    return Err(Error::Rpc(error))
                }
                Message::Request { id, method, params } if method == "echo" => {
                    self.send(&Message::Reply { id, result: params })?;
                }
                _ => {}
            }
        }
    }

    fn send(&mut self, m: &Message) -> Result<(), Error> {
        let bytes = serde_json::to_vec(&m.to_json()).expect("json");
        self.stream.set_write_timeout(Some(self.timeout))?;
        self.stream.write_all(&bytes)?;
        Ok(())
    }

    fn receive(&mut self, deadline: Instant) -> Result<Message, Error> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(v) = self
                .incoming
                .next_value()
                .map_err(|e| Error::Protocol(e.to_string()))?
            {
                return Message::from_json(v).map_err(Error::Protocol);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout(self.timeout));
            }
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

    pub fn list_dbs(&mut self) -> Result<Vec<String>, Error> {
        let v = self.call("list_dbs", json!([]))?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn get_schema(&mut self, db: &str) -> Result<Value, Error> {
        self.call("get_schema", json!([db]))
    }

    pub fn echo(&mut self) -> Result<(), Error> {
        self.call("echo", json!(["ping"])).map(drop)
    }

    /// Runs `ops` as one transaction; returns one result per op, or the first error
    /// (an op's, or the commit's, which the server appends after the op results).
    pub fn transact(&mut self, db: &str, ops: Vec<Value>) -> Result<Vec<Value>, Error> {
        let n = ops.len();
        let mut params = vec![json!(db)];
        params.extend(ops);
        let result = self.call("transact", Value::Array(params))?;
        let results = result
            .as_array()
            .cloned()
            .ok_or_else(|| Error::Protocol("transact result is not an array".into()))?;
        for (index, r) in results.iter().enumerate() {
            if let Some(error) = r.get("error").and_then(Value::as_str) {
                return Err(Error::Operation {
                    index,
                    error: error.to_string(),
                    details: r
                        .get("details")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
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
}
