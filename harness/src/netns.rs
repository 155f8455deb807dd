//! Named network namespaces (`ip netns`) for pods; deleted on drop.

use std::path::PathBuf;
use std::process::Command;

use crate::{Error, Result};

pub struct Netns {
    name: String,
}

impl Netns {
    pub fn create(name: &str) -> Result<Netns> {
        let out = Command::new("ip")
            .args(["netns", "add", name])
            .output()
            .map_err(|e| Error::Spawn("ip netns add".into(), e))?;
        if !out.status.success() {
            return Err(Error::Command(
                format!("ip netns add {name}"),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(Netns { name: name.into() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from("/var/run/netns").join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .output();
    }
}
