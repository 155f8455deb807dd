//! The server's TLS: a CA generated at start (its key kept in the state file, so a
//! restarted server stays valid for existing kubeconfigs) and a server certificate it
//! signs for the names clients use (`kubernetes.default.svc`, the listen IP, ...). rcgen
//! makes the certificates and rustls serves them: both are the maintained pure-Rust
//! choices, and need no openssl on the machine.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA and the server's certificate.
pub struct Certs {
    /// The CA key, PEM (to keep across restarts).
    pub ca_key_pem: String,
    /// The CA certificate, PEM (what kubeconfigs and `ca.crt` hold).
    pub ca_pem: String,
    pub config: Arc<rustls::ServerConfig>,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("certificates: {e}")
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "mock-kube-ca");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2099, 1, 1);
    p
}

/// Makes (or, given the CA key, remakes) the CA and a server certificate for `sans`.
pub fn certs(ca_key_pem: Option<&str>, sans: &[String]) -> Result<Certs, String> {
    let ca_key = match ca_key_pem {
        Some(pem) => KeyPair::from_pem(pem).map_err(err)?,
        None => KeyPair::generate().map_err(err)?,
    };
    let ca = ca_params().self_signed(&ca_key).map_err(err)?;
    let mut p = CertificateParams::new(sans.to_vec()).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "kube-apiserver");
    p.distinguished_name = dn;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.use_authority_key_identifier_extension = true;
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let key = KeyPair::generate().map_err(err)?;
    let cert = p.signed_by(&key, &ca, &ca_key).map_err(err)?;
    let chain = vec![cert.der().clone(), ca.der().clone()];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // ring builds with a C compiler only (aws-lc-rs needs cmake); the post-quantum key
    // exchange its deprecation is about does not matter to a test server.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certs {
        ca_key_pem: ca_key.serialize_pem(),
        ca_pem: ca.pem(),
        config: Arc::new(config),
    })
}

/// The CA certificate as DER, for clients built in tests.
pub fn ca_der(ca_pem: &str) -> Option<CertificateDer<'static>> {
    use base64::Engine;
    let b64: String = ca_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .map(CertificateDer::from)
}
