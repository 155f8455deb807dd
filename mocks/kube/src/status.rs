//! `metav1.Status` errors: every failure the server answers is one of these, with the
//! reason, code and message patterns of the real API server (apimachinery's
//! `pkg/api/errors`), so that clients print and classify them as they would for a cluster.

use serde_json::{json, Value};

use crate::resources::Resource;

/// A failed request, as the `Status` object sent to the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details`, when the real server gives them.
    pub details: Option<Box<Value>>,
    /// Sent as `Retry-After` and `details.retryAfterSeconds`.
    pub retry_after: Option<u32>,
}

fn details(res: &Resource, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": res.plural});
    if !res.group.is_empty() {
        d["group"] = json!(res.group);
    }
    if name.is_empty() {
        d.as_object_mut().map(|o| o.remove("name"));
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn not_found(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(details(res, name))),
            ..ApiError::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", res.qualified()),
            )
        }
    }

    pub fn already_exists(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(details(res, name))),
            ..ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", res.qualified()),
            )
        }
    }

    pub fn conflict(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(details(res, name))),
            ..ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been \
                     modified; please apply your changes to the latest version and try again",
                    res.qualified()
                ),
            )
        }
    }

    /// 422 with one cause per `(field, message)`.
    pub fn invalid(res: &Resource, name: &str, causes: &[(String, String)]) -> ApiError {
        let text: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let text = match text.len() {
            1 => text[0].clone(),
            _ => format!("[{}]", text.join(", ")),
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f}))
            .collect();
        let mut d = json!({"name": name, "kind": res.kind, "causes": causes});
        if !res.group.is_empty() {
            d["group"] = json!(res.group);
        }
        ApiError {
            details: Some(Box::new(d)),
            ..ApiError::new(
                422,
                "Invalid",
                format!("{} \"{name}\" is invalid: {text}", res.group_kind()),
            )
        }
    }

    pub fn forbidden(
        res: &str,
        group: &str,
        name: &str,
        user: &str,
        verb: &str,
        ns: Option<&str>,
    ) -> ApiError {
        // The object is named by group/resource (no subresource), the rule by resource.
        let base = res.split('/').next().unwrap_or(res);
        let qualified = if group.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{group}")
        };
        let what = if name.is_empty() {
            format!("{qualified} is forbidden")
        } else {
            format!("{qualified} \"{name}\" is forbidden")
        };
        let scope = match ns {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".into(),
        };
        let mut d = json!({"name": name, "kind": base});
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        ApiError {
            details: Some(Box::new(d)),
            ..ApiError::new(
                403,
                "Forbidden",
                format!(
                    "{what}: User \"{user}\" cannot {verb} resource \"{res}\" in API group \
                     \"{group}\" {scope}"
                ),
            )
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn path_not_found() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn method_not_allowed(verb: &str, res: &Resource) -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!(
                "{verb} is not supported on resources of kind \"{}\"",
                res.plural
            ),
        )
    }

    pub fn unsupported_media_type(ty: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: {ty}"),
        )
    }

    pub fn not_acceptable() -> ApiError {
        ApiError::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, \
             application/vnd.kubernetes.protobuf",
        )
    }

    pub fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    /// The error a `--fault fail:...:CODE` rule answers with: the reason the real server
    /// uses for that code.
    pub fn for_code(code: u16, retry_after: Option<u32>) -> ApiError {
        let (reason, message) = match code {
            400 => (
                "BadRequest",
                "the server rejected our request for an unknown reason",
            ),
            401 => ("Unauthorized", "Unauthorized"),
            403 => ("Forbidden", "forbidden by a fault rule"),
            404 => (
                "NotFound",
                "the server could not find the requested resource",
            ),
            409 => (
                "Conflict",
                "Operation cannot be fulfilled: the object has been modified; please apply \
                 your changes to the latest version and try again",
            ),
            410 => ("Expired", "too old resource version"),
            422 => (
                "Invalid",
                "the server rejected our request due to an error in our request",
            ),
            429 => (
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later",
            ),
            503 => (
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            504 => (
                "Timeout",
                "the server was unable to return a response in the time allotted",
            ),
            _ => (
                "InternalError",
                "an error on the server has prevented the request from succeeding",
            ),
        };
        let mut e = ApiError::new(code, reason, message);
        if let Some(s) = retry_after {
            e.retry_after = Some(s);
            e.details = Some(Box::new(json!({"retryAfterSeconds": s})));
        }
        e
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let Some(d) = &self.details {
            s["details"] = (**d).clone();
        }
        s["code"] = json!(self.code);
        s
    }
}

/// The `Status` a successful delete of most kinds answers with.
pub fn success(res: &Resource, name: &str, uid: &Value) -> Value {
    let mut d = details(res, name);
    d["uid"] = uid.clone();
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": d,
    })
}
