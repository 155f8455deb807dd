//! `vppctl`: VPP's CLI over the binary API (`cli_inband`), so it works the same against
//! mock-vpp and a real VPP: `vppctl -s <api-socket> <command words...>`.
//! With no command it reads commands from stdin, one per line. Without `-s` the socket
//! is `$VPP_API_SOCKET`, else VPP's standard path.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vpp_api::messages::CliInband;
use vpp_api::Client;

const DEFAULT_SOCKET: &str = "/run/vpp/api.sock";

fn usage() -> ExitCode {
    eprintln!("usage: vppctl [-s API-SOCKET] [COMMAND WORDS...]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut socket = std::env::var_os("VPP_API_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    let mut words = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-s" => match args.next() {
                Some(s) => socket = PathBuf::from(s),
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ => {
                words.push(a);
                words.extend(args.by_ref());
            }
        }
    }
    let mut client = match Client::connect(&socket, "vppctl", Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vppctl: cannot connect to {}: {e}", socket.display());
            return ExitCode::FAILURE;
        }
    };
    let mut run = |cmd: &str| -> bool {
        match client.request(&CliInband { cmd: cmd.into() }) {
            Ok(r) => {
                print!("{}", r.reply);
                let _ = std::io::stdout().flush();
                r.retval == 0
            }
            Err(e) => {
                eprintln!("vppctl: {cmd}: {e}");
                false
            }
        }
    };
    let ok = if words.is_empty() {
        let mut ok = true;
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let line = line.trim();
            if line.is_empty() || line == "quit" {
                continue;
            }
            ok &= run(line);
        }
        ok
    } else {
        run(&words.join(" "))
    };
    client.disconnect();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
