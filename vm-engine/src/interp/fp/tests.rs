//! Known-answer vectors for the floating-point ops.

use super::*;

const NE: RoundingMode = RoundingMode::NearestEven;
const ALL: [RoundingMode; 5] = [
    RoundingMode::NearestEven,
    RoundingMode::TowardZero,
    RoundingMode::Down,
    RoundingMode::Up,
    RoundingMode::NearestMaxMagnitude,
];
const I: u8 = FpFlags::INEXACT;
const NV: u8 = FpFlags::INVALID;
fn d(x: f64) -> u64 {
    x.to_bits()
}
fn s(x: f32) -> u64 {
    u64::from(x.to_bits()) | 0xffff_ffff_0000_0000
}
fn div64(a: f64, b: f64, rm: RoundingMode) -> (u64, u8) {
    fbin(
        FBinOp::Div,
        FloatTy::F64,
        d(a),
        d(b),
        rm,
        NanMode::Canonical,
        false,
    )
}

#[test]
fn division_in_every_rounding_mode() {
    let third = 0x3fd5_5555_5555_5555;
    let expect = [third, third, third, third + 1, third];
    for (rm, e) in ALL.into_iter().zip(expect) {
        assert_eq!(div64(1.0, 3.0, rm), (e, I), "{rm:?}");
    }
    // -1/3 rounds the other way in the directed modes.
    assert_eq!(
        div64(-1.0, 3.0, RoundingMode::Down),
        ((third + 1) | 1 << 63, I)
    );
    assert_eq!(
        div64(1.0, 0.0, NE),
        (d(f64::INFINITY), FpFlags::DIV_BY_ZERO)
    );
    assert_eq!(div64(0.0, 0.0, NE), (0x7ff8_0000_0000_0000, NV));
    assert_eq!(div64(6.0, 3.0, NE), (d(2.0), 0));
}

#[test]
fn overflow_underflow_and_ties() {
    let max = f64::MAX;
    let r = fbin(
        FBinOp::Mul,
        FloatTy::F64,
        d(max),
        d(2.0),
        RoundingMode::TowardZero,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(max), FpFlags::OVERFLOW | I));
    let r = fbin(
        FBinOp::Mul,
        FloatTy::F64,
        d(max),
        d(2.0),
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(f64::INFINITY), FpFlags::OVERFLOW | I));
    // Just above the largest finite number but below 2^1024: rounds down to it without overflow;
    // at or above 2^1024 it overflows even though the result is finite.
    let quarter_ulp = d(2f64.powi(969));
    let r = fbin(
        FBinOp::Add,
        FloatTy::F64,
        d(max),
        quarter_ulp,
        RoundingMode::TowardZero,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(max), I));
    let r = fbin(
        FBinOp::Mul,
        FloatTy::F64,
        d(max),
        0x3ff0_0000_0000_0001,
        RoundingMode::TowardZero,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(max), FpFlags::OVERFLOW | I));
    let r = fbin(
        FBinOp::Add,
        FloatTy::F64,
        d(max),
        d(max),
        RoundingMode::Down,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(max), FpFlags::OVERFLOW | I));
    let r = fbin(
        FBinOp::Add,
        FloatTy::F64,
        d(-max),
        d(-max),
        RoundingMode::Down,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(f64::NEG_INFINITY), FpFlags::OVERFLOW | I));
    let tiny = f64::from_bits(1);
    let r = fbin(
        FBinOp::Mul,
        FloatTy::F64,
        d(tiny),
        d(0.5),
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (0, FpFlags::UNDERFLOW | I));
    let r = fbin(
        FBinOp::Mul,
        FloatTy::F64,
        d(tiny),
        d(0.5),
        RoundingMode::Up,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (1, FpFlags::UNDERFLOW | I));
    // 1 + 2^-53 is a tie: even keeps 1, away goes up.
    let half_ulp = d(f64::EPSILON / 2.0);
    let r = fbin(
        FBinOp::Add,
        FloatTy::F64,
        d(1.0),
        half_ulp,
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(1.0), I));
    let r = fbin(
        FBinOp::Add,
        FloatTy::F64,
        d(1.0),
        half_ulp,
        RoundingMode::NearestMaxMagnitude,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(1.0) + 1, I));
}

#[test]
fn nan_rules_and_boxing() {
    let snan32 = 0xffff_ffff_7f80_0001;
    let qnan_payload = 0xffff_ffff_7fc0_1234;
    let one = s(1.0);
    let add = |a, b, nan| fbin(FBinOp::Add, FloatTy::F32, a, b, NE, nan, true);
    assert_eq!(
        add(one, snan32, NanMode::Canonical),
        (0xffff_ffff_7fc0_0000, NV)
    );
    assert_eq!(
        add(qnan_payload, snan32, NanMode::PropagateArm),
        (0xffff_ffff_7fc0_0001, NV)
    );
    assert_eq!(
        add(qnan_payload, snan32, NanMode::PropagateX86),
        (qnan_payload, NV)
    );
    // Inf - inf with no NaN operand: the default NaN of each mode.
    let inf = s(f32::INFINITY);
    let sub = |nan| fbin(FBinOp::Sub, FloatTy::F32, inf, inf, NE, nan, true);
    assert_eq!(sub(NanMode::PropagateX86), (0xffff_ffff_ffc0_0000, NV));
    assert_eq!(sub(NanMode::PropagateArm), (0xffff_ffff_7fc0_0000, NV));
    // A badly boxed operand reads as the canonical NaN.
    assert_eq!(
        add(u64::from(1.0f32.to_bits()), one, NanMode::Canonical),
        (0xffff_ffff_7fc0_0000, 0)
    );
    // Unboxed: plain zero-extension.
    let r = fbin(
        FBinOp::Add,
        FloatTy::F32,
        u64::from(1.0f32.to_bits()),
        u64::from(2.0f32.to_bits()),
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (u64::from(3.0f32.to_bits()), 0));
}

#[test]
fn min_max_number() {
    let mn = |a, b| {
        fbin(
            FBinOp::MinNum,
            FloatTy::F64,
            a,
            b,
            NE,
            NanMode::Canonical,
            false,
        )
    };
    let mx = |a, b| {
        fbin(
            FBinOp::MaxNum,
            FloatTy::F64,
            a,
            b,
            NE,
            NanMode::Canonical,
            false,
        )
    };
    assert_eq!(mn(d(0.0), d(-0.0)), (d(-0.0), 0));
    assert_eq!(mx(d(-0.0), d(0.0)), (d(0.0), 0));
    assert_eq!(mn(0x7ff0_0000_0000_0001, d(2.0)), (d(2.0), NV));
    assert_eq!(mx(d(f64::NAN), d(-2.0)), (d(-2.0), 0));
    assert_eq!(mn(d(f64::NAN), d(f64::NAN)), (0x7ff8_0000_0000_0000, 0));
}

#[test]
fn square_root_in_every_rounding_mode() {
    let r = 0x3ff6_a09e_667f_3bcd; // sqrt(2) rounded to nearest (above the true value)
    let expect = [r, r - 1, r - 1, r, r];
    for (rm, e) in ALL.into_iter().zip(expect) {
        assert_eq!(
            fun(
                FUnOp::Sqrt,
                FloatTy::F64,
                d(2.0),
                rm,
                NanMode::Canonical,
                false
            ),
            (e, I),
            "{rm:?}"
        );
    }
    assert_eq!(
        fun(
            FUnOp::Sqrt,
            FloatTy::F64,
            d(9.0),
            RoundingMode::Up,
            NanMode::Canonical,
            false
        ),
        (d(3.0), 0)
    );
    assert_eq!(
        fun(
            FUnOp::Sqrt,
            FloatTy::F64,
            d(-1.0),
            NE,
            NanMode::Canonical,
            false
        ),
        (0x7ff8_0000_0000_0000, NV)
    );
    assert_eq!(
        fun(
            FUnOp::Sqrt,
            FloatTy::F64,
            d(-0.0),
            NE,
            NanMode::Canonical,
            false
        ),
        (d(-0.0), 0)
    );
    // sqrt(2) in f32 is 0x3fb504f3 rounded to nearest (0x3fb504f3.33...): directed-up adds one.
    assert_eq!(
        fun(
            FUnOp::Sqrt,
            FloatTy::F32,
            s(2.0),
            RoundingMode::Up,
            NanMode::Canonical,
            true
        ),
        (0xffff_ffff_3fb5_04f4, I)
    );
    assert_eq!(
        fun(
            FUnOp::Sqrt,
            FloatTy::F32,
            s(2.0),
            RoundingMode::Down,
            NanMode::Canonical,
            true
        ),
        (0xffff_ffff_3fb5_04f3, I)
    );
    let r = fun(
        FUnOp::RoundToIntegral,
        FloatTy::F64,
        d(2.5),
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(2.0), I));
    let r = fun(
        FUnOp::RoundToIntegral,
        FloatTy::F64,
        d(2.5),
        RoundingMode::NearestMaxMagnitude,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(3.0), I));
}

#[test]
fn fused_multiply_add_rounds_once() {
    // (1 + 2^-52) * (1 - 2^-52) - 1 = -2^-104 exactly; a separate multiply would give 0.
    let a = d(1.0 + f64::EPSILON);
    let b = d(1.0 - f64::EPSILON);
    let r = fmuladd(
        FloatTy::F64,
        a,
        b,
        d(1.0),
        false,
        true,
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(-(2f64.powi(-104))), 0));
    let r = fmuladd(
        FloatTy::F64,
        d(2.0),
        d(3.0),
        d(1.0),
        true,
        false,
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (d(-5.0), 0));
    let r = fmuladd(
        FloatTy::F64,
        d(0.0),
        d(f64::INFINITY),
        d(f64::NAN),
        false,
        false,
        NE,
        NanMode::Canonical,
        false,
    );
    assert_eq!(r, (0x7ff8_0000_0000_0000, NV));
}

#[test]
fn comparisons() {
    let c = |op, sig, a, b| fcmp(op, sig, FloatTy::F64, a, b, false);
    assert_eq!(c(FCmpOp::Lt, false, d(1.0), d(2.0)), (1, 0));
    assert_eq!(c(FCmpOp::Le, false, d(2.0), d(2.0)), (1, 0));
    assert_eq!(c(FCmpOp::Eq, false, d(0.0), d(-0.0)), (1, 0));
    assert_eq!(c(FCmpOp::Eq, false, d(f64::NAN), d(1.0)), (0, 0));
    assert_eq!(c(FCmpOp::Lt, true, d(f64::NAN), d(1.0)), (0, NV));
    assert_eq!(c(FCmpOp::Eq, false, 0x7ff0_0000_0000_0001, d(1.0)), (0, NV));
    assert_eq!(c(FCmpOp::Unordered, false, d(f64::NAN), d(1.0)), (1, 0));
}

#[test]
fn conversions() {
    let f2i = |x, to, signed, rm| ftoint(d(x), FloatTy::F64, to, signed, rm, false);
    assert_eq!(f2i(3.7, Ty::I32, true, RoundingMode::TowardZero), (3, I));
    assert_eq!(f2i(3.5, Ty::I32, true, NE), (4, I));
    assert_eq!(
        f2i(-3.5, Ty::I64, true, RoundingMode::NearestMaxMagnitude),
        ((-4i64) as u64, I)
    );
    assert_eq!(f2i(-3.5, Ty::I32, true, RoundingMode::Up), (0xffff_fffd, I));
    assert_eq!(f2i(f64::NAN, Ty::I32, true, NE), (0x7fff_ffff, NV));
    assert_eq!(f2i(f64::NAN, Ty::I64, false, NE), (u64::MAX, NV));
    assert_eq!(f2i(1e20, Ty::I64, true, NE), (i64::MAX as u64, NV));
    assert_eq!(f2i(-1e20, Ty::I32, true, NE), (0x8000_0000, NV));
    assert_eq!(f2i(-1.0, Ty::I32, false, NE), (0, NV));
    assert_eq!(f2i(-0.25, Ty::I32, false, RoundingMode::TowardZero), (0, I));

    let i2f = |v, from, signed, to, rm| inttof(v, from, signed, to, rm, true);
    assert_eq!(
        i2f(u64::MAX, Ty::I64, false, FloatTy::F64, NE),
        (d(18_446_744_073_709_551_616.0), I)
    );
    assert_eq!(i2f(u64::MAX, Ty::I64, true, FloatTy::F64, NE), (d(-1.0), 0));
    assert_eq!(
        i2f(0xffff_ffff, Ty::I32, true, FloatTy::F32, NE),
        (s(-1.0), 0)
    );
    assert_eq!(
        i2f(16_777_217, Ty::I32, true, FloatTy::F32, RoundingMode::Up),
        (s(16_777_218.0), I)
    );

    let cv = |v, from, to, rm, nan| fconvert(v, from, to, rm, nan, true);
    assert_eq!(
        cv(d(0.1), FloatTy::F64, FloatTy::F32, NE, NanMode::Canonical),
        (s(0.1), I)
    );
    assert_eq!(
        cv(
            d(0.1),
            FloatTy::F64,
            FloatTy::F32,
            RoundingMode::TowardZero,
            NanMode::Canonical
        ),
        (s(0.1) - 1, I)
    );
    assert_eq!(
        cv(s(1.5), FloatTy::F32, FloatTy::F64, NE, NanMode::Canonical),
        (d(1.5), 0)
    );
    assert_eq!(
        cv(d(1e300), FloatTy::F64, FloatTy::F32, NE, NanMode::Canonical),
        (s(f32::INFINITY), FpFlags::OVERFLOW | I)
    );
    // A signalling NaN is quietened with its payload kept (top bits) when propagating.
    assert_eq!(
        cv(
            0xffff_ffff_7f80_0001,
            FloatTy::F32,
            FloatTy::F64,
            NE,
            NanMode::PropagateArm
        ),
        (0x7ff8_0000_2000_0000, NV)
    );
    assert_eq!(
        cv(
            0x7ff0_0000_0000_0001,
            FloatTy::F64,
            FloatTy::F32,
            NE,
            NanMode::Canonical
        ),
        (0xffff_ffff_7fc0_0000, NV)
    );
}

#[test]
fn classification() {
    let c = |x: f64| fclass(FloatTy::F64, d(x), false);
    assert_eq!(c(f64::NEG_INFINITY), 1 << 0);
    assert_eq!(c(-1.0), 1 << 1);
    assert_eq!(c(-f64::from_bits(1)), 1 << 2);
    assert_eq!(c(-0.0), 1 << 3);
    assert_eq!(c(0.0), 1 << 4);
    assert_eq!(c(f64::from_bits(1)), 1 << 5);
    assert_eq!(c(1.0), 1 << 6);
    assert_eq!(c(f64::INFINITY), 1 << 7);
    assert_eq!(fclass(FloatTy::F64, 0x7ff0_0000_0000_0001, false), 1 << 8);
    assert_eq!(c(f64::NAN), 1 << 9);
    assert_eq!(
        fclass(FloatTy::F32, u64::from(1.0f32.to_bits()), true),
        1 << 9
    );
}

/// Tininess is detected after rounding (RISC-V): a result that rounds up to the smallest normal
/// number but would stay below it with an unbounded exponent range underflows.
#[test]
fn underflow_is_detected_after_rounding() {
    const UF: u8 = FpFlags::UNDERFLOW;
    let conv = |bits: u64, rm| {
        fconvert(
            bits,
            FloatTy::F64,
            FloatTy::F32,
            rm,
            NanMode::Canonical,
            false,
        )
    };
    // 2^-126 · (1 - 3·2^-26): at 24 bits with an unbounded exponent it rounds to 2^-126 · (1 - 2^-24)
    // (tiny); at the subnormal spacing 2^-149 it rounds to 2^-126.
    let x = 0x380f_ffff_e800_0000;
    assert_eq!(
        f64::from_bits(x),
        2f64.powi(-126) * (1.0 - 3.0 * 2f64.powi(-26))
    );
    assert_eq!(conv(x, NE), (0x0080_0000, UF | I));
    assert_eq!(
        conv(x, RoundingMode::NearestMaxMagnitude),
        (0x0080_0000, UF | I)
    );
    // Rounding up, the unbounded result is 2^-126 itself: not tiny.
    assert_eq!(conv(x, RoundingMode::Up), (0x0080_0000, I));
    // Rounding down gives the largest subnormal, tiny either way.
    assert_eq!(conv(x, RoundingMode::TowardZero), (0x007f_ffff, UF | I));
    assert_eq!(conv(x, RoundingMode::Down), (0x007f_ffff, UF | I));
    // Negative: rounding down is away from zero.
    let nx = x | 1 << 63;
    assert_eq!(conv(nx, RoundingMode::Down), (0x8080_0000, I));
    assert_eq!(conv(nx, NE), (0x8080_0000, UF | I));
    // 2^-126 · (1 - 2^-25) is the tie of the unbounded rounding: to even, 2^-126 — not tiny.
    let tie = 0x380f_ffff_f000_0000;
    assert_eq!(
        f64::from_bits(tie),
        2f64.powi(-126) * (1.0 - 2f64.powi(-25))
    );
    assert_eq!(conv(tie, NE), (0x0080_0000, I));
    // Exactly representable: no flag.
    assert_eq!(conv(0x3810_0000_0000_0000, NE), (0x0080_0000, 0));
}

#[test]
fn products_and_quotients_underflow_after_rounding() {
    const UF: u8 = FpFlags::UNDERFLOW;
    let min = f64::MIN_POSITIVE;
    let op =
        |op, a: f64, b: f64, rm| fbin(op, FloatTy::F64, d(a), d(b), rm, NanMode::Canonical, false);
    // (1 - 2^-53) · 2^-1022: exact with an unbounded exponent (tiny), the tie between the largest
    // subnormal and 2^-1022 at the subnormal spacing, which goes to even: 2^-1022.
    let below_one = f64::from_bits(0x3fef_ffff_ffff_ffff);
    assert_eq!(below_one, 1.0 - 2f64.powi(-53));
    assert_eq!(op(FBinOp::Mul, below_one, min, NE), (d(min), UF | I));
    assert_eq!(
        op(FBinOp::Mul, min, below_one, RoundingMode::Up),
        (d(min), UF | I)
    );
    assert_eq!(
        op(FBinOp::Mul, below_one, min, RoundingMode::TowardZero),
        (d(min) - 1, UF | I)
    );
    // (2^53 - 2^26)(2^52 + 2^25) · 2^-105 = 1 - 2^-54 exactly: the unbounded tie goes to even, 1,
    // so the product is not tiny.
    let a = 1.0 - 2f64.powi(-27);
    let b = min * (1.0 + 2f64.powi(-27));
    assert_eq!(op(FBinOp::Mul, a, b, NE), (d(min), I));
    // With 80000000 and 40000000 in place of 2^26 and 2^25 the exact product is 2^-1022 · (1 - δ)
    // with 2^-54 < δ < 2^-53: tiny, and still rounded up to 2^-1022.
    let a = 1.0 - 80_000_000.0 * 2f64.powi(-53);
    let b = min * (1.0 + 40_000_000.0 * 2f64.powi(-52));
    assert_eq!(op(FBinOp::Mul, a, b, NE), (d(min), UF | I));
    assert_eq!(
        fmuladd(
            FloatTy::F64,
            d(a),
            d(b),
            d(0.0),
            false,
            false,
            NE,
            NanMode::Canonical,
            false
        ),
        (d(min), UF | I)
    );
    // 2^-1022 / (1 + 2^-52) = 2^-1022 · (1 - 1/(2^52 + 1)): rounding up gives 2^-1022 (with an
    // unbounded exponent 2^-1022 · (1 - 2^-53): tiny); to nearest, the largest subnormal.
    let one_up = 1.0 + f64::EPSILON;
    assert_eq!(
        op(FBinOp::Div, min, one_up, RoundingMode::Up),
        (d(min), UF | I)
    );
    assert_eq!(op(FBinOp::Div, min, one_up, NE), (d(min) - 1, UF | I));
    // Far from the bottom of the range nothing changes.
    assert_eq!(op(FBinOp::Mul, 3.0, min, NE), (d(3.0 * min), 0));
}
