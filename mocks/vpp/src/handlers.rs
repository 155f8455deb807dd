//! Binary API messages to model operations and back: one arm per request, answered as
//! VPP's handlers answer (details for dumps, exactly one reply otherwise).
//!
//! Like VPP, a request is carried out whatever its `client_index` says; the index only
//! chooses where the answer goes (the server drops it when no live client has that index).

use vpp_api::message::{decode, encode, peek_id, Envelope, Header};
use vpp_api::messages::*;
use vpp_api::types::{BridgeDomainSwIf, IfStatusFlags, MemifMode, MemifRole as WireRole};
use vpp_api::wire::{Counted, FixedString, MacAddress, Prefix};
use vpp_api::{Message, MessageTable};

use crate::model::{Device, Interface, MemifParams, MemifRole, TagRewrite, VhostParams, Vpp};

pub use crate::api_table::{message_table, served_messages};

/// What the server needs to answer messages.
pub struct Responder<'a> {
    pub table: &'a MessageTable,
    /// `control_ping_reply.vpe_pid`.
    pub pid: u32,
}

/// Encoded reply bodies.
pub type Replies = Vec<Vec<u8>>;

/// The answer to one request and the client it is for.
pub struct Answer {
    /// The request's `client_index` (0 for messages without one: sockclnt_create).
    pub client_index: u32,
    pub replies: Replies,
}

/// The request's envelope, as the handlers need it.
#[derive(Clone, Copy)]
struct Req {
    context: u32,
    client_index: u32,
}

impl Responder<'_> {
    fn out<M: Message>(&self, context: u32, msg: &M) -> Vec<u8> {
        let msg_id = self
            .table
            .id_of::<M>()
            .expect("every reply is in the table");
        encode(
            Envelope {
                msg_id,
                client_index: 0,
                context,
            },
            msg,
        )
    }

    /// Decodes `body` as `M` and runs `f`; a body too short for `M` is dropped.
    fn on<M: Message>(&self, body: &[u8], f: impl FnOnce(Req, M) -> Replies) -> Option<Answer> {
        let (env, msg) = match decode::<M>(body) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("{}: undecodable ({e}); dropped", M::NAME);
                return None;
            }
        };
        let client_index = match M::HEADER {
            Header::ClientContext => env.client_index,
            Header::Context => 0,
        };
        let req = Req {
            context: env.context,
            client_index,
        };
        Some(Answer {
            client_index,
            replies: f(req, msg),
        })
    }

    /// Handles one request body against the model. `None`: no answer (unknown id).
    pub fn handle(&self, vpp: &mut Vpp, body: &[u8]) -> Option<Answer> {
        let id = peek_id(body).ok()?;
        let name = self.table.name(id)?.to_string();
        let name = name.as_str();
        macro_rules! route {
            ($($msg:ty => $f:expr,)*) => {
                $(if name == <$msg>::name_crc() {
                    return self.on::<$msg>(body, |q, m| $f(self, vpp, q, m));
                })*
            };
        }
        route! {
            ControlPing => |r: &Self, _: &mut Vpp, q: Req, _m| {
                vec![r.out(q.context, &ControlPingReply { retval: 0, client_index: q.client_index, vpe_pid: r.pid })]
            },
            ShowVersion => |r: &Self, _: &mut Vpp, q: Req, _m| vec![r.out(q.context, &show_version())],
            CliInband => |r: &Self, v: &mut Vpp, q: Req, m: CliInband| {
                let (retval, reply) = crate::cli::run(v, &m.cmd);
                vec![r.out(q.context, &CliInbandReply { retval, reply })]
            },
            SwInterfaceSetFlags => |r: &Self, v: &mut Vpp, q: Req, m: SwInterfaceSetFlags| {
                let retval = rv(v.set_admin(m.sw_if_index, m.flags.contains(IfStatusFlags::ADMIN_UP)));
                vec![r.out(q.context, &SwInterfaceSetFlagsReply { retval })]
            },
            SwInterfaceSetMacAddress => |r: &Self, v: &mut Vpp, q: Req, m: SwInterfaceSetMacAddress| {
                let retval = rv(v.set_mac(m.sw_if_index, m.mac_address.0));
                vec![r.out(q.context, &SwInterfaceSetMacAddressReply { retval })]
            },
            SwInterfaceAddDelAddress => |r: &Self, v: &mut Vpp, q: Req, m: SwInterfaceAddDelAddress| {
                let retval = rv(v.address(m.sw_if_index, m.is_add, m.del_all, m.prefix.ip(), m.prefix.len));
                vec![r.out(q.context, &SwInterfaceAddDelAddressReply { retval })]
            },
            SwInterfaceDump => |r: &Self, v: &mut Vpp, q: Req, m: SwInterfaceDump| r.interfaces(v, q.context, &m),
            IpAddressDump => |r: &Self, v: &mut Vpp, q: Req, m: IpAddressDump| {
                v.interfaces.get(&m.sw_if_index).map(|i| {
                    i.addresses.iter().filter(|(ip, _)| ip.is_ipv6() == m.is_ipv6).map(|(ip, len)| {
                        r.out(q.context, &IpAddressDetails { sw_if_index: i.sw_if_index, prefix: Prefix::new(*ip, *len) })
                    }).collect()
                }).unwrap_or_default()
            },
            MemifSocketFilenameAddDel => |r: &Self, v: &mut Vpp, q: Req, m: MemifSocketFilenameAddDel| {
                let retval = v.memif_socket_v1(m.is_add, m.socket_id, m.socket_filename.as_str());
                vec![r.out(q.context, &MemifSocketFilenameAddDelReply { retval })]
            },
            MemifSocketFilenameAddDelV2 => |r: &Self, v: &mut Vpp, q: Req, m: MemifSocketFilenameAddDelV2| {
                let (retval, socket_id) = v.memif_socket_v2(m.is_add, m.socket_id, &m.socket_filename);
                vec![r.out(q.context, &MemifSocketFilenameAddDelV2Reply { retval, socket_id })]
            },
            MemifSocketFilenameDump => |r: &Self, v: &mut Vpp, q: Req, _m| {
                v.memif_sockets.iter().map(|(id, s)| r.out(q.context, &MemifSocketFilenameDetails {
                    socket_id: *id, socket_filename: FixedString::new(&s.filename),
                })).collect()
            },
            MemifCreate => |r: &Self, v: &mut Vpp, q: Req, m: MemifCreate| {
                let p = memif_params(m.role, m.mode, m.rx_queues, m.tx_queues, m.id, m.socket_id, m.ring_size, m.buffer_size, m.no_zero_copy, m.hw_addr, &m.secret);
                let (retval, sw_if_index) = memif_created(v.memif_create(p));
                vec![r.out(q.context, &MemifCreateReply { retval, sw_if_index })]
            },
            MemifCreateV2 => |r: &Self, v: &mut Vpp, q: Req, m: MemifCreateV2| {
                let p = memif_params(m.role, m.mode, m.rx_queues, m.tx_queues, m.id, m.socket_id, m.ring_size, m.buffer_size, m.no_zero_copy, m.hw_addr, &m.secret);
                let (retval, sw_if_index) = memif_created(v.memif_create(p));
                vec![r.out(q.context, &MemifCreateV2Reply { retval, sw_if_index })]
            },
            MemifDelete => |r: &Self, v: &mut Vpp, q: Req, m: MemifDelete| {
                vec![r.out(q.context, &MemifDeleteReply { retval: rv(v.memif_delete(m.sw_if_index)) })]
            },
            MemifDump => |r: &Self, v: &mut Vpp, q: Req, _m| r.memifs(v, q.context),
            CreateVhostUserIf => |r: &Self, v: &mut Vpp, q: Req, m: CreateVhostUserIf| {
                let p = vhost_params(m.is_server, &m.sock_filename, m.renumber, m.custom_dev_instance, m.use_custom_mac, m.mac_address, &m.tag);
                let (retval, sw_if_index) = vhost_created(v.vhost_create(p));
                vec![r.out(q.context, &CreateVhostUserIfReply { retval, sw_if_index })]
            },
            CreateVhostUserIfV2 => |r: &Self, v: &mut Vpp, q: Req, m: CreateVhostUserIfV2| {
                let p = vhost_params(m.is_server, &m.sock_filename, m.renumber, m.custom_dev_instance, m.use_custom_mac, m.mac_address, &m.tag);
                let (retval, sw_if_index) = vhost_created(v.vhost_create(p));
                vec![r.out(q.context, &CreateVhostUserIfV2Reply { retval, sw_if_index })]
            },
            DeleteVhostUserIf => |r: &Self, v: &mut Vpp, q: Req, m: DeleteVhostUserIf| {
                vec![r.out(q.context, &DeleteVhostUserIfReply { retval: rv(v.vhost_delete(m.sw_if_index)) })]
            },
            SwInterfaceVhostUserDump => |r: &Self, v: &mut Vpp, q: Req, m: SwInterfaceVhostUserDump| r.vhosts(v, q.context, m.sw_if_index),
            BridgeDomainAddDel => |r: &Self, v: &mut Vpp, q: Req, m: BridgeDomainAddDel| {
                let p = crate::dump::bridge_params(m.flood, m.uu_flood, m.forward, m.learn, m.arp_term, m.arp_ufwd, m.mac_age, &m.bd_tag);
                let retval = rv(v.bridge_add_del(m.is_add, m.bd_id, p).map(drop));
                vec![r.out(q.context, &BridgeDomainAddDelReply { retval })]
            },
            BridgeDomainAddDelV2 => |r: &Self, v: &mut Vpp, q: Req, m: BridgeDomainAddDelV2| {
                let p = crate::dump::bridge_params(m.flood, m.uu_flood, m.forward, m.learn, m.arp_term, m.arp_ufwd, m.mac_age, &m.bd_tag);
                let (retval, bd_id) = v.bridge_add_del_v2(m.is_add, m.bd_id, p);
                vec![r.out(q.context, &BridgeDomainAddDelV2Reply { retval, bd_id })]
            },
            BridgeDomainDump => |r: &Self, v: &mut Vpp, q: Req, m: BridgeDomainDump| r.bridges(v, q.context, &m),
            SwInterfaceSetL2Bridge => |r: &Self, v: &mut Vpp, q: Req, m: SwInterfaceSetL2Bridge| {
                let retval = rv(v.set_l2_bridge(m.rx_sw_if_index, m.bd_id, m.shg, m.port_type.0, m.enable));
                vec![r.out(q.context, &SwInterfaceSetL2BridgeReply { retval })]
            },
            L2InterfaceVlanTagRewrite => |r: &Self, v: &mut Vpp, q: Req, m: L2InterfaceVlanTagRewrite| {
                let vtr = TagRewrite { op: m.vtr_op, push_dot1q: m.push_dot1q, tag1: m.tag1, tag2: m.tag2 };
                vec![r.out(q.context, &L2InterfaceVlanTagRewriteReply { retval: rv(v.vlan_tag_rewrite(m.sw_if_index, vtr)) })]
            },
        }
        tracing::debug!("{name}: not served by this mock; no answer (as VPP for an unknown id)");
        None
    }

    fn memifs(&self, v: &Vpp, context: u32) -> Replies {
        let memifs = v.interfaces.values().filter_map(|i| match &i.device {
            Device::Memif(m) => Some((i, m)),
            _ => None,
        });
        memifs
            .map(|(i, m)| {
                // VPP reports the sizes agreed with a peer (zeroed until one came).
                let (ring_size, buffer_size) = if i.link_up {
                    (m.ring_size, m.buffer_size)
                } else {
                    m.negotiated.unwrap_or((1, 0))
                };
                let details = MemifDetails {
                    sw_if_index: i.sw_if_index,
                    hw_addr: MacAddress(i.mac),
                    id: m.id,
                    role: match m.role {
                        MemifRole::Master => WireRole::MASTER,
                        MemifRole::Slave => WireRole::SLAVE,
                    },
                    mode: MemifMode(m.mode),
                    zero_copy: m.zero_copy,
                    socket_id: m.socket_id,
                    ring_size,
                    buffer_size,
                    flags: flags(i),
                    if_name: FixedString::new(&i.name),
                };
                self.out(context, &details)
            })
            .collect()
    }

    fn vhosts(&self, v: &Vpp, context: u32, sw_if_index: u32) -> Replies {
        v.interfaces
            .values()
            .filter(|i| sw_if_index == u32::MAX || i.sw_if_index == sw_if_index)
            .filter_map(|i| match &i.device {
                Device::VhostUser(h) => Some(self.out(
                    context,
                    &SwInterfaceVhostUserDetails {
                        sw_if_index: i.sw_if_index,
                        interface_name: FixedString::new(&i.name),
                        is_server: h.is_server,
                        sock_filename: FixedString::new(&h.sock_filename),
                        ..Default::default()
                    },
                )),
                _ => None,
            })
            .collect()
    }

    fn interfaces(&self, v: &Vpp, context: u32, m: &SwInterfaceDump) -> Replies {
        let filter = m.name_filter.to_lowercase();
        v.interfaces
            .values()
            .filter(|i| {
                if m.name_filter_valid {
                    i.name.to_lowercase().contains(&filter)
                } else {
                    m.sw_if_index == u32::MAX
                        || m.sw_if_index == 0
                        || i.sw_if_index == m.sw_if_index
                }
            })
            .map(|i| self.out(context, &crate::dump::interface_details(i)))
            .collect()
    }

    fn bridges(&self, v: &Vpp, context: u32, m: &BridgeDomainDump) -> Replies {
        if m.sw_if_index != u32::MAX || m.bd_id == 0 {
            return Vec::new();
        }
        let mut bridges: Vec<_> = v
            .bridges
            .values()
            .filter(|b| m.bd_id == u32::MAX || b.bd_id == m.bd_id)
            .collect();
        bridges.sort_by_key(|b| b.index);
        bridges
            .into_iter()
            .map(|b| {
                let members = b
                    .members
                    .iter()
                    .map(|sw| BridgeDomainSwIf {
                        context: 0,
                        sw_if_index: *sw,
                        shg: v
                            .interfaces
                            .get(sw)
                            .and_then(|i| i.bridge)
                            .map_or(0, |(_, s)| s),
                    })
                    .collect();
                self.out(
                    context,
                    &crate::dump::bridge_details(b, Counted::new(members)),
                )
            })
            .collect()
    }
}

fn rv(r: Result<(), i32>) -> i32 {
    r.err().unwrap_or(0)
}

/// memif_create's reply: VPP leaves sw_if_index 0 when it made nothing.
fn memif_created(r: Result<u32, i32>) -> (i32, u32) {
    match r {
        Ok(sw) => (0, sw),
        Err(e) => (e, 0),
    }
}

fn vhost_created(r: Result<u32, (i32, u32)>) -> (i32, u32) {
    match r {
        Ok(sw) => (0, sw),
        Err(e) => e,
    }
}

pub(crate) fn flags(i: &Interface) -> IfStatusFlags {
    let mut f = 0;
    if i.admin_up {
        f |= IfStatusFlags::ADMIN_UP.0;
    }
    if i.link_up {
        f |= IfStatusFlags::LINK_UP.0;
    }
    IfStatusFlags(f)
}

#[allow(clippy::too_many_arguments)]
fn memif_params(
    role: WireRole,
    mode: MemifMode,
    rx_queues: u8,
    tx_queues: u8,
    id: u32,
    socket_id: u32,
    ring_size: u32,
    buffer_size: u16,
    no_zero_copy: bool,
    hw_addr: MacAddress,
    secret: &FixedString<24>,
) -> MemifParams {
    MemifParams {
        role: if role == WireRole::MASTER {
            MemifRole::Master
        } else {
            MemifRole::Slave
        },
        mode: mode.0,
        rx_queues,
        tx_queues,
        id,
        socket_id,
        ring_size,
        buffer_size,
        no_zero_copy,
        hw_addr: hw_addr.0,
        secret: secret.as_str().to_string(),
    }
}

fn vhost_params(
    is_server: bool,
    sock_filename: &FixedString<256>,
    renumber: bool,
    custom_dev_instance: u32,
    use_custom_mac: bool,
    mac: MacAddress,
    tag: &FixedString<64>,
) -> VhostParams {
    VhostParams {
        is_server,
        sock_filename: sock_filename.as_str().to_string(),
        mac: use_custom_mac.then_some(mac.0),
        tag: tag.as_str().to_string(),
        renumber: renumber.then_some(custom_dev_instance),
        frontend: false,
    }
}

fn show_version() -> ShowVersionReply {
    ShowVersionReply {
        retval: 0,
        program: FixedString::new("vpe"),
        version: FixedString::new(crate::VERSION),
        build_date: FixedString::new(""),
        build_directory: FixedString::new("mock-vpp"),
    }
}
