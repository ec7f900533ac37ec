//! Floating-point ops with exact IEEE-754 results for every rounding mode, and exception flags.
//!
//! Arithmetic, fused multiply-add, conversions and rounding to integral values come from
//! `rustc_apfloat` (the soft-float library rustc and Miri use), so results never depend on the host FPU's
//! mode. NaN results are chosen here, per [`NanMode`], before the arithmetic runs: that library does not
//! know the architectures' NaN rules. `rustc_apfloat` has no square root, so [`sqrt`] takes the host's
//! correctly rounded (IEEE-754 requires it) round-to-nearest square root and corrects it for the other
//! rounding modes by the exact sign of the residual `r·r − x`, computed with two soft-float fused
//! multiply-adds; square roots never tie, so nearest-away equals nearest-even.

use core::cmp::Ordering;

use rustc_apfloat::ieee::{Double, Single};
use rustc_apfloat::{Float, FloatConvert, Round, Status, StatusAnd};
use vm_core::ir::{FBinOp, FCmpOp, FUnOp, FloatTy, FpFlags, NanMode, RoundingMode, Ty, ext};

/// A format this module computes in.
pub(crate) trait Fmt: Float + FloatConvert<Single> + FloatConvert<Double> {
    /// Width in bits.
    const W: u32;
    /// Canonical / ARM default NaN.
    const CANON: u128;
    /// x86 QNaN indefinite.
    const X86: u128;
    /// The quiet bit.
    const QUIET: u128;
    /// Half the overflow threshold: 2^emax.
    const TOP: u128;
    /// Host square root, round to nearest even.
    fn host_sqrt(bits: u128) -> u128;
}

impl Fmt for Single {
    const W: u32 = 32;
    const CANON: u128 = 0x7fc0_0000;
    const X86: u128 = 0xffc0_0000;
    const QUIET: u128 = 1 << 22;
    const TOP: u128 = 0x7f00_0000;
    fn host_sqrt(bits: u128) -> u128 {
        u128::from(f32::from_bits(bits as u32).sqrt().to_bits())
    }
}

impl Fmt for Double {
    const W: u32 = 64;
    const CANON: u128 = 0x7ff8_0000_0000_0000;
    const X86: u128 = 0xfff8_0000_0000_0000;
    const QUIET: u128 = 1 << 51;
    const TOP: u128 = 0x7fe0_0000_0000_0000;
    fn host_sqrt(bits: u128) -> u128 {
        u128::from(f64::from_bits(bits as u64).sqrt().to_bits())
    }
}

/// The apfloat rounding of an IR rounding mode.
pub(crate) fn round_of(m: RoundingMode) -> Round {
    match m {
        RoundingMode::NearestEven => Round::NearestTiesToEven,
        RoundingMode::TowardZero => Round::TowardZero,
        RoundingMode::Down => Round::TowardNegative,
        RoundingMode::Up => Round::TowardPositive,
        RoundingMode::NearestMaxMagnitude => Round::NearestTiesToAway,
    }
}

fn flags_of(s: Status) -> u8 {
    let mut f = 0;
    if s.contains(Status::INVALID_OP) {
        f |= FpFlags::INVALID;
    }
    if s.contains(Status::DIV_BY_ZERO) {
        f |= FpFlags::DIV_BY_ZERO;
    }
    if s.contains(Status::OVERFLOW) {
        f |= FpFlags::OVERFLOW;
    }
    if s.contains(Status::UNDERFLOW) {
        f |= FpFlags::UNDERFLOW;
    }
    if s.contains(Status::INEXACT) {
        f |= FpFlags::INEXACT;
    }
    f
}

/// Read an operand of format `F` from its 64-bit container.
fn get<F: Fmt>(v: u64, box_f32: bool) -> F {
    if F::W == 32 {
        if box_f32 && v >> 32 != 0xffff_ffff {
            F::from_bits(F::CANON)
        } else {
            F::from_bits(u128::from(v as u32))
        }
    } else {
        F::from_bits(u128::from(v))
    }
}

/// Write a result of format `F` into its 64-bit container.
fn put<F: Fmt>(f: F, box_f32: bool) -> u64 {
    let bits = f.to_bits() as u64;
    if F::W == 32 && box_f32 {
        bits | 0xffff_ffff_0000_0000
    } else {
        bits
    }
}

fn default_nan<F: Fmt>(mode: NanMode) -> F {
    F::from_bits(match mode {
        NanMode::Canonical | NanMode::PropagateArm => F::CANON,
        NanMode::PropagateX86 => F::X86,
    })
}

/// The NaN result of an op with operands `ins` under `mode` (the default NaN when none is a NaN).
fn nan_result<F: Fmt>(mode: NanMode, ins: &[F]) -> F {
    let pick = match mode {
        NanMode::Canonical => None,
        NanMode::PropagateArm => ins
            .iter()
            .find(|x| x.is_signaling())
            .or_else(|| ins.iter().find(|x| x.is_nan())),
        NanMode::PropagateX86 => ins.iter().find(|x| x.is_nan()),
    };
    match pick {
        Some(x) => F::from_bits(x.to_bits() | F::QUIET),
        None => default_nan(mode),
    }
}

/// NaN operands: the NaN result and flags, or `None` when no operand is a NaN.
fn nan_in<F: Fmt>(mode: NanMode, ins: &[F]) -> Option<(F, u8)> {
    if ins.iter().any(|x| x.is_nan()) {
        let invalid = if ins.iter().any(|x| x.is_signaling()) {
            FpFlags::INVALID
        } else {
            0
        };
        Some((nan_result(mode, ins), invalid))
    } else {
        None
    }
}

/// An apfloat result, with an invalid-operation NaN replaced by the mode's default NaN.
fn fix<F: Fmt>(mode: NanMode, r: StatusAnd<F>) -> (F, u8) {
    let v = if r.value.is_nan() {
        default_nan(mode)
    } else {
        r.value
    };
    (v, flags_of(r.status))
}

macro_rules! by_ty {
    ($ty:expr, $f:ident ( $($arg:expr),* )) => {
        match $ty {
            FloatTy::F32 => $f::<Single>($($arg),*),
            FloatTy::F64 => $f::<Double>($($arg),*),
        }
    };
}

/// `a op b`; returns the result container and the flags raised.
pub(crate) fn fbin(
    op: FBinOp,
    ty: FloatTy,
    a: u64,
    b: u64,
    rm: RoundingMode,
    nan: NanMode,
    bx: bool,
) -> (u64, u8) {
    by_ty!(ty, fbin_t(op, a, b, round_of(rm), nan, bx))
}

fn fbin_t<F: Fmt>(op: FBinOp, a: u64, b: u64, rm: Round, nan: NanMode, bx: bool) -> (u64, u8) {
    let (a, b) = (get::<F>(a, bx), get::<F>(b, bx));
    let (r, fl) = match op {
        FBinOp::MinNum | FBinOp::MaxNum => {
            let invalid = if a.is_signaling() || b.is_signaling() {
                FpFlags::INVALID
            } else {
                0
            };
            let r = if a.is_nan() && b.is_nan() {
                nan_result(nan, &[a, b])
            } else if a.is_nan() {
                b
            } else if b.is_nan() {
                a
            } else {
                let a_first = match a.partial_cmp(&b) {
                    Some(Ordering::Less) => true,
                    Some(Ordering::Greater) => false,
                    // Equal (including ±0): −0 is the smaller.
                    _ => a.is_negative(),
                };
                if a_first == (op == FBinOp::MinNum) {
                    a
                } else {
                    b
                }
            };
            (r, invalid)
        }
        _ => {
            if let Some(x) = nan_in(nan, &[a, b]) {
                x
            } else {
                let tz = Round::TowardZero;
                let r = match op {
                    FBinOp::Add => {
                        overflow_fix(a.add_r(b, rm), rm, || a.scalbn(-1).add_r(b.scalbn(-1), tz))
                    }
                    FBinOp::Sub => {
                        overflow_fix(a.sub_r(b, rm), rm, || a.scalbn(-1).sub_r(b.scalbn(-1), tz))
                    }
                    FBinOp::Mul => {
                        let r = overflow_fix(a.mul_r(b, rm), rm, || {
                            let (x, y) = half_larger(a, b);
                            x.mul_r(y, tz)
                        });
                        tininess_fix(r, || {
                            let (x, y) = smaller_first(a, b);
                            x.scalbn(TINY_SCALE).mul_r(y, rm).value
                        })
                    }
                    _ => {
                        let r = overflow_fix(a.div_r(b, rm), rm, || {
                            if a.is_normal() {
                                a.scalbn(-1).div_r(b, tz)
                            } else {
                                a.div_r(b.scalbn(1), tz)
                            }
                        });
                        // A quotient near 2^emin has a dividend below 2^(emin + emax + 2): scaling
                        // it up stays exact and finite.
                        tininess_fix(r, || a.scalbn(TINY_SCALE).div_r(b, rm).value)
                    }
                };
                fix(nan, r)
            }
        }
    };
    (put(r, bx), fl)
}

/// `op a`.
pub(crate) fn fun(
    op: FUnOp,
    ty: FloatTy,
    a: u64,
    rm: RoundingMode,
    nan: NanMode,
    bx: bool,
) -> (u64, u8) {
    by_ty!(ty, fun_t(op, a, rm, nan, bx))
}

fn fun_t<F: Fmt>(op: FUnOp, a: u64, rm: RoundingMode, nan: NanMode, bx: bool) -> (u64, u8) {
    let a = get::<F>(a, bx);
    let (r, fl) = if let Some(x) = nan_in(nan, &[a]) {
        x
    } else {
        match op {
            FUnOp::Sqrt => sqrt(a, rm, nan),
            FUnOp::RoundToIntegral => fix(nan, a.round_to_integral(round_of(rm))),
        }
    };
    (put(r, bx), fl)
}

/// Square root of a non-NaN `x` (see the module docs).
fn sqrt<F: Fmt>(x: F, rm: RoundingMode, nan: NanMode) -> (F, u8) {
    if x.is_zero() {
        return (x, 0);
    }
    if x.is_negative() {
        return (default_nan(nan), FpFlags::INVALID);
    }
    if x.is_infinite() {
        return (x, 0);
    }
    let r = F::from_bits(F::host_sqrt(x.to_bits()));
    // Sign of r·r − x, exactly: rounding up keeps a positive residual non-zero, rounding down keeps a
    // negative one non-zero.
    let up = r.mul_add_r(r, -x, Round::TowardPositive).value;
    let down = r.mul_add_r(r, -x, Round::TowardNegative).value;
    let above = up.is_finite_non_zero() && !up.is_negative();
    let below = down.is_finite_non_zero() && down.is_negative();
    if !above && !below {
        return (r, 0);
    }
    let r = match rm {
        RoundingMode::NearestEven | RoundingMode::NearestMaxMagnitude => r,
        RoundingMode::TowardZero | RoundingMode::Down if above => r.next_down().value,
        RoundingMode::Up if below => r.next_up().value,
        _ => r,
    };
    (r, FpFlags::INEXACT)
}

/// `(±(a × b)) ± c` with one rounding.
#[expect(clippy::too_many_arguments, reason = "mirrors the IR op's fields")]
pub(crate) fn fmuladd(
    ty: FloatTy,
    a: u64,
    b: u64,
    c: u64,
    neg_prod: bool,
    neg_add: bool,
    rm: RoundingMode,
    nan: NanMode,
    bx: bool,
) -> (u64, u8) {
    by_ty!(
        ty,
        fmuladd_t(a, b, c, neg_prod, neg_add, round_of(rm), nan, bx)
    )
}

#[expect(clippy::too_many_arguments, reason = "mirrors the IR op's fields")]
fn fmuladd_t<F: Fmt>(
    a: u64,
    b: u64,
    c: u64,
    neg_prod: bool,
    neg_add: bool,
    rm: Round,
    nan: NanMode,
    bx: bool,
) -> (u64, u8) {
    let (a, b, c) = (get::<F>(a, bx), get::<F>(b, bx), get::<F>(c, bx));
    let inf_times_zero = (a.is_infinite() && b.is_zero()) || (a.is_zero() && b.is_infinite());
    let (r, fl) = if let Some((r, fl)) = nan_in(nan, &[a, b, c]) {
        let fl = if inf_times_zero { FpFlags::INVALID } else { fl };
        let r = if inf_times_zero && nan == NanMode::Canonical {
            default_nan(nan)
        } else {
            r
        };
        (r, fl)
    } else {
        let a = if neg_prod { -a } else { a };
        let c = if neg_add { -c } else { c };
        let r = overflow_fix(a.mul_add_r(b, c, rm), rm, || {
            let (x, y) = half_larger(a, b);
            x.mul_add_r(y, c.scalbn(-1), Round::TowardZero)
        });
        // A result near 2^emin needs an addend and a product not far above it (they agree down to
        // the result's bits), so scaling the addend and the smaller factor up stays exact and finite.
        let r = tininess_fix(r, || {
            let (x, y) = smaller_first(a, b);
            x.scalbn(TINY_SCALE)
                .mul_add_r(y, c.scalbn(TINY_SCALE), rm)
                .value
        });
        fix(nan, r)
    };
    (put(r, bx), fl)
}

/// Comparison; returns 0/1 and the flags.
pub(crate) fn fcmp(
    op: FCmpOp,
    signaling: bool,
    ty: FloatTy,
    a: u64,
    b: u64,
    bx: bool,
) -> (u64, u8) {
    by_ty!(ty, fcmp_t(op, signaling, a, b, bx))
}

fn fcmp_t<F: Fmt>(op: FCmpOp, signaling: bool, a: u64, b: u64, bx: bool) -> (u64, u8) {
    let (a, b) = (get::<F>(a, bx), get::<F>(b, bx));
    if a.is_nan() || b.is_nan() {
        let invalid = signaling || a.is_signaling() || b.is_signaling();
        return (
            u64::from(op == FCmpOp::Unordered),
            if invalid { FpFlags::INVALID } else { 0 },
        );
    }
    let ord = a.partial_cmp(&b);
    let r = match op {
        FCmpOp::Eq => ord == Some(Ordering::Equal),
        FCmpOp::Lt => ord == Some(Ordering::Less),
        FCmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        FCmpOp::Unordered => false,
    };
    (u64::from(r), 0)
}

/// Saturating float to integer of width `to` (I32 or I64), zero-extended.
pub(crate) fn ftoint(
    v: u64,
    from: FloatTy,
    to: Ty,
    signed: bool,
    rm: RoundingMode,
    bx: bool,
) -> (u64, u8) {
    by_ty!(from, ftoint_t(v, to, signed, round_of(rm), bx))
}

fn ftoint_t<F: Fmt>(v: u64, to: Ty, signed: bool, rm: Round, bx: bool) -> (u64, u8) {
    let x = get::<F>(v, bx);
    let w = to.bits() as usize;
    let mask = to.mask();
    if x.is_nan() {
        let max = if signed { mask >> 1 } else { mask };
        return (max, FpFlags::INVALID);
    }
    let mut exact = true;
    let (r, st) = if signed {
        let r = x.to_i128_r(w, rm, &mut exact);
        (r.value as u64, r.status)
    } else {
        let r = x.to_u128_r(w, rm, &mut exact);
        (r.value as u64, r.status)
    };
    (r & mask, flags_of(st))
}

/// Integer of width `from` (I32 or I64) to float.
pub(crate) fn inttof(
    v: u64,
    from: Ty,
    signed: bool,
    to: FloatTy,
    rm: RoundingMode,
    bx: bool,
) -> (u64, u8) {
    let wide: i128 = if signed {
        i128::from(ext(v, from, true) as i64)
    } else {
        i128::from(v & from.mask())
    };
    by_ty!(to, inttof_t(wide, round_of(rm), bx))
}

fn inttof_t<F: Fmt>(wide: i128, rm: Round, bx: bool) -> (u64, u8) {
    let r = F::from_i128_r(wide, rm);
    (put(r.value, bx), flags_of(r.status))
}

/// Float to float of the other (or the same) format.
pub(crate) fn fconvert(
    v: u64,
    from: FloatTy,
    to: FloatTy,
    rm: RoundingMode,
    nan: NanMode,
    bx: bool,
) -> (u64, u8) {
    let rm = round_of(rm);
    match (from, to) {
        (FloatTy::F32, FloatTy::F32) => fconv_t::<Single, Single>(v, rm, nan, bx),
        (FloatTy::F32, FloatTy::F64) => fconv_t::<Single, Double>(v, rm, nan, bx),
        (FloatTy::F64, FloatTy::F32) => fconv_t::<Double, Single>(v, rm, nan, bx),
        (FloatTy::F64, FloatTy::F64) => fconv_t::<Double, Double>(v, rm, nan, bx),
    }
}

fn fconv_t<A: Fmt + FloatConvert<B>, B: Fmt>(
    v: u64,
    rm: Round,
    nan: NanMode,
    bx: bool,
) -> (u64, u8) {
    let x = get::<A>(v, bx);
    if x.is_nan() {
        let invalid = if x.is_signaling() {
            FpFlags::INVALID
        } else {
            0
        };
        let r = match nan {
            NanMode::Canonical => default_nan::<B>(nan),
            NanMode::PropagateArm | NanMode::PropagateX86 => {
                // Keep the sign and the top payload bits, quietened.
                let (aw, bw) = (A::W, B::W);
                let (am, bm) = (
                    if aw == 32 { 23 } else { 52 },
                    if bw == 32 { 23 } else { 52 },
                );
                let bits = x.to_bits();
                let sign = (bits >> (aw - 1)) & 1;
                let payload = bits & ((1u128 << am) - 1);
                let payload = if bm >= am {
                    payload << (bm - am)
                } else {
                    payload >> (am - bm)
                };
                let exp = ((1u128 << (bw - 1 - bm)) - 1) << bm;
                B::from_bits((sign << (bw - 1)) | exp | payload | B::QUIET)
            }
        };
        return (put(r, bx), invalid);
    }
    let mut loses = false;
    let r: StatusAnd<B> = x.convert_r(rm, &mut loses);
    let r = overflow_fix(r, rm, || {
        x.scalbn(-1).convert_r(Round::TowardZero, &mut loses)
    });
    let r = tininess_fix(r, || {
        let mut lost = false;
        x.scalbn(TINY_SCALE).convert_r(rm, &mut lost).value
    });
    let (r, fl) = fix(nan, r);
    (put(r, bx), fl)
}

/// RISC-V `fclass` bits.
pub(crate) fn fclass(ty: FloatTy, v: u64, bx: bool) -> u64 {
    by_ty!(ty, fclass_t(v, bx))
}

fn fclass_t<F: Fmt>(v: u64, bx: bool) -> u64 {
    let x = get::<F>(v, bx);
    let neg = x.is_negative();
    let bit = if x.is_signaling() {
        8
    } else if x.is_nan() {
        9
    } else if x.is_infinite() {
        if neg { 0 } else { 7 }
    } else if x.is_zero() {
        if neg { 3 } else { 4 }
    } else if x.is_denormal() {
        if neg { 2 } else { 5 }
    } else if neg {
        1
    } else {
        6
    };
    1 << bit
}

mod fast;
mod flags;
#[cfg(test)]
mod tests;

use flags::{TINY_SCALE, half_larger, overflow_fix, smaller_first, tininess_fix};

pub(crate) use fast::{add_f64, cmp_f64, div_f64, mul_f64};
