//! Binary API messages to model operations and back: one function per request, with
//! the replies VPP sends (details for dumps, exactly one reply otherwise).

use vpp_api::message::{decode, encode, peek_id, Envelope, Header};
use vpp_api::messages::*;
use vpp_api::types::{BridgeDomainSwIf, IfStatusFlags, IfType, MemifMode, MemifRole as WireRole};
use vpp_api::wire::{Counted, FixedString, MacAddress, Prefix};
use vpp_api::{Message, MessageTable};

use crate::model::{BridgeParams, Device, Interface, MemifParams, MemifRole, TagRewrite, Vpp};

/// What one connection needs to answer its messages.
pub struct Responder<'a> {
    pub table: &'a MessageTable,
    pub client_index: u32,
    pub pid: u32,
}

/// Encoded reply bodies.
pub type Replies = Vec<Vec<u8>>;

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

    /// Decodes `body` as `M` and runs `f`, or drops the message as VPP does when it is
    /// malformed or names another client.
    fn on<M: Message>(&self, body: &[u8], f: impl FnOnce(u32, M) -> Replies) -> Option<Replies> {
        let (env, msg) = match decode::<M>(body) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("{}: undecodable ({e}); dropped", M::NAME);
                return None;
            }
        };
        if M::HEADER == Header::ClientContext && env.client_index != self.client_index {
            tracing::warn!(
                "{}: client_index {:#x} is not this client's; dropped",
                M::NAME,
                env.client_index
            );
            return None;
        }
        Some(f(env.context, msg))
    }

    /// Handles one request body against the model. `None`: no answer (unknown or dropped).
    pub fn handle(&self, vpp: &mut Vpp, body: &[u8]) -> Option<Replies> {
        let id = peek_id(body).ok()?;
        let name = self.table.name(id)?.to_string();
        let name = name.as_str();
        macro_rules! route {
            ($($msg:ty => $f:expr,)*) => {
                $(if name == <$msg>::name_crc() {
                    return self.on::<$msg>(body, |ctx, m| $f(self, vpp, ctx, m));
                })*
            };
        }
        route! {
            ControlPing => |r: &Self, _: &mut Vpp, ctx, _m| vec![r.out(ctx, &ControlPingReply { retval: 0, client_index: r.client_index, vpe_pid: r.pid })],
            ShowVersion => |r: &Self, _: &mut Vpp, ctx, _m| vec![r.out(ctx, &show_version())],
            CliInband => |r: &Self, v: &mut Vpp, ctx, m: CliInband| {
                let (retval, reply) = crate::cli::run(v, &m.cmd);
                vec![r.out(ctx, &CliInbandReply { retval, reply })]
            },
            SwInterfaceSetFlags => |r: &Self, v: &mut Vpp, ctx, m: SwInterfaceSetFlags| {
                let retval = rv(v.set_admin(m.sw_if_index, m.flags.contains(IfStatusFlags::ADMIN_UP)));
                vec![r.out(ctx, &SwInterfaceSetFlagsReply { retval })]
            },
            SwInterfaceSetMacAddress => |r: &Self, v: &mut Vpp, ctx, m: SwInterfaceSetMacAddress| {
                let retval = rv(v.set_mac(m.sw_if_index, m.mac_address.0));
                vec![r.out(ctx, &SwInterfaceSetMacAddressReply { retval })]
            },
            SwInterfaceAddDelAddress => |r: &Self, v: &mut Vpp, ctx, m: SwInterfaceAddDelAddress| {
                let retval = rv(v.address(m.sw_if_index, m.is_add, m.del_all, m.prefix.ip(), m.prefix.len));
                vec![r.out(ctx, &SwInterfaceAddDelAddressReply { retval })]
            },
            SwInterfaceDump => |r: &Self, v: &mut Vpp, ctx, m: SwInterfaceDump| r.interfaces(v, ctx, &m),
            IpAddressDump => |r: &Self, v: &mut Vpp, ctx, m: IpAddressDump| {
                v.interfaces.get(&m.sw_if_index).map(|i| {
                    i.addresses.iter().filter(|(ip, _)| ip.is_ipv6() == m.is_ipv6).map(|(ip, len)| {
                        r.out(ctx, &IpAddressDetails { sw_if_index: i.sw_if_index, prefix: Prefix::new(*ip, *len) })
                    }).collect()
                }).unwrap_or_default()
            },
            MemifSocketFilenameAddDel => |r: &Self, v: &mut Vpp, ctx, m: MemifSocketFilenameAddDel| {
                let retval = if m.socket_id == u32::MAX { vpp_api::retval::INVALID_ARGUMENT }
                    else { rv(v.memif_socket(m.is_add, m.socket_id, m.socket_filename.as_str()).map(drop)) };
                vec![r.out(ctx, &MemifSocketFilenameAddDelReply { retval })]
            },
            MemifSocketFilenameAddDelV2 => |r: &Self, v: &mut Vpp, ctx, m: MemifSocketFilenameAddDelV2| {
                let (retval, socket_id) = match v.memif_socket(m.is_add, m.socket_id, &m.socket_filename) {
                    Ok(id) => (0, id),
                    Err(e) => (e, m.socket_id),
                };
                vec![r.out(ctx, &MemifSocketFilenameAddDelV2Reply { retval, socket_id })]
            },
            MemifSocketFilenameDump => |r: &Self, v: &mut Vpp, ctx, _m| {
                v.memif_sockets.iter().map(|(id, s)| r.out(ctx, &MemifSocketFilenameDetails {
                    socket_id: *id, socket_filename: FixedString::new(&s.filename),
                })).collect()
            },
            MemifCreate => |r: &Self, v: &mut Vpp, ctx, m: MemifCreate| {
                let p = memif_params(m.role, m.mode, m.rx_queues, m.tx_queues, m.id, m.socket_id, m.ring_size, m.buffer_size, m.no_zero_copy, m.hw_addr, &m.secret);
                let (retval, sw_if_index) = created(v.memif_create(p));
                vec![r.out(ctx, &MemifCreateReply { retval, sw_if_index })]
            },
            MemifCreateV2 => |r: &Self, v: &mut Vpp, ctx, m: MemifCreateV2| {
                let p = memif_params(m.role, m.mode, m.rx_queues, m.tx_queues, m.id, m.socket_id, m.ring_size, m.buffer_size, m.no_zero_copy, m.hw_addr, &m.secret);
                let (retval, sw_if_index) = created(v.memif_create(p));
                vec![r.out(ctx, &MemifCreateV2Reply { retval, sw_if_index })]
            },
            MemifDelete => |r: &Self, v: &mut Vpp, ctx, m: MemifDelete| {
                vec![r.out(ctx, &MemifDeleteReply { retval: rv(v.memif_delete(m.sw_if_index)) })]
            },
            MemifDump => |r: &Self, v: &mut Vpp, ctx, _m| {
                v.interfaces.values().filter_map(|i| match &i.device {
                    Device::Memif(m) => Some(r.out(ctx, &MemifDetails {
                        sw_if_index: i.sw_if_index,
                        hw_addr: MacAddress(i.mac),
                        id: m.id,
                        role: if m.role == MemifRole::Master { WireRole::MASTER } else { WireRole::SLAVE },
                        mode: MemifMode(m.mode),
                        zero_copy: m.zero_copy,
                        socket_id: m.socket_id,
                        ring_size: m.ring_size,
                        buffer_size: m.buffer_size,
                        flags: flags(i),
                        if_name: FixedString::new(&i.name),
                    })),
                    _ => None,
                }).collect()
            },
            CreateVhostUserIf => |r: &Self, v: &mut Vpp, ctx, m: CreateVhostUserIf| {
                let mac = m.use_custom_mac.then_some(m.mac_address.0);
                let (retval, sw_if_index) = vhost_created(v.vhost_create(m.is_server, m.sock_filename.as_str(), mac, m.tag.as_str()));
                vec![r.out(ctx, &CreateVhostUserIfReply { retval, sw_if_index })]
            },
            CreateVhostUserIfV2 => |r: &Self, v: &mut Vpp, ctx, m: CreateVhostUserIfV2| {
                let mac = m.use_custom_mac.then_some(m.mac_address.0);
                let (retval, sw_if_index) = vhost_created(v.vhost_create(m.is_server, m.sock_filename.as_str(), mac, m.tag.as_str()));
                vec![r.out(ctx, &CreateVhostUserIfV2Reply { retval, sw_if_index })]
            },
            DeleteVhostUserIf => |r: &Self, v: &mut Vpp, ctx, m: DeleteVhostUserIf| {
                vec![r.out(ctx, &DeleteVhostUserIfReply { retval: rv(v.vhost_delete(m.sw_if_index)) })]
            },
            SwInterfaceVhostUserDump => |r: &Self, v: &mut Vpp, ctx, m: SwInterfaceVhostUserDump| {
                v.interfaces.values().filter(|i| m.sw_if_index == u32::MAX || i.sw_if_index == m.sw_if_index).filter_map(|i| match &i.device {
                    Device::VhostUser(h) => Some(r.out(ctx, &SwInterfaceVhostUserDetails {
                        sw_if_index: i.sw_if_index,
                        interface_name: FixedString::new(&i.name),
                        virtio_net_hdr_sz: 12,
                        is_server: h.is_server,
                        sock_filename: FixedString::new(&h.sock_filename),
                        ..Default::default()
                    })),
                    _ => None,
                }).collect()
            },
            BridgeDomainAddDel => |r: &Self, v: &mut Vpp, ctx, m: BridgeDomainAddDel| {
                let retval = if m.is_add && m.bd_id == u32::MAX { vpp_api::retval::BD_ID_EXCEED_MAX }
                    else { rv(v.bridge_add_del(m.is_add, m.bd_id, bridge_params(m.flood, m.uu_flood, m.forward, m.learn, m.arp_term, m.arp_ufwd, m.mac_age, &m.bd_tag)).map(drop)) };
                vec![r.out(ctx, &BridgeDomainAddDelReply { retval })]
            },
            BridgeDomainAddDelV2 => |r: &Self, v: &mut Vpp, ctx, m: BridgeDomainAddDelV2| {
                let (retval, bd_id) = match v.bridge_add_del(m.is_add, m.bd_id, bridge_params(m.flood, m.uu_flood, m.forward, m.learn, m.arp_term, m.arp_ufwd, m.mac_age, &m.bd_tag)) {
                    Ok(id) => (0, id),
                    Err(e) => (e, m.bd_id),
                };
                vec![r.out(ctx, &BridgeDomainAddDelV2Reply { retval, bd_id })]
            },
            BridgeDomainDump => |r: &Self, v: &mut Vpp, ctx, m: BridgeDomainDump| r.bridges(v, ctx, &m),
            SwInterfaceSetL2Bridge => |r: &Self, v: &mut Vpp, ctx, m: SwInterfaceSetL2Bridge| {
                let retval = rv(v.set_l2_bridge(m.rx_sw_if_index, m.bd_id, m.shg, m.port_type.0, m.enable));
                vec![r.out(ctx, &SwInterfaceSetL2BridgeReply { retval })]
            },
            L2InterfaceVlanTagRewrite => |r: &Self, v: &mut Vpp, ctx, m: L2InterfaceVlanTagRewrite| {
                let vtr = TagRewrite { op: m.vtr_op, push_dot1q: m.push_dot1q, tag1: m.tag1, tag2: m.tag2 };
                vec![r.out(ctx, &L2InterfaceVlanTagRewriteReply { retval: rv(v.vlan_tag_rewrite(m.sw_if_index, vtr)) })]
            },
        }
        tracing::debug!("{name}: not served by this mock; no answer (as VPP for an unknown id)");
        None
    }

    fn interfaces(&self, v: &Vpp, ctx: u32, m: &SwInterfaceDump) -> Replies {
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
            .map(|i| {
                self.out(
                    ctx,
                    &SwInterfaceDetails {
                        sw_if_index: i.sw_if_index,
                        sup_sw_if_index: i.sw_if_index,
                        l2_address: MacAddress(i.mac),
                        flags: flags(i),
                        r#type: IfType::HARDWARE,
                        link_mtu: i.mtu.min(u16::MAX as u32) as u16,
                        mtu: [i.mtu, 0, 0, 0],
                        vtr_op: i.vtr.op,
                        vtr_push_dot1q: i.vtr.push_dot1q,
                        vtr_tag1: i.vtr.tag1,
                        vtr_tag2: i.vtr.tag2,
                        interface_name: FixedString::new(&i.name),
                        interface_dev_type: FixedString::new(i.dev_type()),
                        tag: FixedString::new(&i.tag),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    fn bridges(&self, v: &Vpp, ctx: u32, m: &BridgeDomainDump) -> Replies {
        if m.sw_if_index != u32::MAX || m.bd_id == 0 {
            return Vec::new();
        }
        v.bridges
            .values()
            .filter(|b| m.bd_id == u32::MAX || b.bd_id == m.bd_id)
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
                    ctx,
                    &BridgeDomainDetails {
                        bd_id: b.bd_id,
                        flood: b.flood,
                        uu_flood: b.uu_flood,
                        forward: b.forward,
                        learn: b.learn,
                        arp_term: b.arp_term,
                        arp_ufwd: b.arp_ufwd,
                        mac_age: b.mac_age,
                        bd_tag: FixedString::new(&b.tag),
                        bvi_sw_if_index: b.bvi.unwrap_or(u32::MAX),
                        uu_fwd_sw_if_index: u32::MAX,
                        sw_if_details: Counted::new(members),
                    },
                )
            })
            .collect()
    }
}

fn rv(r: Result<(), i32>) -> i32 {
    r.err().unwrap_or(0)
}

fn created(r: Result<u32, i32>) -> (i32, u32) {
    match r {
        Ok(sw) => (0, sw),
        Err(e) => (e, u32::MAX),
    }
}

fn vhost_created(r: Result<u32, (i32, u32)>) -> (i32, u32) {
    match r {
        Ok(sw) => (0, sw),
        Err(e) => e,
    }
}

fn flags(i: &Interface) -> IfStatusFlags {
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
        role: if role == WireRole::SLAVE {
            MemifRole::Slave
        } else {
            MemifRole::Master
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

#[allow(clippy::too_many_arguments)]
fn bridge_params(
    flood: bool,
    uu_flood: bool,
    forward: bool,
    learn: bool,
    arp_term: bool,
    arp_ufwd: bool,
    mac_age: u8,
    tag: &FixedString<64>,
) -> BridgeParams {
    BridgeParams {
        flood,
        uu_flood,
        forward,
        learn,
        arp_term,
        arp_ufwd,
        mac_age,
        tag: tag.as_str().to_string(),
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

/// Every message this mock lists in its handshake table, after memclnt's fixed 1..=28:
/// the requests it serves, their replies and details.
pub fn served_messages() -> Vec<String> {
    vec![
        ShowVersion::name_crc(),
        ShowVersionReply::name_crc(),
        CliInband::name_crc(),
        CliInbandReply::name_crc(),
        SwInterfaceSetFlags::name_crc(),
        SwInterfaceSetFlagsReply::name_crc(),
        SwInterfaceSetMacAddress::name_crc(),
        SwInterfaceSetMacAddressReply::name_crc(),
        SwInterfaceAddDelAddress::name_crc(),
        SwInterfaceAddDelAddressReply::name_crc(),
        SwInterfaceDump::name_crc(),
        SwInterfaceDetails::name_crc(),
        IpAddressDump::name_crc(),
        IpAddressDetails::name_crc(),
        MemifSocketFilenameAddDel::name_crc(),
        MemifSocketFilenameAddDelReply::name_crc(),
        MemifSocketFilenameAddDelV2::name_crc(),
        MemifSocketFilenameAddDelV2Reply::name_crc(),
        MemifSocketFilenameDump::name_crc(),
        MemifSocketFilenameDetails::name_crc(),
        MemifCreate::name_crc(),
        MemifCreateReply::name_crc(),
        MemifCreateV2::name_crc(),
        MemifCreateV2Reply::name_crc(),
        MemifDelete::name_crc(),
        MemifDeleteReply::name_crc(),
        MemifDump::name_crc(),
        MemifDetails::name_crc(),
        CreateVhostUserIf::name_crc(),
        CreateVhostUserIfReply::name_crc(),
        CreateVhostUserIfV2::name_crc(),
        CreateVhostUserIfV2Reply::name_crc(),
        DeleteVhostUserIf::name_crc(),
        DeleteVhostUserIfReply::name_crc(),
        SwInterfaceVhostUserDump::name_crc(),
        SwInterfaceVhostUserDetails::name_crc(),
        BridgeDomainAddDel::name_crc(),
        BridgeDomainAddDelReply::name_crc(),
        BridgeDomainAddDelV2::name_crc(),
        BridgeDomainAddDelV2Reply::name_crc(),
        BridgeDomainDump::name_crc(),
        BridgeDomainDetails::name_crc(),
        SwInterfaceSetL2Bridge::name_crc(),
        SwInterfaceSetL2BridgeReply::name_crc(),
        L2InterfaceVlanTagRewrite::name_crc(),
        L2InterfaceVlanTagRewriteReply::name_crc(),
    ]
}

/// Builds the table: memclnt's fixed ids, then every served message from 29 upward.
pub fn message_table() -> MessageTable {
    let mut t = MessageTable::new();
    for (i, name) in MEMCLNT_TABLE.iter().enumerate() {
        t.insert(*name, i as u16 + 1);
    }
    for (i, name) in served_messages().into_iter().enumerate() {
        t.insert(name, 29 + i as u16);
    }
    t
}
