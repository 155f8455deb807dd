//! The in-memory VPP: interfaces, memif sockets, bridge domains, with VPP's own rules and
//! error numbers (see the handlers in VPP's memif, l2, interface and vhost plugins).
//!
//! Every operation returns `Err(retval)` with the value VPP would put in the reply.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vpp_api::retval::*;

/// Highest bridge-domain id VPP accepts.
pub const BD_ID_MAX: u32 = 16_777_215;
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
}

#[derive(Debug)]
pub struct VhostUser {
    pub is_server: bool,
    pub sock_filename: String,
    /// The listening socket of a server interface (VPP binds and listens on the path).
    pub listener: Option<OwnedFd>,
}

#[derive(Debug)]
pub enum Device {
    Local,
    Memif(Memif),
    VhostUser(VhostUser),
}

/// An L2 tag rewrite (`l2_interface_vlan_tag_rewrite`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagRewrite {
    pub op: u32,
    pub push_dot1q: u32,
    pub tag1: u32,
    pub tag2: u32,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeDomain {
    pub bd_id: u32,
    pub flood: bool,
    pub uu_flood: bool,
    pub forward: bool,
    pub learn: bool,
    pub arp_term: bool,
    pub arp_ufwd: bool,
    pub mac_age: u8,
    pub tag: String,
    /// Members in the order they joined.
    pub members: Vec<u32>,
    /// The bridge's BVI member, if any.
    pub bvi: Option<u32>,
}

impl BridgeDomain {
    /// VPP's defaults for a bridge domain created implicitly by set_l2_bridge.
    fn with_defaults(bd_id: u32) -> Self {
        BridgeDomain {
            bd_id,
            flood: true,
            uu_flood: true,
            forward: true,
            learn: true,
            arp_term: false,
            arp_ufwd: false,
            mac_age: 0,
            tag: String::new(),
            members: Vec::new(),
            bvi: None,
        }
    }

    fn leave(&mut self, sw: u32) {
        self.members.retain(|m| *m != sw);
        if self.bvi == Some(sw) {
            self.bvi = None;
        }
    }
}

/// A memif socket file registration.
#[derive(Debug)]
pub struct MemifSocket {
    pub filename: String,
    /// Listening while a master interface uses the socket.
    pub listener: Option<OwnedFd>,
}

/// Everything the mock knows.
#[derive(Debug)]
pub struct Vpp {
    pub interfaces: BTreeMap<u32, Interface>,
    pub memif_sockets: BTreeMap<u32, MemifSocket>,
    pub bridges: BTreeMap<u32, BridgeDomain>,
    /// Where relative memif socket names go (VPP's run directory).
    pub run_dir: PathBuf,
    /// Learned MACs: (bd_id, mac) -> (port, when).
    pub l2fib: HashMap<(u32, [u8; 6]), (u32, Instant)>,
    /// ARP table: (sw_if_index, address) -> MAC.
    pub neighbors: BTreeMap<(u32, Ipv4Addr), [u8; 6]>,
    /// The memif data plane, when running.
    pub dataplane: Option<crate::dataplane::DataPlane>,
    next_vhost_instance: u32,
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

/// Bridge-domain settings as the add message carries them.
#[derive(Debug, Clone, Default)]
pub struct BridgeParams {
    pub flood: bool,
    pub uu_flood: bool,
    pub forward: bool,
    pub learn: bool,
    pub arp_term: bool,
    pub arp_ufwd: bool,
    pub mac_age: u8,
    pub tag: String,
}

impl Vpp {
    pub fn new(run_dir: &Path) -> Vpp {
        let mut vpp = Vpp {
            interfaces: BTreeMap::new(),
            memif_sockets: BTreeMap::new(),
            bridges: BTreeMap::new(),
            run_dir: run_dir.to_path_buf(),
            l2fib: HashMap::new(),
            neighbors: BTreeMap::new(),
            dataplane: None,
            next_vhost_instance: 0,
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
                listener: None,
            },
        );
        vpp
    }

    fn free_sw_if_index(&self) -> u32 {
        (1..)
            .find(|i| !self.interfaces.contains_key(i))
            .expect("an index")
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

    pub fn set_admin(&mut self, sw: u32, up: bool) -> VppResult<()> {
        self.interface_mut(sw)?.admin_up = up;
        Ok(())
    }

    pub fn set_mac(&mut self, sw: u32, mac: [u8; 6]) -> VppResult<()> {
        let i = self.interface_mut(sw)?;
        if matches!(i.device, Device::Local) {
            return Err(UNSUPPORTED);
        }
        i.mac = mac;
        Ok(())
    }

    /// Adds or deletes an address; `del_all` clears them.
    pub fn address(
        &mut self,
        sw: u32,
        is_add: bool,
        del_all: bool,
        ip: IpAddr,
        len: u8,
    ) -> VppResult<()> {
        let i = self.interface(sw)?;
        if matches!(i.device, Device::Local) {
            return Err(UNSUPPORTED);
        }
        if del_all {
            self.interface_mut(sw)?.addresses.clear();
            return Ok(());
        }
        if is_add {
            if i.addresses.contains(&(ip, len)) {
                return Err(DUPLICATE_IF_ADDRESS);
            }
            let overlaps = self
                .interfaces
                .values()
                .filter(|o| o.sw_if_index != sw)
                .flat_map(|o| o.addresses.iter())
                .any(|(oip, olen)| same_subnet(ip, len, *oip, *olen));
            if overlaps {
                return Err(ADDRESS_IN_USE);
            }
            self.interface_mut(sw)?.addresses.push((ip, len));
        } else {
            let i = self.interface_mut(sw)?;
            let before = i.addresses.len();
            i.addresses.retain(|a| *a != (ip, len));
            if i.addresses.len() == before {
                return Err(ADDRESS_NOT_FOUND_FOR_INTERFACE);
            }
        }
        Ok(())
    }

    /// `memif_socket_filename_add_del(_v2)`; returns the socket id. `pick` (v2 with
    /// socket_id ~0 on add) lets the server choose.
    pub fn memif_socket(&mut self, is_add: bool, socket_id: u32, filename: &str) -> VppResult<u32> {
        if socket_id == 0 {
            return Err(INVALID_ARGUMENT);
        }
        if !is_add {
            if !self.memif_sockets.contains_key(&socket_id) {
                return Err(INVALID_ARGUMENT);
            }
            let in_use = self
                .interfaces
                .values()
                .any(|i| matches!(&i.device, Device::Memif(m) if m.socket_id == socket_id));
            if in_use {
                return Err(UNEXPECTED_INTF_STATE);
            }
            self.memif_sockets.remove(&socket_id);
            return Ok(socket_id);
        }
        if filename.is_empty() {
            return Err(INVALID_ARGUMENT);
        }
        let path = if filename.starts_with('/') {
            PathBuf::from(filename)
        } else {
            self.run_dir.join(filename)
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|_| SYSCALL_ERROR_1)?;
        }
        let full = path.display().to_string();
        let id = if socket_id == u32::MAX {
            (1..u32::MAX)
                .find(|i| !self.memif_sockets.contains_key(i))
                .ok_or(INVALID_ARGUMENT)?
        } else {
            socket_id
        };
        match self.memif_sockets.get(&id) {
            Some(s) if s.filename == full => return Ok(id),
            Some(_) => return Err(ENTRY_ALREADY_EXISTS),
            None => {}
        }
        self.memif_sockets.insert(
            id,
            MemifSocket {
                filename: full,
                listener: None,
            },
        );
        Ok(id)
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
        let mac = if p.hw_addr == [0; 6] {
            self.random_mac()
        } else {
            p.hw_addr
        };
        let sw = self.free_sw_if_index();
        let (rxq, txq) = match p.role {
            MemifRole::Slave => (p.rx_queues.max(1), p.tx_queues.max(1)),
            MemifRole::Master => (p.rx_queues, p.tx_queues),
        };
        let filename = self.memif_sockets[&p.socket_id].filename.clone();
        if p.role == MemifRole::Master && self.dataplane.is_none() {
            let socket = self.memif_sockets.get_mut(&p.socket_id).expect("checked");
            if socket.listener.is_none() {
                socket.listener = Some(
                    crate::sock::listen_seqpacket(Path::new(&socket.filename))
                        .map_err(|_| SYSCALL_ERROR_1)?,
                );
            }
        }
        if let Some(dp) = &self.dataplane {
            dp.add(crate::dataplane::MemifSpec {
                sw_if_index: sw,
                socket: PathBuf::from(&filename),
                id: p.id,
                master: p.role == MemifRole::Master,
                mode: p.mode,
                secret: p.secret.clone(),
                name: format!("memif{}/{}", p.socket_id, p.id),
                log2_ring_size: ring_size.trailing_zeros() as u8,
                buffer_size: u32::from(if p.buffer_size == 0 {
                    2048
                } else {
                    p.buffer_size
                }),
            });
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
                    buffer_size: if p.buffer_size == 0 {
                        2048
                    } else {
                        p.buffer_size
                    },
                    zero_copy: !p.no_zero_copy,
                    secret: p.secret,
                    rx_queues: rxq,
                    tx_queues: txq,
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

    pub fn memif_delete(&mut self, sw: u32) -> VppResult<()> {
        let i = self.remove_interface(sw, "memif")?;
        if let Device::Memif(m) = i.device {
            let still_master = self.interfaces.values().any(|o| {
                matches!(&o.device, Device::Memif(x) if x.socket_id == m.socket_id && x.role == MemifRole::Master)
            });
            if !still_master {
                if let Some(s) = self.memif_sockets.get_mut(&m.socket_id) {
                    if s.listener.take().is_some() {
                        let _ = std::fs::remove_file(&s.filename);
                    }
                }
            }
        }
        Ok(())
    }

    /// `create_vhost_user_if(_v2)`: Ok(sw) or Err((retval, sw_if_index for the reply)).
    pub fn vhost_create(
        &mut self,
        is_server: bool,
        filename: &str,
        mac: Option<[u8; 6]>,
        tag: &str,
    ) -> Result<u32, (i32, u32)> {
        if filename.is_empty() {
            return Err((INVALID_ARGUMENT, u32::MAX));
        }
        if let Some(i) = self
            .interfaces
            .values()
            .find(|i| matches!(&i.device, Device::VhostUser(v) if v.sock_filename == filename))
        {
            return Err((IF_ALREADY_EXISTS, i.sw_if_index));
        }
        let listener = if is_server {
            let _ = std::fs::remove_file(filename);
            Some(
                crate::sock::listen_stream(Path::new(filename))
                    .map_err(|_| (SYSCALL_ERROR_2, u32::MAX))?,
            )
        } else {
            None
        };
        let sw = self.free_sw_if_index();
        let instance = self.next_vhost_instance;
        self.next_vhost_instance += 1;
        let mac = match mac {
            Some(m) => m,
            None => self.random_mac(),
        };
        self.interfaces.insert(
            sw,
            Interface {
                sw_if_index: sw,
                name: format!("VirtualEthernet0/0/{instance}"),
                mac,
                admin_up: false,
                link_up: false,
                mtu: 9000,
                addresses: Vec::new(),
                bridge: None,
                vtr: TagRewrite::default(),
                tag: tag.to_string(),
                device: Device::VhostUser(VhostUser {
                    is_server,
                    sock_filename: filename.to_string(),
                    listener,
                }),
                counters: Counters::default(),
            },
        );
        Ok(sw)
    }

    pub fn vhost_delete(&mut self, sw: u32) -> VppResult<()> {
        let i = self.remove_interface(sw, "vhost-user")?;
        if let Device::VhostUser(v) = i.device {
            if v.listener.is_some() {
                let _ = std::fs::remove_file(&v.sock_filename);
            }
        }
        Ok(())
    }

    /// `bridge_domain_add_del(_v2)`; returns the bd_id (picked when ~0 on add).
    pub fn bridge_add_del(&mut self, is_add: bool, bd_id: u32, p: BridgeParams) -> VppResult<u32> {
        if !is_add {
            if bd_id == 0 {
                return Err(BD_NOT_MODIFIABLE);
            }
            let b = self.bridges.get(&bd_id).ok_or(NO_SUCH_ENTRY)?;
            if !b.members.is_empty() {
                return Err(BD_IN_USE);
            }
            self.bridges.remove(&bd_id);
            return Ok(bd_id);
        }
        let id = match bd_id {
            u32::MAX => (1..=BD_ID_MAX)
                .find(|i| !self.bridges.contains_key(i))
                .ok_or(BD_ID_EXCEED_MAX)?,
            0 => return Err(BD_NOT_MODIFIABLE),
            id if id > BD_ID_MAX => return Err(BD_ID_EXCEED_MAX),
            id if self.bridges.contains_key(&id) => return Err(BD_ALREADY_EXISTS),
            id => id,
        };
        self.bridges.insert(
            id,
            BridgeDomain {
                bd_id: id,
                flood: p.flood,
                uu_flood: p.uu_flood,
                forward: p.forward,
                learn: p.learn,
                arp_term: p.arp_term,
                arp_ufwd: p.arp_ufwd,
                mac_age: p.mac_age,
                tag: p.tag,
                members: Vec::new(),
                bvi: None,
            },
        );
        Ok(id)
    }

    /// `sw_interface_set_l2_bridge`.
    pub fn set_l2_bridge(
        &mut self,
        sw: u32,
        bd_id: u32,
        shg: u8,
        port_type: u32,
        enable: bool,
    ) -> VppResult<()> {
        let i = self.interface(sw)?;
        let current = i.bridge;
        if enable {
            if bd_id > BD_ID_MAX {
                return Err(BD_ID_EXCEED_MAX);
            }
            if !i.is_ethernet() {
                return Err(NON_ETHERNET);
            }
            let bvi = self.bridges.get(&bd_id).and_then(|b| b.bvi);
            if port_type == 1 && bvi.is_some_and(|b| b != sw) {
                return Err(BD_ALREADY_HAS_BVI);
            }
        }
        if let Some((old, _)) = current {
            if let Some(b) = self.bridges.get_mut(&old) {
                b.leave(sw);
            }
            self.forget_port(sw);
        }
        let i = self.interface_mut(sw)?;
        if enable {
            i.bridge = Some((bd_id, shg));
            let b = self
                .bridges
                .entry(bd_id)
                .or_insert_with(|| BridgeDomain::with_defaults(bd_id));
            b.members.push(sw);
            if port_type == 1 {
                b.bvi = Some(sw);
            }
        } else {
            i.bridge = None;
            i.vtr = TagRewrite::default();
        }
        Ok(())
    }

    /// Drops what was learned on an interface that left its bridge or went away.
    fn forget_port(&mut self, sw: u32) {
        self.l2fib.retain(|_, (port, _)| *port != sw);
        self.neighbors.retain(|(port, _), _| *port != sw);
    }

    pub fn vlan_tag_rewrite(&mut self, sw: u32, vtr: TagRewrite) -> VppResult<()> {
        let i = self.interface_mut(sw)?;
        if i.bridge.is_none() && vtr.op != 0 {
            return Err(INVALID_ARGUMENT);
        }
        i.vtr = vtr;
        Ok(())
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

/// Whether two prefixes cover the same subnet (VPP refuses overlapping subnets on two
/// interfaces).
fn same_subnet(a: IpAddr, alen: u8, b: IpAddr, blen: u8) -> bool {
    let len = alen.min(blen) as u32;
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}
