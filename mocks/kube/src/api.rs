//! The API server's request handling, independent of the transport: authentication,
//! authorization, routing, content negotiation and fault rules; the verbs themselves are
//! in `verbs`, discovery in `discovery` and `openapi`.

use serde_json::{json, Value};

use crate::auth::{self, Tokens};
use crate::faults::{Action, Faults};
use crate::request::{query, route, Request, Route, Target};
use crate::status::ApiError;
use crate::store::Store;
use crate::watch::WatchPlan;
use crate::{discovery, openapi, verbs};

/// What the server sends back.
#[derive(Debug)]
pub enum Reply {
    /// A JSON body.
    Json {
        code: u16,
        content_type: String,
        body: Value,
        retry_after: Option<u32>,
    },
    /// A watch event stream.
    Watch(WatchPlan),
    /// A fault rule's stall, drop or exit.
    Fault(Action),
}

impl Reply {
    pub fn ok(code: u16, body: Value) -> Reply {
        Reply::Json {
            code,
            content_type: "application/json".into(),
            body,
            retry_after: None,
        }
    }

    pub fn error(e: &ApiError) -> Reply {
        Reply::Json {
            code: e.code,
            content_type: "application/json".into(),
            body: e.to_status(),
            retry_after: e.retry_after,
        }
    }

    /// The status code (0 for streams and faults).
    pub fn code(&self) -> u16 {
        match self {
            Reply::Json { code, .. } => *code,
            _ => 0,
        }
    }
}

/// The API server's state.
pub struct Api {
    pub store: Store,
    pub tokens: Tokens,
    pub faults: Faults,
    /// `gitVersion` served by `/version`.
    pub version: &'static str,
    /// The CA certificate (PEM), published in each namespace's `kube-root-ca.crt`.
    pub ca_pem: String,
}

/// The Kubernetes version whose behaviour the server follows.
pub const VERSION: &str = "v1.33.5";

impl Api {
    pub fn new(store: Store, tokens: Tokens, faults: Faults) -> Api {
        Api {
            store,
            tokens,
            faults,
            version: VERSION,
            ca_pem: String::new(),
        }
    }

    /// Creates the namespaces every cluster has, if missing.
    pub fn bootstrap(&self) {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            if self.store.get("/namespaces", "", ns).is_none() {
                let t = Target {
                    res: crate::resources::Resource::find("", "v1", "namespaces").expect("served"),
                    namespace: None,
                    name: None,
                    subresource: None,
                };
                let _ = verbs::create(self, &t, &body, false);
            }
        }
    }

    /// What a cluster's controllers put in every new namespace: the `default`
    /// ServiceAccount and the `kube-root-ca.crt` ConfigMap.
    pub fn populate_namespace(&self, ns: &str) {
        let objects = [
            ("serviceaccounts", json!({"metadata": {"name": "default"}})),
            (
                "configmaps",
                json!({"metadata": {"name": "kube-root-ca.crt",
                                    "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                       "data": {"ca.crt": self.ca_pem}}),
            ),
        ];
        for (plural, body) in objects {
            let t = Target {
                res: crate::resources::Resource::find("", "v1", plural).expect("served"),
                namespace: Some(ns.to_string()),
                name: None,
                subresource: None,
            };
            let _ = verbs::create(self, &t, &body, false);
        }
    }

    pub fn handle(&self, req: &Request) -> Reply {
        match self.handle_inner(req) {
            Ok(r) => r,
            Err(e) => Reply::error(&e),
        }
    }

    fn handle_inner(&self, req: &Request) -> Result<Reply, ApiError> {
        let route = route(&req.path);
        let user = match self.tokens.authenticate(req.authorization.as_deref()) {
            Some(u) => Some(u),
            None if req.insecure && req.authorization.is_none() => Some("admin"),
            None => None,
        };
        // /version and health checks are public (system:public-info-viewer).
        if user.is_none() && !matches!(route, Route::Version | Route::Health) {
            return Err(ApiError::unauthorized());
        }
        let q = query(&req.query);
        if route == Route::NotFound {
            return Err(ApiError::path_not_found());
        }
        if !matches!(req.method.as_str(), "GET" | "HEAD") && !matches!(route, Route::Resource(_)) {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
        match route {
            Route::Version => Ok(Reply::ok(200, discovery::version(self.version))),
            Route::Health => Ok(Reply::Json {
                code: 200,
                content_type: "text/plain".into(),
                body: Value::String("ok".into()),
                retry_after: None,
            }),
            Route::Api => Ok(discovery::api(&req.accept)),
            Route::Apis => Ok(discovery::apis(&req.accept)),
            Route::ApiGroup(g) => discovery::group(&g).map(|b| Reply::ok(200, b)),
            Route::ApiGroupVersion(g, v) => discovery::resources(&g, &v).map(|b| Reply::ok(200, b)),
            Route::OpenApiV3 => Ok(Reply::ok(200, openapi::root(self.version))),
            Route::OpenApiV3Doc(gv) => {
                openapi::document(&gv, self.version).map(|b| Reply::ok(200, b))
            }
            Route::NotFound => Err(ApiError::path_not_found()),
            Route::Resource(t) => {
                let user = user.unwrap_or("");
                self.resource(req, &q, &t, user)
            }
        }
    }

    fn resource(
        &self,
        req: &Request,
        q: &std::collections::BTreeMap<String, String>,
        t: &Target,
        user: &str,
    ) -> Result<Reply, ApiError> {
        if t.res.is_review() {
            if req.method != "POST" || t.name.is_some() {
                return Err(ApiError::method_not_allowed(
                    &req.method.to_lowercase(),
                    t.res,
                ));
            }
            let ct = req.content_type.as_deref().unwrap_or("");
            let body = if ct.starts_with(crate::protobuf::MEDIA_TYPE) {
                crate::protobuf::decode_review(&req.body)
                    .ok_or_else(|| ApiError::bad_request("cannot decode the protobuf body"))?
            } else {
                json_body(req)?
            };
            return crate::review::answer(t.res, &body, user).map(|b| Reply::ok(201, b));
        }
        let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
        let verb = match (req.method.as_str(), t.name.is_some()) {
            ("GET" | "HEAD", true) if watch => "watch",
            ("GET" | "HEAD", true) => "get",
            ("GET" | "HEAD", false) if watch => "watch",
            ("GET" | "HEAD", false) => "list",
            ("POST", false) => "create",
            ("PUT", true) => "update",
            ("PATCH", true) => "patch",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            (m, _) => {
                return Err(ApiError::method_not_allowed(&m.to_lowercase(), t.res));
            }
        };
        let rbac = t.rbac_resource();
        if !auth::allowed(user, verb, t.res.group, &rbac) {
            return Err(ApiError::forbidden(
                &rbac,
                t.res.group,
                t.name.as_deref().unwrap_or(""),
                user,
                verb,
                t.namespace.as_deref(),
            ));
        }
        match self.faults.check(&format!("{verb}/{rbac}")) {
            None => {}
            Some(Action::Fail(c)) => return Err(ApiError::for_code(c.code, c.retry_after)),
            Some(other) => return Ok(Reply::Fault(other)),
        }
        let table = wants_table(&req.accept);
        if !accepts_json(&req.accept) && !table {
            return Err(ApiError::not_acceptable());
        }
        let dry_run = q.contains_key("dryRun");
        match verb {
            "get" => verbs::get(self, t, table).map(|b| Reply::ok(200, b)),
            "list" => verbs::list(self, t, q, table).map(|b| Reply::ok(200, b)),
            "watch" => crate::watch::plan(self, t, q, table).map(Reply::Watch),
            "create" => {
                let body = json_body(req)?;
                verbs::create(self, t, &body, dry_run).map(|b| Reply::ok(201, b))
            }
            "update" => {
                let body = json_body(req)?;
                verbs::update(self, t, &body, dry_run).map(|b| Reply::ok(200, b))
            }
            "patch" => verbs::patch(self, t, req, dry_run).map(|b| Reply::ok(200, b)),
            "delete" => {
                let opts = if req.body.is_empty() {
                    Value::Null
                } else {
                    json_body(req)?
                };
                verbs::delete(self, t, &opts, dry_run).map(|b| Reply::ok(200, b))
            }
            _ => verbs::delete_collection(self, t, q, dry_run).map(|b| Reply::ok(200, b)),
        }
    }
}

/// Does the Accept header ask for a Table (`application/json;as=Table;v=v1;g=meta.k8s.io`)?
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|a| {
        let p: Vec<&str> = a.split(';').map(str::trim).collect();
        p.contains(&"as=Table")
            && p.contains(&"g=meta.k8s.io")
            && (p.contains(&"v=v1") || p.contains(&"v=v1beta1"))
    })
}

/// JSON (or anything) acceptable: missing, `*/*`, `application/*`, `application/json`,
/// or protobuf offered along with JSON.
fn accepts_json(accept: &str) -> bool {
    accept.trim().is_empty()
        || accept.split(',').any(|a| {
            let p: Vec<&str> = a.split(';').map(str::trim).collect();
            matches!(p[0], "*/*" | "application/*" | "application/json")
                && !p.iter().any(|x| x.starts_with("as="))
        })
}

fn json_body(req: &Request) -> Result<Value, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("application/json");
    let base = ct.split(';').next().unwrap_or("").trim();
    if !base.is_empty() && base != "application/json" && base != "*/*" {
        return Err(ApiError::unsupported_media_type(
            "application/json, application/yaml, application/vnd.kubernetes.protobuf",
        ));
    }
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "json: cannot unmarshal into Go value of type struct",
        ));
    }
    Ok(v)
}
