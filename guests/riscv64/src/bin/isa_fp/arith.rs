//! Arithmetic: every rounding mode of add, sub, mul, div, sqrt and the fused ops; special values.

use super::*;

pub(super) fn rounding(c: &mut Checker) {
    // 1 + 0.75 ulp: above the halfway point.
    let a = (ONE, 0x3ca8_0000_0000_0000);
    five(
        c,
        "fadd.d 1+0.75ulp",
        "",
        modes!(f2, "fadd.d", a.0, a.1),
        [ONE_ULP, ONE, ONE, ONE_ULP, ONE_ULP],
        [NX; 5],
    );
    five(
        c,
        "fadd.d 1+0.75ulp",
        " dyn",
        dyn_modes!(f2, "fadd.d", a.0, a.1),
        [ONE_ULP, ONE, ONE, ONE_ULP, ONE_ULP],
        [NX; 5],
    );
    five(
        c,
        "fadd.d -1-0.75ulp",
        "",
        modes!(f2, "fadd.d", NEG_ONE, 0xbca8_0000_0000_0000),
        [
            0xbff0_0000_0000_0001,
            NEG_ONE,
            0xbff0_0000_0000_0001,
            NEG_ONE,
            0xbff0_0000_0000_0001,
        ],
        [NX; 5],
    );
    // Exact ties: 1 + 0.5 ulp (even below) and (1 + ulp) + 0.5 ulp (even above).
    five(
        c,
        "fadd.d tie even below",
        "",
        modes!(f2, "fadd.d", ONE, 0x3ca0_0000_0000_0000),
        [ONE, ONE, ONE, ONE_ULP, ONE_ULP],
        [NX; 5],
    );
    five(
        c,
        "fadd.d tie even above",
        "",
        modes!(f2, "fadd.d", ONE_ULP, 0x3ca0_0000_0000_0000),
        [
            0x3ff0_0000_0000_0002,
            ONE_ULP,
            ONE_ULP,
            0x3ff0_0000_0000_0002,
            0x3ff0_0000_0000_0002,
        ],
        [NX; 5],
    );
    // 1 - 1.5 ulp(below 1): a tie between 0x3fefffffffffffff (odd) and ..fe (even).
    five(
        c,
        "fsub.d tie",
        "",
        modes!(f2, "fsub.d", ONE, 0x3ca8_0000_0000_0000),
        [
            0x3fef_ffff_ffff_fffe,
            0x3fef_ffff_ffff_fffe,
            0x3fef_ffff_ffff_fffe,
            0x3fef_ffff_ffff_ffff,
            0x3fef_ffff_ffff_ffff,
        ],
        [NX; 5],
    );
    // (1 + ulp)^2 = 1 + 2 ulp + ulp^2.
    five(
        c,
        "fmul.d",
        "",
        modes!(f2, "fmul.d", ONE_ULP, ONE_ULP),
        [
            0x3ff0_0000_0000_0002,
            0x3ff0_0000_0000_0002,
            0x3ff0_0000_0000_0002,
            0x3ff0_0000_0000_0003,
            0x3ff0_0000_0000_0002,
        ],
        [NX; 5],
    );
    five(
        c,
        "fmul.d negative",
        "",
        modes!(f2, "fmul.d", ONE_ULP, 0xbff0_0000_0000_0001),
        [
            0xbff0_0000_0000_0002,
            0xbff0_0000_0000_0002,
            0xbff0_0000_0000_0003,
            0xbff0_0000_0000_0002,
            0xbff0_0000_0000_0002,
        ],
        [NX; 5],
    );
    let third = 0x3fd5_5555_5555_5555;
    five(
        c,
        "fdiv.d 1/3",
        "",
        modes!(f2, "fdiv.d", ONE, 0x4008_0000_0000_0000),
        [third, third, third, third + 1, third],
        [NX; 5],
    );
    let nthird = 0xbfd5_5555_5555_5555;
    five(
        c,
        "fdiv.d -1/3",
        "",
        modes!(f2, "fdiv.d", NEG_ONE, 0x4008_0000_0000_0000),
        [nthird, nthird, nthird + 1, nthird, nthird],
        [NX; 5],
    );
    five(
        c,
        "fdiv.s 1/3",
        "",
        modes!(f2, "fdiv.s", ONE_S, bx(0x4040_0000)),
        [
            bx(0x3eaa_aaab),
            bx(0x3eaa_aaaa),
            bx(0x3eaa_aaaa),
            bx(0x3eaa_aaab),
            bx(0x3eaa_aaab),
        ],
        [NX; 5],
    );
    five(
        c,
        "fdiv.s 1/3",
        " dyn",
        dyn_modes!(f2, "fdiv.s", ONE_S, bx(0x4040_0000)),
        [
            bx(0x3eaa_aaab),
            bx(0x3eaa_aaaa),
            bx(0x3eaa_aaaa),
            bx(0x3eaa_aaab),
            bx(0x3eaa_aaab),
        ],
        [NX; 5],
    );
    let r2 = 0x3ff6_a09e_667f_3bcd;
    five(
        c,
        "fsqrt.d 2",
        "",
        modes!(f1, "fsqrt.d", 0x4000_0000_0000_0000),
        [r2, r2 - 1, r2 - 1, r2, r2],
        [NX; 5],
    );
    five(
        c,
        "fsqrt.s 2",
        "",
        modes!(f1, "fsqrt.s", bx(0x4000_0000)),
        [
            bx(0x3fb5_04f3),
            bx(0x3fb5_04f3),
            bx(0x3fb5_04f3),
            bx(0x3fb5_04f4),
            bx(0x3fb5_04f3),
        ],
        [NX; 5],
    );
    five(
        c,
        "fadd.s 1+0.75ulp",
        "",
        modes!(f2, "fadd.s", ONE_S, bx(0x33c0_0000)),
        [
            bx(0x3f80_0001),
            ONE_S,
            ONE_S,
            bx(0x3f80_0001),
            bx(0x3f80_0001),
        ],
        [NX; 5],
    );
    five(
        c,
        "fmul.s",
        "",
        modes!(f2, "fmul.s", bx(0x3f80_0001), bx(0x3f80_0001)),
        [
            bx(0x3f80_0002),
            bx(0x3f80_0002),
            bx(0x3f80_0002),
            bx(0x3f80_0003),
            bx(0x3f80_0002),
        ],
        [NX; 5],
    );
}

pub(super) fn fused(c: &mut Checker) {
    // a = b = 1 + ulp, c = 2^-53 (half an ulp): a*b+c = 1 + 2.5 ulp + ulp^2.
    let h = 0x3ca0_0000_0000_0000;
    let n = |x: u64| x | 0x8000_0000_0000_0000;
    let d = |k: u64| ONE + k;
    five(
        c,
        "fmadd.d",
        "",
        modes!(f3, "fmadd.d", ONE_ULP, ONE_ULP, h),
        [d(3), d(2), d(2), d(3), d(3)],
        [NX; 5],
    );
    five(
        c,
        "fmadd.d",
        " dyn",
        dyn_modes!(f3, "fmadd.d", ONE_ULP, ONE_ULP, h),
        [d(3), d(2), d(2), d(3), d(3)],
        [NX; 5],
    );
    // a*b - c = 1 + 1.5 ulp + ulp^2.
    five(
        c,
        "fmsub.d",
        "",
        modes!(f3, "fmsub.d", ONE_ULP, ONE_ULP, h),
        [d(2), d(1), d(1), d(2), d(2)],
        [NX; 5],
    );
    // -(a*b) - c = -(1 + 2.5 ulp + ulp^2).
    five(
        c,
        "fnmadd.d",
        "",
        modes!(f3, "fnmadd.d", ONE_ULP, ONE_ULP, h),
        [n(d(3)), n(d(2)), n(d(3)), n(d(2)), n(d(3))],
        [NX; 5],
    );
    // -(a*b) + c = -(1 + 1.5 ulp + ulp^2).
    five(
        c,
        "fnmsub.d",
        "",
        modes!(f3, "fnmsub.d", ONE_ULP, ONE_ULP, h),
        [n(d(2)), n(d(1)), n(d(2)), n(d(1)), n(d(2))],
        [NX; 5],
    );
    let s = |k: u32| bx(0x3f80_0000 + k);
    five(
        c,
        "fmadd.s",
        "",
        modes!(f3, "fmadd.s", s(1), s(1), bx(0x3380_0000)),
        [s(3), s(2), s(2), s(3), s(3)],
        [NX; 5],
    );
    five(
        c,
        "fnmsub.s",
        "",
        modes!(f3, "fnmsub.s", s(1), s(1), bx(0x3380_0000)),
        [
            bx(0xbf80_0002),
            bx(0xbf80_0001),
            bx(0xbf80_0002),
            bx(0xbf80_0001),
            bx(0xbf80_0002),
        ],
        [NX; 5],
    );
    // One rounding only: (1 + ulp)(1 - ulp/2) - 1 = 2^-53 - 2^-105 exactly (unfused would give 0).
    one(
        c,
        "fmadd.d single rounding",
        f3!("fmadd.d", ", rne", ONE_ULP, 0x3fef_ffff_ffff_ffff, NEG_ONE),
        0x3c9f_ffff_ffff_fffe,
        0,
    );
    // inf * 0 + qNaN is invalid even though the addend is a quiet NaN.
    one(
        c,
        "fmadd.d inf*0+qnan",
        f3!("fmadd.d", ", rne", INF_D, 0, QNAN_D),
        QNAN_D,
        NV,
    );
}

pub(super) fn specials(c: &mut Checker) {
    one(
        c,
        "fadd.s snan+1",
        f2!("fadd.s", ", rne", SNAN_S, ONE_S),
        QNAN_S,
        NV,
    );
    one(
        c,
        "fadd.d qnan payload+1",
        f2!("fadd.d", ", rne", 0x7ff8_0000_0000_0123, ONE),
        QNAN_D,
        0,
    );
    one(
        c,
        "fadd.d -qnan+1",
        f2!("fadd.d", ", rne", 0xfff8_0000_0000_0000, ONE),
        QNAN_D,
        0,
    );
    one(
        c,
        "fadd.d inf-inf",
        f2!("fadd.d", ", rne", INF_D, NINF_D),
        QNAN_D,
        NV,
    );
    one(
        c,
        "fmul.d inf*0",
        f2!("fmul.d", ", rne", INF_D, 0),
        QNAN_D,
        NV,
    );
    one(c, "fdiv.d 1/0", f2!("fdiv.d", ", rne", ONE, 0), INF_D, DZ);
    one(
        c,
        "fdiv.d -1/0",
        f2!("fdiv.d", ", rne", NEG_ONE, 0),
        NINF_D,
        DZ,
    );
    one(c, "fdiv.d 0/0", f2!("fdiv.d", ", rne", 0, 0), QNAN_D, NV);
    one(
        c,
        "fdiv.s 1/-0",
        f2!("fdiv.s", ", rne", ONE_S, bx(0x8000_0000)),
        bx(0xff80_0000),
        DZ,
    );
    one(
        c,
        "fsqrt.d -1",
        f1!("fsqrt.d", ", rne", NEG_ONE),
        QNAN_D,
        NV,
    );
    one(
        c,
        "fsqrt.d -0",
        f1!("fsqrt.d", ", rne", 0x8000_0000_0000_0000),
        0x8000_0000_0000_0000,
        0,
    );
    one(
        c,
        "fsqrt.s inf",
        f1!("fsqrt.s", ", rne", bx(0x7f80_0000)),
        bx(0x7f80_0000),
        0,
    );
    let max = 0x7fef_ffff_ffff_ffff;
    five(
        c,
        "fmul.d max*2",
        "",
        modes!(f2, "fmul.d", max, 0x4000_0000_0000_0000),
        [INF_D, max, max, INF_D, INF_D],
        [OF | NX; 5],
    );
    // The smallest subnormal halved: a tie between 0 and itself; tininess and inexact: UF | NX.
    five(
        c,
        "fmul.d minsub/2",
        "",
        modes!(f2, "fmul.d", 1, 0x3fe0_0000_0000_0000),
        [0, 0, 0, 1, 1],
        [UF | NX; 5],
    );
    // An exact subnormal result raises nothing.
    one(
        c,
        "fmul.d exact subnormal",
        f2!(
            "fmul.d",
            ", rne",
            0x0010_0000_0000_0000,
            0x3fe0_0000_0000_0000
        ),
        0x0008_0000_0000_0000,
        0,
    );
}
