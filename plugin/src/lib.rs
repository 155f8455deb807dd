//! The `userspace` CNI plugin: gives a container a userspace interface (memif or
//! vhost-user) on the host's vswitch, delegates its IP to an IPAM plugin, and hands the
//! container the data it needs to build its own end.
//!
//! It knows CNI and the netconf; it must not know any vswitch's wire protocol (VPP
//! messages, OVSDB rows): those stay behind [`engines::Engine`].
//!
//! Flow of one invocation: [`cni::Environment`] and [`netconf::NetConf`] are read,
//! [`plan::Plan`] validates everything and works out names and paths, a command in
//! [`commands`] runs the engine, IPAM and [`store`], and [`run`] turns the outcome into
//! stdout and an exit status. Errors are mapped to CNI codes once, in [`error`].

pub mod arena;
pub mod cni;
pub mod commands;
pub mod container_side;
pub mod error;
pub mod ipam;
pub mod kube;
pub mod logging;
pub mod netconf;
pub mod plan;
pub mod store;

use cni::{CniError, Command, Environment, ErrorCode, Version};
use error::Error;
use serde_json::{json, Value};

/// What the process prints on stdout, and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub success: bool,
}

impl Output {
    fn ok(value: Option<Value>) -> Output {
        Output {
            stdout: value.map(|v| format!("{v}\n")).unwrap_or_default(),
            success: true,
        }
    }

    fn error(e: &CniError) -> Output {
        Output {
            stdout: format!("{}\n", e.to_json()),
            success: false,
        }
    }
}

/// The cniVersion to answer errors in: the netconf's when readable, else the latest.
fn reply_version(stdin: &[u8]) -> String {
    serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| {
            v.as_object()?.iter().find_map(|(k, v)| {
                k.eq_ignore_ascii_case("cniVersion")
                    .then(|| v.as_str().map(str::to_string))
                    .flatten()
            })
        })
        .filter(|v| Version::parse(v).is_some_and(Version::is_supported))
        .unwrap_or_else(|| Version::LATEST.to_string())
}

/// DEL with a netconf that cannot be used at all.
fn del_unreadable(env: &Environment, stdin: &[u8]) -> Output {
    match commands::del_unreadable(env, stdin) {
        Ok(()) => Output::ok(None),
        Err(e) => Output::error(&e.to_cni(&reply_version(stdin))),
    }
}

/// Runs one plugin invocation. `init_logging` is false in tests that run many in one
/// process.
pub fn run(env: Result<Environment, CniError>, stdin: &[u8], init_logging: bool) -> Output {
    let answer_version = reply_version(stdin);
    let env = match env {
        Ok(e) => e,
        Err(e) => {
            return Output::error(&CniError {
                cni_version: answer_version,
                ..e
            })
        }
    };
    if env.command == Command::Version {
        return Output::ok(Some(json!({
            "cniVersion": Version::LATEST.to_string(),
            "supportedVersions": Version::supported_strings(),
        })));
    }
    let conf = match netconf::NetConf::parse(stdin) {
        Ok(c) => c,
        // ADD refuses such a netconf before any change: only a record can say otherwise.
        Err(_) if env.command == Command::Del => return del_unreadable(&env, stdin),
        Err(e) => return Output::error(&Error::Decode(e).to_cni(&answer_version)),
    };
    if init_logging {
        logging::init(&conf.log_level, &conf.log_file);
    }
    let version_text = if conf.cni_version.is_empty() {
        "0.1.0"
    } else {
        conf.cni_version.as_str()
    };
    let version = match Version::parse(version_text).filter(|v| v.is_supported()) {
        Some(v) => v,
        None if env.command == Command::Del => return del_unreadable(&env, stdin),
        None => {
            let e = CniError::new(
                &answer_version,
                ErrorCode::IncompatibleVersion,
                "incompatible CNI versions",
            )
            .with_details(format!(
                "config is {version_text:?}, plugin supports {:?}",
                Version::supported_strings()
            ));
            return Output::error(&e);
        }
    };
    let allowed = match env.command {
        Command::Check => version.has_check(),
        Command::Gc | Command::Status => version.has_gc_and_status(),
        _ => true,
    };
    if !allowed {
        let e = CniError::new(
            &answer_version,
            ErrorCode::IncompatibleVersion,
            format!(
                "config version {version} does not allow {}",
                format!("{:?}", env.command).to_uppercase()
            ),
        );
        return Output::error(&e);
    }
    let command = env.command;
    commands::reset_clock();
    let ctx = commands::Context {
        env,
        conf,
        stdin: stdin.to_vec(),
        version,
    };
    tracing::debug!(?command, container = %ctx.env.container_id, ifname = %ctx.env.if_name, "start");
    let outcome = match command {
        Command::Add => commands::add(&ctx).map(Some),
        Command::Del => commands::del(&ctx).map(|()| None),
        Command::Check => commands::check(&ctx).map(|()| None),
        Command::Gc => commands::gc(&ctx).map(|()| None),
        Command::Status => commands::status(&ctx).map(|()| None),
        Command::Version => unreachable!("answered above"),
    };
    match outcome {
        Ok(v) => Output::ok(v),
        Err(e) => {
            tracing::error!("{command:?} failed: {e}");
            Output::error(&e.to_cni(&version.to_string()))
        }
    }
}
