//! How VPP numbers what it creates, so a client sees the ids a freshly started VPP would
//! give: its pools (sw_if_index, vhost-user instances, API clients) hand out the most
//! recently freed slot first and otherwise grow, and "pick an unused id" (memif socket
//! ids, bridge-domain ids) walks vppinfra's `random_u32` sequence from a seed of 0.

/// vppinfra's `random_u32`: the linear congruential step behind VPP's id pickers.
pub fn random_u32(seed: &mut u32) -> u32 {
    *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    *seed
}

/// A vppinfra pool's index allocator.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    len: u32,
    free: Vec<u32>,
}

impl Pool {
    /// A pool whose first `reserved` slots are taken for good (local0, the API listener).
    pub fn with_reserved(reserved: u32) -> Pool {
        Pool {
            len: reserved,
            free: Vec::new(),
        }
    }

    /// The last freed slot, else a new one at the end.
    pub fn get(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.len += 1;
            self.len - 1
        })
    }

    pub fn put(&mut self, index: u32) {
        debug_assert!(index < self.len && !self.free.contains(&index));
        self.free.push(index);
    }
}

/// VPP's search for an unused id (`memif_get_unused_socket_id`, `bd_get_unused_id`): a
/// fresh `random_u32` value, then its neighbours +1, -1, +2, -2, ... each kept within
/// `mask`; `skip` is never returned. `None` after VPP's million tries.
pub fn pick_unused(
    seed: &mut u32,
    mask: u32,
    skip: u32,
    in_use: impl Fn(u32) -> bool,
) -> Option<u32> {
    for _ in 0..1 << 10 {
        random_u32(seed);
        for i in 0..1i64 << 10 {
            let step = (2 * (i % 2) - 1) * i;
            *seed = seed.wrapping_add(step as u32) & mask;
            if *seed == skip {
                continue;
            }
            if !in_use(*seed) {
                return Some(*seed);
            }
        }
    }
    None
}

/// The counters a VPP process keeps for numbering.
#[derive(Debug, Clone)]
pub struct Ids {
    /// sw_if_index (local0 holds 0).
    pub sw_if: Pool,
    /// vhost-user device instances, the N of `VirtualEthernet0/0/N`.
    pub vhost: Pool,
    /// The static seed of `memif_get_unused_socket_id`.
    pub memif_socket_seed: u32,
    /// The static seed of `bd_get_unused_id`.
    pub bd_seed: u32,
}

impl Default for Ids {
    fn default() -> Ids {
        Ids {
            sw_if: Pool::with_reserved(1),
            vhost: Pool::default(),
            memif_socket_seed: 0,
            bd_seed: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_reuse_the_last_freed_slot_first() {
        let mut p = Pool::with_reserved(1);
        let got: Vec<u32> = (0..4).map(|_| p.get()).collect();
        assert_eq!(got, vec![1, 2, 3, 4]);
        p.put(2);
        p.put(4);
        assert_eq!((p.get(), p.get(), p.get()), (4, 2, 5));
    }

    #[test]
    fn picks_follow_vpps_sequence() {
        // A fresh VPP answers its first "pick a socket id" with the first value of
        // random_u32 from seed 0, and the next pick with the next value.
        let mut seed = 0;
        let first = pick_unused(&mut seed, u32::MAX, u32::MAX, |_| false);
        assert_eq!(first, Some(1_013_904_223));
        let second = pick_unused(&mut seed, u32::MAX, u32::MAX, |_| false);
        assert_eq!(second, Some(1_013_904_223u32.wrapping_mul(1_664_526)));
        // Bridge-domain ids stay within 24 bits.
        let mut seed = 0;
        let bd = pick_unused(&mut seed, 0xff_ffff, 0, |_| false);
        assert_eq!(bd, Some(1_013_904_223 & 0xff_ffff));
    }

    #[test]
    fn a_taken_id_moves_the_pick_to_a_neighbour() {
        let taken = 1_013_904_223u32;
        let mut seed = 0;
        let got = pick_unused(&mut seed, u32::MAX, u32::MAX, |id| id == taken);
        assert_eq!(got, Some(taken + 1));
        let mut seed = 0;
        let got = pick_unused(&mut seed, u32::MAX, u32::MAX, |id| {
            id == taken || id == taken + 1
        });
        assert_eq!(got, Some(taken - 1), "the walk goes +1, then -2 from there");
    }
}
