//! A minimal HTTPS client for the tests (one request per connection), verifying the
//! server against the CA it generated.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use serde_json::Value;

pub struct Client {
    pub addr: SocketAddr,
    pub config: Arc<rustls::ClientConfig>,
    pub token: Option<String>,
    /// The name the server certificate must hold.
    pub server_name: String,
}

pub struct Resp {
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    pub fn new(addr: SocketAddr, ca_pem: &str, token: Option<&str>) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(mock_kube::tls::ca_der(ca_pem).expect("CA PEM"))
            .expect("CA");
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Client {
            addr,
            config: Arc::new(config),
            token: token.map(str::to_string),
            server_name: "kubernetes.default.svc".into(),
        }
    }

    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client {
            addr: self.addr,
            config: self.config.clone(),
            token: token.map(str::to_string),
            server_name: "kubernetes.default.svc".into(),
        }
    }

    pub fn send(&self, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Resp {
        self.send_accept(method, path, ct, body, "application/json")
    }

    pub fn send_accept(
        &self,
        method: &str,
        path: &str,
        ct: Option<&str>,
        body: &[u8],
        accept: &str,
    ) -> Resp {
        let raw = self.raw(
            method,
            path,
            ct,
            body,
            accept,
            std::time::Duration::from_secs(60),
        );
        parse(&raw)
    }

    /// The raw answer (empty when the server closed or did not answer within `timeout`).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        ct: Option<&str>,
        body: &[u8],
        accept: &str,
        timeout: std::time::Duration,
    ) -> Vec<u8> {
        let tcp = TcpStream::connect(self.addr).unwrap();
        tcp.set_read_timeout(Some(timeout)).unwrap();
        let name = rustls::pki_types::ServerName::try_from(self.server_name.clone()).unwrap();
        let conn = rustls::ClientConnection::new(self.config.clone(), name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: kubernetes\r\nConnection: close\r\nAccept: {accept}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(ct) = ct {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        raw
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, b"")
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(
            "POST",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(
            "PUT",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    pub fn patch(&self, path: &str, ct: &str, body: &Value) -> Resp {
        self.send("PATCH", path, Some(ct), body.to_string().as_bytes())
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, b"")
    }
}

fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let code = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        code,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n =
            usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
    out
}

pub mod bed;
