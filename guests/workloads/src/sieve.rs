//! The sieve of Eratosthenes over odd numbers, one byte per odd number.

/// What [`primes_below`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PrimeStats {
    /// How many primes are below the limit.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
    /// The largest of them (0 when there is none).
    pub largest: u64,
}

/// The scratch bytes [`primes_below`] needs for `limit`.
pub const fn scratch_len(limit: usize) -> usize {
    limit / 2
}

/// Counts and sums the primes below `limit`, using `scratch` (at least [`scratch_len`]`(limit)` bytes;
/// its contents are overwritten). Returns `None` when `scratch` is too short.
pub fn primes_below(limit: usize, scratch: &mut [u8]) -> Option<PrimeStats> {
    if limit <= 2 {
        return Some(PrimeStats {
            count: 0,
            sum: 0,
            largest: 0,
        });
    }
    // Index i stands for the odd number 2i + 1, for 2i + 1 < limit; index 0 (the number 1) is skipped.
    let odds = scratch.get_mut(..scratch_len(limit))?;
    odds.fill(1);
    let mut i = 1;
    while (2 * i + 1) * (2 * i + 1) < limit {
        if odds[i] != 0 {
            let p = 2 * i + 1;
            let mut j = p * p / 2;
            while j < odds.len() {
                odds[j] = 0;
                j += p;
            }
        }
        i += 1;
    }
    let mut stats = PrimeStats {
        count: 1,
        sum: 2,
        largest: 2,
    };
    for (i, &is_prime) in odds.iter().enumerate().skip(1) {
        if is_prime != 0 {
            let n = 2 * i as u64 + 1;
            stats.count += 1;
            stats.sum += n;
            stats.largest = n;
        }
    }
    Some(stats)
}

/// Writes the primes below `limit` in increasing order into `out`, as many as fit, and returns how many
/// were written. Trial division: meant for small limits (a banner's worth of primes).
pub fn first_primes(limit: u64, out: &mut [u64]) -> usize {
    let mut n = 2;
    let mut written = 0;
    while n < limit && written < out.len() {
        let mut d = 2;
        let mut prime = true;
        while d * d <= n {
            if n % d == 0 {
                prime = false;
                break;
            }
            d += 1;
        }
        if prime {
            out[written] = n;
            written += 1;
        }
        n += 1;
    }
    written
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    fn run(limit: usize) -> PrimeStats {
        let mut scratch = vec![0u8; scratch_len(limit)];
        primes_below(limit, &mut scratch).unwrap()
    }

    #[test]
    fn small_limits() {
        assert_eq!(run(0).count, 0);
        assert_eq!(run(2).count, 0);
        assert_eq!(
            run(3),
            PrimeStats {
                count: 1,
                sum: 2,
                largest: 2
            }
        );
        assert_eq!(
            run(10),
            PrimeStats {
                count: 4,
                sum: 17,
                largest: 7
            }
        );
        assert_eq!(
            run(100),
            PrimeStats {
                count: 25,
                sum: 1060,
                largest: 97
            }
        );
        // 9 and 25 are odd squares: the sieve must strike them.
        assert_eq!(
            run(26),
            PrimeStats {
                count: 9,
                sum: 100,
                largest: 23
            }
        );
    }

    #[test]
    fn one_million() {
        // pi(10^6) = 78498; the sum of the primes below one million is 37550402023 (a standard table
        // value); the largest prime below 10^6 is 999983.
        assert_eq!(
            run(1_000_000),
            PrimeStats {
                count: 78_498,
                sum: 37_550_402_023,
                largest: 999_983
            }
        );
    }

    #[test]
    fn short_scratch_is_refused() {
        let mut scratch = [0u8; 4];
        assert_eq!(primes_below(100, &mut scratch), None);
    }

    #[test]
    fn first_primes_lists_in_order() {
        let mut out = [0u64; 10];
        assert_eq!(first_primes(1000, &mut out), 10);
        assert_eq!(out, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert_eq!(first_primes(12, &mut out), 5);
    }
}
