//! The three PATCH body types of the API server: JSON merge patch (RFC 7386) and JSON
//! patch (RFC 6902), both from the `json-patch` crate, and strategic merge patch, written
//! here because no crate implements Kubernetes' variant. Strategic merge is merge patch
//! plus list merging by key for the list fields of the served kinds that the Kubernetes
//! API tags with a patch strategy (containers by `name`, ports by `containerPort`,
//! finalizers as a set, ...) and the `$patch`, `$retainKeys`, `$setElementOrder/`,
//! `$deleteFromPrimitiveList/` directives (apimachinery `pkg/util/strategicpatch`).
//! Keys are recognised by field name whatever their parent, which is exact for the kinds
//! served.

use serde_json::{Map, Value};

/// The patch media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Strategic,
    Json,
}

pub const ACCEPTED: &str = "application/json-patch+json, application/merge-patch+json, \
                            application/apply-patch+yaml, application/strategic-merge-patch+json";

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/json-patch+json" => Some(PatchType::Json),
            _ => None,
        }
    }
}

/// Why a patch could not be applied: the body does not decode (400) or does not apply
/// (422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    Decode(String),
    Apply(String),
}

/// Applies `patch` (the raw body) of type `ty` to `doc`.
pub fn apply(ty: PatchType, doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    let p: Value = serde_json::from_slice(patch).map_err(|e| PatchError::Decode(e.to_string()))?;
    match ty {
        PatchType::Merge => {
            if !p.is_object() {
                return Err(PatchError::Decode(
                    "json: cannot unmarshal into Go value of type map[string]interface {}".into(),
                ));
            }
            let mut out = doc.clone();
            json_patch::merge(&mut out, &p);
            Ok(out)
        }
        PatchType::Json => {
            let ops: json_patch::Patch =
                serde_json::from_value(p).map_err(|e| PatchError::Decode(e.to_string()))?;
            let mut out = doc.clone();
            json_patch::patch(&mut out, &ops).map_err(|e| PatchError::Apply(e.to_string()))?;
            Ok(out)
        }
        PatchType::Strategic => match (doc, &p) {
            (Value::Object(d), Value::Object(pm)) => Ok(merge_map(d, pm)?
                .map(Value::Object)
                .unwrap_or(Value::Object(Map::new()))),
            _ => Err(PatchError::Decode(
                "json: cannot unmarshal into Go value of type map[string]interface {}".into(),
            )),
        },
    }
}

/// The merge key of a list field, or `Some("")` for a list of scalars merged as a set.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "finalizers" => "",
        _ => return None,
    })
}

/// Strategic merge of two maps; `None` means the patch deletes the map (`$patch: delete`).
fn merge_map(
    doc: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, PatchError> {
    match patch.get("$patch").map(|v| v.as_str()) {
        Some(Some("replace")) => return Ok(Some(strip(patch))),
        Some(Some("delete")) => return Ok(None),
        Some(Some("merge")) | None => {}
        Some(other) => {
            return Err(PatchError::Apply(format!(
                "Unknown patch type: {}",
                other.unwrap_or("(not a string)")
            )))
        }
    }
    let mut out = doc.clone();
    for (k, pv) in patch {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let gone = pv.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = out.get_mut(field) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match (out.get(k), pv) {
            (_, Value::Null) => {
                out.remove(k);
            }
            (Some(Value::Object(d)), Value::Object(p)) => match merge_map(d, p)? {
                Some(m) => {
                    out.insert(k.clone(), Value::Object(m));
                }
                None => {
                    out.remove(k);
                }
            },
            (None, Value::Object(p)) => {
                if let Some(m) = merge_map(&Map::new(), p)? {
                    out.insert(k.clone(), Value::Object(m));
                }
            }
            (Some(Value::Array(d)), Value::Array(p)) if merge_key(k).is_some() => {
                let merged = merge_list(d, p, merge_key(k).unwrap_or(""))?;
                out.insert(k.clone(), Value::Array(merged));
            }
            (_, v) => {
                out.insert(k.clone(), strip_value(v));
            }
        }
    }
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        out.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
    Ok(Some(out))
}

fn merge_list(doc: &[Value], patch: &[Value], key: &str) -> Result<Vec<Value>, PatchError> {
    let directive = |v: &Value| v.get("$patch").and_then(Value::as_str).map(str::to_string);
    if patch
        .iter()
        .any(|v| directive(v).as_deref() == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|v| directive(v).is_none())
            .map(strip_value)
            .collect());
    }
    let mut out = doc.to_vec();
    if key.is_empty() {
        for v in patch {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Ok(out);
    }
    for pv in patch {
        let Some(pm) = pv.as_object() else {
            return Err(PatchError::Apply(format!(
                "merging an object in json but data type is not map, orig: {pv}"
            )));
        };
        let Some(kv) = pm.get(key) else {
            return Err(PatchError::Apply(format!(
                "map: {pv} does not contain declared merge key: {key}"
            )));
        };
        let at = out.iter().position(|o| o.get(key) == Some(kv));
        match (at, directive(pv).as_deref()) {
            (Some(i), Some("delete")) => {
                out.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), _) => {
                let d = out[i].as_object().cloned().unwrap_or_default();
                match merge_map(&d, pm)? {
                    Some(m) => out[i] = Value::Object(m),
                    None => {
                        out.remove(i);
                    }
                }
            }
            (None, _) => out.push(strip_value(pv)),
        }
    }
    Ok(out)
}

/// A patch value with its directives removed, to be stored.
fn strip(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), strip_value(v)))
        .collect()
}

fn strip_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip_value).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p1", "annotations": {"a": "1", "b": "2"},
                         "finalizers": ["x"]},
            "spec": {"containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}]}
        })
    }

    #[rstest]
    #[case::merge_sets_and_deletes(PatchType::Merge,
        json!({"metadata": {"annotations": {"a": null, "c": "3"}}}),
        json!({"a": null, "b": "2", "c": "3"}))]
    #[case::strategic_same_for_maps(PatchType::Strategic,
        json!({"metadata": {"annotations": {"a": null, "c": "3"}}}),
        json!({"a": null, "b": "2", "c": "3"}))]
    #[case::json_escaped_pointer(PatchType::Json,
        json!([{"op": "add", "path": "/metadata/annotations/userspace~1x", "value": "v"}]),
        json!({"a": "1", "b": "2", "userspace/x": "v"}))]
    fn annotations(#[case] ty: PatchType, #[case] patch: Value, #[case] want: Value) {
        let out = apply(ty, &pod(), patch.to_string().as_bytes()).unwrap();
        let want: Map<String, Value> = want
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(out["metadata"]["annotations"], Value::Object(want));
    }

    #[test]
    fn strategic_merges_containers_by_name_and_finalizers_as_a_set() {
        let patch = json!({
            "metadata": {"finalizers": ["y", "x"]},
            "spec": {"$setElementOrder/containers": [{"name": "c1"}, {"name": "c2"}],
                     "containers": [{"name": "c2", "image": "new"}, {"name": "c3", "image": "i3"}]}
        });
        let out = apply(PatchType::Strategic, &pod(), patch.to_string().as_bytes()).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["x", "y"]));
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "c1", "image": "i1"}, {"name": "c2", "image": "new"},
                   {"name": "c3", "image": "i3"}])
        );
        // Merge patch replaces the list wholesale.
        let out = apply(PatchType::Merge, &pod(), patch.to_string().as_bytes()).unwrap();
        assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 2);
        assert_eq!(out["spec"]["containers"][0]["name"], "c2");
    }

    #[test]
    fn strategic_directives() {
        let patch = json!({"spec": {"containers": [{"name": "c1", "$patch": "delete"}]},
                           "metadata": {"annotations": {"$patch": "replace", "z": "9"},
                                        "$deleteFromPrimitiveList/finalizers": ["x"]}});
        let out = apply(PatchType::Strategic, &pod(), patch.to_string().as_bytes()).unwrap();
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "c2", "image": "i2"}])
        );
        assert_eq!(out["metadata"]["annotations"], json!({"z": "9"}));
        assert_eq!(out["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn json_patch_failures_and_bad_bodies() {
        let p = json!([{"op": "remove", "path": "/metadata/labels/x"}]);
        assert!(matches!(
            apply(PatchType::Json, &pod(), p.to_string().as_bytes()),
            Err(PatchError::Apply(_))
        ));
        assert!(matches!(
            apply(PatchType::Merge, &pod(), b"[1]"),
            Err(PatchError::Decode(_))
        ));
        assert!(matches!(
            apply(PatchType::Json, &pod(), b"{}"),
            Err(PatchError::Decode(_))
        ));
        assert!(matches!(
            apply(PatchType::Strategic, &pod(), b"nope"),
            Err(PatchError::Decode(_))
        ));
    }
}
