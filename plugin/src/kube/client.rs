//! A blocking HTTP/1.1 client for the few API calls the plugin makes (GET and PUT of one
//! pod), over rustls.
//!
//! Why not the `kube`/`k8s-openapi` stack or a general HTTP client: the plugin is a
//! process that lives a few milliseconds, makes two requests to one server and must bound
//! each by `timeoutMs`. `kube` brings tokio, hyper, tower and the generated types of every
//! API group (several MiB of binary, a runtime start per invocation; see BENCHMARKS.md
//! "Kubernetes client"), and a general client (ureq) adds its own TLS configuration layer
//! between the kubeconfig and rustls. What is hand-written here is only the HTTP/1.1
//! framing of one request and one response (Content-Length, chunked, or read to close)
//! on a kept-alive connection; TLS, certificates and keys are rustls'. Nothing is set up
//! until the first request, so file mode pays nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::kubeconfig::Connection;
use super::types::Status;
use super::KubeError;

/// Where Debian keeps the system's trusted CAs (used when the config names none).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
const USER_AGENT: &str = concat!("userspace-cni/", env!("CARGO_PKG_VERSION"));

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub code: u16,
    pub body: Vec<u8>,
}

/// A client for one API server; connects on first use and keeps the connection.
pub struct Client {
    conn: Connection,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
    stream: Option<BufReader<Stream>>,
}

impl Client {
    pub fn new(conn: Connection, timeout: Duration) -> Client {
        Client {
            conn,
            timeout,
            tls: None,
            stream: None,
        }
    }

    pub fn server(&self) -> String {
        let scheme = if self.conn.https { "https" } else { "http" };
        if self.conn.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.conn.host, self.conn.port)
        } else {
            format!("{scheme}://{}:{}", self.conn.host, self.conn.port)
        }
    }

    fn tls_config(&mut self) -> Result<Arc<rustls::ClientConfig>, KubeError> {
        if let Some(c) = &self.tls {
            return Ok(c.clone());
        }
        let tls_err = |m: String| KubeError::Tls(format!("{}: {m}", self.conn.source));
        // ring builds with a C compiler alone (aws-lc-rs needs cmake); API servers offer
        // the classical key exchanges it has.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(e.to_string()))?;
        let builder = if self.conn.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            let pem = if self.conn.ca_pem.is_empty() {
                std::fs::read(SYSTEM_CA_BUNDLE)
                    .map_err(|e| tls_err(format!("no CA given and {SYSTEM_CA_BUNDLE}: {e}")))?
            } else {
                self.conn.ca_pem.clone()
            };
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| tls_err(format!("CA certificate: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| tls_err(format!("CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(tls_err("the CA data holds no PEM certificate".into()));
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.conn.identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| tls_err(format!("client certificate: {e}")))?;
                let key = PrivateKeyDer::from_pem_slice(key)
                    .map_err(|e| tls_err(format!("client key: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| tls_err(format!("client certificate: {e}")))?
            }
        };
        let mut config = config;
        // One connection per process: a session ticket could never be used. Not offering
        // resumption also keeps the server from sending tickets ahead of the first answer
        // (a separate small segment that a server with Nagle's algorithm on then waits to
        // see acknowledged: 40 ms of delayed ACK on every ADD).
        config.resumption = rustls::client::Resumption::disabled();
        let config = Arc::new(config);
        self.tls = Some(config.clone());
        Ok(config)
    }

    fn connect(&mut self, deadline: Instant) -> Result<BufReader<Stream>, KubeError> {
        let server = self.server();
        let unreachable = |e: std::io::Error| KubeError::Unreachable {
            server: server.clone(),
            reason: e.to_string(),
        };
        let addrs: Vec<_> = (self.conn.host.as_str(), self.conn.port)
            .to_socket_addrs()
            .map_err(unreachable)?
            .collect();
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, remaining(deadline, &server)?) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or_else(|| unreachable(last))?;
        let _ = tcp.set_nodelay(true);
        if !self.conn.https {
            return Ok(BufReader::new(Stream::Plain(tcp)));
        }
        let config = self.tls_config()?;
        let name = ServerName::try_from(self.conn.server_name.clone())
            .map_err(|e| KubeError::Tls(format!("server name {:?}: {e}", self.conn.server_name)))?;
        let tls = rustls::ClientConnection::new(config, name)
            .map_err(|e| KubeError::Tls(e.to_string()))?;
        Ok(BufReader::with_capacity(
            16 << 10,
            Stream::Tls(Box::new(rustls::StreamOwned::new(tls, tcp))),
        ))
    }

    /// One request, bounded by the client's timeout; a kept-alive connection that the
    /// server closed meanwhile is replaced once.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response, KubeError> {
        let deadline = Instant::now() + self.timeout;
        let reused = self.stream.is_some();
        match self.try_request(method, path, body, deadline) {
            Err(KubeError::Io { .. }) if reused => {
                self.stream = None;
                self.try_request(method, path, body, deadline)
            }
            other => other,
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<Response, KubeError> {
        let mut stream = match self.stream.take() {
            Some(s) => s,
            None => self.connect(deadline)?,
        };
        let server = self.server();
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => KubeError::Timeout {
                server: server.clone(),
            },
            _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(tls) => KubeError::Tls(format!("{server}: {tls}")),
                None => KubeError::Io {
                    server: server.clone(),
                    reason: e.to_string(),
                },
            },
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept: application/json\r\n",
            self.conn.host
        );
        if self.conn.https && !self.conn.token.is_empty() {
            head.push_str(&format!("Authorization: Bearer {}\r\n", self.conn.token));
        }
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body.unwrap_or_default());
        set_timeouts(stream.get_ref().tcp(), deadline, &server)?;
        stream.get_mut().write_all(&out).map_err(io)?;
        stream.get_mut().flush().map_err(io)?;

        let mut line = String::new();
        read_line(&mut stream, &mut line, deadline, &server).map_err(io)?;
        let code: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| KubeError::BadResponse(format!("status line {:?}", line.trim())))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            read_line(&mut stream, &mut line, deadline, &server).map_err(io)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let Some((name, value)) = l.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                read_line(&mut stream, &mut line, deadline, &server).map_err(io)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| {
                    KubeError::BadResponse(format!("chunk size {:?}", line.trim()))
                })?;
                if size == 0 {
                    // Trailers, then the empty line.
                    loop {
                        line.clear();
                        read_line(&mut stream, &mut line, deadline, &server).map_err(io)?;
                        if line.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size + 2, 0);
                set_timeouts(stream.get_ref().tcp(), deadline, &server)?;
                stream.read_exact(&mut body[start..]).map_err(io)?;
                body.truncate(start + size);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            set_timeouts(stream.get_ref().tcp(), deadline, &server)?;
            stream.read_exact(&mut body).map_err(io)?;
        } else {
            set_timeouts(stream.get_ref().tcp(), deadline, &server)?;
            stream.read_to_end(&mut body).map_err(io)?;
            close = true;
        }
        if !close {
            self.stream = Some(stream);
        }
        Ok(Response { code, body })
    }

    /// GET, JSON answer; a non-2xx answer becomes its Status.
    pub fn get_json<T: serde::de::DeserializeOwned>(&mut self, path: &str) -> Result<T, KubeError> {
        let r = self.request("GET", path, None)?;
        decode(r)
    }

    /// PUT of a JSON body, JSON answer.
    pub fn put_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        body: &B,
    ) -> Result<T, KubeError> {
        let bytes = serde_json::to_vec(body).expect("API objects serialize");
        let r = self.request("PUT", path, Some(&bytes))?;
        decode(r)
    }
}

fn decode<T: serde::de::DeserializeOwned>(r: Response) -> Result<T, KubeError> {
    if (200..300).contains(&r.code) {
        return serde_json::from_slice(&r.body)
            .map_err(|e| KubeError::BadResponse(format!("answer is not the expected JSON: {e}")));
    }
    let status: Status = serde_json::from_slice(&r.body).unwrap_or_default();
    Err(KubeError::Api {
        code: r.code,
        reason: status.reason,
        message: if status.message.is_empty() {
            String::from_utf8_lossy(&r.body)
                .trim()
                .chars()
                .take(200)
                .collect()
        } else {
            status.message
        },
    })
}

fn remaining(deadline: Instant, server: &str) -> Result<Duration, KubeError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(KubeError::Timeout {
            server: server.to_string(),
        });
    }
    Ok(left)
}

fn set_timeouts(tcp: &TcpStream, deadline: Instant, server: &str) -> Result<(), KubeError> {
    let left = remaining(deadline, server)?;
    let _ = tcp.set_read_timeout(Some(left));
    let _ = tcp.set_write_timeout(Some(left));
    quick_ack(tcp);
    Ok(())
}

/// Acknowledges what arrives next at once. A server that answers in more than one
/// segment with Nagle's algorithm on (a TLS 1.3 server's session tickets, then the answer)
/// waits for the first to be acknowledged before it sends the next: without this, the
/// client's delayed ACK adds 40 ms to an ADD. (kube-apiserver itself sets TCP_NODELAY.)
fn quick_ack(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
}

fn read_line(
    stream: &mut BufReader<Stream>,
    line: &mut String,
    deadline: Instant,
    server: &str,
) -> std::io::Result<()> {
    if stream.buffer().is_empty() {
        if let Ok(left) = remaining(deadline, server) {
            let _ = stream.get_ref().tcp().set_read_timeout(Some(left));
            quick_ack(stream.get_ref().tcp());
        } else {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
    }
    if stream.read_line(line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    Ok(())
}

/// `insecure-skip-tls-verify`: accept any server certificate, still checking signatures
/// of the handshake.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-connection plain HTTP server answering each request with the next canned
    /// reply; returns the requests it read.
    fn serve(replies: Vec<&'static str>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s);
            let mut seen = Vec::new();
            for reply in replies {
                let mut req = String::new();
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    req.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                req.push_str(&String::from_utf8(body).unwrap());
                seen.push(req);
                r.get_mut().write_all(reply.as_bytes()).unwrap();
            }
            seen
        });
        (port, h)
    }

    fn client(port: u16) -> Client {
        let mut conn =
            super::super::kubeconfig::parse_server(&format!("http://127.0.0.1:{port}")).unwrap();
        conn.token = "secret".into();
        Client::new(conn, Duration::from_secs(5))
    }

    #[test]
    fn content_length_then_chunked_on_one_connection() {
        let (port, h) = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n",
        ]);
        let mut c = client(port);
        let a: serde_json::Value = c.get_json("/x").unwrap();
        let b: serde_json::Value = c.put_json("/y", &serde_json::json!({"k": 1})).unwrap();
        assert_eq!((a["a"].as_i64(), b["b"].as_i64()), (Some(1), Some(2)));
        let seen = h.join().unwrap();
        assert!(seen[0].starts_with("GET /x HTTP/1.1\r\n"));
        assert!(seen[1].starts_with("PUT /y HTTP/1.1\r\n") && seen[1].ends_with("{\"k\":1}"));
        assert!(
            !seen[0].contains("Authorization"),
            "no credentials over plain http"
        );
    }

    #[test]
    fn an_error_answer_becomes_its_status() {
        let body = r#"{"kind":"Status","reason":"Forbidden","message":"pods \"p\" is forbidden"}"#;
        let reply = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (port, _h) = serve(vec![Box::leak(reply.into_boxed_str())]);
        let e = client(port)
            .get_json::<serde_json::Value>("/p")
            .unwrap_err();
        match e {
            KubeError::Api {
                code,
                reason,
                message,
            } => {
                assert_eq!((code, reason.as_str()), (403, "Forbidden"));
                assert_eq!(message, "pods \"p\" is forbidden");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut c = client(port);
        c.timeout = Duration::from_millis(200);
        let e = c.get_json::<serde_json::Value>("/p").unwrap_err();
        assert!(matches!(e, KubeError::Timeout { .. }), "{e:?}");
        drop(l);
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = client(port)
            .get_json::<serde_json::Value>("/p")
            .unwrap_err();
        assert!(matches!(e, KubeError::Unreachable { .. }), "{e:?}");
    }
}
