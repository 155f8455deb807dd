//! Splitting a byte stream into JSON values: OVSDB peers write messages back to back with
//! no delimiter, and a read may end anywhere inside one.

use serde_json::Value;

/// Accumulates bytes and yields every complete JSON value in them.
#[derive(Debug, Default)]
pub struct JsonStream {
    buf: Vec<u8>,
}

/// The stream holds something that can never become JSON.
#[derive(Debug, thiserror::Error)]
#[error("malformed JSON in stream: {0}")]
pub struct Malformed(pub String);

impl JsonStream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet form a value.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete value, if the buffer holds one.
    pub fn next_value(&mut self) -> Result<Option<Value>, Malformed> {
        let start = self
            .buf
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(self.buf.len());
        self.buf.drain(..start);
        if self.buf.is_empty() {
            return Ok(None);
        }
        let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                let used = it.byte_offset();
                self.buf.drain(..used);
                Ok(Some(v))
            }
            Some(Err(e)) if e.is_eof() => Ok(None),
            Some(Err(e)) => Err(Malformed(e.to_string())),
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

    #[test]
    fn garbage_is_an_error() {
        let mut s = JsonStream::new();
        s.push(b"{]");
        assert!(s.next_value().is_err());
    }

    proptest! {
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
            prop_assert_eq!(out, values);
            prop_assert_eq!(s.pending(), 0);
        }
    }
}
