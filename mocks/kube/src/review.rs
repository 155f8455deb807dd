//! The review kinds clients create to ask about themselves: `SelfSubjectAccessReview`
//! (`kubectl auth can-i`), answered from the authorization table, and
//! `SelfSubjectReview` (`kubectl auth whoami`). Nothing is stored.

use serde_json::{json, Value};

use crate::auth;
use crate::resources::Resource;
use crate::status::ApiError;

fn groups(user: &str) -> Vec<&'static str> {
    match user {
        "admin" => vec!["system:masters", "system:authenticated"],
        _ => vec!["system:authenticated"],
    }
}

pub fn answer(res: &Resource, body: &Value, user: &str) -> Result<Value, ApiError> {
    let mut out = body.clone();
    out["apiVersion"] = json!(res.api_version());
    out["kind"] = json!(res.kind);
    if !out["metadata"].is_object() {
        out["metadata"] = json!({});
    }
    out["metadata"]["creationTimestamp"] = Value::Null;
    match res.plural {
        "selfsubjectreviews" => {
            out["status"] = json!({"userInfo": {"username": user, "groups": groups(user)}});
        }
        _ => {
            let spec = &body["spec"];
            let allowed = match (spec["resourceAttributes"].as_object(), spec["nonResourceAttributes"].as_object()) {
                (Some(a), _) => {
                    let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("");
                    let resource = match s("subresource") {
                        "" => s("resource").to_string(),
                        sub => format!("{}/{sub}", s("resource")),
                    };
                    auth::allowed(user, s("verb"), s("group"), &resource)
                }
                // Discovery and health paths are open to every authenticated user.
                (None, Some(_)) => true,
                (None, None) => {
                    return Err(ApiError::invalid(
                        res,
                        "",
                        &[("spec.resourceAttributes".into(), "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified".into())],
                    ))
                }
            };
            out["status"] = json!({"allowed": allowed});
        }
    }
    Ok(out)
}
