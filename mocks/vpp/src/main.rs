//! `mock-vpp --api-socket PATH [--cli-socket PATH]`: serves VPP's binary API (and its CLI
//! socket) until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;

/// A simulated VPP serving VPP's binary API on a unix socket.
#[derive(Parser)]
#[command(
    version,
    long_about = "A simulated VPP: serves VPP's binary API (real message names and CRCs) \
on a unix socket, and optionally VPP's CLI socket, from an in-memory model whose memif \
interfaces move packets through L2 bridge domains. Serves until SIGTERM or SIGINT; each \
socket file appears once it accepts connections.",
    after_help = "Examples:\n  mock-vpp --api-socket /tmp/vpp/api.sock --cli-socket /tmp/vpp/cli.sock\n  \
vppctl -s /tmp/vpp/cli.sock show interface"
)]
struct Args {
    /// Where to serve the API (VPP's default is /run/vpp/api.sock).
    #[arg(long, default_value = "/run/vpp/api.sock")]
    api_socket: PathBuf,
    /// Also serve VPP's CLI socket here, as `unix { cli-listen PATH }` does (VPP's
    /// startup.conf uses /run/vpp/cli.sock); VPP's own `vppctl -s PATH` talks to it.
    #[arg(long)]
    cli_socket: Option<PathBuf>,
    /// Misbehave for tests: ACTION:MESSAGE[:N[:RETVAL]], ACTION one of fail (reply with
    /// RETVAL, default -1, change nothing), stall (never reply), drop (close the
    /// connection), exit (end the process); MESSAGE a message name or `*`; N the
    /// occurrence (default 1). Repeatable.
    #[arg(long = "fault")]
    faults: Vec<mock_vpp::faults::Fault>,
    /// Log filter (error, warn, info, debug, trace), to stderr.
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
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    let faults = mock_vpp::faults::Faults::new(args.faults.clone());
    let mut server = match mock_vpp::serve_with_faults(&args.api_socket, faults) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "mock-vpp: cannot serve on {}: {e}",
                args.api_socket.display()
            );
            std::process::exit(1);
        }
    };
    if let Some(cli) = &args.cli_socket {
        if let Err(e) = server.serve_cli(cli) {
            eprintln!("mock-vpp: cannot serve the CLI on {}: {e}", cli.display());
            std::process::exit(1);
        }
    }
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::info!("stopping");
    server.stop();
}
