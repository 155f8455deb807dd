//! `usrsp-install`: the userspace CNI DaemonSet's container. Copies the plugin into the
//! host's CNI bin directory atomically (see the library doc), then waits for SIGTERM so
//! the DaemonSet's pod stays running. Statically linked: the image is `FROM scratch`.

use std::path::PathBuf;

use clap::Parser;

/// Installs the userspace CNI plugin into a node's CNI bin directory.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where the binaries to install are (in the image).
    #[arg(long, default_value = "/usrsp")]
    from: PathBuf,
    /// The host's CNI bin directory, as mounted in the container.
    #[arg(long, default_value = "/host/opt/cni/bin")]
    to: PathBuf,
    /// The files to install (default: the plugin).
    #[arg(long = "file", default_values_t = ["userspace".to_string()])]
    files: Vec<String>,
    /// After installing, wait until SIGTERM or SIGINT instead of exiting.
    #[arg(long)]
    sleep: bool,
}

fn main() {
    let args = Args::parse();
    match usrsp_install::install_all(&args.from, &args.to, &args.files) {
        Ok(done) => {
            for d in done {
                match d {
                    usrsp_install::Outcome::Installed(p) => eprintln!("installed {}", p.display()),
                    usrsp_install::Outcome::Unchanged(p) => {
                        eprintln!("unchanged {}", p.display())
                    }
                }
            }
        }
        Err(e) => {
            eprintln!("usrsp-install: {e}");
            std::process::exit(1);
        }
    }
    if args.sleep {
        wait_for_termination();
    }
}

/// Waits for SIGTERM or SIGINT. As PID 1 in a container a signal without a handler is
/// ignored, so the signals are blocked and taken with sigwait(2).
fn wait_for_termination() {
    // SAFETY: the sigset is a plain value initialised by sigemptyset before use; the
    // calls only read or write that local value and this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut sig = 0;
        libc::sigwait(&set, &mut sig);
    }
}
