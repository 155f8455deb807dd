//! `mock-kube --listen ADDR:PORT --kubeconfig FILE [--insecure-http ADDR:PORT]
//! [--state FILE] [--service-account-dir DIR] [--san NAME]... [--fault RULE]...`: serves
//! until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// A simulated Kubernetes API server for kubectl and the official clients.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// HTTPS address to serve on; port 0 picks a free port (the kubeconfig names it).
    #[arg(long)]
    listen: SocketAddr,
    /// Where to write the kubeconfig (users admin, plugin, multus, nobody; current
    /// context admin), once the server accepts connections.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Also serve plain HTTP here (a request without a token is admin there).
    #[arg(long)]
    insecure_http: Option<SocketAddr>,
    /// Keep objects, tokens and the CA in this file across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Write `token` (the plugin user's), `ca.crt` and `namespace` here, as kubelet
    /// mounts them for in-cluster clients.
    #[arg(long)]
    service_account_dir: Option<PathBuf>,
    /// Another name or IP for the server certificate. Repeatable.
    #[arg(long = "san")]
    sans: Vec<String>,
    /// Misbehave for tests: ACTION:VERB/RESOURCE[:N[:CODE[/RETRY_AFTER]]] with ACTION
    /// fail (default code 500), stall, drop or exit, at the Nth such request (`*` for
    /// any resource request). Repeatable.
    #[arg(long = "fault")]
    faults: Vec<mock_kube::faults::Fault>,
    /// Log filter, to stderr.
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log_level)
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let opts = mock_kube::Options {
        listen: args.listen,
        kubeconfig: args.kubeconfig,
        insecure_http: args.insecure_http,
        state: args.state,
        service_account_dir: args.service_account_dir,
        sans: args.sans,
        faults: args.faults,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("mock-kube: {e}");
            std::process::exit(1)
        });
    rt.block_on(async move {
        let running = mock_kube::start(opts).await.unwrap_or_else(|e| {
            eprintln!("mock-kube: {e}");
            std::process::exit(1)
        });
        tracing::info!("serving on {}", running.url);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .unwrap_or_else(|e| {
                eprintln!("mock-kube: {e}");
                std::process::exit(1)
            });
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        running.stop();
    });
    rt.shutdown_background();
}
