//! `harness`: runs the userspace-cni demo and scenarios.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use harness::scenario::{scenarios_dir, Scenario};

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
    /// The original vppDemo on mock-vpp: two pods get a memif in VPP bridge domain 4
    /// through the plugin (with the real host-local IPAM when installed), build their end
    /// and ping each other, then DEL and a leak check. Runs on network namespaces (root);
    /// `--plugin-only` runs just the plugin's ADD/CHECK/DEL.
    Demo {
        #[arg(long)]
        plugin_only: bool,
    },
    /// Lists the scenarios.
    List,
    /// Runs a scenario.
    Run {
        scenario: String,
        /// docker or netns (default: docker when an engine answers, else netns).
        #[arg(long)]
        backend: Option<String>,
        /// Leave pods, the host vswitch's directory and files in place.
        #[arg(long)]
        keep: bool,
        /// Also write the report as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Builds the pod image (static binaries, FROM scratch) for the docker backend, and
    /// the DaemonSet's installer image (deploy/10-daemonset.yaml).
    Images,
    /// Times the plugin's ADD and DEL (p50/p99, peak RSS) on mock-vpp: with and without
    /// IPAM, with 0/100/1000 attachments on the host, and in parallel.
    Bench {
        /// A short run (fewer samples), for a smoke test.
        #[arg(long)]
        quick: bool,
        /// Also write the figures as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Only the OVS rows (mock-ovsdb, and real OVS side by side with the original).
        #[arg(long)]
        ovs_only: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { plugin_only } => harness::demo::run().and_then(|()| {
            if plugin_only {
                return Ok(());
            }
            eprintln!();
            run("vpp-memif-ping", Some("netns".into()), false, None)
        }),
        Command::List => list(),
        Command::Run {
            scenario,
            backend,
            keep,
            json,
        } => run(&scenario, backend, keep, json),
        Command::Bench {
            quick,
            json,
            ovs_only,
        } => harness::bench::run(quick, ovs_only).and_then(|r| {
            harness::bench::print(&r);
            if let Some(path) = json {
                std::fs::write(
                    path,
                    serde_json::to_vec_pretty(&harness::bench::to_json(&r)).expect("json"),
                )?;
            }
            Ok(())
        }),
        Command::Images => {
            harness::backend::docker::DockerBackend::connect("images").and_then(|d| {
                harness::images::build(&d)?;
                eprintln!("built {}", harness::images::POD_IMAGE);
                harness::images::build_install(&d)?;
                eprintln!("built {}", harness::images::INSTALL_IMAGE);
                Ok(())
            })
        }
    };
    if let Err(e) = result {
        eprintln!("harness: {e}");
        std::process::exit(1);
    }
}

fn list() -> harness::Result<()> {
    for (name, s) in Scenario::all(&scenarios_dir())? {
        println!("{name:<20} {}", s.description);
    }
    Ok(())
}

fn run(
    name: &str,
    backend: Option<String>,
    keep: bool,
    json: Option<PathBuf>,
) -> harness::Result<()> {
    let all = Scenario::all(&scenarios_dir())?;
    let scenario = all.get(name).ok_or_else(|| {
        harness::Error::Check(format!(
            "no scenario {name:?} (known: {})",
            all.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let opts = harness::runner::Options { backend, keep };
    let report = harness::runner::run(scenario, &opts)?;
    if let Some(path) = json {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&report).expect("report serializes"),
        )?;
    }
    if report.passed {
        Ok(())
    } else {
        Err(harness::Error::Check(format!("scenario {name} failed")))
    }
}
