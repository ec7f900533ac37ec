//! Execution tests of the F and D moves, sign injection, conversions, classification, min/max and
//! comparisons on vm-engine's interpreter, with RISC-V's NaN-boxing rules. Expected results and flags
//! come from the RISC-V and IEEE 754 rules (the comments give the reasoning), never from running the
//! code under test.
#![cfg(feature = "riscv64")]

mod common;

use common::asm::{self, A0, A1, ZERO, fp, rm};
use common::fpx::*;
use common::{DATA, poke_u64, run_with};

#[test]
fn nan_boxing() {
    // flw boxes; fmv.w.x boxes whatever the upper bits of the source; fld/fsd/fsw move bits.
    let r = run_with(
        &[
            asm::fload(false, 1, A1, 0),
            asm::fload(true, 2, A1, 8),
            fp(0x1e, S, 0, 12, 0, 3), // fmv.w.x f3, a2
            asm::fstore(false, 4, A1, 16),
            asm::fstore(true, 4, A1, 24),
            fp(0x1c, S, 0, 4, 0, 13), // fmv.x.w a3, f4
            fp(0x1c, D, 0, 4, 0, 14), // fmv.x.d a4, f4
            fp(0x1e, D, 0, 12, 0, 5), // fmv.d.x f5, a2
        ],
        |cpu, mem| {
            poke_u64(mem, DATA, 0x1111_2222_3f80_0000);
            poke_u64(mem, DATA + 8, 0x7ff0_0000_0000_0001);
            cpu.slots[A1 as usize] = DATA;
            cpu.slots[12] = 0x1234_5678_3f80_0000;
            cpu.slots[36] = 0x0123_4567_89ab_cdef; // f4: not a boxed f32
        },
    );
    assert_eq!(r.cpu.f(1), ONE_S);
    assert_eq!(
        r.cpu.f(2),
        0x7ff0_0000_0000_0001,
        "fld keeps a signalling NaN's bits"
    );
    assert_eq!(r.cpu.f(3), ONE_S);
    assert_eq!(r.read_u64(DATA + 16), 0x89ab_cdef);
    assert_eq!(r.read_u64(DATA + 24), 0x0123_4567_89ab_cdef);
    assert_eq!(
        r.cpu.x(13),
        0xffff_ffff_89ab_cdef,
        "fmv.x.w sign-extends bit 31"
    );
    assert_eq!(r.cpu.x(14), 0x0123_4567_89ab_cdef);
    assert_eq!(r.cpu.f(5), 0x1234_5678_3f80_0000);
    assert_eq!(r.cpu.fflags(), 0);
}

#[test]
fn improperly_boxed_f32_operands_are_the_canonical_nan() {
    let unboxed_one = 0x0000_0000_3f80_0000;
    let neg_one = bx(0xbf80_0000);
    // Arithmetic: the canonical NaN, quiet, so no flag.
    assert_eq!(fx(op2(0x00, S, 0), unboxed_one, ONE_S, 0), (QNAN_S, 0, 0));
    // Sign injection: fsgnj.s gives the canonical NaN with rs2's sign; fsgnjn.s takes the
    // opposite of the canonical NaN's (positive) sign; fsgnjx.s xors.
    assert_eq!(
        fx(fp(0x04, S, 2, 1, 0, 0), unboxed_one, neg_one, 0).0,
        bx(0xffc0_0000)
    );
    assert_eq!(
        fx(fp(0x04, S, 2, 1, 1, 0), ONE_S, unboxed_one, 0).0,
        neg_one
    );
    assert_eq!(
        fx(fp(0x04, S, 2, 1, 2, 0), neg_one, unboxed_one, 0).0,
        neg_one
    );
    // fclass: a quiet NaN. fcvt.d.s: the canonical f64 NaN, no flag.
    assert_eq!(fx(fp(0x1c, S, 0, 1, 1, A0), unboxed_one, 0, 0).1, 1 << 9);
    assert_eq!(
        fx(fp(0x08, D, 0, 1, 0, 0), unboxed_one, 0, 0),
        (QNAN_D, 0, 0)
    );
    // Comparisons: feq is quiet (no flag), flt signals.
    assert_eq!(
        fx(fp(0x14, S, 2, 1, 2, A0), unboxed_one, ONE_S, 0),
        (0, 0, 0)
    );
    assert_eq!(
        fx(fp(0x14, S, 2, 1, 1, A0), unboxed_one, ONE_S, 0),
        (0, 0, NV)
    );
}

#[test]
fn sign_injection() {
    let neg_zero_d = 1 << 63;
    assert_eq!(
        fx(fp(0x04, D, 2, 1, 0, 0), ONE_D, neg_zero_d, 0).0,
        0xbff0_0000_0000_0000
    );
    assert_eq!(
        fx(fp(0x04, D, 2, 1, 1, 0), ONE_D, ONE_D, 0).0,
        0xbff0_0000_0000_0000
    );
    assert_eq!(
        fx(
            fp(0x04, D, 2, 1, 2, 0),
            0xbff0_0000_0000_0000,
            neg_zero_d,
            0
        )
        .0,
        ONE_D
    );
    // fsgnjx.s -2, -1 = +2; fabs.s / fneg.s (rs1 = rs2) of a boxed NaN keep its payload.
    assert_eq!(
        fx(fp(0x04, S, 2, 1, 2, 0), bx(0xc000_0000), bx(0xbf80_0000), 0).0,
        bx(0x4000_0000)
    );
    assert_eq!(
        fx(fp(0x04, S, 1, 1, 2, 0), bx(0xff81_2345), 0, 0).0,
        bx(0x7f81_2345)
    );
    assert_eq!(
        fx(fp(0x04, S, 1, 1, 1, 0), bx(0x7f81_2345), 0, 0),
        (bx(0xff81_2345), 0, 0)
    );
}

#[test]
fn conversions_to_integers_saturate() {
    // fcvt.{w,wu,l,lu}.{s,d} a0, f1, rtz
    let cvt = |fmt, kind| fp(0x18, fmt, kind, 1, rm::RTZ, A0);
    let (w, wu, l, lu) = (0, 1, 2, 3);
    let inf_s = bx(0x7f80_0000);
    let ninf_s = bx(0xff80_0000);
    let cases: &[(u32, u64, u64, u64)] = &[
        (cvt(S, w), QNAN_S, 0x7fff_ffff, NV),
        (cvt(S, w), inf_s, 0x7fff_ffff, NV),
        (cvt(S, w), ninf_s, 0xffff_ffff_8000_0000, NV),
        (cvt(S, w), bx(0x4f32_d05e), 0x7fff_ffff, NV), // 3e9
        (cvt(S, w), bx(0xcf32_d05e), 0xffff_ffff_8000_0000, NV), // -3e9
        (cvt(S, w), bx(0xcf00_0000), 0xffff_ffff_8000_0000, 0), // -2^31 fits
        (cvt(S, w), bx(0xbfc0_0000), u64::MAX, NX),    // -1.5 -> -1
        (cvt(S, wu), bx(0xbf80_0000), 0, NV),          // -1
        (cvt(S, wu), QNAN_S, u64::MAX, NV),            // 2^32 - 1, sign-extended
        (cvt(S, wu), bx(0x4f32_d05e), 0xffff_ffff_b2d0_5e00, 0), // 3e9, sign-extended
        (cvt(S, wu), bx(0xbf00_0000), 0, NX),          // -0.5 -> -0 fits
        (cvt(D, l), 0x43e0_0000_0000_0000, 0x7fff_ffff_ffff_ffff, NV), // 2^63
        (cvt(D, l), 0xc3e0_0000_0000_0000, 1 << 63, 0), // -2^63
        (cvt(D, l), QNAN_D, 0x7fff_ffff_ffff_ffff, NV),
        (cvt(D, l), 0xfff0_0000_0000_0000, 1 << 63, NV),
        (cvt(D, lu), 0x43f0_0000_0000_0000, u64::MAX, NV), // 2^64
        (cvt(D, lu), 0xfff0_0000_0000_0000, 0, NV),
        (cvt(D, lu), 0x7ff0_0000_0000_0000, u64::MAX, NV),
        (cvt(D, lu), 0xbfe0_0000_0000_0000, 0, NX), // -0.5
    ];
    for &(word, v, want, flags) in cases {
        let (_, x, fl) = fx(word, v, 0, 0);
        assert_eq!((x, fl), (want, flags), "{word:#010x} {v:#x}");
    }
    // fcvt.wu.s -0.5 rounding down is -1: out of range.
    assert_eq!(
        fx(fp(0x18, S, wu, 1, rm::RDN, A0), bx(0xbf00_0000), 0, 0),
        (0, 0, NV)
    );
    // fcvt.w.d of +-2.5 in each mode.
    let m2 = |v: i64| v as u64;
    for (v, want) in [
        (0x4004_0000_0000_0000u64, [2, 2, 2, 3, 3]),
        (
            0xc004_0000_0000_0000,
            [m2(-2), m2(-2), m2(-3), m2(-2), m2(-3)],
        ),
    ] {
        for (m, w) in rm::STATIC.into_iter().zip(want) {
            assert_eq!(
                fx(fp(0x18, D, KIND_W, 1, m, A0), v, 0, 0),
                (0, w, NX),
                "rm {m}"
            );
        }
    }
    // 2147483647.5: nearest-even and up give 2^31, which does not fit.
    let v = 0x41df_ffff_ffe0_0000;
    for (m, want) in rm::STATIC.into_iter().zip([
        (0x7fff_ffff, NV),
        (0x7fff_ffff, NX),
        (0x7fff_ffff, NX),
        (0x7fff_ffff, NV),
        (0x7fff_ffff, NV),
    ]) {
        let (_, x, fl) = fx(fp(0x18, D, KIND_W, 1, m, A0), v, 0, 0);
        assert_eq!((x, fl), want, "rm {m}");
    }
}

/// The `rs2` field selecting `.w` in conversions.
const KIND_W: u32 = 0;

#[test]
fn conversions_from_integers() {
    // fcvt.s.w f0, a1: 2^24 + 1 is halfway between 2^24 and 2^24 + 2.
    let want = [
        0x4b80_0000,
        0x4b80_0000,
        0x4b80_0000,
        0x4b80_0001,
        0x4b80_0001,
    ]
    .map(bx);
    for (m, w) in rm::STATIC.into_iter().zip(want) {
        assert_eq!(
            fx(fp(0x1a, S, 0, A1, m, 0), (1 << 24) + 1, 0, 0),
            (w, 0, NX),
            "rm {m}"
        );
    }
    let cases: &[(u32, u64, u64, u64)] = &[
        (fp(0x1a, S, 1, A1, 0, 0), 0xffff_ffff, bx(0x4f80_0000), NX), // wu: 2^32 - 1 -> 2^32
        (fp(0x1a, S, 0, A1, 0, 0), 0x1_0000_0001, ONE_S, 0),          // w: low 32 bits
        (fp(0x1a, S, 0, A1, 0, 0), 0xffff_ffff, bx(0xbf80_0000), 0),  // w: -1
        (fp(0x1a, D, 2, A1, 0, 0), u64::MAX, 0xbff0_0000_0000_0000, 0), // l: -1
        (
            fp(0x1a, D, 3, A1, 0, 0),
            u64::MAX,
            0x43f0_0000_0000_0000,
            NX,
        ), // lu: 2^64 - 1
        (
            fp(0x1a, D, 1, A1, 0, 0),
            0xffff_ffff,
            0x41ef_ffff_ffe0_0000,
            0,
        ), // wu: exact
    ];
    for &(word, x, want, flags) in cases {
        assert_eq!(fx(word, x, 0, 0), (want, 0, flags), "{word:#010x} {x:#x}");
    }
}

#[test]
fn conversions_between_formats() {
    let to_s = |m| fp(0x08, S, 1, 1, m, 0);
    let third = 0x3fd5_5555_5555_5555;
    assert_eq!(fx(to_s(rm::RNE), third, 0, 0), (bx(0x3eaa_aaab), 0, NX));
    assert_eq!(fx(to_s(rm::RTZ), third, 0, 0), (bx(0x3eaa_aaaa), 0, NX));
    assert_eq!(fx(to_s(rm::RNE), SNAN_D, 0, 0), (QNAN_S, 0, NV));
    // 1e300 overflows: infinity to nearest, the largest finite toward zero.
    let big = 0x7e37_e43c_8800_759c;
    assert_eq!(fx(to_s(rm::RNE), big, 0, 0), (bx(0x7f80_0000), 0, OF | NX));
    assert_eq!(fx(to_s(rm::RTZ), big, 0, 0), (bx(0x7f7f_ffff), 0, OF | NX));
    // fcvt.d.s is exact; a signalling NaN becomes the canonical NaN with invalid.
    assert_eq!(
        fx(fp(0x08, D, 0, 1, 0, 0), bx(0x3eaa_aaab), 0, 0),
        (0x3fd5_5555_6000_0000, 0, 0)
    );
    assert_eq!(fx(fp(0x08, D, 0, 1, 0, 0), SNAN_S, 0, 0), (QNAN_D, 0, NV));
}

#[test]
fn classify() {
    let class = |fmt| fp(0x1c, fmt, 0, 1, 1, A0);
    let d = [
        0xfff0_0000_0000_0000u64, // -inf
        0xbff0_0000_0000_0000,    // -1
        0x8000_0000_0000_0001,    // negative subnormal
        0x8000_0000_0000_0000,    // -0
        0,                        // +0
        1,                        // positive subnormal
        ONE_D,
        0x7ff0_0000_0000_0000, // +inf
        SNAN_D,
        QNAN_D,
    ];
    let s = [
        0xff80_0000u32,
        0xbf80_0000,
        0x8000_0001,
        0x8000_0000,
        0,
        1,
        0x3f80_0000,
        0x7f80_0000,
        0x7f80_0001,
        0x7fc0_0000,
    ];
    for bit in 0..10 {
        assert_eq!(fx(class(D), d[bit], 0, 0), (0, 1 << bit, 0), "d {bit}");
        assert_eq!(fx(class(S), bx(s[bit]), 0, 0), (0, 1 << bit, 0), "s {bit}");
    }
}

#[test]
fn min_and_max() {
    let (min, max) = (
        |fmt| fp(0x05, fmt, 2, 1, 0, 0),
        |fmt| fp(0x05, fmt, 2, 1, 1, 0),
    );
    let (pz, nz) = (bx(0), bx(0x8000_0000));
    assert_eq!(fx(min(S), nz, pz, 0), (nz, 0, 0));
    assert_eq!(fx(min(S), pz, nz, 0), (nz, 0, 0));
    assert_eq!(fx(max(S), nz, pz, 0), (pz, 0, 0));
    assert_eq!(fx(max(S), pz, nz, 0), (pz, 0, 0));
    assert_eq!(fx(min(S), QNAN_S, ONE_S, 0), (ONE_S, 0, 0));
    assert_eq!(fx(min(S), SNAN_S, ONE_S, 0), (ONE_S, 0, NV));
    assert_eq!(fx(max(S), ONE_S, SNAN_S, 0), (ONE_S, 0, NV));
    assert_eq!(fx(max(S), bx(0x7fc0_1234), QNAN_S, 0), (QNAN_S, 0, 0));
    assert_eq!(fx(max(D), SNAN_D, SNAN_D, 0), (QNAN_D, 0, NV));
    let (m1, two) = (0xbff0_0000_0000_0000, 0x4000_0000_0000_0000);
    assert_eq!(fx(min(D), m1, two, 0).0, m1);
    assert_eq!(fx(max(D), m1, two, 0).0, two);
}

#[test]
fn comparisons() {
    let (feq, flt, fle) = (
        |fmt| fp(0x14, fmt, 2, 1, 2, A0),
        |fmt| fp(0x14, fmt, 2, 1, 1, A0),
        |fmt| fp(0x14, fmt, 2, 1, 0, A0),
    );
    let two = 0x4000_0000_0000_0000;
    assert_eq!(fx(feq(S), ONE_S, ONE_S, 0), (0, 1, 0));
    assert_eq!(fx(flt(D), ONE_D, two, 0), (0, 1, 0));
    assert_eq!(fx(flt(D), two, ONE_D, 0), (0, 0, 0));
    assert_eq!(fx(fle(D), two, two, 0), (0, 1, 0));
    assert_eq!(fx(feq(D), 1 << 63, 0, 0), (0, 1, 0)); // -0 == +0
    assert_eq!(fx(feq(D), QNAN_D, ONE_D, 0), (0, 0, 0));
    assert_eq!(fx(feq(S), SNAN_S, ONE_S, 0), (0, 0, NV));
    assert_eq!(fx(flt(D), QNAN_D, ONE_D, 0), (0, 0, NV));
    assert_eq!(fx(fle(S), ONE_S, QNAN_S, 0), (0, 0, NV));
    // With rd = x0 the flags are still accrued.
    assert_eq!(fx(fp(0x14, D, 2, 1, 1, ZERO), QNAN_D, ONE_D, 0), (0, 0, NV));
}
