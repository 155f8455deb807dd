//! vhost-user interfaces as VPP's vhost plugin (vhost_user.c, vhost_user_api.c) makes
//! them: a server listens on its path, a client connects to it; with a data plane each
//! runs the back end of the protocol and carries frames (`dataplane::vhost`), the link
//! up while a front end's rings run. Without one (model tests) the socket is only
//! listened on.
//!
//! A pod's VPP may also attach as the driver: a virtio-user interface (`create
//! virtio-user`, the front end of the same protocol, as DPDK's `net_virtio_user`).

use std::os::fd::OwnedFd;
use std::path::Path;

use vpp_api::retval::*;

use super::{Counters, Device, Interface, TagRewrite, Vpp};
use crate::dataplane::vhost::{Role, VhostPort};

#[derive(Debug)]
pub struct VhostUser {
    pub is_server: bool,
    pub sock_filename: String,
    /// The listening socket of a server interface (VPP binds and listens on the path).
    pub listener: Option<OwnedFd>,
    /// The device instance (a pool slot); the interface is named after it unless renumbered.
    pub instance: u32,
    /// A virtio-user front end rather than a vhost-user back end.
    pub frontend: bool,
    /// The thread running the protocol and the rings (with a data plane).
    pub port: Option<crate::dataplane::vhost::VhostPort>,
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
    /// The driver side (virtio-user) instead of the device side.
    pub frontend: bool,
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
        let listener = if p.is_server && !p.frontend {
            let _ = std::fs::remove_file(&p.sock_filename);
            let fd = crate::sock::listen_stream(Path::new(&p.sock_filename))
                .map_err(|_| (SYSCALL_ERROR_2, u32::MAX))?;
            Some(fd)
        } else {
            None
        };
        let instance = self.ids.vhost.get();
        let sw = self.ids.sw_if.get();
        let path = std::path::PathBuf::from(&p.sock_filename);
        let (listener, port) = match &self.dataplane {
            Some(dp) => {
                let role = if p.frontend {
                    Role::Frontend {
                        server: p.is_server,
                        path,
                    }
                } else {
                    Role::Backend { listener, path }
                };
                match VhostPort::spawn(sw, role, dp.clone()) {
                    Ok(port) => (None, Some(port)),
                    Err(_) => {
                        self.ids.vhost.put(instance);
                        self.ids.sw_if.put(sw);
                        return Err((SYSCALL_ERROR_2, u32::MAX));
                    }
                }
            }
            None => (listener, None),
        };
        let name = match (p.frontend, p.renumber) {
            (true, _) => format!("virtio-user{instance}"),
            (false, n) => format!("VirtualEthernet0/0/{}", n.unwrap_or(instance)),
        };
        let mac = match p.mac {
            Some(m) => m,
            None => self.random_mac(),
        };
        self.interfaces.insert(
            sw,
            Interface {
                sw_if_index: sw,
                name,
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
                    frontend: p.frontend,
                    port,
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
            let server = v.is_server;
            // Stops the port's thread (and closes its sockets) before the file goes.
            drop(v.port);
            if server {
                let _ = std::fs::remove_file(&v.sock_filename);
            }
        }
        Ok(())
    }
}
