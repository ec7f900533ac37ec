//! Lowering of the integer operations to Cranelift instructions.
//!
//! Every value is an `i64` holding its IR value in the low bits; narrow operations mask their inputs,
//! compute in 64 bits and mask the result, which reproduces `vm_core::ir::eval_bin`/`eval_un`/`eval_cmp`
//! exactly (the property tests check this). Division and remainder select a safe divisor first:
//! Cranelift's `sdiv`/`udiv` trap on zero and on `MIN / -1`, the IR defines results for both.

use cranelift_codegen::ir::{InstBuilder, Value, condcodes::IntCC, types::I64};
use cranelift_frontend::FunctionBuilder;
use vm_core::ir::{BinOp, Cond, Ty, UnOp};

/// `v & ty.mask()`.
pub(crate) fn mask(b: &mut FunctionBuilder<'_>, v: Value, ty: Ty) -> Value {
    match ty {
        Ty::I64 => v,
        t => b.ins().band_imm_s(v, t.mask() as i64),
    }
}

/// Sign-extend the low `ty.bits()` bits of `v` to 64 bits.
pub(crate) fn sext(b: &mut FunctionBuilder<'_>, v: Value, ty: Ty) -> Value {
    match ty {
        Ty::I64 => v,
        t => {
            let sh = i64::from(64 - t.bits());
            let l = b.ins().ishl_imm_s(v, sh);
            b.ins().sshr_imm_s(l, sh)
        }
    }
}

fn bool_to_i64(b: &mut FunctionBuilder<'_>, flag: Value) -> Value {
    b.ins().uextend(I64, flag)
}

/// `a op b` at width `ty`, zero-extended.
pub(crate) fn bin(b: &mut FunctionBuilder<'_>, op: BinOp, ty: Ty, a: Value, bv: Value) -> Value {
    let bits = i64::from(ty.bits());
    let a = mask(b, a, ty);
    let bv = mask(b, bv, ty);
    let r = match op {
        BinOp::Add => b.ins().iadd(a, bv),
        BinOp::Sub => b.ins().isub(a, bv),
        BinOp::Mul => b.ins().imul(a, bv),
        BinOp::MulHU if ty == Ty::I64 => b.ins().umulhi(a, bv),
        BinOp::MulHU => {
            let p = b.ins().imul(a, bv);
            b.ins().ushr_imm_s(p, bits)
        }
        BinOp::MulHS | BinOp::MulHSU if ty != Ty::I64 => {
            // Operands of at most 32 bits: the full product fits in 64 signed bits.
            let sa = sext(b, a, ty);
            let sb = if op == BinOp::MulHS {
                sext(b, bv, ty)
            } else {
                bv
            };
            let p = b.ins().imul(sa, sb);
            b.ins().sshr_imm_s(p, bits)
        }
        BinOp::MulHS => b.ins().smulhi(a, bv),
        BinOp::MulHSU => {
            // mulhsu(a, b) = mulhu(a, b) - (a < 0 ? b : 0).
            let hu = b.ins().umulhi(a, bv);
            let neg = b.ins().icmp_imm_s(IntCC::SignedLessThan, a, 0);
            let zero = b.ins().iconst(I64, 0);
            let corr = b.ins().select(neg, bv, zero);
            b.ins().isub(hu, corr)
        }
        BinOp::DivS | BinOp::RemS => {
            let sa = sext(b, a, ty);
            let sb = sext(b, bv, ty);
            let zero = b.ins().icmp_imm_s(IntCC::Equal, sb, 0);
            let a_min = b.ins().icmp_imm_s(IntCC::Equal, sa, i64::MIN);
            let b_m1 = b.ins().icmp_imm_s(IntCC::Equal, sb, -1);
            let ovf = b.ins().band(a_min, b_m1);
            let bad = b.ins().bor(zero, ovf);
            let one = b.ins().iconst(I64, 1);
            // Divisor 1 gives MIN / 1 = MIN and MIN % 1 = 0, the documented overflow results.
            let safe = b.ins().select(bad, one, sb);
            if op == BinOp::DivS {
                let q = b.ins().sdiv(sa, safe);
                let ones = b.ins().iconst(I64, -1);
                b.ins().select(zero, ones, q)
            } else {
                let r = b.ins().srem(sa, safe);
                b.ins().select(zero, a, r)
            }
        }
        BinOp::DivU | BinOp::RemU => {
            let zero = b.ins().icmp_imm_s(IntCC::Equal, bv, 0);
            let one = b.ins().iconst(I64, 1);
            let safe = b.ins().select(zero, one, bv);
            if op == BinOp::DivU {
                let q = b.ins().udiv(a, safe);
                let ones = b.ins().iconst(I64, -1);
                b.ins().select(zero, ones, q)
            } else {
                let r = b.ins().urem(a, safe);
                b.ins().select(zero, a, r)
            }
        }
        BinOp::And => b.ins().band(a, bv),
        BinOp::Or => b.ins().bor(a, bv),
        BinOp::Xor => b.ins().bxor(a, bv),
        BinOp::AndNot => b.ins().band_not(a, bv),
        BinOp::OrNot => b.ins().bor_not(a, bv),
        BinOp::XorNot => b.ins().bxor_not(a, bv),
        BinOp::Shl | BinOp::ShrU | BinOp::ShrS | BinOp::RotL | BinOp::RotR => {
            let sh = b.ins().band_imm_s(bv, bits - 1);
            shift(b, op, ty, a, sh)
        }
        BinOp::MinS | BinOp::MaxS => {
            let sa = sext(b, a, ty);
            let sb = sext(b, bv, ty);
            let cc = if op == BinOp::MinS {
                IntCC::SignedLessThan
            } else {
                IntCC::SignedGreaterThan
            };
            let c = b.ins().icmp(cc, sa, sb);
            b.ins().select(c, a, bv)
        }
        BinOp::MinU => b.ins().umin(a, bv),
        BinOp::MaxU => b.ins().umax(a, bv),
    };
    mask(b, r, ty)
}

/// Shifts and rotates of the masked `a` by `sh`, already reduced modulo `ty.bits()`.
fn shift(b: &mut FunctionBuilder<'_>, op: BinOp, ty: Ty, a: Value, sh: Value) -> Value {
    let bits = i64::from(ty.bits());
    match op {
        BinOp::Shl => b.ins().ishl(a, sh),
        BinOp::ShrU => b.ins().ushr(a, sh),
        BinOp::ShrS => {
            let sa = sext(b, a, ty);
            b.ins().sshr(sa, sh)
        }
        BinOp::RotL if ty == Ty::I64 => b.ins().rotl(a, sh),
        BinOp::RotR if ty == Ty::I64 => b.ins().rotr(a, sh),
        _ => {
            // Narrow rotate: `bits - sh` is in 1..=bits < 64, and `a` has no bits above `bits`, so the
            // `sh == 0` case ORs in `a >> bits == 0`.
            let width = b.ins().iconst(I64, bits);
            let back = b.ins().isub(width, sh);
            let (x, y) = if op == BinOp::RotL {
                (b.ins().ishl(a, sh), b.ins().ushr(a, back))
            } else {
                (b.ins().ushr(a, sh), b.ins().ishl(a, back))
            };
            b.ins().bor(x, y)
        }
    }
}

/// `op a` at width `ty`, zero-extended.
pub(crate) fn un(b: &mut FunctionBuilder<'_>, op: UnOp, ty: Ty, a: Value) -> Value {
    let bits = i64::from(ty.bits());
    let a = mask(b, a, ty);
    let r = match op {
        UnOp::Not => b.ins().bnot(a),
        UnOp::Neg => b.ins().ineg(a),
        UnOp::Clz => {
            let c = b.ins().clz(a);
            b.ins().iadd_imm_s(c, bits - 64)
        }
        UnOp::Ctz if ty == Ty::I64 => b.ins().ctz(a),
        UnOp::Ctz => {
            // A stop bit just above the type makes a zero input count `bits`.
            let stop = b.ins().bor_imm_s(a, 1i64 << bits);
            b.ins().ctz(stop)
        }
        UnOp::Popcnt => b.ins().popcnt(a),
        UnOp::Bswap => {
            let s = b.ins().bswap(a);
            if ty == Ty::I64 {
                s
            } else {
                b.ins().ushr_imm_s(s, 64 - bits)
            }
        }
        UnOp::OrCombineBytes => {
            // Per byte: bit 7 of ((x & 0x7f) + 0x7f) | x is set iff the byte is non-zero (no carries
            // cross bytes); spread that bit over the byte with a multiply by 0xff.
            const LOW7: i64 = 0x7f7f_7f7f_7f7f_7f7f;
            let low = b.ins().band_imm_s(a, LOW7);
            let sum = b.ins().iadd_imm_s(low, LOW7);
            let any = b.ins().bor(sum, a);
            let top = b.ins().band_imm_s(any, 0x8080_8080_8080_8080_u64 as i64);
            let ones = b.ins().ushr_imm_s(top, 7);
            b.ins().imul_imm_s(ones, 0xff)
        }
    };
    mask(b, r, ty)
}

/// `(a cond b) as u64` on the low `ty.bits()` bits.
pub(crate) fn cmp(b: &mut FunctionBuilder<'_>, cond: Cond, ty: Ty, a: Value, bv: Value) -> Value {
    let signed = matches!(cond, Cond::LtS | Cond::LeS | Cond::GtS | Cond::GeS);
    let (a, bv) = if signed {
        (sext(b, a, ty), sext(b, bv, ty))
    } else {
        (mask(b, a, ty), mask(b, bv, ty))
    };
    let cc = match cond {
        Cond::Eq => IntCC::Equal,
        Cond::Ne => IntCC::NotEqual,
        Cond::LtS => IntCC::SignedLessThan,
        Cond::LtU => IntCC::UnsignedLessThan,
        Cond::LeS => IntCC::SignedLessThanOrEqual,
        Cond::LeU => IntCC::UnsignedLessThanOrEqual,
        Cond::GtS => IntCC::SignedGreaterThan,
        Cond::GtU => IntCC::UnsignedGreaterThan,
        Cond::GeS => IntCC::SignedGreaterThanOrEqual,
        Cond::GeU => IntCC::UnsignedGreaterThanOrEqual,
    };
    let f = b.ins().icmp(cc, a, bv);
    bool_to_i64(b, f)
}

/// Sign- or zero-extend the low `from.bits()` bits of `v`.
pub(crate) fn ext(b: &mut FunctionBuilder<'_>, v: Value, from: Ty, signed: bool) -> Value {
    if signed {
        sext(b, v, from)
    } else {
        mask(b, v, from)
    }
}
