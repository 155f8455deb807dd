//! Object metadata the server owns: timestamps (RFC 3339, seconds, UTC, as the real server
//! writes them), UIDs, generated names and name validation.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2026-01-02T03:04:05Z`.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn now() -> String {
    timestamp(OffsetDateTime::now_utc())
}

pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Five characters from the alphabet the real server uses for `generateName` suffixes.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// RFC 1123 subdomain (object names of most kinds): the message when `name` is not one.
pub fn invalid_subdomain(name: &str) -> Option<String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        return None;
    }
    Some(format!(
        "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case \
         alphanumeric characters, '-' or '.', and must start and end with an alphanumeric \
         character (e.g. 'example.com', regex used for validation is \
         '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ))
}

/// RFC 1123 label (namespace names).
pub fn invalid_label(name: &str) -> Option<String> {
    if name.len() <= 63 && !name.contains('.') && invalid_subdomain(name).is_none() {
        return None;
    }
    Some(format!(
        "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case \
         alphanumeric characters or '-', and must start and end with an alphanumeric character \
         (e.g. 'my-name',  or '123-abc', regex used for validation is \
         '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ))
}

/// The string at `obj.metadata.<field>`, empty when absent.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `obj.metadata`, created if missing (or replaced if not an object).
pub fn metadata_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Default::default());
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_seconds_utc() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(timestamp(t), "2023-11-14T22:13:20Z");
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Some(t));
    }

    #[test]
    fn names_are_validated_like_the_real_server() {
        assert!(invalid_subdomain("p1.example").is_none());
        assert!(invalid_subdomain("P1").is_some());
        assert!(invalid_subdomain("-a").is_some());
        assert!(invalid_subdomain("").is_some());
        assert!(invalid_label("a.b").is_some());
        assert!(invalid_label("kube-system").is_none());
        assert_eq!(random_suffix().len(), 5);
    }
}
