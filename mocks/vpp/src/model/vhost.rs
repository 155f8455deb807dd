//! vhost-user interfaces as VPP's vhost plugin (vhost_user.c, vhost_user_api.c) makes
//! them: the control socket is real (a server listens on its path), no frontend is ever
//! served, so the link stays down.

use std::os::fd::OwnedFd;
use std::path::Path;

use vpp_api::retval::*;

use super::{Counters, Device, Interface, TagRewrite, Vpp};

#[derive(Debug)]
pub struct VhostUser {
    pub is_server: bool,
    pub sock_filename: String,
    /// The listening socket of a server interface (VPP binds and listens on the path).
    pub listener: Option<OwnedFd>,
    /// The device instance (a pool slot); the interface is named after it unless renumbered.
    pub instance: u32,
}

/// What `create_vhost_user_if(_v2)` asks for.
#[derive(Debug, Clone, Default)]
pub struct VhostParams {
    pub is_server: bool,
    pub sock_filename: String,
    /// `use_custom_mac`: this MAC, else VPP picks one in 02:fe:xx:xx:xx:xx.
    pub mac: Option<[u8; 6]>,
    /// A non-empty tag becomes the interface tag.
    pub tag: String,
    /// `renumber`: show the interface as `VirtualEthernet0/0/<this>`.
    pub renumber: Option<u32>,
}

impl Vpp {
    /// `create_vhost_user_if(_v2)`: Ok(sw_if_index), or Err((retval, sw_if_index for the
    /// reply)): ~0, except for a socket path already in use (−79) where VPP names the
    /// interface that has it. Server sockets: socket −11, bind −12, listen −13.
    pub fn vhost_create(&mut self, p: VhostParams) -> Result<u32, (i32, u32)> {
        if p.sock_filename.is_empty() {
            return Err((INVALID_ARGUMENT, u32::MAX));
        }
        let taken = self.interfaces.values().find(
            |i| matches!(&i.device, Device::VhostUser(v) if v.sock_filename == p.sock_filename),
        );
        if let Some(i) = taken {
            return Err((IF_ALREADY_EXISTS, i.sw_if_index));
        }
        let listener = if p.is_server {
            let _ = std::fs::remove_file(&p.sock_filename);
            let fd = crate::sock::listen_stream(Path::new(&p.sock_filename))
                .map_err(|_| (SYSCALL_ERROR_2, u32::MAX))?;
            Some(fd)
        } else {
            None
        };
        let instance = self.ids.vhost.get();
        let sw = self.ids.sw_if.get();
        let mac = match p.mac {
            Some(m) => m,
            None => self.random_mac(),
        };
        self.interfaces.insert(
            sw,
            Interface {
                sw_if_index: sw,
                name: format!("VirtualEthernet0/0/{}", p.renumber.unwrap_or(instance)),
                mac,
                admin_up: false,
                link_up: false,
                mtu: 9000,
                addresses: Vec::new(),
                bridge: None,
                vtr: TagRewrite::default(),
                tag: p.tag,
                device: Device::VhostUser(VhostUser {
                    is_server: p.is_server,
                    sock_filename: p.sock_filename,
                    listener,
                    instance,
                }),
                counters: Counters::default(),
            },
        );
        Ok(sw)
    }

    /// `delete_vhost_user_if`: −2 unless `sw` is a vhost-user interface. A server's
    /// socket file goes with it.
    pub fn vhost_delete(&mut self, sw: u32) -> Result<(), i32> {
        let i = self.remove_interface(sw, "vhost-user")?;
        if let Device::VhostUser(v) = i.device {
            self.ids.vhost.put(v.instance);
            if v.listener.is_some() {
                let _ = std::fs::remove_file(&v.sock_filename);
            }
        }
        Ok(())
    }
}
