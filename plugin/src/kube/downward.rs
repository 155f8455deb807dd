//! kubelet's downward-API annotations file: one `key="value"` line per annotation, the
//! value quoted as Go's `strconv.Quote` does, no newline after the last line.

use serde_json::{Map, Value};

/// The annotations of a downward-API file's text.
pub fn parse(text: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (key, quoted) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: no '=' in {line:?}", n + 1))?;
        let value = unquote(quoted).map_err(|e| format!("line {} ({key}): {e}", n + 1))?;
        out.insert(key.to_string(), Value::String(value));
    }
    Ok(out)
}

/// Go's `strconv.Unquote` for a double-quoted string.
pub fn unquote(quoted: &str) -> Result<String, String> {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .ok_or("value is not a quoted string")?;
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars, n: usize| -> Result<u32, String> {
        let digits: String = chars.by_ref().take(n).collect();
        if digits.len() != n {
            return Err("short escape".into());
        }
        u32::from_str_radix(&digits, 16).map_err(|_| format!("bad escape digits {digits:?}"))
    };
    while let Some(c) = chars.next() {
        if c == '"' {
            return Err("unescaped quote".into());
        }
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or("trailing backslash")?;
        let simple = match e {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            continue;
        }
        match e {
            'x' => bytes.push(hex(&mut chars, 2)? as u8),
            'u' | 'U' => {
                let cp = hex(&mut chars, if e == 'u' { 4 } else { 8 })?;
                let c = char::from_u32(cp).ok_or(format!("bad code point {cp:#x}"))?;
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let v = u32::from_str_radix(&format!("{e}{rest}"), 8)
                    .map_err(|_| "bad octal escape".to_string())?;
                bytes.push(u8::try_from(v).map_err(|_| "octal escape over 255")?);
            }
            other => return Err(format!("unknown escape \\{other}")),
        }
    }
    String::from_utf8(bytes).map_err(|_| "value is not UTF-8".into())
}

/// Go's `strconv.Quote` as kubelet applies it (for tests and tools that write such files).
pub fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A whole file as kubelet renders it: keys sorted, lines joined, no final newline.
pub fn render(annotations: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = annotations.keys().collect();
    keys.sort();
    keys.iter()
        .map(|k| {
            let v = match &annotations[k.as_str()] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{k}={}", quote(&v))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kubelet_lines() {
        let text = "k8s.v1.cni.cncf.io/network-status=\"[{\\n    \\\"name\\\": \\\"x\\\"\\n}]\"\nuserspace/mapped-dir=\"/var/lib/cni/usrspcni\"\nodd=\"tab\\there \\x01 \\u00e9 é \\101\"";
        let a = parse(text).unwrap();
        assert_eq!(
            a["k8s.v1.cni.cncf.io/network-status"],
            "[{\n    \"name\": \"x\"\n}]"
        );
        assert_eq!(a["userspace/mapped-dir"], "/var/lib/cni/usrspcni");
        assert_eq!(a["odd"], "tab\there \u{1} é é A");
    }

    #[rstest::rstest]
    #[case("novalue", "no '='")]
    #[case("k=unquoted", "not a quoted string")]
    #[case("k=\"bad \\q\"", "unknown escape")]
    #[case("k=\"a\"b\"", "unescaped quote")]
    fn bad_lines(#[case] text: &str, #[case] msg: &str) {
        assert!(parse(text).unwrap_err().contains(msg));
    }

    proptest! {
        #[test]
        fn quote_round_trips(s in any::<String>()) {
            prop_assert_eq!(unquote(&quote(&s)).unwrap(), s);
        }

        #[test]
        fn files_round_trip(m in proptest::collection::btree_map("[a-z./-]{1,12}", any::<String>(), 0..5)) {
            let map: Map<String, Value> = m.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            let mut got = parse(&render(&map)).unwrap();
            got.sort_keys();
            let mut want = map;
            want.sort_keys();
            prop_assert_eq!(got, want);
        }
    }
}
