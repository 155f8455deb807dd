//! `mock-ovsdb --socket PATH [--schema FILE] [--db-file FILE] [--run-dir DIR]`: serves
//! until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mock_ovsdb::schema::Schema;

/// A simulated OVSDB server (the Open_vSwitch database, and ovs-vswitchd's answers to it)
/// for OVS clients such as ovs-vsctl.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to serve (OVS's default is /var/run/openvswitch/db.sock). The socket
    /// appears once the server accepts connections.
    #[arg(long)]
    socket: PathBuf,
    /// Schema to serve (default: the Open_vSwitch schema 8.3.1 carried with mock-ovsdb).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// OVSDB database file: read at start if it exists (its schema then wins, as with
    /// ovsdb-server), written on every commit. Default: data lives in memory only.
    #[arg(long)]
    db_file: Option<PathBuf>,
    /// Where dpdkvhostuser sockets appear (default: the socket's directory).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Serve the database only, like ovsdb-server without ovs-vswitchd: no ofport, no
    /// vhost-user sockets, `cur_cfg` stays (clients then need `ovs-vsctl --no-wait`).
    #[arg(long)]
    no_vswitchd: bool,
    /// Misbehave for tests: ACTION:METHOD[:N[:ERROR]] with ACTION fail (a `transact` then
    /// commits nothing), stall, drop or exit, at the Nth request of METHOD (or `*`).
    /// Repeatable.
    #[arg(long = "fault")]
    faults: Vec<mock_ovsdb::faults::Fault>,
    /// Log filter, to stderr.
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn fail(what: String) -> ! {
    eprintln!("mock-ovsdb: {what}");
    std::process::exit(1);
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
        None => Schema::open_vswitch(),
        Some(p) => {
            Schema::from_file(p).unwrap_or_else(|e| fail(format!("schema {}: {e}", p.display())))
        }
    };
    let run_dir = args
        .run_dir
        .clone()
        .unwrap_or_else(|| args.socket.parent().map(PathBuf::from).unwrap_or_default());
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .unwrap_or_else(|e| fail(format!("signal handler: {e}")));
    }
    let opts = mock_ovsdb::Options {
        schema,
        run_dir,
        db_file: args.db_file.clone(),
        vswitchd: !args.no_vswitchd,
        faults: mock_ovsdb::faults::Faults::new(args.faults.clone()),
    };
    let server = mock_ovsdb::serve_with(&args.socket, opts)
        .unwrap_or_else(|e| fail(format!("cannot serve on {}: {e}", args.socket.display())));
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
}
