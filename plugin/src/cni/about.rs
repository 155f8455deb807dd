//! What the plugin says about itself when run by hand (no CNI variables), as the CNI
//! reference plugins do, and its `--help` / `--version`.

use super::Version;

/// The plugin's version: the workspace's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `CNI userspace plugin vX` and the protocol versions, as the reference plugins print
/// them when run without `CNI_COMMAND`.
pub fn about() -> String {
    format!(
        "CNI userspace plugin v{VERSION}\nCNI protocol versions supported: {}\n",
        Version::supported_strings().join(", ")
    )
}

/// `userspace --help`.
pub fn help() -> String {
    format!(
        "{}\n\
Gives containers userspace network interfaces (memif, vhost-user) on a host vswitch
(VPP, OVS-DPDK). A container runtime (containerd, CRI-O, Multus, libcni) runs it; it is
not meant to be run by hand.

Usage: CNI_COMMAND=ADD|DEL|CHECK|VERSION|GC|STATUS [CNI_* variables] userspace < netconf.json
       userspace --help | --version

Environment (set by the runtime, as the CNI specification says):
  CNI_COMMAND      ADD, DEL, CHECK, VERSION, GC or STATUS
  CNI_CONTAINERID  the container's id
  CNI_NETNS        the container's network namespace (a path)
  CNI_IFNAME       the interface name to create in the container
  CNI_ARGS         extra KEY=VALUE;... arguments
  CNI_PATH         where to find the IPAM plugin (e.g. /opt/cni/bin)

The network configuration comes on stdin (type \"userspace\"; keys host, container,
sharedDir, dataDir, ipam, ...). The result or a CNI error goes to stdout as JSON; logs go
to stderr and to logFile.

Options (only without CNI_COMMAND):
  -h, --help       this text
  -V, --version    print the version
",
        about().trim_end()
    )
}

/// What the command line asks for when no CNI command is set: `Some(text, to_stdout)`
/// to print and exit successfully, or `None` to go on as a CNI plugin.
pub fn by_hand(args: &[String], cni_variables: bool) -> Option<(String, bool)> {
    match args.first().map(String::as_str) {
        Some("-V" | "--version") => Some((format!("userspace {VERSION}\n"), true)),
        Some("-h" | "--help") => Some((help(), true)),
        _ if !cni_variables => Some((
            format!(
                "{}Run by a container runtime; see `userspace --help`.\n",
                about()
            ),
            false,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(&["--version"], true, "userspace 0.")]
    #[case(&["-h"], true, "CNI_CONTAINERID")]
    #[case(&[], false, "CNI protocol versions supported: 0.1.0, 0.2.0")]
    fn by_hand_answers(#[case] args: &[&str], #[case] stdout: bool, #[case] has: &str) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (text, to_stdout) = by_hand(&args, false).unwrap();
        assert_eq!(to_stdout, stdout);
        assert!(text.contains(has), "{text}");
    }

    #[test]
    fn with_cni_variables_it_is_a_plugin() {
        assert!(by_hand(&[], true).is_none());
    }
}
