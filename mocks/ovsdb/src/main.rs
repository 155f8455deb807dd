//! `mock-ovsdb --socket PATH [--schema FILE] [--run-dir DIR]`: serves until SIGTERM/SIGINT.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;

/// A simulated OVSDB server (Open_vSwitch database) for OVS clients.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to serve (OVS's default is /usr/local/var/run/openvswitch/db.sock).
    #[arg(long)]
    socket: PathBuf,
    /// Schema to serve (default: the Open_vSwitch schema carried with mock-ovsdb).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Where dpdkvhostuser sockets appear (default: the socket's directory).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Misbehave for tests: ACTION:METHOD[:N[:ERROR]] with ACTION fail (a `transact` then
    /// commits nothing), stall, drop or exit, at the Nth request of METHOD (or `*`).
    /// Repeatable.
    #[arg(long = "fault")]
    faults: Vec<mock_ovsdb::faults::Fault>,
    /// Log filter, to stderr.
    #[arg(long, default_value = "info")]
    log_level: String,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
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
    let schema = match &args.schema {
        None => mock_ovsdb::schema::Schema::open_vswitch(),
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .and_then(mock_ovsdb::schema::Schema::parse)
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mock-ovsdb: schema {}: {e}", p.display());
                std::process::exit(1);
            }
        },
    };
    let run_dir = args
        .run_dir
        .clone()
        .unwrap_or_else(|| args.socket.parent().map(PathBuf::from).unwrap_or_default());
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    let faults = mock_ovsdb::faults::Faults::new(args.faults.clone());
    let server = match mock_ovsdb::serve_with_faults(&args.socket, schema, &run_dir, faults) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mock-ovsdb: cannot serve on {}: {e}", args.socket.display());
            std::process::exit(1);
        }
    };
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
}
