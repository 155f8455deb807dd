//! Pods as Docker containers, driven through the engine's API (`bollard`).
//!
//! There is no registry: the pod image is built locally from the workspace's own static
//! binaries (see [`crate::images`]). A container starts with no network (`none`); the
//! plugin, on the host, attaches to its network namespace (`/proc/<pid>/ns/net`), and the
//! pod's shared directory is bind-mounted where the original demo mounted it.

use std::collections::HashMap;
use std::path::Path;

use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::{Backend, ExecOutput, Mount, Pod};
use crate::images::POD_IMAGE;
use crate::{Error, Result};

/// The pod's shared directory inside the container.
pub const POD_SHARED_DIR: &str = "/var/lib/cni/usrspcni";
/// The pod vswitch's API socket inside the container.
pub const POD_API_SOCKET: &str = "/run/vpp/api.sock";
/// The pod vswitch's CLI socket inside the container, where VPP's `vppctl` looks.
pub const POD_CLI_SOCKET: &str = "/run/vpp/cli.sock";
const LABEL: &str = "userspace-cni.harness.run";

pub struct DockerBackend {
    docker: Docker,
    rt: tokio::runtime::Runtime,
    run_id: String,
    /// Containers are named exactly as the scenario names its pods (`harness up`),
    /// instead of `usrsp-<run id>-<pod>`.
    exact_names: bool,
}

fn docker_error(what: &str) -> impl FnOnce(bollard::errors::Error) -> Error + '_ {
    move |e| Error::Command(format!("docker {what}"), e.to_string())
}

impl DockerBackend {
    /// Connects to the local engine and checks that it answers.
    pub fn connect(run_id: &str) -> Result<DockerBackend> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let docker = Docker::connect_with_local_defaults().map_err(docker_error("connect"))?;
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(3), docker.ping())
                .await
                .map_err(|_| Error::Timeout("docker engine ping".into()))?
                .map_err(docker_error("ping"))
        })?;
        Ok(DockerBackend {
            docker,
            rt,
            run_id: run_id.into(),
            exact_names: false,
        })
    }

    /// Names containers exactly as their pods (`vppDemo_1`), as the tutorial does.
    pub fn with_exact_names(mut self) -> DockerBackend {
        self.exact_names = true;
        self
    }

    /// Removes every container (running or not) labelled with `run_id`; their names.
    pub fn remove_run(&self, run_id: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label", vec![format!("{LABEL}={run_id}")])]);
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .rt
            .block_on(self.docker.list_containers(Some(opts)))
            .map_err(docker_error("list"))?;
        let mut names = Vec::new();
        for c in list {
            let id = c.id.unwrap_or_default();
            let remove = RemoveContainerOptionsBuilder::default().force(true).build();
            self.rt
                .block_on(self.docker.remove_container(&id, Some(remove)))
                .map_err(docker_error("remove"))?;
            let name = c
                .names
                .and_then(|n| n.first().cloned())
                .unwrap_or(id)
                .trim_start_matches('/')
                .to_string();
            names.push(name);
        }
        Ok(names)
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

struct DockerPod {
    name: String,
    id: String,
    pid: i64,
    docker: Docker,
    rt: tokio::runtime::Handle,
}

impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn create_pod(
        &mut self,
        name: &str,
        shared_dir: &Path,
        _vswitch: bool,
    ) -> Result<Box<dyn Pod>> {
        self.create(
            name,
            vec![format!("{}:{POD_SHARED_DIR}", shared_dir.display())],
            vec![format!("USRSP_SHARED_DIR={POD_SHARED_DIR}")],
        )
    }

    fn create_pod_mounted(
        &mut self,
        name: &str,
        mounts: &[Mount],
        env: &[(String, String)],
        _vswitch: bool,
    ) -> Result<Box<dyn Pod>> {
        let binds = mounts
            .iter()
            .map(|m| {
                let propagation = if m.from_host { ":rslave" } else { "" };
                format!("{}:{}{propagation}", m.source.display(), m.target)
            })
            .collect();
        let env = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.create(name, binds, env)
    }

    fn leftovers(&self) -> Vec<String> {
        let filters = HashMap::from([("label", vec![format!("{LABEL}={}", self.run_id)])]);
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        match self.rt.block_on(self.docker.list_containers(Some(opts))) {
            Ok(list) => list
                .into_iter()
                .map(|c| format!("container {}", c.id.unwrap_or_default()))
                .collect(),
            Err(e) => vec![format!("cannot list containers: {e}")],
        }
    }
}

impl DockerBackend {
    /// A pod container with host directories bound (`src:dst`) and extra environment.
    fn create(&mut self, name: &str, binds: Vec<String>, env: Vec<String>) -> Result<Box<dyn Pod>> {
        let container = if self.exact_names {
            name.to_string()
        } else {
            format!("usrsp-{}-{name}", self.run_id)
        };
        let labels = HashMap::from([(LABEL.to_string(), self.run_id.clone())]);
        let body = ContainerCreateBody {
            image: Some(POD_IMAGE.to_string()),
            // The pod's own vswitch is also its long-running process.
            cmd: Some(vec![
                "/bin/mock-vpp".into(),
                "--api-socket".into(),
                POD_API_SOCKET.into(),
                "--cli-socket".into(),
                POD_CLI_SOCKET.into(),
            ]),
            env: Some(
                [format!("VPP_API_SOCKET={POD_API_SOCKET}")]
                    .into_iter()
                    .chain(env)
                    .collect(),
            ),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                binds: Some(binds),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&container)
            .build();
        let docker = self.docker.clone();
        let pid = self.rt.block_on(async {
            let created = docker
                .create_container(Some(opts), body)
                .await
                .map_err(|e| match e {
                    bollard::errors::Error::DockerResponseServerError {
                        status_code: 409, ..
                    } => Error::Check(format!(
                        "a container named {container} exists already (`docker rm -f {container}` \
                         if it is a leftover; `harness down` removes the pods of `harness up`)"
                    )),
                    e => docker_error("create")(e),
                })?;
            docker
                .start_container(&created.id, None)
                .await
                .map_err(docker_error("start"))?;
            let info = docker
                .inspect_container(&created.id, None)
                .await
                .map_err(docker_error("inspect"))?;
            let pid = info.state.and_then(|s| s.pid).unwrap_or(0);
            Ok::<_, Error>((created.id, pid))
        })?;
        let (id, pid) = pid;
        if pid <= 0 {
            return Err(Error::Check(format!(
                "{name}: container {id} has no process"
            )));
        }
        let mut pod = DockerPod {
            name: name.into(),
            id,
            pid,
            docker: self.docker.clone(),
            rt: self.rt.handle().clone(),
        };
        // Wait until the pod's vswitch listens.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let probe = pod.exec(&["/bin/vppctl".into(), "show version".into()])?;
            if probe.success {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "{name}: pod vswitch: {}",
                    probe.output
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(Box::new(pod))
    }
}

impl Pod for DockerPod {
    fn name(&self) -> &str {
        &self.name
    }

    fn netns(&self) -> String {
        format!("/proc/{}/ns/net", self.pid)
    }

    fn exec(&mut self, argv: &[String]) -> Result<ExecOutput> {
        let mut argv = argv.to_vec();
        if let Some(first) = argv.first_mut() {
            if !first.starts_with('/') {
                *first = format!("/bin/{first}");
            }
        }
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(argv),
            ..Default::default()
        };
        let (docker, id) = (self.docker.clone(), self.id.clone());
        self.rt.block_on(async move {
            let exec = docker
                .create_exec(&id, config)
                .await
                .map_err(docker_error("exec"))?;
            let mut output = String::new();
            if let bollard::exec::StartExecResults::Attached {
                output: mut stream, ..
            } = docker
                .start_exec(&exec.id, None)
                .await
                .map_err(docker_error("exec start"))?
            {
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(docker_error("exec output"))?;
                    output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                }
            }
            let info = docker
                .inspect_exec(&exec.id)
                .await
                .map_err(docker_error("exec inspect"))?;
            Ok(ExecOutput {
                success: info.exit_code == Some(0),
                output,
            })
        })
    }

    fn remove(self: Box<Self>) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
        self.rt
            .block_on(self.docker.remove_container(&self.id, Some(opts)))
            .map_err(docker_error("remove"))
    }
}
