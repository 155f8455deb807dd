//! JSON-RPC 1.0 messages as OVSDB uses them: a request has `method`, `params` (an array)
//! and a non-null `id`; a notification is a request whose `id` is null; a reply has a
//! non-null `result` (and `"error": null`), an error reply a non-null `error`. OVS refuses
//! any other member (so no `"jsonrpc": "2.0"`), and so does [`Message::from_json`].

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
/// One JSON-RPC 1.0 message as OVSDB uses it.
pub enum Message {
    /// A call that expects a reply.
    Request {
        /// Its id, echoed in the reply.
        id: Value,
        /// The method.
        method: String,
        /// Its parameters.
        params: Value,
    },
    /// A call without reply (`id` null), e.g. `update`.
    Notification {
        /// The method.
        method: String,
        /// Its parameters.
        params: Value,
    },
    /// A successful reply.
    Reply {
        /// The request's id.
        id: Value,
        /// What it returned.
        result: Value,
    },
    /// A failed reply.
    Error {
        /// The request's id.
        id: Value,
        /// The error.
        error: Value,
    },
}

const MEMBERS: [&str; 5] = ["id", "method", "params", "result", "error"];

impl Message {
    /// Its JSON object.
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

    /// The message's bytes on the wire (compact JSON, no delimiter).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("JSON values serialize")
    }

    /// Reads its JSON object.
    pub fn from_json(v: Value) -> Result<Message, String> {
        let Value::Object(mut o) = v else {
            return Err("message is not a JSON object".into());
        };
        if let Some(k) = o.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(format!("message has unexpected member \"{k}\""));
        }
        let mut take = |k: &str| o.remove(k).unwrap_or(Value::Null);
        let (id, method, params, result, error) = (
            take("id"),
            take("method"),
            take("params"),
            take("result"),
            take("error"),
        );
        if !method.is_null() {
            let method = method.as_str().ok_or("method is not a string")?.to_string();
            if !params.is_array() {
                return Err("\"params\" must be an array".into());
            }
            if !result.is_null() || !error.is_null() {
                return Err("request must not have \"result\" or \"error\"".into());
            }
            return Ok(if id.is_null() {
                Message::Notification { method, params }
            } else {
                Message::Request { id, method, params }
            });
        }
        match (result.is_null(), error.is_null()) {
            (false, true) => Ok(Message::Reply { id, result }),
            (true, false) => Ok(Message::Error { id, error }),
            (false, false) => Err("reply must not have both \"result\" and \"error\"".into()),
            (true, true) => Err("message has neither method nor result nor error".into()),
        }
    }

    /// The id, when it has one.
    pub fn id(&self) -> Option<&Value> {
        match self {
            Message::Request { id, .. } | Message::Reply { id, .. } | Message::Error { id, .. } => {
                Some(id)
            }
            Message::Notification { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case(Message::Request { id: json!(1), method: "transact".into(), params: json!(["Open_vSwitch", {"op": "comment", "comment": "x"}]) })]
    #[case(Message::Notification { method: "update2".into(), params: json!([null, {}]) })]
    #[case(Message::Reply { id: json!("e1"), result: json!({"rows": []}) })]
    #[case(Message::Error { id: json!(3), error: json!("unknown method") })]
    fn round_trip(#[case] m: Message) {
        assert_eq!(Message::from_json(m.to_json()).unwrap(), m);
    }

    #[rstest]
    #[case::params_not_array(json!({"id": 1, "method": "x", "params": {}}))]
    #[case::jsonrpc_member(json!({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": []}))]
    #[case::not_an_object(json!([]))]
    #[case::both(json!({"id": 1, "result": {}, "error": "x"}))]
    #[case::nothing(json!({"id": 1}))]
    fn refused_like_ovs(#[case] v: Value) {
        assert!(Message::from_json(v).is_err());
    }

    #[test]
    fn reply_shape_matches_ovs() {
        let r = Message::Reply {
            id: json!(1),
            result: json!({}),
        }
        .to_json();
        assert_eq!(r, json!({"id": 1, "result": {}, "error": null}));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\{}\\[\\] ]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_message_round_trips(id in 1u64.., method in "[a-z_]{1,12}",
                                   params in proptest::collection::vec(json_value(), 0..4),
                                   result in json_value(), kind in 0u8..4) {
            let m = match kind {
                0 => Message::Request { id: json!(id), method, params: Value::from(params) },
                1 => Message::Notification { method, params: Value::from(params) },
                2 if !result.is_null() => Message::Reply { id: json!(id), result },
                _ => Message::Error { id: json!(id), error: json!(method) },
            };
            let back: Value = serde_json::from_slice(&m.to_bytes()).unwrap();
            prop_assert_eq!(Message::from_json(back).unwrap(), m);
        }
    }
}
