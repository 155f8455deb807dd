//! Deterministic MAC addresses for attachments.
//!
//! Derived from the container id and ifname, so a retried ADD gives the same address and
//! nothing random has to be saved to find it again.

use crate::Attachment;

/// A locally administered unicast MAC for one end (`role`) of an attachment.
pub fn for_attachment(who: &Attachment, role: &str) -> MacAddress {
    // FNV-1a, 64 bit: small, stable across releases and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        who.container_id.as_bytes(),
        b"/",
        who.if_name.as_bytes(),
        b"/",
        role.as_bytes(),
    ] {
        for &b in part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let b = h.to_be_bytes();
    MacAddress([0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// A MAC address, printed the usual way (`02:ab:...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddress(pub [u8; 6]);

impl std::fmt::Display for MacAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(c: &str, i: &str) -> Attachment {
        Attachment {
            container_id: c.into(),
            if_name: i.into(),
        }
    }

    #[test]
    fn stable_local_unicast_and_distinct() {
        let a = for_attachment(&who("abc", "net1"), "host");
        assert_eq!(a, for_attachment(&who("abc", "net1"), "host"));
        assert_eq!(a.0[0], 0x02);
        assert_ne!(a, for_attachment(&who("abc", "net2"), "host"));
        assert_ne!(a, for_attachment(&who("abc", "net1"), "container"));
        assert_ne!(a, for_attachment(&who("abd", "net1"), "host"));
    }
}
