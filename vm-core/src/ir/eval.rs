//! The reference semantics of the integer operations, shared by every engine.
//!
//! The interpreter calls these directly; the JIT's property tests compare its code against them.

use super::op::{BinOp, Cond, Ty, UnOp};

/// Sign-extend (or zero-extend) the low `from.bits()` bits of `v` to 64 bits.
#[inline(always)]
pub const fn ext(v: u64, from: Ty, signed: bool) -> u64 {
    let shift = 64 - from.bits();
    if signed {
        (((v << shift) as i64) >> shift) as u64
    } else {
        (v << shift) >> shift
    }
}

/// `a op b` at width `ty`, zero-extended to 64 bits.
#[inline(always)]
pub fn eval_bin(op: BinOp, ty: Ty, a: u64, b: u64) -> u64 {
    let bits = ty.bits();
    let mask = ty.mask();
    let (a, b) = (a & mask, b & mask);
    let sa = ext(a, ty, true) as i64;
    let sb = ext(b, ty, true) as i64;
    let sh = (b as u32) & (bits - 1);
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::MulHS => ((i128::from(sa) * i128::from(sb)) >> bits) as u64,
        BinOp::MulHU => ((u128::from(a) * u128::from(b)) >> bits) as u64,
        BinOp::MulHSU => ((i128::from(sa) * (u128::from(b) as i128)) >> bits) as u64,
        BinOp::DivS => {
            if b == 0 {
                u64::MAX
            } else {
                // Wrapping: MIN / -1 = MIN, as documented.
                sa.wrapping_div(sb) as u64
            }
        }
        BinOp::DivU => a.checked_div(b).unwrap_or(u64::MAX),
        BinOp::RemS => {
            if b == 0 {
                a
            } else {
                sa.wrapping_rem(sb) as u64
            }
        }
        BinOp::RemU => a.checked_rem(b).unwrap_or(a),
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::AndNot => a & !b,
        BinOp::OrNot => a | !b,
        BinOp::XorNot => !(a ^ b),
        BinOp::Shl => a << sh,
        BinOp::ShrU => a >> sh,
        BinOp::ShrS => (sa >> sh) as u64,
        BinOp::RotL => {
            if sh == 0 {
                a
            } else {
                (a << sh) | (a >> (bits - sh))
            }
        }
        BinOp::RotR => {
            if sh == 0 {
                a
            } else {
                (a >> sh) | (a << (bits - sh))
            }
        }
        BinOp::MinS => sa.min(sb) as u64,
        BinOp::MinU => a.min(b),
        BinOp::MaxS => sa.max(sb) as u64,
        BinOp::MaxU => a.max(b),
    };
    r & mask
}

/// `op a` at width `ty`, zero-extended to 64 bits.
#[inline(always)]
pub fn eval_un(op: UnOp, ty: Ty, a: u64) -> u64 {
    let bits = ty.bits();
    let mask = ty.mask();
    let a = a & mask;
    let r = match op {
        UnOp::Not => !a,
        UnOp::Neg => a.wrapping_neg(),
        UnOp::Clz => u64::from(a.leading_zeros() - (64 - bits)),
        UnOp::Ctz => u64::from(a.trailing_zeros().min(bits)),
        UnOp::Popcnt => u64::from(a.count_ones()),
        UnOp::Bswap => a.swap_bytes() >> (64 - bits),
        UnOp::OrCombineBytes => {
            let mut r = 0u64;
            for i in 0..(bits / 8) {
                if (a >> (i * 8)) & 0xff != 0 {
                    r |= 0xff << (i * 8);
                }
            }
            r
        }
    };
    r & mask
}

/// `(a cond b) as u64` comparing the low `ty.bits()` bits.
#[inline(always)]
pub fn eval_cmp(cond: Cond, ty: Ty, a: u64, b: u64) -> u64 {
    let mask = ty.mask();
    let (a, b) = (a & mask, b & mask);
    let (sa, sb) = (ext(a, ty, true) as i64, ext(b, ty, true) as i64);
    u64::from(match cond {
        Cond::Eq => a == b,
        Cond::Ne => a != b,
        Cond::LtS => sa < sb,
        Cond::LtU => a < b,
        Cond::LeS => sa <= sb,
        Cond::LeU => a <= b,
        Cond::GtS => sa > sb,
        Cond::GtU => a > b,
        Cond::GeS => sa >= sb,
        Cond::GeU => a >= b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_edge_cases() {
        assert_eq!(eval_bin(BinOp::DivU, Ty::I64, 7, 0), u64::MAX);
        assert_eq!(eval_bin(BinOp::DivS, Ty::I64, 7, 0), u64::MAX);
        assert_eq!(eval_bin(BinOp::RemU, Ty::I64, 7, 0), 7);
        assert_eq!(
            eval_bin(BinOp::RemS, Ty::I64, (-7i64) as u64, 0),
            (-7i64) as u64
        );
        let min = i64::MIN as u64;
        assert_eq!(eval_bin(BinOp::DivS, Ty::I64, min, u64::MAX), min);
        assert_eq!(eval_bin(BinOp::RemS, Ty::I64, min, u64::MAX), 0);
        // 32-bit: results zero-extended.
        assert_eq!(eval_bin(BinOp::DivU, Ty::I32, 7, 0), 0xffff_ffff);
        assert_eq!(
            eval_bin(BinOp::DivS, Ty::I32, 0x8000_0000, 0xffff_ffff),
            0x8000_0000
        );
        assert_eq!(
            eval_bin(BinOp::DivS, Ty::I32, (-7i64) as u64, 2),
            (-3i32) as u32 as u64
        );
        assert_eq!(
            eval_bin(BinOp::RemS, Ty::I32, (-7i64) as u64, 2),
            (-1i32) as u32 as u64
        );
    }

    #[test]
    fn shifts_mask_their_amount() {
        assert_eq!(eval_bin(BinOp::Shl, Ty::I64, 1, 64), 1);
        assert_eq!(eval_bin(BinOp::Shl, Ty::I64, 1, 65), 2);
        assert_eq!(eval_bin(BinOp::Shl, Ty::I32, 1, 33), 2);
        assert_eq!(eval_bin(BinOp::Shl, Ty::I32, 0x8000_0000, 1), 0);
        assert_eq!(eval_bin(BinOp::ShrS, Ty::I32, 0x8000_0000, 31), 0xffff_ffff);
        assert_eq!(eval_bin(BinOp::ShrU, Ty::I32, 0xffff_ffff_8000_0000, 31), 1);
        assert_eq!(eval_bin(BinOp::RotL, Ty::I8, 0x81, 1), 0x03);
        assert_eq!(eval_bin(BinOp::RotR, Ty::I64, 1, 1), 1 << 63);
        assert_eq!(eval_bin(BinOp::RotR, Ty::I32, 5, 0), 5);
    }

    #[test]
    fn high_multiplies() {
        assert_eq!(
            eval_bin(BinOp::MulHU, Ty::I64, u64::MAX, u64::MAX),
            u64::MAX - 1
        );
        assert_eq!(eval_bin(BinOp::MulHS, Ty::I64, u64::MAX, u64::MAX), 0); // -1 * -1 = 1
        assert_eq!(eval_bin(BinOp::MulHSU, Ty::I64, u64::MAX, 2), u64::MAX); // -1 * 2 = -2
        assert_eq!(eval_bin(BinOp::MulHS, Ty::I32, 0xffff_ffff, 2), 0xffff_ffff);
        assert_eq!(eval_bin(BinOp::Mul, Ty::I32, 0x1_0000_0001, 3), 3);
    }

    #[test]
    fn unary_ops() {
        assert_eq!(eval_un(UnOp::Clz, Ty::I32, 1), 31);
        assert_eq!(eval_un(UnOp::Clz, Ty::I64, 0), 64);
        assert_eq!(eval_un(UnOp::Ctz, Ty::I32, 0), 32);
        assert_eq!(eval_un(UnOp::Ctz, Ty::I32, 0x1_0000_0000), 32);
        assert_eq!(eval_un(UnOp::Popcnt, Ty::I8, 0x1ff), 8);
        assert_eq!(eval_un(UnOp::Bswap, Ty::I32, 0x1122_3344), 0x4433_2211);
        assert_eq!(eval_un(UnOp::Neg, Ty::I32, 1), 0xffff_ffff);
        assert_eq!(
            eval_un(UnOp::OrCombineBytes, Ty::I64, 0x0100_0000_0000_2000),
            0xff00_0000_0000_ff00
        );
    }

    #[test]
    fn compares_and_extension() {
        assert_eq!(eval_cmp(Cond::LtS, Ty::I32, 0xffff_ffff, 0), 1);
        assert_eq!(eval_cmp(Cond::LtU, Ty::I32, 0xffff_ffff, 0), 0);
        assert_eq!(eval_cmp(Cond::Eq, Ty::I32, 0x1_0000_0005, 5), 1);
        assert_eq!(ext(0x80, Ty::I8, true), 0xffff_ffff_ffff_ff80);
        assert_eq!(ext(0xffff_ffff_8000_0000, Ty::I32, false), 0x8000_0000);
    }
}
