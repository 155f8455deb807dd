//! Update (PUT) and patch: one write path, where `make` builds the new object from the
//! stored one and the server's rules (concurrency, server-owned metadata, status
//! subresource, defaults, validation, generation) apply to it.

use serde_json::{json, Value};

use super::{check_type, name_of, namespace_of, normalize, SERVER_META};
use crate::api::Api;
use crate::defaults;
use crate::meta::{meta_str, metadata_mut};
use crate::patch::{self, PatchError, PatchType};
use crate::request::{Request, Target};
use crate::status::ApiError;
use crate::store::Write;

/// Everything but metadata and status: what a generation counts changes of.
fn spec_part(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["metadata", "status", "kind", "apiVersion"] {
            m.remove(k);
        }
    }
    v
}

/// The write path shared by PUT and PATCH: `make` builds the new object from the stored
/// one; then the server's rules apply and the result is stored.
fn write(
    api: &Api,
    t: &Target,
    dry_run: bool,
    make: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let res = t.res;
    let ns = namespace_of(t);
    let name = name_of(t).to_string();
    let status = t.subresource.as_deref() == Some("status");
    let mut dry = None;
    let out = api.store.mutate(&res.key(), &ns, &name, |cur| {
        let cur = cur.ok_or_else(|| ApiError::not_found(res, &name))?;
        let mut new = make(cur)?;
        if !new.is_object() {
            return Err(ApiError::bad_request("the object is not a JSON object"));
        }
        check_type(res, &new)?;
        let m = metadata_mut(&mut new);
        let given = m.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        if !given.is_empty() && given != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        m.insert("name".into(), json!(name));
        let given_ns = m.get("namespace").and_then(Value::as_str).unwrap_or("");
        if res.namespaced && !given_ns.is_empty() && given_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if res.namespaced {
            m.insert("namespace".into(), json!(ns));
        } else {
            m.remove("namespace");
        }
        let stored_rv = meta_str(cur, "resourceVersion").to_string();
        let rv = m.get("resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
        if !rv.is_empty() && rv != stored_rv {
            return Err(ApiError::conflict(res, &name));
        }
        m.insert("resourceVersion".into(), json!(stored_rv));
        let cur_meta = cur["metadata"].as_object().cloned().unwrap_or_default();
        for k in SERVER_META {
            match cur_meta.get(*k) {
                Some(v) => m.insert(k.to_string(), v.clone()),
                None => m.remove(*k),
            };
        }
        if status {
            new["spec"] = cur["spec"].clone();
            let keep: &[&str] = if res.plural == "pods" && res.group.is_empty() {
                &["ownerReferences"]
            } else {
                &["labels", "annotations", "finalizers", "ownerReferences"]
            };
            let m = metadata_mut(&mut new);
            for k in keep {
                match cur_meta.get(*k) {
                    Some(v) => m.insert(k.to_string(), v.clone()),
                    None => m.remove(*k),
                };
            }
        } else if res.status {
            match cur.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().map(|o| o.remove("status"));
                }
            }
        }
        defaults::apply(res, &mut new);
        defaults::validate(res, &new)?;
        if res.plural == "pods" && res.group.is_empty() && !status {
            defaults::validate_pod_update(res, cur, &new)?;
        }
        if res.generation && spec_part(cur) != spec_part(&new) {
            let g = cur["metadata"]["generation"].as_i64().unwrap_or(0);
            metadata_mut(&mut new).insert("generation".into(), json!(g + 1));
        }
        let new = normalize(res, &new);
        let finalized = !new["metadata"]["deletionTimestamp"].is_null()
            && new["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
        if dry_run {
            dry = Some(new);
            return Ok(Write::Keep);
        }
        if finalized {
            return Ok(Write::Delete);
        }
        if &new == cur {
            return Ok(Write::Keep);
        }
        Ok(Write::Put(new))
    })?;
    dry.or(out)
        .ok_or_else(|| ApiError::internal("object vanished"))
}

pub fn update(api: &Api, t: &Target, body: &Value, dry_run: bool) -> Result<Value, ApiError> {
    write(api, t, dry_run, |_| Ok(body.clone()))
}

pub fn patch(api: &Api, t: &Target, req: &Request, dry_run: bool) -> Result<Value, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("");
    let ty = match PatchType::from_content_type(ct) {
        Some(PatchType::Strategic) if t.res.custom => None,
        other => other,
    };
    let Some(ty) = ty else {
        let accepted = if t.res.custom {
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        } else {
            patch::ACCEPTED
        };
        return Err(ApiError::unsupported_media_type(accepted));
    };
    let res = t.res;
    let name = name_of(t).to_string();
    write(api, t, dry_run, |cur| {
        match patch::apply(ty, cur, &req.body) {
            Ok(v) => Ok(v),
            Err(PatchError::Decode(e)) => {
                Err(ApiError::bad_request(format!("error decoding patch: {e}")))
            }
            Err(PatchError::Apply(e)) => Err(ApiError {
                details: Some(Box::new(json!({"name": name, "kind": res.kind}))),
                ..ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            }),
        }
    })
}
