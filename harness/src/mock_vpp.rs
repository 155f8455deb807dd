//! A mock-vpp process owned by the harness: started in a directory, stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{bins, Error, Result};

pub struct MockVpp {
    child: Child,
    socket: PathBuf,
}

impl MockVpp {
    /// Starts mock-vpp with its API socket at `socket` and waits until it accepts
    /// connections.
    pub fn start(socket: &Path) -> Result<MockVpp> {
        MockVpp::start_with(socket, &[])
    }

    /// Starts mock-vpp with extra arguments (e.g. `--fault fail:memif_create_v2`).
    pub fn start_with(socket: &Path, args: &[&str]) -> Result<MockVpp> {
        let bin = bins::binary("mock-vpp", "mock-vpp")?;
        let child = Command::new(&bin)
            .arg("--api-socket")
            .arg(socket)
            .args(["--log-level", "error"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| Error::Spawn("mock-vpp".into(), e))?;
        let mut mock = MockVpp {
            child,
            socket: socket.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if let Some(status) = mock.child.try_wait().ok().flatten() {
                return Err(Error::Exited("mock-vpp".into(), status.to_string()));
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout("mock-vpp to listen".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(mock)
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it with SIGTERM and waits.
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        if self.child.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(Error::Timeout("mock-vpp to stop".into()))
    }
}

impl Drop for MockVpp {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}
