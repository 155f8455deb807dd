//! Authentication by bearer token and a fixed authorization table, enough to exercise the
//! 401 and 403 paths of clients: `admin` may do everything; `plugin` has what the
//! project's deploy ClusterRole grants (pods and pods/status: get, update, patch);
//! `multus` has Multus' own ClusterRole (get, list, watch, update — no patch); `nobody`
//! is authenticated and allowed nothing. Discovery (`/api`, `/apis`, `/version`,
//! `/openapi`) is open to every authenticated user, as `system:discovery` makes it.

use serde::{Deserialize, Serialize};

/// The users, in the order the kubeconfig lists them.
pub const USERS: &[&str] = &["admin", "plugin", "multus", "nobody"];

/// One token per user, generated at start (or kept in the state file).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens(pub Vec<(String, String)>);

impl Tokens {
    pub fn generate() -> Tokens {
        Tokens(
            USERS
                .iter()
                .map(|u| {
                    (
                        u.to_string(),
                        format!("{u}-{}", uuid::Uuid::new_v4().simple()),
                    )
                })
                .collect(),
        )
    }

    pub fn token(&self, user: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, t)| t.as_str())
    }

    /// The user an `Authorization` header value authenticates, if any.
    pub fn authenticate(&self, header: Option<&str>) -> Option<&str> {
        // The scheme is case-insensitive (the Python client's in-cluster loader sends
        // `bearer`).
        let (scheme, token) = header?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        self.0
            .iter()
            .find(|(_, t)| t == token)
            .map(|(u, _)| u.as_str())
    }
}

/// May `user` do `verb` on `resource` (`pods`, `pods/status`) of `group`?
pub fn allowed(user: &str, verb: &str, group: &str, resource: &str) -> bool {
    let pods = group.is_empty() && (resource == "pods" || resource == "pods/status");
    match user {
        "admin" => true,
        "plugin" => pods && matches!(verb, "get" | "update" | "patch"),
        "multus" => pods && matches!(verb, "get" | "list" | "watch" | "update"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("admin", "delete", "apps", "daemonsets", true)]
    #[case("plugin", "patch", "", "pods", true)]
    #[case("plugin", "update", "", "pods/status", true)]
    #[case("plugin", "list", "", "pods", false)]
    #[case("plugin", "get", "", "configmaps", false)]
    #[case("multus", "watch", "", "pods", true)]
    #[case("multus", "patch", "", "pods", false)]
    #[case("nobody", "get", "", "pods", false)]
    fn table(
        #[case] user: &str,
        #[case] verb: &str,
        #[case] group: &str,
        #[case] res: &str,
        #[case] want: bool,
    ) {
        assert_eq!(allowed(user, verb, group, res), want);
    }

    #[test]
    fn tokens_authenticate_their_user_only() {
        let t = Tokens::generate();
        let h = format!("Bearer {}", t.token("plugin").unwrap());
        assert_eq!(t.authenticate(Some(&h)), Some("plugin"));
        assert_eq!(t.authenticate(Some("Bearer nope")), None);
        let lower = format!("bearer {}", t.token("admin").unwrap());
        assert_eq!(t.authenticate(Some(&lower)), Some("admin"));
        assert_eq!(t.authenticate(Some("Basic x")), None);
        assert_eq!(t.authenticate(None), None);
    }
}
