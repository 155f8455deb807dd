//! Details messages built from the model, as VPP's dump handlers fill them.

use vpp_api::messages::{BridgeDomainDetails, SwInterfaceDetails};
use vpp_api::types::{BridgeDomainSwIf, IfType};
use vpp_api::wire::{Counted, FixedString, MacAddress};

use crate::model::{BridgeDomain, BridgeParams, Interface};

/// `sw_interface_details`: every interface here is a hardware interface (its own
/// sup_sw_if_index), MTU in the L3 slot only; the MAC of Ethernet interfaces, zeros
/// otherwise; the tag rewrite as VPP reads it back.
pub fn interface_details(i: &Interface) -> SwInterfaceDetails {
    SwInterfaceDetails {
        sw_if_index: i.sw_if_index,
        sup_sw_if_index: i.sw_if_index,
        l2_address: MacAddress(i.mac),
        flags: crate::handlers::flags(i),
        r#type: IfType::HARDWARE,
        link_mtu: i.mtu.min(u32::from(u16::MAX)) as u16,
        mtu: [i.mtu, 0, 0, 0],
        vtr_op: i.vtr.op,
        vtr_push_dot1q: i.vtr.push_dot1q,
        vtr_tag1: i.vtr.tag1,
        vtr_tag2: i.vtr.tag2,
        interface_name: FixedString::new(&i.name),
        interface_dev_type: FixedString::new(i.dev_type()),
        tag: FixedString::new(&i.tag),
        ..Default::default()
    }
}

/// `bridge_domain_details`; unset BVI and UU-forward ports are ~0.
pub fn bridge_details(
    b: &BridgeDomain,
    members: Counted<u32, BridgeDomainSwIf>,
) -> BridgeDomainDetails {
    BridgeDomainDetails {
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
        uu_fwd_sw_if_index: b.uu_fwd.unwrap_or(u32::MAX),
        sw_if_details: members,
    }
}

/// The settings of a bridge_domain_add_del(_v2) request.
#[allow(clippy::too_many_arguments)]
pub fn bridge_params(
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
