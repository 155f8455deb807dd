//! mock-kube: a simulated Kubernetes API server that real clients — kubectl, the official
//! Python client, client-go style clients — accept unchanged, for the calls a CNI setup
//! makes: discovery (legacy and aggregated), OpenAPI v3 enough for kubectl's server-side
//! field validation, and get/list/watch/create/update/patch/delete on namespaces, pods
//! (+ status), serviceaccounts, configmaps, daemonsets, cluster roles and bindings and
//! network-attachment-definitions, with the real server's resourceVersion, uid,
//! generation, status-subresource, error (`metav1.Status`) and authorization behaviour.
//!
//! It knows nothing of CNI, of the plugin or of any vswitch: it serves the Kubernetes API
//! only.
//!
//! Stack: tokio + hyper (HTTP/1.1) because watches are long-lived streams and kubectl
//! keeps several connections; rustls + rcgen to serve HTTPS with a CA made at start
//! (clients send bearer tokens only over https); serde_json objects stored as JSON, as
//! the API is JSON and every kind is handled alike.
//!
//! - [`request`], [`api`], [`verbs`]: routing, authentication and authorization
//!   ([`auth`]), the verbs; [`status`]: errors.
//! - [`store`]: objects, resourceVersions, the event log; [`watch`]: event streams.
//! - [`patch`]: merge, strategic merge and JSON patch; [`defaults`]: per-kind defaults,
//!   validation and update rules; [`selector`]: label and field selectors.
//! - [`discovery`], [`openapi`], [`table`]: what kubectl asks for besides objects.
//! - [`tls`], [`kubeconfig`], [`server`]: certificates, client configuration, transport.
//! - [`review`]: `kubectl auth can-i` and `whoami`.
//! - [`faults`]: misbehaviour on request, for testing clients.
//!
//! Not simulated: scheduling, kubelet (pods stay `Pending` unless a client writes their
//! status), controllers (no DaemonSet pods, no namespace finalization: a deleted namespace
//! and its objects go at once), admission webhooks, server-side apply, protobuf, OpenAPI
//! schemas, `limit`/`continue` paging (lists come whole).

pub mod api;
pub mod auth;
pub mod defaults;
pub mod discovery;
pub mod faults;
pub mod kubeconfig;
pub mod meta;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod request;
pub mod resources;
pub mod review;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
pub mod verbs;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

pub use api::Api;

/// How to run a server.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub kubeconfig: Option<PathBuf>,
    pub insecure_http: Option<SocketAddr>,
    pub state: Option<PathBuf>,
    pub service_account_dir: Option<PathBuf>,
    /// Extra names and addresses for the server certificate.
    pub sans: Vec<String>,
    pub faults: Vec<faults::Fault>,
}

impl Options {
    pub fn new(listen: SocketAddr) -> Options {
        Options {
            listen,
            kubeconfig: None,
            insecure_http: None,
            state: None,
            service_account_dir: None,
            sans: Vec::new(),
            faults: Vec::new(),
        }
    }
}

/// A started server (its tasks run on the runtime it was started on).
pub struct Running {
    pub addr: SocketAddr,
    pub insecure_addr: Option<SocketAddr>,
    pub url: String,
    pub ca_pem: String,
    pub api: Arc<Api>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// The bearer token of `user` (`admin`, `plugin`, `multus`, `nobody`).
    pub fn token(&self, user: &str) -> Option<&str> {
        self.api.tokens.token(user)
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Binds, loads state, makes certificates, starts serving; then writes the kubeconfig and
/// service-account files (so they appear only once the server accepts connections).
pub async fn start(opts: Options) -> Result<Running, String> {
    let store = store::Store::new(opts.state.clone());
    let extra = store.load()?;
    let tokens = extra
        .as_ref()
        .and_then(|e| serde_json::from_value::<auth::Tokens>(e["tokens"].clone()).ok())
        .unwrap_or_else(auth::Tokens::generate);
    let ca_key = extra
        .as_ref()
        .and_then(|e| e["caKey"].as_str().map(str::to_string));
    let (listener, addr) = server::bind(opts.listen)
        .await
        .map_err(|e| format!("listen {}: {e}", opts.listen))?;
    let mut sans: Vec<String> = [
        "127.0.0.1",
        "::1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ip = addr.ip().to_string();
    if !addr.ip().is_unspecified() && !sans.contains(&ip) {
        sans.push(ip);
    }
    for s in &opts.sans {
        if !sans.contains(s) {
            sans.push(s.clone());
        }
    }
    let certs = tls::certs(ca_key.as_deref(), &sans)?;
    store.set_extra(json!({"tokens": tokens, "caKey": certs.ca_key_pem}));
    let mut api = Api::new(store, tokens, faults::Faults::new(opts.faults.clone()));
    api.ca_pem = certs.ca_pem.clone();
    let api = Arc::new(api);
    api.bootstrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(certs.config.clone());
    let mut tasks = vec![tokio::spawn(server::accept_loop(
        listener,
        api.clone(),
        Some(acceptor),
    ))];
    let mut insecure_addr = None;
    if let Some(a) = opts.insecure_http {
        let (l, a) = server::bind(a)
            .await
            .map_err(|e| format!("listen {a}: {e}"))?;
        insecure_addr = Some(a);
        tasks.push(tokio::spawn(server::accept_loop(l, api.clone(), None)));
    }
    let url = kubeconfig::server_url("https", addr);
    if let Some(dir) = &opts.service_account_dir {
        kubeconfig::write_service_account(dir, &certs.ca_pem, &api.tokens)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if let Some(path) = &opts.kubeconfig {
        let text = kubeconfig::render(&url, &certs.ca_pem, &api.tokens);
        kubeconfig::write_atomic(path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Running {
        addr,
        insecure_addr,
        url,
        ca_pem: certs.ca_pem,
        api,
        tasks,
    })
}

/// A server on its own thread and runtime, for tests of other crates: stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub insecure_addr: Option<SocketAddr>,
    pub url: String,
    pub ca_pem: String,
    pub api: Arc<Api>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn spawn(opts: Options) -> Result<Server, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                match start(opts).await {
                    Ok(r) => {
                        let _ = ready_tx.send(Ok((
                            r.addr,
                            r.insecure_addr,
                            r.url.clone(),
                            r.ca_pem.clone(),
                            r.api.clone(),
                        )));
                        let _ = stop_rx.await;
                        r.stop();
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
            rt.shutdown_background();
        });
        let (addr, insecure_addr, url, ca_pem, api) = ready_rx
            .recv()
            .map_err(|_| "server thread ended".to_string())??;
        Ok(Server {
            addr,
            insecure_addr,
            url,
            ca_pem,
            api,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn token(&self, user: &str) -> Option<&str> {
        self.api.tokens.token(user)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
