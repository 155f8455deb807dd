//! `usrsp-app`: the container side of the userspace CNI plugin. Run in the pod with the
//! shared directory mounted; see `userspace_cni::container_side`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Builds this pod's end of its userspace interfaces from the plugin's configuration data.
#[derive(Parser)]
#[command(
    name = "usrsp-app",
    version,
    long_about = "The container side of the userspace CNI plugin. Run in the pod with the \
plugin's shared directory mounted: reads the configuration data the plugin wrote there \
(configData-<id>-<ifname>.json), builds this pod's end of each interface (memif or \
vhost-user) on the pod's own VPP, sets its MAC and addresses, and removes the data.",
    after_help = "Examples:\n  usrsp-app                         # as in the vppDemo pods\n  \
usrsp-app --list                  # what the plugin left for this pod\n  \
usrsp-app --shared-dir /var/lib/cni/usrspcni --api-socket /run/vpp/api.sock"
)]
struct Args {
    /// The shared directory as mounted in the pod.
    #[arg(
        long,
        env = "USRSP_SHARED_DIR",
        default_value = "/var/lib/cni/usrspcni"
    )]
    shared_dir: PathBuf,
    /// Read the attachments from the pod's downward-API annotations file (Kubernetes
    /// mode) instead of the shared directory's data files.
    #[arg(long, env = "USRSP_ANNOTATIONS", num_args = 0..=1,
          default_missing_value = userspace_cni::container_side::downward::DEFAULT_ANNOTATIONS_FILE)]
    annotations: Option<PathBuf>,
    /// With --annotations: wait this long for kubelet to project the entries.
    #[arg(long, default_value_t = 0)]
    wait_ms: u64,
    /// Only the attachment with this interface name.
    #[arg(long)]
    ifname: Option<String>,
    /// The pod vswitch's API socket (default: the data's `apiSocket`, else the engine's).
    #[arg(long, env = "VPP_API_SOCKET")]
    api_socket: Option<PathBuf>,
    /// Bound on each vswitch operation, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Leave the configuration data in place after use.
    #[arg(long)]
    keep_data: bool,
    /// Only describe the attachments found (build nothing, consume nothing).
    #[arg(long)]
    list: bool,
    /// Log level (error, warning, info, debug, verbose).
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn main() {
    let args = Args::parse();
    userspace_cni::logging::init(&args.log_level, "");
    if let Some(file) = &args.annotations {
        let cs = userspace_cni::container_side::run_from_annotations;
        let listed = if args.list {
            userspace_cni::container_side::sides_from_annotations(
                file,
                &args.shared_dir,
                args.ifname.as_deref(),
                args.api_socket.as_deref(),
                Duration::from_millis(args.wait_ms),
            )
            .map(|sides| {
                for (data, side) in sides {
                    println!(
                        "{} engine={} iftype={} socket={} addresses={}",
                        data.if_name,
                        data.config.engine,
                        data.config.iftype,
                        match &side.interface {
                            engines::InterfaceSpec::Memif { socket_path, .. }
                            | engines::InterfaceSpec::VhostUser { socket_path, .. } => {
                                socket_path.display()
                            }
                        },
                        side.addresses.join(",")
                    );
                }
                Vec::new()
            })
        } else {
            cs(
                file,
                &args.shared_dir,
                args.ifname.as_deref(),
                args.api_socket.as_deref(),
                Duration::from_millis(args.timeout_ms),
                Duration::from_millis(args.wait_ms),
            )
        };
        report(listed);
        return;
    }
    if args.list {
        match userspace_cni::container_side::list(&args.shared_dir, args.ifname.as_deref()) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => {
                eprintln!("usrsp-app: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    report(userspace_cni::container_side::run(
        &args.shared_dir,
        args.ifname.as_deref(),
        args.api_socket.as_deref(),
        Duration::from_millis(args.timeout_ms),
        args.keep_data,
    ));
}

fn report(
    outcome: Result<
        Vec<userspace_cni::container_side::Built>,
        userspace_cni::container_side::AppError,
    >,
) {
    match outcome {
        Ok(built) => {
            for b in built {
                println!(
                    "{}: {} on {} addresses {} mac {}",
                    b.if_name,
                    b.engine,
                    b.socket.display(),
                    b.addresses.join(","),
                    b.mac
                );
            }
        }
        Err(e) => {
            eprintln!("usrsp-app: {e}");
            std::process::exit(1);
        }
    }
}
