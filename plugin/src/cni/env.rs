//! The `CNI_*` environment: which command, for which attachment.

use std::path::PathBuf;

use super::error::{CniError, ErrorCode};

/// The CNI operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Version,
    Gc,
    Status,
}

impl Command {
    fn parse(s: &str) -> Option<Command> {
        Some(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "VERSION" => Command::Version,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            _ => return None,
        })
    }

    /// Whether the command is about one attachment (container id + ifname).
    pub fn is_per_attachment(self) -> bool {
        matches!(self, Command::Add | Command::Del | Command::Check)
    }
}

/// Longest container id accepted: ids become file names (with the ifname and a suffix)
/// and must stay well inside NAME_MAX.
pub const MAX_CONTAINER_ID: usize = 128;
/// IFNAMSIZ - 1, as the CNI spec and the kernel have it.
pub const MAX_IF_NAME: usize = 15;

/// The validated environment of one plugin invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub command: Command,
    pub container_id: String,
    pub netns: String,
    pub if_name: String,
    pub args: Vec<(String, String)>,
    pub path: Vec<PathBuf>,
}

impl Environment {
    /// Reads the process environment.
    pub fn from_process() -> Result<Environment, CniError> {
        Environment::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads and validates the environment through `get` (the process env, or a map in
    /// tests). Errors use code 4 (invalid environment variables), as the spec has it.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Environment, CniError> {
        let invalid = |msg: String| CniError::new("", ErrorCode::InvalidEnvironment, msg);
        let value = |k: &str| get(k).unwrap_or_default();
        let command_text = value("CNI_COMMAND");
        if command_text.is_empty() {
            return Err(invalid(
                "required env variables [CNI_COMMAND] missing".into(),
            ));
        }
        let command = Command::parse(&command_text)
            .ok_or_else(|| invalid(format!("unknown CNI_COMMAND: {command_text}")))?;
        let env = Environment {
            command,
            container_id: value("CNI_CONTAINERID"),
            netns: value("CNI_NETNS"),
            if_name: value("CNI_IFNAME"),
            args: parse_args(&value("CNI_ARGS")).map_err(invalid)?,
            path: std::env::split_paths(&value("CNI_PATH"))
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
        };
        let mut missing = Vec::new();
        let required: &[(&str, &str)] = match command {
            Command::Add | Command::Check => &[
                ("CNI_CONTAINERID", &env.container_id),
                ("CNI_NETNS", &env.netns),
                ("CNI_IFNAME", &env.if_name),
                ("CNI_PATH", if env.path.is_empty() { "" } else { "set" }),
            ],
            Command::Del => &[
                ("CNI_CONTAINERID", &env.container_id),
                ("CNI_IFNAME", &env.if_name),
                ("CNI_PATH", if env.path.is_empty() { "" } else { "set" }),
            ],
            Command::Version | Command::Gc | Command::Status => &[],
        };
        for (name, v) in required {
            if v.is_empty() {
                missing.push(*name);
            }
        }
        if !missing.is_empty() {
            return Err(invalid(format!(
                "required env variables [{}] missing",
                missing.join(",")
            )));
        }
        if command.is_per_attachment() {
            validate_container_id(&env.container_id).map_err(invalid)?;
            validate_if_name(&env.if_name).map_err(invalid)?;
        }
        Ok(env)
    }

    /// First 12 characters of the container id, as the original plugin names files.
    pub fn id12(&self) -> &str {
        short_id(&self.container_id)
    }
}

/// The first 12 characters of a (validated, ASCII) container id.
pub fn short_id(container_id: &str) -> &str {
    &container_id[..container_id.len().min(12)]
}

/// Container ids as the spec defines them: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, bounded. This
/// also keeps them safe as file-name components (no `/`, never `.` or `..`).
pub fn validate_container_id(id: &str) -> Result<(), String> {
    let bytes = id.as_bytes();
    let ok_first = bytes.first().is_some_and(|b| b.is_ascii_alphanumeric());
    let ok_rest = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok_first || !ok_rest {
        return Err(format!("invalid characters in containerID {id:?}"));
    }
    if id.len() > MAX_CONTAINER_ID {
        return Err(format!(
            "containerID is too long ({} > {MAX_CONTAINER_ID} characters)",
            id.len()
        ));
    }
    Ok(())
}

/// Interface names as the spec and the kernel allow them.
pub fn validate_if_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("interface name is empty".into());
    }
    if name.len() > MAX_IF_NAME {
        return Err(format!(
            "interface name {name:?} is too long ({} > {MAX_IF_NAME} bytes)",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("interface name {name:?} is . or .."));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        return Err(format!(
            "interface name {name:?} contains / or : or whitespace characters"
        ));
    }
    Ok(())
}

/// `CNI_ARGS`: `K=V;K2=V2`.
fn parse_args(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(';')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("CNI_ARGS: invalid pair {pair:?}, want KEY=VALUE")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Environment, CniError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Environment::from_lookup(|k| map.get(k).cloned())
    }

    const ADD: &[(&str, &str)] = &[
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "0123456789abcdef"),
        ("CNI_NETNS", "/var/run/netns/x"),
        ("CNI_IFNAME", "net1"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
        ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=p"),
    ];

    fn with(overrides: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = ADD
            .iter()
            .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
            .copied()
            .collect();
        v.extend(overrides.iter().filter(|(_, val)| !val.is_empty()));
        v
    }

    #[test]
    fn full_add_env() {
        let e = env(ADD).unwrap();
        assert_eq!(e.command, Command::Add);
        assert_eq!(e.id12(), "0123456789ab");
        assert_eq!(e.path.len(), 2);
        assert_eq!(e.args[1], ("K8S_POD_NAME".into(), "p".into()));
    }

    #[rstest]
    #[case(&[("CNI_COMMAND", "")], "required env variables [CNI_COMMAND] missing")]
    #[case(&[("CNI_COMMAND", "ATTACH")], "unknown CNI_COMMAND: ATTACH")]
    #[case(&[("CNI_NETNS", ""), ("CNI_IFNAME", "")], "required env variables [CNI_NETNS,CNI_IFNAME] missing")]
    #[case(&[("CNI_CONTAINERID", "../../etc")], "invalid characters in containerID \"../../etc\"")]
    #[case(&[("CNI_CONTAINERID", "a/b")], "invalid characters in containerID \"a/b\"")]
    #[case(&[("CNI_CONTAINERID", ".hidden")], "invalid characters in containerID \".hidden\"")]
    #[case(&[("CNI_IFNAME", "..")], "interface name \"..\" is . or ..")]
    #[case(&[("CNI_IFNAME", "a/b")], "interface name \"a/b\" contains / or : or whitespace characters")]
    #[case(&[("CNI_IFNAME", "a b")], "interface name \"a b\" contains / or : or whitespace characters")]
    #[case(&[("CNI_IFNAME", "sixteen-chars-xx")], "interface name \"sixteen-chars-xx\" is too long (16 > 15 bytes)")]
    #[case(&[("CNI_ARGS", "novalue")], "CNI_ARGS: invalid pair \"novalue\", want KEY=VALUE")]
    fn rejects(#[case] overrides: &[(&'static str, &'static str)], #[case] msg: &str) {
        let err = env(&with(overrides)).unwrap_err();
        assert_eq!(err.code, 4);
        assert_eq!(err.msg, msg);
    }

    #[test]
    fn over_long_container_id() {
        let id: &'static str = Box::leak("a".repeat(129).into_boxed_str());
        let err = env(&with(&[("CNI_CONTAINERID", id)])).unwrap_err();
        assert_eq!(err.msg, "containerID is too long (129 > 128 characters)");
    }

    #[test]
    fn del_needs_no_netns_and_version_needs_nothing() {
        assert!(env(&with(&[("CNI_COMMAND", "DEL"), ("CNI_NETNS", "")])).is_ok());
        assert!(env(&[("CNI_COMMAND", "VERSION")]).is_ok());
        assert!(env(&[("CNI_COMMAND", "GC")]).is_ok());
    }

    #[test]
    fn short_ids_are_kept_whole() {
        assert_eq!(short_id("abc"), "abc");
    }
}
