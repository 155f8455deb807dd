//! JSON-RPC 1.0 messages as OVSDB uses them: a request has `method`, `params` (an array)
//! and `id`; a notification is a request with `id` null; a reply has `result` and
//! `error`, exactly one of them non-null. No other members (OVS rejects them).

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    Reply {
        id: Value,
        result: Value,
    },
    Error {
        id: Value,
        error: Value,
    },
}

impl Message {
    pub fn to_json(&self) -> Value {
        match self {
            Message::Request { id, method, params } => {
                json!({"id": id, "method": method, "params": params})
            }
            Message::Notification { method, params } => {
                json!({"id": null, "method": method, "params": params})
            }
            Message::Reply { id, result } => json!({"id": id, "result": result, "error": null}),
            Message::Error { id, error } => json!({"id": id, "error": error}),
        }
    }

    pub fn from_json(v: Value) -> Result<Message, String> {
        let Value::Object(mut o) = v else {
            return Err("message is not a JSON object".into());
        };
        let id = o.remove("id").unwrap_or(Value::Null);
        if let Some(method) = o.remove("method") {
            let method = method.as_str().ok_or("method is not a string")?.to_string();
            let params = o.remove("params").unwrap_or(Value::Null);
            if !params.is_array() {
                return Err("params is not an array".into());
            }
            return Ok(if id.is_null() {
                Message::Notification { method, params }
            } else {
                Message::Request { id, method, params }
            });
        }
        let error = o.remove("error").unwrap_or(Value::Null);
        if !error.is_null() {
            return Ok(Message::Error { id, error });
        }
        match o.remove("result") {
            Some(result) => Ok(Message::Reply { id, result }),
            None => Err("message has neither method nor result nor error".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Message::Request { id: json!(1), method: "transact".into(), params: json!(["Open_vSwitch", {"op": "comment", "comment": "x"}]) })]
    #[case(Message::Notification { method: "update2".into(), params: json!([null, {}]) })]
    #[case(Message::Reply { id: json!("e1"), result: json!({"rows": []}) })]
    #[case(Message::Error { id: json!(3), error: json!("unknown method") })]
    fn round_trip(#[case] m: Message) {
        assert_eq!(Message::from_json(m.to_json()).unwrap(), m);
    }

    #[test]
    fn shapes_match_ovs() {
        let r = Message::Reply {
            id: json!(1),
            result: json!({}),
        }
        .to_json();
        assert_eq!(r, json!({"id": 1, "result": {}, "error": null}));
        assert!(Message::from_json(json!({"id": 1, "method": "x", "params": {}})).is_err());
        assert!(Message::from_json(json!([])).is_err());
    }
}
