//! What the server writes for its clients: the kubeconfig (one user and one context per
//! token, current context `admin`) and, on request, a service-account directory as
//! kubelet mounts it (`token`, `ca.crt`, `namespace`). Both are written atomically (temp
//! file + rename) so a reader never sees half a file.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use base64::Engine;

use crate::auth::Tokens;

/// `https://127.0.0.1:6443`, `https://[::1]:6443` (a wildcard listen address becomes the
/// loopback address of its family).
pub fn server_url(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v) if v.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v) if v.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V4(v) => v.to_string(),
        std::net::IpAddr::V6(v) => format!("[{v}]"),
    };
    format!("{scheme}://{ip}:{}", addr.port())
}

/// A JSON string, which is also a YAML double-quoted scalar.
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

pub fn render(url: &str, ca_pem: &str, tokens: &Tokens) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let mut out = String::new();
    out.push_str("apiVersion: v1\nkind: Config\nclusters:\n");
    out.push_str(&format!(
        "- name: mock-kube\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n",
        q(url),
        q(&ca)
    ));
    out.push_str("users:\n");
    for (user, token) in &tokens.0 {
        out.push_str(&format!(
            "- name: {}\n  user:\n    token: {}\n",
            q(user),
            q(token)
        ));
    }
    out.push_str("contexts:\n");
    for (user, _) in &tokens.0 {
        out.push_str(&format!(
            "- name: {}\n  context:\n    cluster: mock-kube\n    user: {}\n    namespace: default\n",
            q(user),
            q(user)
        ));
    }
    out.push_str("current-context: admin\npreferences: {}\n");
    out
}

/// Writes `text` to `path` through a temporary file in the same directory.
pub fn write_atomic(path: &Path, text: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// `token`, `ca.crt` and `namespace` in `dir` (the `plugin` user's token).
pub fn write_service_account(dir: &Path, ca_pem: &str, tokens: &Tokens) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(&dir.join("ca.crt"), ca_pem.as_bytes())?;
    write_atomic(&dir.join("namespace"), b"default")?;
    write_atomic(
        &dir.join("token"),
        tokens.token("plugin").unwrap_or("").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_bracket_v6_and_map_wildcards() {
        assert_eq!(
            server_url("https", "0.0.0.0:1".parse().unwrap()),
            "https://127.0.0.1:1"
        );
        assert_eq!(
            server_url("https", "[::]:2".parse().unwrap()),
            "https://[::1]:2"
        );
        assert_eq!(
            server_url("http", "10.0.0.1:3".parse().unwrap()),
            "http://10.0.0.1:3"
        );
    }

    #[test]
    fn kubeconfig_names_every_user() {
        let t = Tokens::generate();
        let k = render("https://127.0.0.1:1", "PEM", &t);
        for u in crate::auth::USERS {
            assert!(k.contains(&format!("- name: \"{u}\"")), "{k}");
        }
        assert!(k.contains("current-context: admin"));
    }
}
