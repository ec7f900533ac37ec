//! The host-FPU fast path for double-precision arithmetic and comparisons.
//!
//! In round-to-nearest-even (the host's mode: Rust never changes it) an IEEE-754 host computes `+`,
//! `-`, `×` and `÷` of doubles correctly rounded, so its result is the guest's whenever no special case
//! is involved. The fast path takes only the cases where the flags are easy to know exactly too:
//! finite operands and a finite result of magnitude above the smallest normal number (so neither
//! overflow nor underflow, including tininess detected after rounding, can occur), or an exact zero.
//! Then the only possible flag is inexact, found exactly: for sums by the error term of Knuth's
//! TwoSum, for products by the width of the integer product of the significands, for quotients by
//! whether the odd part of the divisor's significand divides the dividend's. Everything else
//! (NaNs, infinities, zero divisors, subnormal or overflowing results, other rounding modes) returns
//! `None` and goes to the soft-float path.

use vm_core::ir::{FCmpOp, FpFlags};

const EXP_MASK: u64 = 0x7ff;
const FRAC_BITS: u32 = 52;
const FRAC_MASK: u64 = (1 << FRAC_BITS) - 1;

/// Biased exponent of `bits`.
#[inline(always)]
fn exp(bits: u64) -> u64 {
    (bits >> FRAC_BITS) & EXP_MASK
}

/// Whether `bits` is a finite double.
#[inline(always)]
fn finite(bits: u64) -> bool {
    exp(bits) != EXP_MASK
}

/// The integer significand of a finite double (with the hidden bit when it is normal).
#[inline(always)]
fn significand(bits: u64) -> u64 {
    let f = bits & FRAC_MASK;
    if exp(bits) == 0 {
        f
    } else {
        f | (1 << FRAC_BITS)
    }
}

/// Whether `r` is finite with a magnitude above the smallest normal number.
#[inline(always)]
fn safe(r: f64) -> bool {
    let a = r.abs();
    a > f64::MIN_POSITIVE && a < f64::INFINITY
}

#[inline(always)]
fn inexact(inexact: bool) -> u8 {
    if inexact { FpFlags::INEXACT } else { 0 }
}

/// `a + b` (or `a - b` when `sub`), when the fast path applies.
#[inline(always)]
pub(crate) fn add_f64(a: u64, b: u64, sub: bool) -> Option<(u64, u8)> {
    if !finite(a) || !finite(b) {
        return None;
    }
    let x = f64::from_bits(a);
    let y = if sub {
        -f64::from_bits(b)
    } else {
        f64::from_bits(b)
    };
    let s = x + y;
    if s == 0.0 {
        // A sum of doubles that rounds to zero is exactly zero (a non-zero sum of two doubles is
        // at least the smallest subnormal), with the sign IEEE gives it in this mode.
        return Some((s.to_bits(), 0));
    }
    if !safe(s) {
        return None;
    }
    // TwoSum: `s + err` is exactly `x + y`.
    let bv = s - x;
    let av = s - bv;
    let err = (x - av) + (y - bv);
    Some((s.to_bits(), inexact(err != 0.0)))
}

/// `a × b`, when the fast path applies.
#[inline(always)]
pub(crate) fn mul_f64(a: u64, b: u64) -> Option<(u64, u8)> {
    if !finite(a) || !finite(b) {
        return None;
    }
    let p = f64::from_bits(a) * f64::from_bits(b);
    let (ma, mb) = (significand(a), significand(b));
    if ma == 0 || mb == 0 {
        // A zero operand: an exact (signed) zero.
        return Some((p.to_bits(), 0));
    }
    if !safe(p) {
        return None;
    }
    // The exact product is `ma × mb` scaled by a power of two; it is representable (the result is
    // normal) exactly when its significant bits fit the 53 of a double.
    let m = u128::from(ma) * u128::from(mb);
    let width = 128 - m.leading_zeros() - m.trailing_zeros();
    Some((p.to_bits(), inexact(width > 53)))
}

/// `a ÷ b`, when the fast path applies.
#[inline(always)]
pub(crate) fn div_f64(a: u64, b: u64) -> Option<(u64, u8)> {
    if !finite(a) || !finite(b) {
        return None;
    }
    let (ma, mb) = (significand(a), significand(b));
    if mb == 0 {
        return None;
    }
    let q = f64::from_bits(a) / f64::from_bits(b);
    if ma == 0 {
        return Some((q.to_bits(), 0));
    }
    if !safe(q) {
        return None;
    }
    // `ma / mb` is `ma / odd(mb)` times a power of two: a dyadic rational (and then, being below
    // 2^53 in its odd part, representable in a normal result) exactly when `odd(mb)` divides `ma`.
    let odd = mb >> mb.trailing_zeros();
    Some((q.to_bits(), inexact(ma % odd != 0)))
}

/// A quiet comparison (`Eq`) or a signalling one (`Lt`, `Le`) of two doubles, when neither is a
/// NaN (then no flag is raised).
#[inline(always)]
pub(crate) fn cmp_f64(op: FCmpOp, a: u64, b: u64) -> Option<u64> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    if x.is_nan() || y.is_nan() {
        return None;
    }
    Some(u64::from(match op {
        FCmpOp::Eq => x == y,
        FCmpOp::Lt => x < y,
        FCmpOp::Le => x <= y,
        FCmpOp::Unordered => false,
    }))
}

#[cfg(test)]
mod tests {
    use vm_core::ir::{FBinOp, FCmpOp, FloatTy, NanMode, RoundingMode};

    use super::super::{fbin, fcmp};
    use super::*;

    /// SplitMix64.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// A double from an interesting distribution: specials, tiny, huge, short significands,
        /// and plain random bits.
        fn double(&mut self) -> u64 {
            let r = self.next();
            let sign = r & (1 << 63);
            match r % 8 {
                0 => {
                    [
                        0,
                        1,
                        FRAC_MASK,
                        1 << 52,
                        0x7ff0_0000_0000_0000,
                        0x7ff8_0000_0000_0000,
                    ][(r >> 8) as usize % 6]
                        | sign
                }
                // Exponents near the bottom and the top of the range.
                1 => sign | ((r >> 3) & FRAC_MASK) | ((1 + (r >> 56) % 60) << 52),
                2 => sign | ((r >> 3) & FRAC_MASK) | ((0x7fe - (r >> 56) % 60) << 52),
                // Few significant bits: products and quotients are often exact.
                3 => sign | (r & (0xff << 44)) | ((0x3f0 + (r >> 58)) << 52),
                // Small integers.
                4 => f64::from((r >> 40) as u32 % 1000).to_bits() | sign,
                _ => r,
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_soft_float() {
        let mut rng = Rng(1);
        let mut taken = [0u32; 4];
        let ops = [FBinOp::Add, FBinOp::Sub, FBinOp::Mul, FBinOp::Div];
        for _ in 0..200_000 {
            let (a, b) = (rng.double(), rng.double());
            for (k, op) in ops.into_iter().enumerate() {
                let fast = match op {
                    FBinOp::Add => add_f64(a, b, false),
                    FBinOp::Sub => add_f64(a, b, true),
                    FBinOp::Mul => mul_f64(a, b),
                    _ => div_f64(a, b),
                };
                if let Some(got) = fast {
                    taken[k] += 1;
                    let want = fbin(
                        op,
                        FloatTy::F64,
                        a,
                        b,
                        RoundingMode::NearestEven,
                        NanMode::Canonical,
                        false,
                    );
                    assert_eq!(got, want, "{op:?} {a:#x} {b:#x}");
                }
            }
        }
        // The fast path does take the common cases.
        assert!(taken.iter().all(|&t| t > 100_000), "{taken:?}");
    }

    #[test]
    fn fast_path_exactness_and_refusals() {
        let d = f64::to_bits;
        assert_eq!(add_f64(d(1.5), d(2.25), false), Some((d(3.75), 0)));
        assert_eq!(
            add_f64(d(1.0), d(1e-30), false),
            Some((d(1.0), FpFlags::INEXACT))
        );
        assert_eq!(add_f64(d(2.0), d(2.0), true), Some((0, 0)));
        assert_eq!(mul_f64(d(3.0), d(0.125)), Some((d(0.375), 0)));
        assert_eq!(
            mul_f64(d(0.1), d(3.0)),
            Some((d(0.1 * 3.0), FpFlags::INEXACT))
        );
        assert_eq!(mul_f64(d(-0.0), d(5.0)), Some((d(-0.0), 0)));
        assert_eq!(div_f64(d(6.0), d(3.0)), Some((d(2.0), 0)));
        assert_eq!(
            div_f64(d(1.0), d(3.0)),
            Some((d(1.0 / 3.0), FpFlags::INEXACT))
        );
        assert_eq!(div_f64(d(1.5), d(0.75)), Some((d(2.0), 0)));
        // Refused: a zero divisor, NaN and infinite operands, overflow, results near underflow.
        assert_eq!(div_f64(d(1.0), d(0.0)), None);
        assert_eq!(add_f64(d(f64::NAN), d(1.0), false), None);
        assert_eq!(mul_f64(d(f64::INFINITY), d(1.0)), None);
        assert_eq!(mul_f64(d(f64::MAX), d(2.0)), None);
        assert_eq!(mul_f64(d(f64::MIN_POSITIVE), d(0.5)), None);
        assert_eq!(mul_f64(d(f64::MIN_POSITIVE), d(1.0)), None);
    }

    #[test]
    fn comparisons_without_nans() {
        let d = f64::to_bits;
        let mut rng = Rng(7);
        for _ in 0..50_000 {
            let (a, b) = (rng.double(), rng.double());
            for op in [FCmpOp::Eq, FCmpOp::Lt, FCmpOp::Le, FCmpOp::Unordered] {
                if let Some(r) = cmp_f64(op, a, b) {
                    assert_eq!(
                        (r, 0),
                        fcmp(op, op != FCmpOp::Eq, FloatTy::F64, a, b, false)
                    );
                }
            }
        }
        assert_eq!(cmp_f64(FCmpOp::Eq, d(0.0), d(-0.0)), Some(1));
        assert_eq!(cmp_f64(FCmpOp::Lt, d(f64::NAN), d(1.0)), None);
    }
}
