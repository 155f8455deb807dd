//! The kinds served, as discovery and the request router see them. Everything the server
//! does for a resource that is not kind-specific works from this table; kind-specific
//! rules (defaults, validation, printing) live in `defaults` and `table`.

/// One served resource (a kind in one group/version).
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    /// API group, empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural name as in URLs.
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Has a `status` subresource (the main resource then ignores status writes).
    pub status: bool,
    /// Custom resource (defined by a CRD on a real cluster): no strategic merge patch.
    pub custom: bool,
    /// Keeps `metadata.generation` (bumped on spec changes).
    pub generation: bool,
    pub verbs: &'static [&'static str],
}

pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of review kinds, which are only ever created.
pub const CREATE_ONLY: &[&str] = &["create"];

macro_rules! res {
    ($g:expr, $v:expr, $p:expr, $s:expr, $k:expr, $ns:expr, $short:expr, $cat:expr, $st:expr, $cr:expr, $gen:expr, $verbs:expr) => {
        Resource {
            group: $g,
            version: $v,
            plural: $p,
            singular: $s,
            kind: $k,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            status: $st,
            custom: $cr,
            generation: $gen,
            verbs: $verbs,
        }
    };
}

/// Every served resource: group, version, plural, singular, kind, namespaced, short names,
/// categories, status subresource, custom resource, generation, verbs.
#[rustfmt::skip]
pub static RESOURCES: &[Resource] = &[
    res!("", "v1", "namespaces", "namespace", "Namespace", false, &["ns"], &[], true, false, false, VERBS),
    res!("", "v1", "pods", "pod", "Pod", true, &["po"], &["all"], true, false, true, VERBS),
    res!("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, &["sa"], &[], false, false, false, VERBS),
    res!("", "v1", "configmaps", "configmap", "ConfigMap", true, &["cm"], &[], false, false, false, VERBS),
    res!("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, &["ds"], &["all"], true, false, true, VERBS),
    res!("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, &[], &[], false, false, false, VERBS),
    res!("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, &[], &[], false, false, false, VERBS),
    res!("k8s.cni.cncf.io", "v1", "network-attachment-definitions", "network-attachment-definition", "NetworkAttachmentDefinition", true, &["net-attach-def"], &[], false, true, true, VERBS),
    res!("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", false, &[], &[], false, false, false, CREATE_ONLY),
    res!("authentication.k8s.io", "v1", "selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview", false, &[], &[], false, false, false, CREATE_ONLY),
];

impl Resource {
    /// `pods`, `daemonsets.apps`: how errors name the resource.
    pub fn qualified(&self) -> String {
        match self.group {
            "" => self.plural.to_string(),
            g => format!("{}.{g}", self.plural),
        }
    }

    /// `Pod`, `DaemonSet.apps`: how Invalid errors name the kind.
    pub fn group_kind(&self) -> String {
        match self.group {
            "" => self.kind.to_string(),
            g => format!("{}.{g}", self.kind),
        }
    }

    /// `v1`, `apps/v1`.
    pub fn api_version(&self) -> String {
        match self.group {
            "" => self.version.to_string(),
            g => format!("{g}/{}", self.version),
        }
    }

    /// Answered, not stored (`SelfSubjectAccessReview`, `SelfSubjectReview`).
    pub fn is_review(&self) -> bool {
        self.verbs == CREATE_ONLY
    }

    /// The store's key for this resource.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
        RESOURCES
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    pub fn by_key(key: &str) -> Option<&'static Resource> {
        RESOURCES.iter().find(|r| r.key() == key)
    }
}

/// The groups served under `/apis`, in the order the real server lists them.
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

/// The resources of one group/version.
pub fn of_group(group: &str, version: &str) -> Vec<&'static Resource> {
    RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect()
}
