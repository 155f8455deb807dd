//! The verbs on resources, with the generic registry store's semantics: server-owned
//! metadata (uid, resourceVersion, creationTimestamp, generation), optimistic concurrency
//! (a stale resourceVersion is a 409 Conflict), status subresources (the main resource
//! keeps status, `/status` keeps spec), finalizers holding deletion, and no-op writes
//! that keep the resourceVersion.
//!
//! - this module: reads (get, list), create, and what all verbs share;
//! - [`write`]: update (PUT) and patch, one write path;
//! - [`delete`]: delete, finalizers, deletecollection.

mod delete;
mod write;

pub use delete::{delete, delete_collection};
pub use write::{patch, update};

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::defaults;
use crate::meta::{meta_str, metadata_mut};
use crate::request::Target;
use crate::resources::Resource;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::Write;
use crate::table;

/// Metadata only the server writes; client values are replaced by the stored ones.
pub(crate) const SERVER_META: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The object with `kind` and `apiVersion` first and `status` last, metadata in the
/// order the real server writes it.
pub fn normalize(res: &Resource, obj: &Value) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), json!(res.kind));
    out.insert("apiVersion".into(), json!(res.api_version()));
    let src = obj.as_object().cloned().unwrap_or_default();
    if let Some(Value::Object(m)) = src.get("metadata") {
        let mut md = Map::new();
        for k in META_ORDER {
            if let Some(v) = m.get(*k) {
                md.insert(k.to_string(), v.clone());
            }
        }
        for (k, v) in m {
            if !md.contains_key(k) {
                md.insert(k.clone(), v.clone());
            }
        }
        out.insert("metadata".into(), Value::Object(md));
    } else {
        out.insert("metadata".into(), json!({}));
    }
    for (k, v) in &src {
        if !matches!(k.as_str(), "kind" | "apiVersion" | "metadata" | "status") {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(s) = src.get("status") {
        out.insert("status".into(), s.clone());
    }
    Value::Object(out)
}

pub(crate) fn check_type(res: &Resource, body: &Value) -> Result<(), ApiError> {
    let av = body["apiVersion"].as_str().unwrap_or("");
    let kind = body["kind"].as_str().unwrap_or("");
    if !av.is_empty() && av != res.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            res.api_version()
        )));
    }
    if !kind.is_empty() && kind != res.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            res.kind
        )));
    }
    Ok(())
}

pub(crate) fn namespace_of(t: &Target) -> String {
    if t.res.namespaced {
        t.namespace.clone().unwrap_or_default()
    } else {
        String::new()
    }
}

pub(crate) fn name_of(t: &Target) -> &str {
    t.name.as_deref().unwrap_or("")
}

pub fn get(api: &Api, t: &Target, table: bool) -> Result<Value, ApiError> {
    let ns = namespace_of(t);
    let obj = api
        .store
        .get(&t.res.key(), &ns, name_of(t))
        .ok_or_else(|| ApiError::not_found(t.res, name_of(t)))?;
    if table {
        let rv = api.store.resource_version();
        return Ok(table::render(t.res, &[obj], rv, true));
    }
    Ok(obj)
}

/// The objects a list or watch selects.
pub struct Selection {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selection {
    pub fn new(t: &Target, q: &BTreeMap<String, String>) -> Result<Selection, ApiError> {
        let empty = String::new();
        Ok(Selection {
            namespace: if t.res.namespaced {
                t.namespace.clone()
            } else {
                None
            },
            labels: LabelSelector::parse(q.get("labelSelector").unwrap_or(&empty))?,
            fields: FieldSelector::parse(q.get("fieldSelector").unwrap_or(&empty), t.res.kind)?,
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| meta_str(obj, "namespace") == ns)
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }
}

/// `Kind` of a list item as sent in lists: built-in kinds leave it out.
pub(crate) fn list_item(res: &Resource, obj: &Value) -> Value {
    let mut o = obj.clone();
    if !res.custom {
        if let Some(m) = o.as_object_mut() {
            m.remove("kind");
            m.remove("apiVersion");
        }
    }
    o
}

pub fn list(
    api: &Api,
    t: &Target,
    q: &BTreeMap<String, String>,
    table: bool,
) -> Result<Value, ApiError> {
    let sel = Selection::new(t, q)?;
    let (items, rv) = api.store.list(&t.res.key(), sel.namespace.as_deref());
    let items: Vec<Value> = items.into_iter().filter(|o| sel.matches(o)).collect();
    if table {
        return Ok(table::render(t.res, &items, rv, true));
    }
    Ok(json!({
        "kind": format!("{}List", t.res.kind),
        "apiVersion": t.res.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items.iter().map(|o| list_item(t.res, o)).collect::<Vec<_>>(),
    }))
}

pub fn create(api: &Api, t: &Target, body: &Value, dry_run: bool) -> Result<Value, ApiError> {
    let res = t.res;
    check_type(res, body)?;
    let ns = namespace_of(t);
    let mut obj = body.clone();
    let m = metadata_mut(&mut obj);
    let given_ns = m.get("namespace").and_then(Value::as_str).unwrap_or("");
    if res.namespaced {
        if !given_ns.is_empty() && given_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        m.insert("namespace".into(), json!(ns));
    } else {
        m.remove("namespace");
    }
    if m.get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let mut name = m
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        if let Some(g) = m.get("generateName").and_then(Value::as_str) {
            if !g.is_empty() {
                name = format!("{g}{}", crate::meta::random_suffix());
                m.insert("name".into(), json!(name));
            }
        }
    }
    for k in SERVER_META {
        m.remove(*k);
    }
    m.insert("uid".into(), json!(crate::meta::new_uid()));
    m.insert("creationTimestamp".into(), json!(crate::meta::now()));
    if res.generation {
        m.insert("generation".into(), json!(1));
    }
    defaults::apply(res, &mut obj);
    defaults::admit(res, &mut obj);
    if let Some(st) = defaults::initial_status(res, &obj) {
        obj["status"] = st;
    }
    defaults::validate(res, &obj)?;
    if res.namespaced && api.store.get("/namespaces", "", &ns).is_none() {
        let nsres = Resource::find("", "v1", "namespaces").expect("served");
        return Err(ApiError::not_found(nsres, &ns));
    }
    let obj = normalize(res, &obj);
    if dry_run {
        return Ok(obj);
    }
    let stored = api.store.mutate(&res.key(), &ns, &name, |cur| match cur {
        Some(_) => Err(ApiError::already_exists(res, &name)),
        None => Ok(Write::Put(obj)),
    })?;
    if res.group.is_empty() && res.plural == "namespaces" {
        api.populate_namespace(&name);
    }
    stored.ok_or_else(|| ApiError::internal("object vanished"))
}
