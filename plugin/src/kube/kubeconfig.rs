//! Where the API server is and who the plugin is to it: a kubeconfig file (the netconf's
//! `kubeconfig`), or the in-cluster service account, chosen as the original plugin did.
//!
//! The kubeconfig types are plain serde data (YAML, which includes JSON). Only what a
//! plugin can use without running programs is honoured: server, CA file or data,
//! `insecure-skip-tls-verify`, `tls-server-name`, client certificate and key (file or
//! data), `token` and `tokenFile`. `exec` and `auth-provider` users are refused with a
//! message, not silently ignored. Relative file references resolve against the
//! kubeconfig's directory, as client-go does.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::KubeError;

/// Where kubelet mounts a pod's service-account credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Kubeconfig {
    pub clusters: Vec<NamedCluster>,
    pub users: Vec<NamedUser>,
    pub contexts: Vec<NamedContext>,
    pub current_context: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedCluster {
    pub name: String,
    pub cluster: Cluster,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Cluster {
    pub server: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub certificate_authority: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub certificate_authority_data: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_server_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedUser {
    pub name: String,
    pub user: User,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct User {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    #[serde(rename = "tokenFile", skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_data: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_key_data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedContext {
    pub name: String,
    pub context: Context,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    pub cluster: String,
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// Everything the client needs, with files read and data decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Name the server certificate must carry (default: `host`).
    pub server_name: String,
    /// PEM text of the CAs to trust; empty trusts the system's.
    pub ca_pem: Vec<u8>,
    pub insecure: bool,
    /// PEM certificate chain and key of a client certificate.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    pub token: String,
    /// Where the settings came from (for messages).
    pub source: String,
}

fn config_err(source: &str, msg: impl std::fmt::Display) -> KubeError {
    KubeError::Config(format!("{source}: {msg}"))
}

fn read(path: &Path, what: &str, source: &str) -> Result<Vec<u8>, KubeError> {
    std::fs::read(path).map_err(|e| config_err(source, format!("{what} {}: {e}", path.display())))
}

fn b64(text: &str, what: &str, source: &str) -> Result<Vec<u8>, KubeError> {
    let clean: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|e| config_err(source, format!("{what}: not base64: {e}")))
}

impl Kubeconfig {
    pub fn parse(text: &str) -> Result<Kubeconfig, String> {
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())
    }

    /// Reads a kubeconfig file and resolves its current context.
    pub fn load(path: &Path) -> Result<Connection, KubeError> {
        let source = format!("kubeconfig {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| config_err(&source, e))?;
        let kc = Kubeconfig::parse(&text).map_err(|e| config_err(&source, e))?;
        let base = path.parent().unwrap_or(Path::new("/"));
        kc.resolve(base, &source)
    }

    /// The current context's cluster and user, with files relative to `base`.
    pub fn resolve(&self, base: &Path, source: &str) -> Result<Connection, KubeError> {
        let ctx = if self.current_context.is_empty() && self.contexts.len() == 1 {
            &self.contexts[0]
        } else {
            self.contexts
                .iter()
                .find(|c| c.name == self.current_context)
                .ok_or_else(|| {
                    config_err(
                        source,
                        format!("context {:?} not found", self.current_context),
                    )
                })?
        };
        let cluster = &self
            .clusters
            .iter()
            .find(|c| c.name == ctx.context.cluster)
            .ok_or_else(|| {
                config_err(
                    source,
                    format!("cluster {:?} not found", ctx.context.cluster),
                )
            })?
            .cluster;
        let no_user = User::default();
        let user = if ctx.context.user.is_empty() {
            &no_user
        } else {
            &self
                .users
                .iter()
                .find(|u| u.name == ctx.context.user)
                .ok_or_else(|| {
                    config_err(source, format!("user {:?} not found", ctx.context.user))
                })?
                .user
        };
        let file = |p: &str| -> PathBuf { base.join(p) };
        let mut conn = parse_server(&cluster.server).map_err(|e| config_err(source, e))?;
        conn.source = source.to_string();
        if !cluster.tls_server_name.is_empty() {
            conn.server_name = cluster.tls_server_name.clone();
        }
        conn.insecure = cluster.insecure_skip_tls_verify;
        match (
            cluster.certificate_authority.is_empty(),
            cluster.certificate_authority_data.is_empty(),
        ) {
            (false, false) => {
                return Err(config_err(
                    source,
                    "certificate-authority and certificate-authority-data are both set",
                ))
            }
            (false, true) => {
                conn.ca_pem = read(
                    &file(&cluster.certificate_authority),
                    "certificate-authority",
                    source,
                )?
            }
            (true, false) => {
                conn.ca_pem = b64(
                    &cluster.certificate_authority_data,
                    "certificate-authority-data",
                    source,
                )?
            }
            (true, true) => {}
        }
        if conn.insecure && !cluster.certificate_authority.is_empty() {
            return Err(config_err(
                source,
                "insecure-skip-tls-verify with a certificate-authority file is not allowed",
            ));
        }
        if user.exec.is_some() || user.auth_provider.is_some() {
            return Err(config_err(
                source,
                format!(
                    "user {:?} uses exec or auth-provider, which the plugin does not run; give it a token, tokenFile or client certificate",
                    ctx.context.user
                ),
            ));
        }
        let item = |path: &str, data: &str, what: &str| -> Result<Option<Vec<u8>>, KubeError> {
            match (path.is_empty(), data.is_empty()) {
                (false, false) => Err(config_err(
                    source,
                    format!("{what} and {what}-data are both set"),
                )),
                (false, true) => read(&file(path), what, source).map(Some),
                (true, false) => b64(data, &format!("{what}-data"), source).map(Some),
                (true, true) => Ok(None),
            }
        };
        let cert = item(
            &user.client_certificate,
            &user.client_certificate_data,
            "client-certificate",
        )?;
        let key = item(&user.client_key, &user.client_key_data, "client-key")?;
        conn.identity = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(config_err(
                    source,
                    "client-certificate and client-key must be given together",
                ))
            }
        };
        conn.token = if !user.token_file.is_empty() {
            let bytes = read(&file(&user.token_file), "tokenFile", source)?;
            String::from_utf8_lossy(&bytes).trim().to_string()
        } else {
            user.token.trim().to_string()
        };
        Ok(conn)
    }
}

/// `https://host:port` (or http), IPv6 in brackets; the port defaults by scheme.
pub fn parse_server(server: &str) -> Result<Connection, String> {
    let (https, rest) = if let Some(r) = server.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = server.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("server {server:?} is not an http(s) URL"));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("server {server:?}: unclosed ["))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p
            .parse()
            .map_err(|_| format!("server {server:?}: bad port {p:?}"))?,
    };
    if host.is_empty() {
        return Err(format!("server {server:?} has no host"));
    }
    Ok(Connection {
        https,
        server_name: host.clone(),
        host,
        port,
        ..Connection::default()
    })
}

/// In-cluster settings, as client-go's `InClusterConfig`: both variables must be set;
/// the token must be readable; a missing CA falls back to the system's roots.
pub fn in_cluster(
    get: impl Fn(&str) -> Option<String>,
    sa_dir: &Path,
) -> Option<Result<Connection, KubeError>> {
    let host = get("KUBERNETES_SERVICE_HOST").filter(|h| !h.is_empty())?;
    let port = get("KUBERNETES_SERVICE_PORT").filter(|p| !p.is_empty())?;
    let source = "in-cluster configuration".to_string();
    Some((|| {
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut conn =
            parse_server(&format!("https://{authority}")).map_err(|e| config_err(&source, e))?;
        conn.source = source.clone();
        let token = read(&sa_dir.join("token"), "service-account token", &source)?;
        conn.token = String::from_utf8_lossy(&token).trim().to_string();
        match std::fs::read(sa_dir.join("ca.crt")) {
            Ok(ca) => conn.ca_pem = ca,
            Err(e) => tracing::warn!(
                "in-cluster CA {}: {e}; using system roots",
                sa_dir.display()
            ),
        }
        Ok(conn)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MULTUS: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://10.96.0.1:443
    certificate-authority-data: LS0tCg==
users:
- name: multus
  user:
    token: abc.def
contexts:
- name: multus-context
  context:
    cluster: local
    user: multus
current-context: multus-context
"#;

    #[test]
    fn multus_generated_kubeconfig() {
        let kc = Kubeconfig::parse(MULTUS).unwrap();
        let c = kc.resolve(Path::new("/"), "test").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.https), ("10.96.0.1", 443, true));
        assert_eq!(c.token, "abc.def");
        assert_eq!(c.ca_pem, b"---\n");
    }

    #[test]
    fn files_resolve_against_the_kubeconfig_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "CA").unwrap();
        std::fs::write(dir.path().join("tok"), "t0k\n").unwrap();
        let text = MULTUS
            .replace(
                "certificate-authority-data: LS0tCg==",
                "certificate-authority: ca.pem",
            )
            .replace("token: abc.def", "tokenFile: tok");
        std::fs::write(dir.path().join("kc"), text).unwrap();
        let c = Kubeconfig::load(&dir.path().join("kc")).unwrap();
        assert_eq!((c.ca_pem.as_slice(), c.token.as_str()), (&b"CA"[..], "t0k"));
    }

    #[rstest::rstest]
    #[case(
        "current-context: multus-context",
        "current-context: nope",
        "context \"nope\" not found"
    )]
    #[case("token: abc.def", "exec: {command: aws}", "uses exec or auth-provider")]
    #[case(
        "token: abc.def",
        "client-certificate-data: QQ==",
        "must be given together"
    )]
    #[case(
        "server: https://10.96.0.1:443",
        "server: 10.96.0.1",
        "is not an http(s) URL"
    )]
    #[case("LS0tCg==", "'!!!'", "not base64")]
    fn bad_kubeconfigs(#[case] from: &str, #[case] to: &str, #[case] msg: &str) {
        let kc = Kubeconfig::parse(&MULTUS.replace(from, to)).unwrap();
        let e = kc.resolve(Path::new("/"), "kc").unwrap_err().to_string();
        assert!(e.contains(msg), "{e}");
    }

    #[test]
    fn servers() {
        let c = parse_server("https://[::1]:6443/").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 6443));
        assert_eq!(parse_server("http://kube").unwrap().port, 80);
        assert_eq!(parse_server("https://kube.local").unwrap().port, 443);
    }

    #[test]
    fn in_cluster_needs_both_variables_and_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let env = |h: Option<&'static str>| {
            move |k: &str| match k {
                "KUBERNETES_SERVICE_HOST" => h.map(String::from),
                "KUBERNETES_SERVICE_PORT" => Some("6443".into()),
                _ => None,
            }
        };
        assert!(in_cluster(env(None), dir.path()).is_none());
        let e = in_cluster(env(Some("10.0.0.1")), dir.path()).unwrap();
        assert!(e.unwrap_err().to_string().contains("service-account token"));
        std::fs::write(dir.path().join("token"), "tk").unwrap();
        let c = in_cluster(env(Some("fd00::1")), dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.token.as_str()),
            ("fd00::1", 6443, "tk")
        );
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ./:_-]{0,12}"
    }

    proptest! {
        #[test]
        fn kubeconfig_round_trips(name in text(), server in text(), token in text(), insecure: bool, ns in text()) {
            let kc = Kubeconfig {
                clusters: vec![NamedCluster { name: name.clone(), cluster: Cluster { server, insecure_skip_tls_verify: insecure, ..Cluster::default() } }],
                users: vec![NamedUser { name: name.clone(), user: User { token, ..User::default() } }],
                contexts: vec![NamedContext { name: name.clone(), context: Context { cluster: name.clone(), user: name.clone(), namespace: ns } }],
                current_context: name,
            };
            let yaml = serde_yaml_ng::to_string(&kc).unwrap();
            prop_assert_eq!(Kubeconfig::parse(&yaml).unwrap(), kc);
        }
    }
}
