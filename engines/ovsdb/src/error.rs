//! The crate's error type, and the error object OVSDB puts on the wire.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

#[derive(Debug, thiserror::Error)]
/// What can go wrong talking to an OVSDB server.
pub enum Error {
    #[error("cannot connect to {path}: {source}")]
    /// The socket could not be connected.
    Connect {
        /// The socket path.
        path: PathBuf,
        #[source]
        /// Why.
        source: std::io::Error,
    },
    #[error("OVSDB connection: {0}")]
    /// Reading or writing the socket failed.
    Io(#[from] std::io::Error),
    #[error("OVSDB did not answer within {0:?}")]
    /// No reply within the client's bound.
    Timeout(Duration),
    #[error("OVSDB closed the connection")]
    /// The server closed the connection.
    Closed,
    #[error("OVSDB protocol: {0}")]
    /// The server sent what OVSDB does not allow.
    Protocol(String),
    /// The stream holds bytes that can never become JSON.
    #[error("malformed JSON in stream: {0}")]
    Malformed(String),
    /// A schema document that does not describe a database.
    #[error("OVSDB schema: {0}")]
    Schema(String),
    /// The server refused the whole request.
    #[error("OVSDB error: {0}")]
    Rpc(Value),
    /// One operation (or the commit, `index` = number of ops) failed.
    #[error("OVSDB transaction failed at operation {index}: {error}: {details}")]
    Operation {
        /// Which operation.
        index: usize,
        /// The server's error word.
        error: String,
        /// Its explanation.
        details: String,
    },
}

/// `{"error": .., "details": .., "syntax": ..}` as ovsdb-server writes it: `error` is one of
/// RFC 7047's names ("constraint violation", "referential integrity violation", ...),
/// `syntax` the offending JSON text when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsdbError {
    /// The error word, e.g. `constraint violation`.
    pub error: String,
    /// Its explanation.
    pub details: Option<String>,
    /// The JSON that was refused, when the server names it.
    pub syntax: Option<String>,
}

impl OvsdbError {
    /// An error `error` with `details`.
    pub fn new(error: &str, details: impl Into<String>) -> OvsdbError {
        OvsdbError {
            error: error.to_string(),
            details: Some(details.into()),
            syntax: None,
        }
    }

    /// A "syntax error" about `json`.
    pub fn syntax(json: &Value, details: impl Into<String>) -> OvsdbError {
        OvsdbError::new("syntax error", details).with_syntax(json)
    }

    /// Names the JSON the error is about (written with sorted keys, as OVS does).
    pub fn with_syntax(mut self, json: &Value) -> OvsdbError {
        self.syntax = Some(sorted_json(json));
        self
    }

    /// Its JSON object.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("error".into(), json!(self.error));
        if let Some(d) = &self.details {
            o.insert("details".into(), json!(d));
        }
        if let Some(s) = &self.syntax {
            o.insert("syntax".into(), json!(s));
        }
        Value::Object(o)
    }

    /// The error object of a reply or result, if `v` is one.
    pub fn from_json(v: &Value) -> Option<OvsdbError> {
        match v {
            Value::String(s) => Some(OvsdbError {
                error: s.clone(),
                details: None,
                syntax: None,
            }),
            Value::Object(o) => Some(OvsdbError {
                error: o.get("error")?.as_str()?.to_string(),
                details: o.get("details").and_then(Value::as_str).map(str::to_string),
                syntax: o.get("syntax").and_then(Value::as_str).map(str::to_string),
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for OvsdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)?;
        if let Some(d) = &self.details {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Compact JSON with object members sorted by name: how OVS prints JSON in messages.
pub fn sorted_json(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sort(&o[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_object_round_trip_and_sorted_syntax() {
        let e = OvsdbError::syntax(&json!({"where": [], "op": "select"}), "bad");
        assert_eq!(e.syntax.as_deref(), Some(r#"{"op":"select","where":[]}"#));
        assert_eq!(OvsdbError::from_json(&e.to_json()), Some(e));
        assert_eq!(
            OvsdbError::from_json(&json!("unknown method"))
                .unwrap()
                .error,
            "unknown method"
        );
    }
}
