//! `harness`: runs the userspace-cni demo and scenarios.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use harness::scenario::{scenarios_dir, Scenario};

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Runs userspace-cni with simulated vswitches and reports what it saw",
    after_help = "The tutorial (the ONS 2018 vppDemo, on Docker):\n  \
harness up vpp-memif-ping --backend docker\n  \
docker exec vppDemo_1 vppctl show interface\n  \
harness status\n  \
harness down\n\n\
Backends: docker needs a Docker engine (nothing is pulled: the pod image is built locally \
FROM scratch); netns needs root. Missing workspace binaries are built first."
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
    /// Brings a scenario up and leaves it running, as the vppDemo tutorial has it: Docker
    /// containers named as the scenario's pods (vppDemo_1, vppDemo_2), the host mock-vpp
    /// with its API and CLI sockets at a stable path; prints what to try next. Runs the
    /// scenario's steps up to its first DEL. Needs a Docker engine (or root with
    /// `--backend netns`).
    Up {
        scenario: String,
        /// docker (default: containers named as the pods) or netns (network namespaces;
        /// the pods' vswitch sockets are files on the host).
        #[arg(long)]
        backend: Option<String>,
    },
    /// DELs the pods of `harness up` through the plugin and removes everything it made
    /// (also after a crash of the harness: the state is kept on disk).
    Down {
        /// Only this scenario (default: every scenario that is up).
        scenario: Option<String>,
    },
    /// Shows what `harness up` left running.
    Status,
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
        Command::Up { scenario, backend } => up(&scenario, backend.as_deref()),
        Command::Down { scenario } => down(scenario.as_deref()),
        Command::Status => {
            print!("{}", harness::up::status_text());
            Ok(())
        }
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
        Command::Images => harness::backend::docker::DockerBackend::connect("images")
            .map_err(|e| {
                harness::Error::Check(format!("building the pod image needs a Docker engine: {e}"))
            })
            .and_then(|d| {
                harness::images::build(&d)?;
                eprintln!("built {}", harness::images::POD_IMAGE);
                harness::images::build_install(&d)?;
                eprintln!("built {}", harness::images::INSTALL_IMAGE);
                Ok(())
            }),
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

fn find(name: &str) -> harness::Result<Scenario> {
    let mut all = Scenario::all(&scenarios_dir())?;
    let known = all.keys().cloned().collect::<Vec<_>>().join(", ");
    all.remove(name)
        .ok_or_else(|| harness::Error::Check(format!("no scenario {name:?} (known: {known})")))
}

fn up(name: &str, backend: Option<&str>) -> harness::Result<()> {
    let scenario = find(name)?;
    let state = harness::up::bring_up(&scenario, backend)?;
    println!();
    print!("{}", harness::up::next_steps(&state));
    Ok(())
}

fn down(name: Option<&str>) -> harness::Result<()> {
    let dirs: Vec<harness::up::StateDir> = match name {
        Some(n) => vec![harness::up::StateDir::of(n)],
        None => harness::up::all_up().into_iter().map(|(d, _)| d).collect(),
    };
    let mut failed = false;
    let mut any = false;
    for dir in dirs {
        let Some(report) = harness::up::down(&dir)? else {
            continue;
        };
        any = true;
        for p in &report.problems {
            eprintln!("  {p}");
        }
        failed |= !report.problems.is_empty();
        println!("{} is down", report.scenario);
    }
    if !any {
        println!("nothing is up");
    }
    if failed {
        Err(harness::Error::Check(
            "down met problems (see above); everything was removed".into(),
        ))
    } else {
        Ok(())
    }
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
