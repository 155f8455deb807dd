//! Interface addresses with the rules of VPP's ip4_forward.c / ip6_forward.c
//! (`ip4_add_del_interface_address_internal`, `ip6_add_del_interface_address`).

use std::net::IpAddr;

use vpp_api::retval::*;

use super::{Vpp, VppResult};

impl Vpp {
    /// `sw_interface_add_del_address`. Adding refuses a prefix that overlaps one already
    /// on any interface (the same prefix again included), except that an interface may
    /// hold several addresses of one subnet with the same length: IPv4 answers −105,
    /// IPv6 −127. Deleting looks the address up on the interface whatever the length.
    /// `del_all` clears every address (also on local0).
    pub fn address(
        &mut self,
        sw: u32,
        is_add: bool,
        del_all: bool,
        ip: IpAddr,
        len: u8,
    ) -> VppResult<()> {
        self.interface(sw)?;
        if del_all {
            self.interface_mut(sw)?.addresses.clear();
            self.neighbors.retain(|(port, _), _| *port != sw);
            return Ok(());
        }
        if sw == 0 {
            return Err(UNSUPPORTED);
        }
        if is_link_local(ip) && len != 128 {
            return Err(ADDRESS_LENGTH_MISMATCH);
        }
        if !is_add {
            let i = self.interface_mut(sw)?;
            let Some(at) = i.addresses.iter().position(|(a, _)| *a == ip) else {
                return Err(ADDRESS_NOT_FOUND_FOR_INTERFACE);
            };
            let (_, len) = i.addresses.remove(at);
            // Neighbours the removed subnet covered go with it.
            self.neighbors
                .retain(|(port, n), _| *port != sw || !same_subnet(IpAddr::V4(*n), 32, ip, len));
            return Ok(());
        }
        if len > if ip.is_ipv4() { 32 } else { 128 } {
            return Err(ADDRESS_LENGTH_MISMATCH);
        }
        for o in self.interfaces.values() {
            for (oip, olen) in &o.addresses {
                if !same_subnet(ip, len, *oip, *olen) {
                    continue;
                }
                if o.sw_if_index == sw && *olen == len && *oip != ip {
                    continue;
                }
                return Err(if ip.is_ipv4() {
                    ADDRESS_IN_USE
                } else {
                    DUPLICATE_IF_ADDRESS
                });
            }
        }
        if len == 0 {
            return Err(ADDRESS_LENGTH_MISMATCH);
        }
        self.interface_mut(sw)?.addresses.push((ip, len));
        Ok(())
    }
}

fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// Whether either prefix contains the other's address (VPP refuses overlapping subnets).
pub(crate) fn same_subnet(a: IpAddr, alen: u8, b: IpAddr, blen: u8) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("10.0.0.1", 24, "10.0.0.200", 24, true)]
    #[case("10.0.0.1", 24, "10.0.1.1", 24, false)]
    #[case("10.0.0.1", 16, "10.0.7.1", 24, true)]
    #[case("10.0.0.1", 0, "192.168.0.1", 32, true)]
    #[case("2001:db8::1", 64, "2001:db8::2", 64, true)]
    #[case("2001:db8::1", 64, "2001:db9::1", 64, false)]
    #[case("10.0.0.1", 8, "::a00:1", 8, false)]
    fn subnets(
        #[case] a: &str,
        #[case] alen: u8,
        #[case] b: &str,
        #[case] blen: u8,
        #[case] want: bool,
    ) {
        let (a, b) = (a.parse().unwrap(), b.parse().unwrap());
        assert_eq!(same_subnet(a, alen, b, blen), want);
        assert_eq!(same_subnet(b, blen, a, alen), want);
    }
}
