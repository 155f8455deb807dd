//! A user of the original plugin replaces it with this one: the netconfs, log lines and
//! messages they relied on still hold. These cases need no vswitch (those that reach one
//! find none there and stop).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rstest::rstest;
use serde_json::{json, Value};

const REFERENCE: &str = include_str!("../../scenarios/vpp-memif/netconf.json");
const ID: &str = "0123456789abcdef0123";

struct Host {
    root: tempfile::TempDir,
}

struct Run {
    out: Value,
    ok: bool,
    stderr: String,
}

impl Host {
    fn new() -> Host {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("netns"), b"").unwrap();
        Host { root }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.root.path().join(p)
    }

    /// The reference netconf, without IPAM, pointed into this temp host.
    fn netconf(&self, patch: Value) -> Value {
        let mut v: Value = serde_json::from_str(REFERENCE).unwrap();
        v.as_object_mut().unwrap().remove("ipam");
        v["sharedDir"] = json!(self.path("shared"));
        v["dataDir"] = json!(self.path("data"));
        v["host"]["apiSocket"] = json!(self.path("vpp/api.sock"));
        v["timeoutMs"] = json!(300);
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    }

    fn run(&self, command: &str, stdin: &[u8]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_userspace"))
            .env_clear()
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", ID)
            .env("CNI_NETNS", self.path("netns"))
            .env("CNI_IFNAME", "net1")
            .env("CNI_PATH", self.path("bin"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        Run {
            out: serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {text}")),
            ok: out.status.success(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn add(&self, conf: &Value) -> Run {
        self.run("ADD", &serde_json::to_vec(conf).unwrap())
    }
}

/// `<RFC3339 time> [<level>] <message>`, as the original wrote its lines.
fn is_log_line(line: &str) -> bool {
    let Some((time, rest)) = line.split_once(' ') else {
        return false;
    };
    let b = time.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (time.ends_with('Z') || matches!(b[b.len() - 6], b'+' | b'-'));
    let level = ["panic", "error", "warning", "info", "debug", "verbose"]
        .iter()
        .any(|l| rest.starts_with(&format!("[{l}] ")));
    shape && level
}

#[test]
fn log_lines_go_to_stderr_and_are_appended_to_the_log_file() {
    let h = Host::new();
    let file = h.path("userspace.log");
    let conf = h.netconf(json!({"logLevel": "Debug", "logFile": file}));
    let first = h.add(&conf);
    assert!(!first.ok, "no vswitch: {}", first.out);
    let lines: Vec<&str> = first.stderr.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(is_log_line(l), "not the original's layout: {l:?}");
    }
    assert!(lines.iter().any(|l| l.contains(" [debug] ")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(" [error] ")), "{lines:?}");
    let logged = std::fs::read_to_string(&file).unwrap();
    assert_eq!(logged, first.stderr, "the file holds the same lines");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    // A second run appends.
    let second = h.add(&conf);
    let logged = std::fs::read_to_string(&file).unwrap();
    assert_eq!(logged, format!("{}{}", first.stderr, second.stderr));
}

/// `panic` writes panics only: the failed ADD's error line is filtered out, and shows
/// at `error`.
#[rstest]
#[case("panic", false)]
#[case("error", true)]
#[case("WARNING", true)]
fn levels_filter_as_the_original_did(#[case] level: &str, #[case] errors_shown: bool) {
    let h = Host::new();
    let r = h.add(&h.netconf(json!({"logLevel": level})));
    assert!(!r.ok);
    assert_eq!(r.stderr.contains(" [error] "), errors_shown, "{}", r.stderr);
    assert!(!r.stderr.contains(" [debug] "), "{}", r.stderr);
}

#[test]
fn a_bad_level_or_file_is_said_in_the_original_words() {
    let h = Host::new();
    let file = h.path("no-such-dir/userspace.log");
    let r = h.add(&h.netconf(json!({"logLevel": "loud", "logFile": file})));
    // Still only a log matter: ADD goes on (and finds no vswitch).
    assert_eq!(r.out["code"], 11, "{}", r.out);
    let said: Vec<&str> = r.stderr.lines().collect();
    assert!(
        said.contains(&"Userspace-CNI logging: cannot set logging level to loud"),
        "{said:?}"
    );
    let open = format!("Userspace-CNI logging: cannot open {}", file.display());
    assert!(said.iter().any(|l| l.starts_with(&open)), "{said:?}");
    // The old level (warning) stays: the error is logged.
    assert!(r.stderr.contains(" [error] "), "{}", r.stderr);
}

#[test]
fn an_unreachable_vpp_is_said_in_the_original_words() {
    let h = Host::new();
    let r = h.add(&h.netconf(json!({})));
    assert_eq!(r.out["code"], 11, "{}", r.out);
    let want = format!(
        "VPP API socket file {} does not exist (",
        h.path("vpp/api.sock").display()
    );
    let msg = r.out["msg"].as_str().unwrap();
    assert!(msg.starts_with(&want), "{msg}");
}

/// The pod's shared directory cannot be looked at, or made: Go's `stat`/`mkdir` words.
#[rstest]
#[case::stat("stat")]
#[case::mkdir("mkdir")]
fn shared_directory_errors_lead_with_the_original_words(#[case] op: &str) {
    let h = Host::new();
    let (shared, dir) = match op {
        // The base is a file: the pod's directory under it cannot be looked at.
        "stat" => {
            std::fs::write(h.path("shared"), b"").unwrap();
            (h.path("shared"), h.path("shared/0123456789ab"))
        }
        // The pod's directory is a file.
        _ => {
            std::fs::create_dir(h.path("shared")).unwrap();
            std::fs::write(h.path("shared/0123456789ab"), b"").unwrap();
            (h.path("shared"), h.path("shared/0123456789ab"))
        }
    };
    let r = h.add(&h.netconf(json!({"sharedDir": shared})));
    assert_eq!(r.out["code"], 5, "{}", r.out);
    let want = format!("{op} {}: not a directory (", dir.display());
    let msg = r.out["msg"].as_str().unwrap();
    assert!(msg.starts_with(&want), "{msg}");
    let records = std::fs::read_dir(h.path("data"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != ".lock")
        .count();
    assert_eq!(records, 0, "the failed ADD removed its record");
}

#[rstest]
#[case::group(
    json!({"engine": "vpp", "iftype": "vhostuser", "netType": "bridge", "bridge": {"bridgeId": 4}, "vhost": {"group": "no-such-group-here"}}),
    "group: unknown group no-such-group-here"
)]
#[case::ovs_interface(
    json!({"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"}),
    "ERROR: HostConf.NetType \"interface\" not supported. ("
)]
fn netconf_errors_lead_with_the_original_words(#[case] host: Value, #[case] want: &str) {
    let h = Host::new();
    let r = h.add(&h.netconf(json!({"host": host, "container": {}})));
    assert_eq!(r.out["code"], 7, "{}", r.out);
    let msg = r.out["msg"].as_str().unwrap();
    assert!(msg.starts_with(want), "{msg}");
}

/// `"host"` given twice: Go decoded both into one host side, so the netconf is valid
/// (ADD gets as far as the vswitch, which is not there).
#[test]
fn a_key_given_twice_merges_as_go_did() {
    let h = Host::new();
    let mut conf = h.netconf(json!({}));
    let host = conf.as_object_mut().unwrap().remove("host").unwrap();
    let text = serde_json::to_string(&conf).unwrap();
    let split =
        json!({"engine": host["engine"], "iftype": host["iftype"], "apiSocket": host["apiSocket"]});
    let rest =
        json!({"netType": host["netType"], "memif": host["memif"], "bridge": host["bridge"]});
    let text = format!(
        "{},\"host\":{split},\"host\":{rest}}}",
        &text[..text.len() - 1]
    );
    let r = h.run("ADD", text.as_bytes());
    assert_eq!(r.out["code"], 11, "the netconf is accepted: {}", r.out);
}
