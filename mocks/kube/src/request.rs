//! Requests as the API logic sees them (transport-independent, so tests and the fuzz
//! target drive it without sockets), and the routing of a URL path to what it names.
//! Query strings are decoded here (a dozen lines) rather than with a URL crate: only
//! `key=value` pairs with percent-escapes occur.

use std::collections::BTreeMap;

use crate::resources::Resource;

/// One HTTP request, already read.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`).
    pub query: String,
    pub accept: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
    /// Came in on the `--insecure-http` listener (no token means admin there, as on the
    /// old insecure port of kube-apiserver).
    pub insecure: bool,
}

/// What a URL path names.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Version,
    Health,
    Api,
    ApiGroupVersion(String, String),
    Apis,
    ApiGroup(String),
    OpenApiV3,
    OpenApiV3Doc(String),
    Resource(Target),
    NotFound,
}

/// A resource URL: `/api/v1/namespaces/{ns}/pods/{name}/status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub res: &'static Resource,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    /// `pods`, `pods/status`: the resource as RBAC names it.
    pub fn rbac_resource(&self) -> String {
        match &self.subresource {
            Some(s) => format!("{}/{s}", self.res.plural),
            None => self.res.plural.to_string(),
        }
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters (last one wins).
pub fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

pub fn route(path: &str) -> Route {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["livez"] | ["readyz"] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3Doc(rest.join("/")),
        ["api", v] => Route::ApiGroupVersion(String::new(), v.to_string()),
        ["apis", g] => Route::ApiGroup(g.to_string()),
        ["apis", g, v] => Route::ApiGroupVersion(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let (ns, rest) = match rest {
        ["namespaces", ns, r, more @ ..] if *r != "status" && *r != "finalize" => {
            (Some(ns.to_string()), {
                let mut v = vec![*r];
                v.extend_from_slice(more);
                v
            })
        }
        other => (None, other.to_vec()),
    };
    let Some((plural, tail)) = rest.split_first() else {
        return Route::NotFound;
    };
    let Some(res) = Resource::find(group, version, plural) else {
        return Route::NotFound;
    };
    if ns.is_some() != res.namespaced && !(ns.is_none() && tail.is_empty()) {
        return Route::NotFound;
    }
    let (name, sub) = match tail {
        [] => (None, None),
        [n] => (Some(n.to_string()), None),
        [n, "status"] if res.status => (Some(n.to_string()), Some("status".to_string())),
        _ => return Route::NotFound,
    };
    Route::Resource(Target {
        res,
        namespace: ns,
        name,
        subresource: sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match route(path) {
            Route::Resource(t) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn routes() {
        let t = target("/api/v1/namespaces/default/pods/p1/status");
        assert_eq!(t.res.plural, "pods");
        assert_eq!(t.namespace.as_deref(), Some("default"));
        assert_eq!(t.name.as_deref(), Some("p1"));
        assert_eq!(t.rbac_resource(), "pods/status");
        let t = target("/api/v1/namespaces/kube-system");
        assert_eq!(
            (t.res.plural, t.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        let t = target("/api/v1/pods");
        assert_eq!((t.res.plural, t.namespace), ("pods", None));
        let t = target("/apis/k8s.cni.cncf.io/v1/namespaces/x/network-attachment-definitions");
        assert_eq!(t.res.kind, "NetworkAttachmentDefinition");
        assert_eq!(
            route("/api/v1/namespaces/default/configmaps/x/status"),
            Route::NotFound
        );
        assert_eq!(route("/api/v1/pods/p1"), Route::NotFound);
        assert_eq!(
            route("/apis/apps/v1"),
            Route::ApiGroupVersion("apps".into(), "v1".into())
        );
        assert_eq!(
            route("/openapi/v3/api/v1"),
            Route::OpenApiV3Doc("api/v1".into())
        );
    }

    #[test]
    fn queries_are_percent_decoded() {
        let q = query("fieldSelector=metadata.name%3Dp1&limit=500&x&bad=%zz%4");
        assert_eq!(q["fieldSelector"], "metadata.name=p1");
        assert_eq!(q["x"], "");
        assert_eq!(q["bad"], "%zz%4");
    }
}
