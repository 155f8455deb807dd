//! OpenAPI v3 discovery, only as much as kubectl needs to use server-side field
//! validation (`kubectl apply` with its default `--validate=strict`): the `/openapi/v3`
//! index and, per group/version, a document whose PATCH operations carry the
//! `x-kubernetes-group-version-kind` extension and the `fieldValidation` query parameter
//! (kubectl's `query_param_verifier_v3`). No schemas are served: kubectl then computes
//! apply patches from its compiled-in types (and merge patches for custom resources), as
//! it does against any server without them. `/openapi/v2` is not served (404).

use serde_json::{json, Map, Value};

use crate::resources::{self, of_group, Resource};
use crate::status::ApiError;

fn gv_path(group: &str) -> String {
    if group.is_empty() {
        "api/v1".into()
    } else {
        format!("apis/{group}/v1")
    }
}

fn hash(version: &str, gv: &str) -> String {
    // Stable per server version and document: FNV-1a, hex.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in version.bytes().chain(gv.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016X}")
}

pub fn root(version: &str) -> Value {
    let mut paths = Map::new();
    let mut groups = vec![""];
    groups.extend(
        resources::groups()
            .into_iter()
            .filter(|g| of_group(g, "v1").iter().any(|r| !r.is_review())),
    );
    for g in groups {
        let p = gv_path(g);
        let url = format!("/openapi/v3/{p}?hash={}", hash(version, &p));
        paths.insert(p, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn item_path(r: &Resource, gv: &str) -> String {
    if r.namespaced {
        format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
    } else {
        format!("/{gv}/{}/{{name}}", r.plural)
    }
}

pub fn document(gv: &str, version: &str) -> Result<Value, ApiError> {
    let group = match gv.split('/').collect::<Vec<_>>().as_slice() {
        ["api", "v1"] => "",
        ["apis", g, "v1"] => g,
        _ => return Err(ApiError::path_not_found()),
    };
    let list: Vec<&Resource> = of_group(group, "v1")
        .into_iter()
        .filter(|r| !r.is_review())
        .collect();
    if list.is_empty() {
        return Err(ApiError::path_not_found());
    }
    let mut paths = Map::new();
    for r in list {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let op = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", r.kind),
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation")],
                "responses": {"200": {"description": "OK"}},
            })
        };
        paths.insert(
            item_path(r, gv),
            json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
        );
        if r.status {
            paths.insert(
                format!("{}/status", item_path(r, gv)),
                json!({"get": op("get"), "put": op("put"), "patch": op("patch")}),
            );
        }
    }
    Ok(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_patch_declares_field_validation() {
        let root = root("v1.33.5");
        let url = root["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/api/v1?hash="));
        let doc = document("api/v1", "v1.33.5").unwrap();
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
        assert!(patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation"));
        assert!(document("apis/k8s.cni.cncf.io/v1", "x").is_ok());
        assert!(document("apis/nope/v1", "x").is_err());
    }
}
