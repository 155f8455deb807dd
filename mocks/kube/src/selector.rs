//! `labelSelector` and `fieldSelector` of list and watch requests, with the syntax and the
//! supported field labels of the real server (apimachinery `labels.Parse`, `fields`).
//! Hand-written: the grammar is small, and the only Rust implementation lives inside a
//! full client library (kube-rs) that a server has no use for.

use serde_json::Value;

use crate::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 316
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, ApiError> {
        let bad = || {
            ApiError::bad_request(format!(
                "unable to parse requirement: found '{s}', expected: valid label selector"
            ))
        };
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector(reqs));
        }
        for part in split_top(s) {
            let p = part.trim();
            let set = |rest: &str| -> Option<Vec<String>> {
                let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
                let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
                vals.iter().all(|v| valid_value(v)).then_some(vals)
            };
            let req = if let Some(k) = p.strip_prefix('!') {
                Req::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = p.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                Req::NotIn(k.trim().into(), set(rest).ok_or_else(bad)?)
            } else if let Some((k, rest)) = p.split_once(" in ") {
                Req::In(k.trim().into(), set(rest).ok_or_else(bad)?)
            } else {
                Req::Exists(p.to_string())
            };
            let (key, vals): (&str, Vec<&String>) = match &req {
                Req::Eq(k, v) | Req::Ne(k, v) => (k, vec![v]),
                Req::In(k, v) | Req::NotIn(k, v) => (k, v.iter().collect()),
                Req::Exists(k) | Req::NotExists(k) => (k, vec![]),
            };
            if !valid_key(key) || !vals.iter().all(|v| valid_value(v)) {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.get("metadata").and_then(|m| m.get("labels"));
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v),
            Req::Ne(k, v) => get(k) != Some(v),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// A parsed field selector (`metadata.name=x,status.phase!=Running`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Field labels the real server supports for every kind, and for pods.
const COMMON: &[&str] = &["metadata.name", "metadata.namespace"];
const POD: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

impl FieldSelector {
    pub fn parse(s: &str, kind: &str) -> Result<FieldSelector, ApiError> {
        let mut out = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector(out));
        }
        for part in s.split(',') {
            let (k, eq, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let k = k.trim();
            if !(COMMON.contains(&k) || kind == "Pod" && POD.contains(&k)) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {k}"
                )));
            }
            out.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    /// The name this selector pins (`metadata.name=x`), if any.
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, eq, _)| *eq && k == "metadata.name")
            .map(|(_, _, v)| v.as_str())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, eq, want)| {
            let mut v = obj;
            for seg in path.split('.') {
                v = v.get(seg).unwrap_or(&Value::Null);
            }
            let have = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (have == *want) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case("", true)]
    #[case("app=web", true)]
    #[case("app==web", true)]
    #[case("app!=web", false)]
    #[case("app in (web,db)", true)]
    #[case("app notin (web)", false)]
    #[case("tier", false)]
    #[case("!tier", true)]
    #[case("app=web,!tier", true)]
    #[case("app=web,tier", false)]
    fn label_selectors(#[case] sel: &str, #[case] want: bool) {
        let obj = json!({"metadata": {"labels": {"app": "web"}}});
        assert_eq!(LabelSelector::parse(sel).unwrap().matches(&obj), want);
    }

    #[test]
    fn bad_selectors_are_400() {
        assert_eq!(LabelSelector::parse("a=b c").unwrap_err().code, 400);
        assert_eq!(FieldSelector::parse("foo=1", "Pod").unwrap_err().code, 400);
        assert_eq!(
            FieldSelector::parse("spec.nodeName=x", "ConfigMap")
                .unwrap_err()
                .message,
            "field label not supported: spec.nodeName"
        );
    }

    #[test]
    fn field_selectors() {
        let obj = json!({"metadata": {"name": "p1"}, "status": {"phase": "Pending"}});
        let f = FieldSelector::parse("metadata.name=p1", "Pod").unwrap();
        assert!(f.matches(&obj));
        assert_eq!(f.name(), Some("p1"));
        let f = FieldSelector::parse("status.phase!=Pending", "Pod").unwrap();
        assert!(!f.matches(&obj));
    }
}
