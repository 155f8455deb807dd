//! DPDK testpmd forwarding over memif on this machine: a `txonly` memif client into an
//! `rxonly` memif server, rate read from the server's own periodic statistics (`Rx-pps`,
//! which DPDK computes from its TSC over each period).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "dpdk-testpmd";
const STATS_PERIOD_S: u32 = 1;
/// How long the server may take to create its socket file.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a testpmd may take to print its statistics and exit after SIGINT.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the statistics periods wanted.
const TRAFFIC_TIMEOUT: Duration = Duration::from_secs(20);

/// What became of a testpmd measurement.
pub enum Outcome {
    /// Frames per second the server received in each steady statistics period.
    Rates(Vec<f64>),
    NotInstalled,
    Failed(String),
}

/// Where `dpdk-testpmd` is on PATH, if anywhere.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(BINARY))
        .find(|p| p.is_file())
}

/// One testpmd, killed (and its runtime directory removed) when dropped.
pub struct Testpmd {
    pub child: Child,
    prefix: String,
}

impl Testpmd {
    /// `extra_eal` goes before `--`, `extra_app` after the common application arguments.
    fn spawn(
        binary: &Path,
        prefix: String,
        vdev: String,
        extra_eal: &[&str],
        extra_app: &[String],
        log: &Path,
    ) -> std::io::Result<Testpmd> {
        Testpmd::spawn_on(
            binary,
            prefix,
            &["-l", "0-1"],
            &[vdev],
            extra_eal,
            extra_app,
            log,
        )
    }

    /// As [`Testpmd::spawn`] with its own lcore list (`cores`) and any number of vdevs.
    pub fn spawn_on(
        binary: &Path,
        prefix: String,
        cores: &[&str],
        vdevs: &[String],
        extra_eal: &[&str],
        extra_app: &[String],
        log: &Path,
    ) -> std::io::Result<Testpmd> {
        let stats = format!("--stats-period={STATS_PERIOD_S}");
        let file_prefix = format!("--file-prefix={prefix}");
        let mut args: Vec<String> = cores.iter().map(|s| s.to_string()).collect();
        args.extend(
            ["--no-huge", "-m", "512", "--no-pci"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.extend(extra_eal.iter().map(|s| s.to_string()));
        args.push(file_prefix);
        args.extend(vdevs.iter().cloned());
        args.push("--".into());
        args.extend([
            "--total-num-mbufs=16384".to_string(),
            "--auto-start".into(),
            stats,
        ]);
        args.extend(extra_app.iter().cloned());
        let child = Command::new(binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log)?)
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Testpmd { child, prefix })
    }

    /// SIGINT, as testpmd expects; SIGKILL if it does not exit in time.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Testpmd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(&self.prefix));
    }
}

/// testpmd `txonly` (memif client, `len`-byte frames) into testpmd `rxonly` (memif
/// server): `samples` one-second rates from the server, after the first period with
/// traffic. The client's main lcore is 1, so the two forwarding lcores run on CPUs 1
/// (server) and 0 (client) instead of sharing one.
pub fn forward(len: usize, samples: usize) -> Outcome {
    let Some(binary) = find() else {
        return Outcome::NotInstalled;
    };
    match run(&binary, len, samples) {
        Ok(rates) => Outcome::Rates(rates),
        Err(e) => Outcome::Failed(e),
    }
}

fn run(binary: &Path, len: usize, samples: usize) -> Result<Vec<f64>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let socket = dir.path().join("memif.sock");
    let vdev = |role: &str| {
        format!(
            "--vdev=net_memif0,role={role},socket={},socket-abstract=no",
            socket.display()
        )
    };
    let tag = format!("fpsbench{}-{len}", std::process::id());
    let server_log = dir.path().join("server.log");
    let mut server = Testpmd::spawn(
        binary,
        format!("{tag}-rx"),
        vdev("server"),
        &[],
        &["--forward-mode=rxonly".into()],
        &server_log,
    )
    .map_err(|e| format!("{BINARY}: {e}"))?;
    let started = Instant::now();
    while !socket.exists() {
        if started.elapsed() > LISTEN_TIMEOUT || matches!(server.child.try_wait(), Ok(Some(_))) {
            return Err(format!("server did not listen: {}", last_line(&server_log)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let client_log = dir.path().join("client.log");
    let mut client = Testpmd::spawn(
        binary,
        format!("{tag}-tx"),
        vdev("client"),
        &["--main-lcore", "1"],
        &["--forward-mode=txonly".into(), format!("--txpkts={len}")],
        &client_log,
    )
    .map_err(|e| format!("{BINARY}: {e}"))?;
    // Traffic starts once the client has initialised (1-2 s); from then on, wait for the
    // first (partial) period and `samples` whole ones.
    let deadline = Instant::now() + TRAFFIC_TIMEOUT;
    while read_rates(&server_log).len() <= samples && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // The server first: its counters are only valid while the client is connected, and
    // a server whose client vanishes mid-traffic may crash (DPDK 22.11).
    server.stop();
    client.stop();
    let mut rates = read_rates(&server_log);
    rates.truncate(samples + 1);
    if rates.len() > 1 {
        rates.remove(0);
    }
    if rates.is_empty() {
        return Err(format!("no traffic seen: {}", last_line(&client_log)));
    }
    Ok(rates)
}

/// The non-zero `Rx-pps` figures in a testpmd log so far.
pub fn read_rates(log: &Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split("Rx-pps:").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .filter(|r| *r > 0.0)
        .collect()
}

pub fn last_line(log: &Path) -> String {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("(empty log)")
        .to_string()
}
