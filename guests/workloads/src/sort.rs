//! Sorting pseudo-random `u32` keys with `core`'s unstable sort.

use crate::crc32::crc32_update;
use crate::prng::SplitMix64;

/// Fills `keys` from SplitMix64 with `seed`.
pub fn fill_random(keys: &mut [u32], seed: u64) {
    let mut rng = SplitMix64::new(seed);
    for k in keys.iter_mut() {
        *k = rng.next_u32();
    }
}

/// Whether `keys` is in non-decreasing order.
pub fn is_sorted(keys: &[u32]) -> bool {
    keys.windows(2).all(|w| w[0] <= w[1])
}

/// The CRC-32 of the keys' little-endian bytes, in order.
pub fn keys_crc32(keys: &[u32]) -> u32 {
    keys.iter()
        .fold(0, |crc, k| crc32_update(crc, &k.to_le_bytes()))
}

/// Fills `keys` from `seed`, sorts them and returns the CRC-32 of the sorted keys, or `None` if the
/// result is not sorted (which would be a bug in the machine running this).
pub fn sort_random(keys: &mut [u32], seed: u64) -> Option<u32> {
    fill_random(keys, seed);
    keys.sort_unstable();
    is_sorted(keys).then(|| keys_crc32(keys))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn sorting_a_permutation_gives_the_identity() {
        // 7919 is prime, so i * 7919 mod 10007 (10007 prime) visits every residue once.
        let mut keys: Vec<u32> = (0..10_007u32).map(|i| i * 7919 % 10_007).collect();
        keys.sort_unstable();
        assert!(keys.iter().copied().eq(0..10_007));
        assert!(is_sorted(&keys));
    }

    #[test]
    fn sort_random_keeps_the_multiset() {
        let mut keys = [0u32; 1000];
        let crc = sort_random(&mut keys, 42).unwrap();
        let mut again = [0u32; 1000];
        fill_random(&mut again, 42);
        let mut sum_before: u64 = again.iter().map(|&k| u64::from(k)).sum();
        let sum_after: u64 = keys.iter().map(|&k| u64::from(k)).sum();
        assert_eq!(sum_before, sum_after);
        again.sort_unstable();
        assert_eq!(again, keys);
        assert_eq!(crc, keys_crc32(&again));
        sum_before ^= 1;
        assert_ne!(sum_before, sum_after);
        assert!(!is_sorted(&[2, 1]));
    }
}
