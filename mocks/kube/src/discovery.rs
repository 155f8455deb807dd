//! Discovery documents: `/version`, the legacy `/api` (APIVersions), `/apis`
//! (APIGroupList), `/apis/{group}`, `/api/v1` and `/apis/{group}/{version}`
//! (APIResourceList), and the aggregated form (`apidiscovery.k8s.io/v2` and `v2beta1`
//! APIGroupDiscoveryList) that kubectl asks for first, chosen by the Accept header as the
//! real server does.

use serde_json::{json, Value};

use crate::api::Reply;
use crate::resources::{self, of_group, Resource};
use crate::status::ApiError;

pub fn version(git: &str) -> Value {
    let minor = git.split('.').nth(1).unwrap_or("0");
    json!({
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": minor,
        "gitVersion": git,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// The aggregated discovery version the Accept header asks for first, if any.
fn aggregated(accept: &str) -> Option<&'static str> {
    for a in accept.split(',') {
        let p: Vec<&str> = a.split(';').map(str::trim).collect();
        if p.contains(&"g=apidiscovery.k8s.io") && p.contains(&"as=APIGroupDiscoveryList") {
            if p.contains(&"v=v2") {
                return Some("v2");
            }
            if p.contains(&"v=v2beta1") {
                return Some("v2beta1");
            }
        }
        if matches!(p[0], "application/json" | "*/*" | "application/*") && p.len() == 1 {
            return None;
        }
    }
    None
}

fn discovery_reply(v: &str, items: Vec<Value>) -> Reply {
    Reply::Json {
        code: 200,
        content_type: format!(
            "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
        ),
        body: json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": format!("apidiscovery.k8s.io/{v}"),
            "metadata": {},
            "items": items,
        }),
        retry_after: None,
    }
}

fn scope(r: &Resource) -> &'static str {
    if r.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    }
}

fn aggregated_resource(r: &Resource) -> Value {
    let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let mut v = json!({
        "resource": r.plural,
        "responseKind": kind,
        "scope": scope(r),
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    if r.status {
        v["subresources"] = json!([{"subresource": "status", "responseKind": kind,
                                     "verbs": ["get", "patch", "update"]}]);
    }
    v
}

fn aggregated_group(group: &str) -> Value {
    let resources: Vec<Value> = of_group(group, "v1")
        .into_iter()
        .map(aggregated_resource)
        .collect();
    json!({
        "metadata": {"name": group, "creationTimestamp": null},
        "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
    })
}

pub fn api(accept: &str) -> Reply {
    match aggregated(accept) {
        Some(v) => discovery_reply(v, vec![aggregated_group("")]),
        None => Reply::ok(
            200,
            json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
            }),
        ),
    }
}

fn group_doc(g: &str) -> Value {
    let gv = json!({"groupVersion": format!("{g}/v1"), "version": "v1"});
    json!({"name": g, "versions": [gv], "preferredVersion": gv})
}

pub fn apis(accept: &str) -> Reply {
    match aggregated(accept) {
        Some(v) => discovery_reply(
            v,
            resources::groups()
                .into_iter()
                .map(aggregated_group)
                .collect(),
        ),
        None => Reply::ok(
            200,
            json!({
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": resources::groups().into_iter().map(group_doc).collect::<Vec<_>>(),
            }),
        ),
    }
}

pub fn group(g: &str) -> Result<Value, ApiError> {
    if !resources::groups().contains(&g) {
        return Err(ApiError::path_not_found());
    }
    let mut d = group_doc(g);
    d["kind"] = json!("APIGroup");
    d["apiVersion"] = json!("v1");
    Ok(d)
}

/// `APIResourceList` of one group/version.
pub fn resources(group: &str, version: &str) -> Result<Value, ApiError> {
    let list = of_group(group, version);
    if list.is_empty() {
        return Err(ApiError::path_not_found());
    }
    let mut out = Vec::new();
    for r in list {
        let mut v = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            v["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            v["categories"] = json!(r.categories);
        }
        out.push(v);
        if r.status {
            out.push(
                json!({"name": format!("{}/status", r.plural), "singularName": "",
                            "namespaced": r.namespaced, "kind": r.kind,
                            "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Ok(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn aggregated_only_when_asked() {
        assert_eq!(aggregated(KUBECTL), Some("v2"));
        assert_eq!(aggregated("application/json"), None);
        assert_eq!(aggregated("application/json, */*"), None);
        let Reply::Json {
            content_type, body, ..
        } = apis(KUBECTL)
        else {
            panic!()
        };
        assert!(content_type.contains("v=v2;as=APIGroupDiscoveryList"));
        let names: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"k8s.cni.cncf.io"), "{names:?}");
    }

    #[test]
    fn legacy_resource_lists_name_subresources() {
        let v = resources("", "v1").unwrap();
        let names: Vec<&str> = v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"pods/status"));
        assert_eq!(resources("nope", "v1").unwrap_err().code, 404);
    }
}
