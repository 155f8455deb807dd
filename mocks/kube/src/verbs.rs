//! The verbs on resources, with the generic registry store's semantics: server-owned
//! metadata (uid, resourceVersion, creationTimestamp, generation), optimistic concurrency
//! (a stale resourceVersion is a 409 Conflict), status subresources (the main resource
//! keeps status, `/status` keeps spec), finalizers holding deletion, and no-op writes
//! that keep the resourceVersion.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::defaults;
use crate::meta::{meta_str, metadata_mut};
use crate::patch::{self, PatchError, PatchType};
use crate::request::{Request, Target};
use crate::resources::Resource;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::Write;
use crate::table;

/// Metadata only the server writes; client values are replaced by the stored ones.
const SERVER_META: &[&str] = &[
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

fn check_type(res: &Resource, body: &Value) -> Result<(), ApiError> {
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

fn namespace_of(t: &Target) -> String {
    if t.res.namespaced {
        t.namespace.clone().unwrap_or_default()
    } else {
        String::new()
    }
}

fn name_of(t: &Target) -> &str {
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
fn list_item(res: &Resource, obj: &Value) -> Value {
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
