//! Bridge domains, bridge ports and VLAN tag rewrite, with the rules and error numbers of
//! VPP's l2_bd.c, l2_input.c (`set_int_l2_mode`), l2_vtr.c and l2_api.c.

use vpp_api::retval::*;

use super::{ids, Vpp, VppResult};

/// Highest bridge-domain id VPP accepts.
pub const BD_ID_MAX: u32 = 16_777_215;
/// What VPP answers when it finds no unused bridge-domain id to pick.
const EAGAIN: i32 = -165;

/// `vtr_op` values (l2_vtr.h).
pub const VTR_DISABLED: u32 = 0;
pub const VTR_PUSH_1: u32 = 1;
pub const VTR_PUSH_2: u32 = 2;
/// The last valid op (translate 2-2).
const VTR_OP_MAX: u32 = 8;

/// `l2_port_type` values other than NORMAL (0).
const PORT_BVI: u32 = 1;
const PORT_UU_FWD: u32 = 2;

/// An L2 tag rewrite (`l2_interface_vlan_tag_rewrite`), as VPP reads it back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagRewrite {
    pub op: u32,
    pub push_dot1q: u32,
    pub tag1: u32,
    pub tag2: u32,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeDomain {
    pub bd_id: u32,
    /// VPP's bd_index: the lowest free one when the bridge was made (bd 0 has 0).
    pub index: u32,
    pub flood: bool,
    pub uu_flood: bool,
    pub forward: bool,
    pub learn: bool,
    pub arp_term: bool,
    pub arp_ufwd: bool,
    pub mac_age: u8,
    pub tag: String,
    /// Normal and BVI members in the order they joined.
    pub members: Vec<u32>,
    /// The bridge's BVI member, if any.
    pub bvi: Option<u32>,
    /// The port unknown unicast goes to (port type UU_FWD; not a member).
    pub uu_fwd: Option<u32>,
}

impl BridgeDomain {
    fn new(bd_id: u32, index: u32, p: BridgeParams) -> Self {
        BridgeDomain {
            bd_id,
            index,
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
            uu_fwd: None,
        }
    }

    /// VPP's defaults for a bridge domain made by sw_interface_set_l2_bridge.
    fn implicit(bd_id: u32, index: u32) -> Self {
        let p = BridgeParams {
            flood: true,
            uu_flood: true,
            forward: true,
            learn: true,
            ..BridgeParams::default()
        };
        BridgeDomain::new(bd_id, index, p)
    }

    pub(super) fn leave(&mut self, sw: u32) {
        self.members.retain(|m| *m != sw);
        if self.bvi == Some(sw) {
            self.bvi = None;
        }
        if self.uu_fwd == Some(sw) {
            self.uu_fwd = None;
        }
    }
}

impl Vpp {
    /// The lowest bd_index no bridge holds (0 belongs to bridge domain 0).
    fn free_bd_index(&self) -> u32 {
        // n bridges leave at least one of 1..=n+1 free; one pass, not one per candidate.
        let mut used = vec![false; self.bridges.len() + 2];
        for b in self.bridges.values() {
            if let Some(u) = used.get_mut(b.index as usize) {
                *u = true;
            }
        }
        (1..used.len()).find(|i| !used[*i]).expect("an index") as u32
    }

    /// `bridge_domain_add_del_v2` with bd_id ~0 on add: VPP's pick, `None` if it finds none.
    pub fn pick_bd_id(&mut self) -> Option<u32> {
        let bridges = &self.bridges;
        ids::pick_unused(&mut self.ids.bd_seed, BD_ID_MAX, 0, |id| {
            bridges.contains_key(&id)
        })
    }

    /// `bridge_domain_add_del(_v2)` (VPP's bd_add_del); returns the bd_id.
    /// Bridge domain 0 always exists in VPP: adding it is refused as a duplicate.
    pub fn bridge_add_del(&mut self, is_add: bool, bd_id: u32, p: BridgeParams) -> VppResult<u32> {
        if is_add {
            if bd_id == 0 || self.bridges.contains_key(&bd_id) {
                return Err(BD_ALREADY_EXISTS);
            }
            if bd_id > BD_ID_MAX {
                return Err(BD_ID_EXCEED_MAX);
            }
            let index = self.free_bd_index();
            self.bridges
                .insert(bd_id, BridgeDomain::new(bd_id, index, p));
            return Ok(bd_id);
        }
        if bd_id == 0 {
            return Err(BD_NOT_MODIFIABLE);
        }
        let b = self.bridges.get(&bd_id).ok_or(NO_SUCH_ENTRY)?;
        if !b.members.is_empty() {
            return Err(BD_IN_USE);
        }
        self.bridges.remove(&bd_id);
        Ok(bd_id)
    }

    /// `bridge_domain_add_del_v2`: (retval, bd_id for the reply).
    pub fn bridge_add_del_v2(&mut self, is_add: bool, bd_id: u32, p: BridgeParams) -> (i32, u32) {
        let bd_id = match (is_add, bd_id) {
            (true, u32::MAX) => match self.pick_bd_id() {
                Some(id) => id,
                None => return (EAGAIN, u32::MAX),
            },
            _ => bd_id,
        };
        match self.bridge_add_del(is_add, bd_id, p) {
            Ok(_) => (0, bd_id),
            Err(e) => (e, bd_id),
        }
    }

    /// `sw_interface_set_l2_bridge`. With `enable` a missing bridge domain is made with
    /// VPP's defaults, and the port first leaves the bridge it was in; VPP no longer
    /// refuses non-Ethernet ports. Without `enable` the port goes back to L3 (its tag
    /// rewrite is cleared) and `bd_id` is ignored.
    pub fn set_l2_bridge(
        &mut self,
        sw: u32,
        bd_id: u32,
        shg: u8,
        port_type: u32,
        enable: bool,
    ) -> VppResult<()> {
        let current = self.interface(sw)?.bridge;
        if port_type > PORT_UU_FWD {
            return Err(INVALID_VALUE);
        }
        if enable && bd_id > BD_ID_MAX {
            return Err(BD_ID_EXCEED_MAX);
        }
        if enable && bd_id != 0 && !self.bridges.contains_key(&bd_id) {
            let index = self.free_bd_index();
            self.bridges
                .insert(bd_id, BridgeDomain::implicit(bd_id, index));
        }
        if let Some((old, _)) = current {
            if let Some(b) = self.bridges.get_mut(&old) {
                b.leave(sw);
            }
            self.forget_port(sw);
        }
        let i = self.interface_mut(sw)?;
        i.bridge = None;
        if !enable {
            i.vtr = TagRewrite::default();
            return Ok(());
        }
        // Bridge domain 0 drops everything and is never shown: no membership to keep.
        if let Some(b) = self.bridges.get_mut(&bd_id) {
            match port_type {
                PORT_BVI if b.bvi.is_some() => return Err(BD_ALREADY_HAS_BVI),
                PORT_BVI => {
                    b.bvi = Some(sw);
                    b.members.push(sw);
                }
                PORT_UU_FWD => b.uu_fwd = Some(sw),
                _ => b.members.push(sw),
            }
        }
        self.interface_mut(sw)?.bridge = Some((bd_id, shg));
        Ok(())
    }

    /// `l2_interface_vlan_tag_rewrite`. Every interface here is an untagged hardware
    /// interface, so the pop and translate operations lack tags to work on.
    pub fn vlan_tag_rewrite(&mut self, sw: u32, vtr: TagRewrite) -> VppResult<()> {
        let i = self.interface_mut(sw)?;
        if vtr.op > VTR_OP_MAX {
            return Err(INVALID_VALUE);
        }
        if !i.is_ethernet() {
            return Err(INVALID_INTERFACE);
        }
        let dot1q = u32::from(vtr.push_dot1q != 0);
        i.vtr = match vtr.op {
            VTR_DISABLED => TagRewrite::default(),
            VTR_PUSH_1 => TagRewrite {
                op: VTR_PUSH_1,
                push_dot1q: dot1q,
                tag1: vtr.tag1 & 0xffff,
                tag2: 0,
            },
            VTR_PUSH_2 => TagRewrite {
                op: VTR_PUSH_2,
                push_dot1q: dot1q,
                tag1: vtr.tag1 & 0xffff,
                tag2: vtr.tag2 & 0xffff,
            },
            _ => return Err(INVALID_VLAN_TAG_COUNT),
        };
        Ok(())
    }
}
