//! The in-memory VPP: interfaces, memif sockets, bridge domains, with VPP's own rules and
//! error numbers (see the handlers in VPP's memif, l2, interface and vhost plugins).
//!
//! Every operation returns `Err(retval)` with the value VPP would put in the reply.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use vpp_api::retval::*;

pub(crate) mod ids;
mod ip;
mod l2;
mod memif_socket;
mod vhost;

pub use l2::{BridgeDomain, BridgeParams, TagRewrite, BD_ID_MAX};
pub use vhost::{VhostParams, VhostUser};
/// VPP's default memif socket (id 0), registered at start.
pub const DEFAULT_MEMIF_SOCKET: &str = "/run/vpp/memif.sock";

pub type VppResult<T> = Result<T, i32>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemifRole {
    Master,
    Slave,
}

#[derive(Debug, Clone)]
pub struct Memif {
    pub socket_id: u32,
    pub id: u32,
    pub role: MemifRole,
    /// 0 ethernet, 1 ip, 2 punt/inject.
    pub mode: u32,
    pub ring_size: u32,
    pub buffer_size: u16,
    pub zero_copy: bool,
    pub secret: String,
    pub rx_queues: u8,
    pub tx_queues: u8,
    /// The connected peer's application and interface names (empty while down).
    pub remote_name: String,
    pub remote_interface: String,
    /// Ring size and buffer size agreed with the last peer; VPP keeps them after a
    /// disconnect and reports 1 and 0 before any peer came.
    pub negotiated: Option<(u32, u16)>,
}

#[derive(Debug)]
pub enum Device {
    Local,
    Memif(Memif),
    VhostUser(VhostUser),
}

/// Packet and byte counters, as `show interface` prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub drops: u64,
}

#[derive(Debug)]
pub struct Interface {
    pub sw_if_index: u32,
    pub name: String,
    pub mac: [u8; 6],
    pub admin_up: bool,
    pub link_up: bool,
    pub mtu: u32,
    pub addresses: Vec<(IpAddr, u8)>,
    /// (bd_id, shg) when the interface is an L2 bridge port.
    pub bridge: Option<(u32, u8)>,
    pub vtr: TagRewrite,
    pub tag: String,
    pub device: Device,
    pub counters: Counters,
}

impl Interface {
    pub fn dev_type(&self) -> &'static str {
        match self.device {
            Device::Local => "local",
            Device::Memif(_) => "memif",
            Device::VhostUser(_) => "vhost-user",
        }
    }

    fn is_ethernet(&self) -> bool {
        match &self.device {
            Device::Memif(m) => m.mode == 0,
            Device::VhostUser(_) => true,
            Device::Local => false,
        }
    }
}

/// A memif socket file registration. The data plane listens on it while a master
/// interface uses it.
#[derive(Debug)]
pub struct MemifSocket {
    pub filename: String,
}

/// A learned ARP entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbor {
    pub mac: [u8; 6],
    pub updated: Instant,
}

/// Everything the mock knows.
/// Learned MACs: (bd_id, mac) -> (port, when).
pub type L2Fib = HashMap<(u32, [u8; 6]), (u32, Instant), crate::dataplane::MacHash>;

#[derive(Debug)]
pub struct Vpp {
    pub interfaces: BTreeMap<u32, Interface>,
    pub memif_sockets: BTreeMap<u32, MemifSocket>,
    pub bridges: BTreeMap<u32, BridgeDomain>,
    /// Where relative memif socket names go (VPP's run directory).
    pub run_dir: PathBuf,
    /// Learned MACs: (bd_id, mac) -> (port, when).
    pub l2fib: L2Fib,
    /// ARP table: (sw_if_index, address) -> MAC.
    pub neighbors: BTreeMap<(u32, Ipv4Addr), Neighbor>,
    /// The memif data plane, when running (without it memif interfaces move nothing and
    /// masters do not listen).
    pub dataplane: Option<crate::dataplane::DataPlane>,
    /// When this VPP started (neighbour times count from here).
    pub started: Instant,
    /// How this VPP numbers interfaces and picks ids.
    ids: ids::Ids,
    mac_seed: u32,
}

/// Parameters of a memif interface to create.
#[derive(Debug, Clone)]
pub struct MemifParams {
    pub role: MemifRole,
    pub mode: u32,
    pub rx_queues: u8,
    pub tx_queues: u8,
    pub id: u32,
    pub socket_id: u32,
    pub ring_size: u32,
    pub buffer_size: u16,
    pub no_zero_copy: bool,
    pub hw_addr: [u8; 6],
    pub secret: String,
}

impl Vpp {
    pub fn new(run_dir: &Path) -> Vpp {
        let mut vpp = Vpp {
            interfaces: BTreeMap::new(),
            memif_sockets: BTreeMap::new(),
            bridges: BTreeMap::new(),
            run_dir: run_dir.to_path_buf(),
            l2fib: HashMap::default(),
            neighbors: BTreeMap::new(),
            dataplane: None,
            started: Instant::now(),
            ids: ids::Ids::default(),
            mac_seed: mac_seed(),
        };
        vpp.interfaces.insert(
            0,
            Interface {
                sw_if_index: 0,
                name: "local0".into(),
                mac: [0; 6],
                admin_up: false,
                link_up: false,
                mtu: 0,
                addresses: Vec::new(),
                bridge: None,
                vtr: TagRewrite::default(),
                tag: String::new(),
                device: Device::Local,
                counters: Counters::default(),
            },
        );
        vpp.memif_sockets.insert(
            0,
            MemifSocket {
                filename: DEFAULT_MEMIF_SOCKET.into(),
            },
        );
        vpp
    }

    /// A MAC in VPP's `02:fe:xx:xx:xx:xx` range, different for every call.
    fn random_mac(&mut self) -> [u8; 6] {
        self.mac_seed = self
            .mac_seed
            .wrapping_mul(1_103_515_245)
            .wrapping_add(12_345);
        let b = self.mac_seed.to_be_bytes();
        [0x02, 0xfe, b[0], b[1], b[2], b[3]]
    }

    pub fn interface(&self, sw: u32) -> VppResult<&Interface> {
        self.interfaces.get(&sw).ok_or(INVALID_SW_IF_INDEX)
    }

    fn interface_mut(&mut self, sw: u32) -> VppResult<&mut Interface> {
        self.interfaces.get_mut(&sw).ok_or(INVALID_SW_IF_INDEX)
    }

    /// Admin up/down. Going down flushes the MACs learned on a bridge port and the
    /// interface's neighbours, as VPP's l2fib and ip-neighbor do.
    pub fn set_admin(&mut self, sw: u32, up: bool) -> VppResult<()> {
        self.interface_mut(sw)?.admin_up = up;
        if !up {
            self.forget_port(sw);
        }
        if let Some(dp) = &self.dataplane {
            dp.set_admin(sw, up);
        }
        Ok(())
    }

    /// `sw_interface_set_mac_address`: interfaces without a MAC (local0, an IP-mode
    /// memif) cannot change it (−9).
    pub fn set_mac(&mut self, sw: u32, mac: [u8; 6]) -> VppResult<()> {
        let i = self.interface_mut(sw)?;
        if !i.is_ethernet() {
            return Err(UNIMPLEMENTED);
        }
        i.mac = mac;
        Ok(())
    }

    /// `memif_create(_v2)`; returns the new sw_if_index.
    pub fn memif_create(&mut self, p: MemifParams) -> VppResult<u32> {
        if !self.memif_sockets.contains_key(&p.socket_id) {
            return Err(INVALID_ARGUMENT);
        }
        let ring_size = if p.ring_size == 0 { 1024 } else { p.ring_size };
        if !ring_size.is_power_of_two() {
            return Err(INVALID_ARGUMENT);
        }
        for i in self.interfaces.values() {
            if let Device::Memif(m) = &i.device {
                if m.socket_id == p.socket_id && (m.id == p.id || m.role != p.role) {
                    return Err(SUBIF_ALREADY_EXISTS);
                }
            }
        }
        // Punt/inject (2) is declared in memif.api but VPP cannot make it.
        if p.mode > 1 {
            return Err(SYSCALL_ERROR_2);
        }
        let mac = if p.hw_addr == [0; 6] {
            self.random_mac()
        } else {
            p.hw_addr
        };
        let sw = self.ids.sw_if.get();
        let (rxq, txq) = match p.role {
            MemifRole::Slave => (p.rx_queues.max(1), p.tx_queues.max(1)),
            MemifRole::Master => (p.rx_queues, p.tx_queues),
        };
        let filename = self.memif_sockets[&p.socket_id].filename.clone();
        let buffer_size = if p.buffer_size == 0 {
            2048
        } else {
            p.buffer_size
        };
        if let Some(dp) = &self.dataplane {
            // A master's socket listens before the reply, as in VPP.
            let added = dp.add(crate::dataplane::MemifSpec {
                sw_if_index: sw,
                socket: PathBuf::from(&filename),
                id: p.id,
                master: p.role == MemifRole::Master,
                mode: p.mode,
                secret: p.secret.clone(),
                name: format!("memif{}/{}", p.socket_id, p.id),
                log2_ring_size: ring_size.trailing_zeros() as u8,
                buffer_size: u32::from(buffer_size),
            });
            if let Err(e) = added {
                self.ids.sw_if.put(sw);
                return Err(e);
            }
        }
        self.interfaces.insert(
            sw,
            Interface {
                sw_if_index: sw,
                name: format!("memif{}/{}", p.socket_id, p.id),
                mac,
                admin_up: false,
                link_up: false,
                mtu: 9000,
                addresses: Vec::new(),
                bridge: None,
                vtr: TagRewrite::default(),
                tag: String::new(),
                device: Device::Memif(Memif {
                    socket_id: p.socket_id,
                    id: p.id,
                    role: p.role,
                    mode: p.mode,
                    ring_size,
                    buffer_size,
                    // VPP only flags a slave as zero-copy.
                    zero_copy: !p.no_zero_copy && p.role == MemifRole::Slave,
                    secret: p.secret,
                    rx_queues: rxq,
                    tx_queues: txq,
                    remote_name: String::new(),
                    remote_interface: String::new(),
                    negotiated: None,
                }),
                counters: Counters::default(),
            },
        );
        Ok(sw)
    }

    /// Removes an interface of the expected kind, with its bridge membership.
    fn remove_interface(&mut self, sw: u32, kind: &str) -> VppResult<Interface> {
        match self.interfaces.get(&sw) {
            Some(i) if i.dev_type() == kind => {}
            _ => return Err(INVALID_SW_IF_INDEX),
        }
        let i = self.interfaces.remove(&sw).expect("checked");
        self.ids.sw_if.put(sw);
        self.forget_port(sw);
        if let Some(dp) = &self.dataplane {
            dp.remove(sw);
        }
        if let Some((bd, _)) = i.bridge {
            if let Some(b) = self.bridges.get_mut(&bd) {
                b.leave(sw);
            }
        }
        Ok(i)
    }

    /// `memif_delete`; the data plane closes a master socket with its last interface.
    pub fn memif_delete(&mut self, sw: u32) -> VppResult<()> {
        self.remove_interface(sw, "memif").map(drop)
    }

    /// Drops what was learned on an interface that left its bridge or went away.
    fn forget_port(&mut self, sw: u32) {
        self.l2fib.retain(|_, (port, _)| *port != sw);
        self.neighbors.retain(|(port, _), _| *port != sw);
    }
}

/// A seed that differs between mock instances, also within one process.
fn mac_seed() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static INSTANCES: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::process::id() ^ nanos ^ INSTANCES.fetch_add(0x9e37_79b9, Ordering::Relaxed)
}
