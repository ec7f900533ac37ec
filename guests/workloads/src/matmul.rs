//! Square matrix multiply over `u64` with wrapping arithmetic (row-major `n * n` slices).

use crate::digest::Fnv64;
use crate::prng::SplitMix64;

/// `c = a * b` for `n * n` row-major matrices, with wrapping `u64` arithmetic. Returns `None` when a
/// slice is shorter than `n * n` (and writes nothing).
pub fn multiply(n: usize, a: &[u64], b: &[u64], c: &mut [u64]) -> Option<()> {
    let len = n.checked_mul(n)?;
    let (a, b, c) = (a.get(..len)?, b.get(..len)?, c.get_mut(..len)?);
    c.fill(0);
    for (a_row, c_row) in a.chunks_exact(n).zip(c.chunks_exact_mut(n)) {
        for (&aik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (cij, &bkj) in c_row.iter_mut().zip(b_row) {
                *cij = cij.wrapping_add(aik.wrapping_mul(bkj));
            }
        }
    }
    Some(())
}

/// Fills `a` and `b` (`n * n` each) from SplitMix64 with `seed`, multiplies them into `c` and returns the
/// FNV-1a digest of `c`. Returns `None` when a slice is too short.
pub fn random_product_digest(
    n: usize,
    seed: u64,
    a: &mut [u64],
    b: &mut [u64],
    c: &mut [u64],
) -> Option<u64> {
    let len = n.checked_mul(n)?;
    let mut rng = SplitMix64::new(seed);
    for x in a
        .get_mut(..len)?
        .iter_mut()
        .chain(b.get_mut(..len)?.iter_mut())
    {
        *x = rng.next_u64();
    }
    multiply(n, a, b, c)?;
    let mut h = Fnv64::new();
    for &x in c.get(..len)? {
        h.write_u64(x);
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn closed_form_product() {
        // A[i][k] = i + k and B[k][j] = k + j give
        // C[i][j] = n*i*j + (i + j) * S1 + S2, with S1 = sum k = n(n-1)/2 and S2 = sum k^2 = (n-1)n(2n-1)/6.
        let n = 37usize;
        let a: std::vec::Vec<u64> = (0..n * n).map(|x| (x / n + x % n) as u64).collect();
        let b = a.clone();
        let mut c = vec![0u64; n * n];
        multiply(n, &a, &b, &mut c).unwrap();
        let nn = n as u64;
        let s1 = nn * (nn - 1) / 2;
        let s2 = (nn - 1) * nn * (2 * nn - 1) / 6;
        for i in 0..nn {
            for j in 0..nn {
                let want = nn * i * j + (i + j) * s1 + s2;
                assert_eq!(c[(i * nn + j) as usize], want, "C[{i}][{j}]");
            }
        }
    }

    #[test]
    fn wraps_instead_of_overflowing() {
        let a = [u64::MAX, 0, 0, u64::MAX];
        let b = [2, 0, 0, 3];
        let mut c = [0; 4];
        multiply(2, &a, &b, &mut c).unwrap();
        assert_eq!(c, [u64::MAX - 1, 0, 0, u64::MAX - 2]);
    }

    #[test]
    fn identity_keeps_random_matrix() {
        let n = 5;
        let mut a = vec![0u64; 25];
        let mut id = vec![0u64; 25];
        let mut c = vec![0u64; 25];
        let mut rng = SplitMix64::new(7);
        a.iter_mut().for_each(|x| *x = rng.next_u64());
        for i in 0..n {
            id[i * n + i] = 1;
        }
        multiply(n, &a, &id, &mut c).unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn short_slices_are_refused() {
        let mut c = [0u64; 3];
        assert_eq!(multiply(2, &[0; 4], &[0; 4], &mut c), None);
    }
}
