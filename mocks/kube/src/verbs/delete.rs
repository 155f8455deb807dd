//! Delete and deletecollection: preconditions, finalizers holding a deletion, a
//! namespace taking its objects with it, and what each kind answers.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{list_item, name_of, namespace_of, normalize, Selection};
use crate::api::Api;
use crate::meta::{meta_str, metadata_mut};
use crate::request::Target;
use crate::resources::Resource;
use crate::status::ApiError;
use crate::store::Write;

fn preconditions(res: &Resource, cur: &Value, opts: &Value) -> Result<(), ApiError> {
    let pre = &opts["preconditions"];
    for (field, what) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
        if let Some(want) = pre[field].as_str() {
            let have = meta_str(cur, field);
            if want != have {
                return Err(ApiError {
                    details: Some(Box::new(
                        json!({"name": meta_str(cur, "name"), "kind": res.plural}),
                    )),
                    ..ApiError::new(
                        409,
                        "Conflict",
                        format!(
                            "Operation cannot be fulfilled on {} \"{}\": Precondition failed: \
                             {what} in precondition: {want}, {what} in object meta: {have}",
                            res.qualified(),
                            meta_str(cur, "name")
                        ),
                    )
                });
            }
        }
    }
    Ok(())
}

/// Deletes one object: immediately, or (with finalizers) marks it with a
/// `deletionTimestamp`. Pods and namespaces answer with the object, other kinds with a
/// success `Status`, as their real storage does.
pub fn delete(api: &Api, t: &Target, opts: &Value, dry_run: bool) -> Result<Value, ApiError> {
    let res = t.res;
    let ns = namespace_of(t);
    let name = name_of(t).to_string();
    let mut pending = false;
    let mut dry = None;
    let out = api.store.mutate(&res.key(), &ns, &name, |cur| {
        let cur = cur.ok_or_else(|| ApiError::not_found(res, &name))?;
        preconditions(res, cur, opts)?;
        let has_finalizers = cur["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if dry_run {
            dry = Some(cur.clone());
            return Ok(Write::Keep);
        }
        if has_finalizers {
            pending = true;
            if !cur["metadata"]["deletionTimestamp"].is_null() {
                return Ok(Write::Keep);
            }
            let mut new = cur.clone();
            let m = metadata_mut(&mut new);
            m.insert("deletionTimestamp".into(), json!(crate::meta::now()));
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            return Ok(Write::Put(normalize(res, &new)));
        }
        Ok(Write::Delete)
    })?;
    let obj = dry.or(out).ok_or_else(|| ApiError::not_found(res, &name))?;
    if res.plural == "namespaces" && !pending && !dry_run {
        for r in crate::resources::RESOURCES.iter().filter(|r| r.namespaced) {
            let (items, _) = api.store.list(&r.key(), Some(&name));
            for o in items {
                let _ = api
                    .store
                    .mutate(&r.key(), &name, meta_str(&o, "name"), |_| {
                        Ok::<_, ApiError>(Write::Delete)
                    });
            }
        }
        let mut obj = obj;
        metadata_mut(&mut obj).insert("deletionTimestamp".into(), json!(crate::meta::now()));
        obj["status"] = json!({"phase": "Terminating"});
        return Ok(obj);
    }
    if pending || (res.group.is_empty() && res.plural == "pods") {
        return Ok(obj);
    }
    Ok(crate::status::success(res, &name, &obj["metadata"]["uid"]))
}

pub fn delete_collection(
    api: &Api,
    t: &Target,
    q: &BTreeMap<String, String>,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let sel = Selection::new(t, q)?;
    let (items, _) = api.store.list(&t.res.key(), sel.namespace.as_deref());
    let mut deleted = Vec::new();
    for o in items.into_iter().filter(|o| sel.matches(o)) {
        let one = Target {
            res: t.res,
            namespace: Some(meta_str(&o, "namespace").to_string()),
            name: Some(meta_str(&o, "name").to_string()),
            subresource: None,
        };
        if delete(api, &one, &Value::Null, dry_run).is_ok() {
            deleted.push(list_item(t.res, &o));
        }
    }
    Ok(json!({
        "kind": format!("{}List", t.res.kind),
        "apiVersion": t.res.api_version(),
        "metadata": {"resourceVersion": api.store.resource_version().to_string()},
        "items": deleted,
    }))
}
