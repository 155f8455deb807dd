//! `harness`: runs the userspace-cni demo and scenarios.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "harness",
    about = "Runs userspace-cni with simulated vswitches and reports what it saw"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Two pods get a memif in VPP bridge domain 4 through the plugin (ADD, CHECK, DEL)
    /// on mock-vpp with the real host-local IPAM, then a leak check.
    Demo,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo => harness::demo::run(),
    };
    if let Err(e) = result {
        eprintln!("harness: {e}");
        std::process::exit(1);
    }
}
