//! Splitting a byte stream into JSON values: OVSDB peers write messages back to back with
//! no delimiter, and a read may end anywhere inside one.

use serde_json::Value;

use crate::Error;

/// Accumulates bytes and yields every complete JSON value in them.
///
/// Objects and arrays (all OVSDB messages) are delimited by a scan that remembers where
/// it stopped, so a large message arriving in many small reads is scanned once, not
/// re-parsed on every read.
#[derive(Debug, Default)]
pub struct JsonStream {
    buf: Vec<u8>,
    scan: Scan,
}

/// How far the current value has been scanned.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    pos: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl JsonStream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet form a value.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete value, if the buffer holds one; [`Error::Malformed`] when the
    /// buffer starts with something that can never become JSON.
    pub fn next_value(&mut self) -> Result<Option<Value>, Error> {
        if self.scan.pos == 0 {
            let start = self
                .buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(self.buf.len());
            self.buf.drain(..start);
        }
        match self.buf.first() {
            None => Ok(None),
            Some(b'{' | b'[') => self.next_container(),
            Some(_) => self.next_scalar(),
        }
    }

    fn next_container(&mut self) -> Result<Option<Value>, Error> {
        let mut s = self.scan;
        let mut end = None;
        for (i, &b) in self.buf.iter().enumerate().skip(s.pos) {
            if s.in_string {
                match (s.escaped, b) {
                    (true, _) => s.escaped = false,
                    (false, b'\\') => s.escaped = true,
                    (false, b'"') => s.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => s.in_string = true,
                b'{' | b'[' => s.depth += 1,
                b'}' | b']' => {
                    s.depth -= 1;
                    if s.depth == 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            s.pos = self.buf.len();
            self.scan = s;
            return Ok(None);
        };
        self.scan = Scan::default();
        let value = serde_json::from_slice(&self.buf[..end]);
        self.buf.drain(..end);
        value.map(Some).map_err(|e| Error::Malformed(e.to_string()))
    }

    /// A bare string, number or literal at top level (OVSDB never sends one).
    fn next_scalar(&mut self) -> Result<Option<Value>, Error> {
        let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                let used = it.byte_offset();
                // A number at the very end may still be growing.
                if used == self.buf.len() && v.is_number() {
                    return Ok(None);
                }
                self.buf.drain(..used);
                Ok(Some(v))
            }
            Some(Err(e)) if e.is_eof() => Ok(None),
            Some(Err(e)) => Err(Error::Malformed(e.to_string())),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn splits_back_to_back_values() {
        let mut s = JsonStream::new();
        s.push(br#"{"id":1,"result":{},"error":null}{"id":null,"method":"update2","params":[]} "#);
        assert_eq!(s.next_value().unwrap().unwrap()["id"], 1);
        assert_eq!(s.next_value().unwrap().unwrap()["method"], "update2");
        assert!(s.next_value().unwrap().is_none());
    }

    #[rstest::rstest]
    #[case::mismatched(b"{]".as_slice())]
    #[case::stray_close(b"}".as_slice())]
    #[case::bad_member(b"{\"a\" 1}".as_slice())]
    fn garbage_is_an_error(#[case] bytes: &[u8]) {
        let mut s = JsonStream::new();
        s.push(bytes);
        assert!(s.next_value().is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let mut s = JsonStream::new();
        s.push(br#"{"a":"}]\"{"#);
        assert!(
            s.next_value().unwrap().is_none(),
            "the string is not closed yet"
        );
        s.push(br#""}[1]"#);
        assert_eq!(s.next_value().unwrap(), Some(json!({"a": "}]\"{"})));
        assert_eq!(s.next_value().unwrap(), Some(json!([1])));
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            r#"[a-z{}\[\]"\\ é\n]{0,8}"#.prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\"{]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn message() -> impl Strategy<Value = Value> {
        (any_json(), any::<bool>()).prop_map(|(v, as_array)| {
            if as_array {
                json!([v])
            } else {
                json!({"id": 1, "params": [v]})
            }
        })
    }

    /// Pushes `bytes` into a fresh stream in pieces ending at `cuts` (sorted, the last
    /// one the end), taking every value out after each piece.
    fn feed(bytes: &[u8], cuts: Vec<usize>) -> (Vec<Value>, JsonStream) {
        let mut s = JsonStream::new();
        let mut out = Vec::new();
        let mut at = 0;
        for c in cuts {
            s.push(&bytes[at..c]);
            at = c;
            while let Some(v) = s.next_value().unwrap() {
                out.push(v);
            }
        }
        (out, s)
    }

    proptest! {
        /// Arbitrary messages, separated by nothing or by whitespace, cut anywhere.
        #[test]
        fn arbitrary_messages_survive_any_split(
            values in proptest::collection::vec(message(), 1..5),
            gaps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("\n"), Just("\t ")], 5),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..10),
        ) {
            let mut bytes = Vec::new();
            for (v, gap) in values.iter().zip(gaps.iter().cycle()) {
                bytes.extend(serde_json::to_vec(v).unwrap());
                bytes.extend(gap.as_bytes());
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            cuts.push(bytes.len());
            cuts.sort();
            let (out, _) = feed(&bytes, cuts);
            prop_assert_eq!(out, values);
        }

        /// However the bytes are cut into reads, the same values come out in order.
        #[test]
        fn any_split_yields_the_same_values(n in 1usize..6, cuts in proptest::collection::vec(0usize..400, 0..8)) {
            let values: Vec<Value> = (0..n)
                .map(|i| json!({"id": i, "method": "echo", "params": ["x\"}{", i, {"a": [1, 2, {"b": null}]}]}))
                .collect();
            let bytes: Vec<u8> = values.iter().flat_map(|v| serde_json::to_vec(v).unwrap()).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.push(bytes.len());
            cuts.sort();
            let (out, s) = feed(&bytes, cuts);
            prop_assert_eq!(out, values);
            prop_assert_eq!(s.pending(), 0);
        }
    }
}
