//! `vppctl`: VPP's CLI, against VPP's CLI socket (as VPP's own `vppctl`) or its API
//! socket (`cli_inband`), so scripts written for a real VPP run unchanged on mock-vpp and
//! this `vppctl` also drives a real VPP. With no command it reads commands from stdin,
//! one per line.

use std::io::{BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mock_vpp::telnet::CliClient;
use vpp_api::messages::CliInband;
use vpp_api::Client;

const CLI_SOCKET: &str = "/run/vpp/cli.sock";
const API_SOCKET: &str = "/run/vpp/api.sock";

/// Runs VPP CLI commands on a VPP (or mock-vpp), through its CLI socket or its API
/// socket.
#[derive(Parser)]
#[command(
    name = "vppctl",
    version,
    after_help = "SOCKET is VPP's CLI socket (`unix { cli-listen PATH }`) or its binary API \
socket; vppctl tells them apart (a CLI socket speaks first). Without -s: $VPP_CLI_SOCKET, \
else $VPP_API_SOCKET, else /run/vpp/cli.sock when it exists, else /run/vpp/api.sock.\n\n\
Examples:\n  vppctl -s /run/vpp/cli.sock show interface\n  vppctl show interface addr\n  \
vppctl ping 192.168.210.2 repeat 5\n  echo 'show memif' | vppctl -s /tmp/vpp/api.sock"
)]
struct Args {
    /// The CLI or API socket of the VPP to talk to.
    #[arg(short = 's', long = "socket", value_name = "SOCKET")]
    socket: Option<PathBuf>,
    /// The command, e.g. `show interface` (none: read commands from stdin).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    words: Vec<String>,
}

/// Which protocol a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cli,
    Api,
}

fn default_socket() -> PathBuf {
    for var in ["VPP_CLI_SOCKET", "VPP_API_SOCKET"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return PathBuf::from(v);
        }
    }
    if Path::new(CLI_SOCKET).exists() {
        CLI_SOCKET.into()
    } else {
        API_SOCKET.into()
    }
}

/// By the conventional names, else by listening: a CLI socket opens with telnet
/// negotiation, an API socket waits for the client's hello.
fn kind(path: &Path) -> std::io::Result<Kind> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name.ends_with("cli.sock") {
        return Ok(Kind::Cli);
    }
    if name.ends_with("api.sock") {
        return Ok(Kind::Api);
    }
    let mut probe = UnixStream::connect(path)?;
    probe.set_read_timeout(Some(Duration::from_millis(300)))?;
    let mut first = [0u8; 1];
    Ok(match probe.read(&mut first) {
        Ok(1) if first[0] == mock_vpp::telnet::IAC => Kind::Cli,
        _ => Kind::Api,
    })
}

/// One connection, either kind: runs a command line, prints its output; false when
/// VPP refused it (API socket only: the CLI socket does not say).
trait Session {
    fn run(&mut self, line: &str) -> bool;
    fn close(self: Box<Self>);
}

impl Session for CliClient {
    fn run(&mut self, line: &str) -> bool {
        match CliClient::run(self, line) {
            Ok(out) => {
                print!("{out}");
                let _ = std::io::stdout().flush();
                true
            }
            Err(e) => {
                eprintln!("vppctl: {line}: {e}");
                false
            }
        }
    }

    fn close(self: Box<Self>) {
        self.quit();
    }
}

impl Session for Client {
    fn run(&mut self, line: &str) -> bool {
        match self.request(&CliInband { cmd: line.into() }) {
            Ok(r) => {
                print!("{}", r.reply);
                let _ = std::io::stdout().flush();
                r.retval == 0
            }
            Err(e) => {
                eprintln!("vppctl: {line}: {e}");
                false
            }
        }
    }

    fn close(self: Box<Self>) {
        self.disconnect();
    }
}

fn connect(socket: &Path) -> Result<Box<dyn Session>, String> {
    let timeout = Duration::from_secs(10);
    let session: Box<dyn Session> = match kind(socket).map_err(|e| e.to_string())? {
        Kind::Cli => Box::new(CliClient::connect(socket, timeout).map_err(|e| e.to_string())?),
        Kind::Api => {
            Box::new(Client::connect(socket, "vppctl", timeout).map_err(|e| e.to_string())?)
        }
    };
    Ok(session)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let socket = args.socket.unwrap_or_else(default_socket);
    let mut session = match connect(&socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vppctl: cannot connect to {}: {e}", socket.display());
            return ExitCode::FAILURE;
        }
    };
    let ok = if args.words.is_empty() {
        let mut ok = true;
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let line = line.trim();
            if line.is_empty() || line == "quit" {
                continue;
            }
            ok &= session.run(line);
        }
        ok
    } else {
        session.run(&args.words.join(" "))
    };
    session.close();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
