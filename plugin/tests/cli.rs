//! The `userspace` binary as a runtime sees it: env + stdin in, one JSON document out.
//! These cases need no vswitch: every one fails (or answers) before touching one, and
//! must leave nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rstest::rstest;
use serde_json::{json, Value};

const REFERENCE: &str = include_str!("../../scenarios/vpp-memif/netconf.json");
const ID: &str = "0123456789abcdef0123";

struct Host {
    root: tempfile::TempDir,
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

    /// The reference netconf with everything pointed into this temp host.
    fn netconf(&self, patch: Value) -> Value {
        let mut v: Value = serde_json::from_str(REFERENCE).unwrap();
        v["sharedDir"] = json!(self.path("shared"));
        v["dataDir"] = json!(self.path("data"));
        v["host"]["apiSocket"] = json!(self.path("vpp/api.sock"));
        v["timeoutMs"] = json!(300);
        merge(&mut v, patch);
        v
    }

    fn run(&self, command: &str, stdin: &[u8], env: &[(&str, &str)]) -> (Value, bool) {
        let netns = self.path("netns");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_userspace"));
        cmd.env_clear()
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", ID)
            .env("CNI_NETNS", &netns)
            .env("CNI_IFNAME", "net1")
            .env("CNI_PATH", self.path("bin"));
        for (k, v) in env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text}"))
        };
        (value, out.status.success())
    }

    /// Nothing but the lock file (and the netns placeholder) may exist.
    fn assert_untouched(&self) {
        let mut found = Vec::new();
        walk(self.root.path(), &mut found);
        found.retain(|p| {
            !p.ends_with("netns") && !p.ends_with("data/.lock") && !p.ends_with("data")
        });
        assert!(found.is_empty(), "left behind: {found:?}");
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        }
        out.push(p);
    }
}

fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(p) => {
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else if v.is_object() && t.get(&k).is_some_and(Value::is_object) {
                    merge(t.get_mut(&k).unwrap(), v);
                } else {
                    t.insert(k, v);
                }
            }
        }
        other => *target = other,
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

#[test]
fn version_lists_every_supported_version() {
    let h = Host::new();
    let (out, ok) = h.run("VERSION", br#"{"cniVersion":"0.3.1"}"#, &[]);
    assert!(ok);
    assert_eq!(out["cniVersion"], "1.1.0");
    assert_eq!(
        out["supportedVersions"],
        json!(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
    );
}

#[rstest]
#[case::no_command(&[("CNI_COMMAND", "")], 4, "required env variables [CNI_COMMAND] missing")]
#[case::no_ifname(&[("CNI_IFNAME", "")], 4, "required env variables [CNI_IFNAME] missing")]
#[case::traversal_id(&[("CNI_CONTAINERID", "../../../etc")], 4, "invalid characters in containerID \"../../../etc\"")]
#[case::slash_ifname(&[("CNI_IFNAME", "../x")], 4, "interface name \"../x\" contains / or : or whitespace characters")]
#[case::long_ifname(&[("CNI_IFNAME", "abcdefghijklmnop")], 4, "interface name \"abcdefghijklmnop\" is too long (16 > 15 bytes)")]
fn bad_environment(#[case] env: &[(&str, &str)], #[case] code: u64, #[case] msg: &str) {
    let h = Host::new();
    let (out, ok) = h.run("ADD", &bytes(&h.netconf(json!({}))), env);
    assert!(!ok);
    assert_eq!(out["code"], code, "{out}");
    assert_eq!(out["msg"], msg);
    assert_eq!(out["cniVersion"], "0.3.1");
    h.assert_untouched();
}

#[rstest]
#[case::not_json(b"{not json".to_vec(), 6, "failed to load netconf: key must be a string at line 1 column 2")]
#[case::wrong_type(br#"{"cniVersion":"0.3.1","host":{"bridge":{"bridgeId":"4"}}}"#.to_vec(), 6, "failed to load netconf: invalid type: string \"4\", expected i64")]
#[case::unknown_version(br#"{"cniVersion":"0.9.0","host":{"engine":"vpp"}}"#.to_vec(), 1, "incompatible CNI versions")]
fn bad_documents(#[case] stdin: Vec<u8>, #[case] code: u64, #[case] msg: &str) {
    let h = Host::new();
    let (out, ok) = h.run("ADD", &stdin, &[]);
    assert!(!ok);
    assert_eq!(out["code"], code, "{out}");
    assert_eq!(out["msg"], msg);
    h.assert_untouched();
}

#[rstest]
#[case::check_before_0_4("CHECK", "0.3.1", "config version 0.3.1 does not allow CHECK")]
#[case::gc_before_1_1("GC", "1.0.0", "config version 1.0.0 does not allow GC")]
#[case::status_before_1_1("STATUS", "0.4.0", "config version 0.4.0 does not allow STATUS")]
fn commands_the_version_lacks(#[case] command: &str, #[case] version: &str, #[case] msg: &str) {
    let h = Host::new();
    let (out, ok) = h.run(
        command,
        &bytes(&h.netconf(json!({"cniVersion": version}))),
        &[],
    );
    assert!(!ok);
    assert_eq!(out["code"], 1);
    assert_eq!(out["msg"], msg);
    h.assert_untouched();
}

#[rstest]
#[case::engine(json!({"host": {"engine": "snabb"}}), "ERROR: Unknown Host Engine:snabb")]
#[case::iftype(json!({"host": {"iftype": "tap"}}), "ERROR: Unknown HostConf.IfType:tap")]
#[case::role(json!({"host": {"memif": {"role": "primary"}}}), "ERROR: Invalid MEMIF Role:primary")]
#[case::mode(json!({"host": {"memif": {"mode": "raw"}}}), "ERROR: Invalid MEMIF Mode:raw")]
#[case::bridge(json!({"host": {"bridge": {"bridgeId": 99999999}}}), "ERROR: Invalid bridge domain id:99999999 (1 to 16777215)")]
#[case::socketfile(json!({"host": {"memif": {"socketfile": "/etc/passwd"}}}), "ERROR: Invalid socketfile:/etc/passwd (a file name, not a path)")]
#[case::ipam_path(json!({"ipam": {"type": "../../bin/sh"}}), "IPAM: IPAM plugin \"../../bin/sh\" is not a plain plugin name")]
fn invalid_netconf(#[case] patch: Value, #[case] msg: &str) {
    let h = Host::new();
    let (out, ok) = h.run("ADD", &bytes(&h.netconf(patch)), &[]);
    assert!(!ok);
    assert_eq!(out["code"], 7, "{out}");
    assert_eq!(out["msg"], msg);
    h.assert_untouched();
}

#[test]
fn missing_ipam_plugin_fails_before_any_side_effect() {
    let h = Host::new();
    let (out, ok) = h.run("ADD", &bytes(&h.netconf(json!({}))), &[]);
    assert!(!ok);
    assert_eq!(out["code"], 7);
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .starts_with("IPAM: IPAM plugin \"host-local\" not found in CNI_PATH"),
        "{out}"
    );
    h.assert_untouched();
}

#[test]
fn missing_netns_is_refused() {
    let h = Host::new();
    let gone = h.path("no-such-netns");
    let (out, ok) = h.run(
        "ADD",
        &bytes(&h.netconf(json!({"ipam": null}))),
        &[("CNI_NETNS", gone.to_str().unwrap())],
    );
    assert!(!ok);
    assert_eq!(out["code"], 4);
    h.assert_untouched();
}

#[test]
fn unreachable_vswitch_is_try_again_later_and_leaves_nothing() {
    let h = Host::new();
    let (out, ok) = h.run("ADD", &bytes(&h.netconf(json!({"ipam": null}))), &[]);
    assert!(!ok);
    assert_eq!(out["code"], 11, "{out}");
    let msg = out["msg"].as_str().unwrap();
    // The original's words first, then which step and why.
    assert!(msg.starts_with("VPP API socket file "), "{msg}");
    assert!(
        msg.contains("(host interface: connect: vswitch unavailable at"),
        "{msg}"
    );
    h.assert_untouched();
}

#[test]
fn del_of_unknown_attachment_succeeds_and_status_reports_down() {
    let h = Host::new();
    // Nothing recorded, vswitch absent: DEL still has to reach the vswitch to be sure.
    let (out, ok) = h.run(
        "DEL",
        &bytes(&h.netconf(json!({"ipam": null}))),
        &[("CNI_NETNS", "")],
    );
    assert!(!ok, "{out}");
    assert_eq!(out["code"], 11);
    // A netconf this plugin could never have built anything from: nothing to do.
    let (_, ok) = h.run(
        "DEL",
        &bytes(&h.netconf(json!({"host": {"engine": "snabb"}}))),
        &[],
    );
    assert!(ok);
    let (out, ok) = h.run(
        "STATUS",
        &bytes(&h.netconf(json!({"cniVersion": "1.1.0", "ipam": null}))),
        &[],
    );
    assert!(!ok);
    assert_eq!(out["code"], 50, "{out}");
}

#[test]
fn check_of_unknown_attachment_is_code_3() {
    let h = Host::new();
    let (out, ok) = h.run(
        "CHECK",
        &bytes(&h.netconf(json!({"cniVersion": "1.0.0", "ipam": null}))),
        &[],
    );
    assert!(!ok);
    assert_eq!(out["code"], 3, "{out}");
}

#[test]
fn a_held_lock_is_try_again_later_not_a_hang() {
    let h = Host::new();
    std::fs::create_dir_all(h.path("data")).unwrap();
    let f = std::fs::File::create(h.path("data/.lock")).unwrap();
    let _held = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .expect("flock");
    let started = std::time::Instant::now();
    let (out, ok) = h.run(
        "ADD",
        &bytes(&h.netconf(json!({"ipam": null, "timeoutMs": 50}))),
        &[],
    );
    assert!(!ok);
    assert_eq!(out["code"], 11, "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    h.assert_untouched();
}
