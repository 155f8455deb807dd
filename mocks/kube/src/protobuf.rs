//! Just enough of the Kubernetes protobuf encoding (the `k8s\0` envelope around a
//! `runtime.Unknown`, and protobuf's wire format) to read the review kinds kubectl's typed
//! clients send as protobuf (`kubectl auth can-i`, `whoami`). Hand-written because only
//! these few fields are read and a generated-code dependency would dwarf them; all other
//! kinds are accepted as JSON only, and answers are always JSON (clients decode by the
//! answer's Content-Type).

use serde_json::{json, Map, Value};

pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The (field number, bytes) of the length-delimited fields of one message; varint and
/// fixed-width fields are skipped. None when the bytes are not a valid message.
fn fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&x, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        match key & 7 {
            0 => {
                varint(&mut b)?;
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            2 => {
                let n = usize::try_from(varint(&mut b)?).ok()?;
                let (field, rest) = (b.get(..n)?, b.get(n..)?);
                out.push((key >> 3, field));
                b = rest;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn text(fs: &[(u64, &[u8])], n: u64) -> String {
    fs.iter()
        .rev()
        .find(|(k, _)| *k == n)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

fn sub<'a>(fs: &[(u64, &'a [u8])], n: u64) -> Option<&'a [u8]> {
    fs.iter().rev().find(|(k, _)| *k == n).map(|(_, v)| *v)
}

/// Decodes a protobuf-encoded `SelfSubjectAccessReview` or `SelfSubjectReview` into its
/// JSON form; None for anything else or malformed input.
pub fn decode_review(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(b"k8s\0")?)?;
    let type_meta = fields(sub(&unknown, 1)?)?;
    let (api_version, kind) = (text(&type_meta, 1), text(&type_meta, 2));
    let raw = fields(sub(&unknown, 2).unwrap_or(&[]))?;
    let mut out = json!({"apiVersion": api_version, "kind": kind, "metadata": {}});
    match kind.as_str() {
        "SelfSubjectReview" => {}
        "SelfSubjectAccessReview" => {
            let spec = fields(sub(&raw, 2).unwrap_or(&[]))?;
            if let Some(ra) = sub(&spec, 1) {
                let ra = fields(ra)?;
                let names = [
                    "namespace",
                    "verb",
                    "group",
                    "version",
                    "resource",
                    "subresource",
                    "name",
                ];
                let attrs: Map<String, Value> = names
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.to_string(), json!(text(&ra, i as u64 + 1))))
                    .collect();
                out["spec"] = json!({"resourceAttributes": attrs});
            } else if let Some(nra) = sub(&spec, 2) {
                let nra = fields(nra)?;
                out["spec"] = json!({"nonResourceAttributes": {"path": text(&nra, 1), "verb": text(&nra, 2)}});
            } else {
                out["spec"] = json!({});
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(n: u64, b: &[u8]) -> Vec<u8> {
        let mut v = vec![(n << 3 | 2) as u8, b.len() as u8];
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn reads_a_self_subject_access_review() {
        let ra = [ld(1, b"default"), ld(2, b"list"), ld(5, b"pods")].concat();
        let raw = [ld(1, b""), ld(2, &ld(1, &ra))].concat();
        let tm = [
            ld(1, b"authorization.k8s.io/v1"),
            ld(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [
            b"k8s\0".to_vec(),
            ld(1, &tm),
            ld(2, &raw),
            ld(4, b"application/vnd.kubernetes.protobuf"),
        ]
        .concat();
        let v = decode_review(&body).unwrap();
        assert_eq!(v["kind"], "SelfSubjectAccessReview");
        let a = &v["spec"]["resourceAttributes"];
        assert_eq!(
            (
                a["verb"].as_str(),
                a["resource"].as_str(),
                a["namespace"].as_str()
            ),
            (Some("list"), Some("pods"), Some("default"))
        );
        assert_eq!(decode_review(b"k8s\0\x0a\x05ab"), None, "truncated");
        assert_eq!(decode_review(b"{}"), None);
    }
}
