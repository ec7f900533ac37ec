//! Execution tests of the F and D arithmetic on vm-engine's interpreter: rounding modes, fused
//! multiply-add, the dynamic rounding mode, NaNs and exception flags. Expected results and flags come
//! from the RISC-V and IEEE 754 rules (exact values rounded by hand; the comments give the
//! reasoning), never from running the code under test.
#![cfg(feature = "riscv64")]

mod common;

use common::asm::{self, A0, A1, ZERO, fma, fp, rm};
use common::fpx::*;
use common::{BASE, DATA, run, run_bytes, run_with};
use vm_core::exec::Exception;

#[test]
fn arithmetic_in_every_rounding_mode() {
    // 1 + 2^-24: exactly half an ulp above 1.
    let t = [
        0x3f80_0000,
        0x3f80_0000,
        0x3f80_0000,
        0x3f80_0001,
        0x3f80_0001,
    ]
    .map(bx);
    five(0x00, S, ONE_S, bx(0x3380_0000), t, NX);
    // -1 - 2^-24: the mirror image.
    let t = [
        0xbf80_0000,
        0xbf80_0000,
        0xbf80_0001,
        0xbf80_0000,
        0xbf80_0001,
    ]
    .map(bx);
    five(0x00, S, bx(0xbf80_0000), bx(0xb380_0000), t, NX);
    // 1 + 1.5 * 2^-24: three quarters of an ulp.
    let t = [
        0x3f80_0001,
        0x3f80_0000,
        0x3f80_0000,
        0x3f80_0001,
        0x3f80_0001,
    ]
    .map(bx);
    five(0x00, S, ONE_S, bx(0x33c0_0000), t, NX);
    // fsub.d 1 - 2^-54: half an ulp below 1 (ulp 2^-53 there); even is 1.0.
    let (lo, hi) = (0x3fef_ffff_ffff_ffff, ONE_D);
    five(
        0x01,
        D,
        ONE_D,
        0x3c90_0000_0000_0000,
        [hi, lo, lo, hi, hi],
        NX,
    );
    // fmul.d (1 + 2^-52)^2 = 1 + 2^-51 + 2^-104.
    let (p, q) = (0x3ff0_0000_0000_0002, 0x3ff0_0000_0000_0003);
    five(
        0x02,
        D,
        0x3ff0_0000_0000_0001,
        0x3ff0_0000_0000_0001,
        [p, p, p, q, p],
        NX,
    );
    // fdiv.s 1/3 = 0x3eaaaaaa + 2/3 ulp; -1/3 mirrored.
    let (lo, hi) = (bx(0x3eaa_aaaa), bx(0x3eaa_aaab));
    five(0x03, S, ONE_S, bx(0x4040_0000), [hi, lo, lo, hi, hi], NX);
    let (lo, hi) = (bx(0xbeaa_aaaa), bx(0xbeaa_aaab));
    five(
        0x03,
        S,
        bx(0xbf80_0000),
        bx(0x4040_0000),
        [hi, lo, hi, lo, hi],
        NX,
    );
    // fdiv.d 1/3 = 0x3fd5555555555555 + 1/3 ulp.
    let (lo, hi) = (0x3fd5_5555_5555_5555, 0x3fd5_5555_5555_5556);
    five(
        0x03,
        D,
        ONE_D,
        0x4008_0000_0000_0000,
        [lo, lo, lo, hi, lo],
        NX,
    );
}

#[test]
fn square_root_in_every_rounding_mode() {
    // sqrt(2) in f64: 0x3ff6a09e667f3bcd is above it (its square exceeds 2), ...bcc below.
    let (lo, hi) = (0x3ff6_a09e_667f_3bcc, 0x3ff6_a09e_667f_3bcd);
    for (m, w) in rm::STATIC.into_iter().zip([hi, lo, lo, hi, hi]) {
        let r = fx(fp(0x0b, D, 0, 1, m, 0), 0x4000_0000_0000_0000, 0, 0);
        assert_eq!((r.0, r.2), (w, NX), "rm {m}");
    }
    // sqrt(2) in f32: 0x3fb504f3 is below it, 0x3fb504f4 above.
    let (lo, hi) = (bx(0x3fb5_04f3), bx(0x3fb5_04f4));
    for (m, w) in rm::STATIC.into_iter().zip([lo, lo, lo, hi, lo]) {
        let r = fx(fp(0x0b, S, 0, 1, m, 0), bx(0x4000_0000), 0, 0);
        assert_eq!((r.0, r.2), (w, NX), "rm {m}");
    }
    // sqrt(4) is exact; sqrt(-0) = -0; sqrt(-1) is invalid.
    assert_eq!(
        fx(fp(0x0b, D, 0, 1, 0, 0), 0x4010_0000_0000_0000, 0, 0).0,
        0x4000_0000_0000_0000
    );
    assert_eq!(fx(fp(0x0b, D, 0, 1, 0, 0), 1 << 63, 0, 0), (1 << 63, 0, 0));
    let r = fx(fp(0x0b, D, 0, 1, 0, 0), 0xbff0_0000_0000_0000, 0, 0);
    assert_eq!((r.0, r.2), (QNAN_D, NV));
}

#[test]
fn fused_multiply_add() {
    // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly: one rounding (two would lose the 2^-24).
    let a = bx(0x3f80_0800);
    let r = fx(fma(0x43, S, 0, 1, 2, 3, 0), a, a, bx(0xbf80_0000));
    assert_eq!((r.0, r.2), (bx(0x3a00_0400), 0));
    // (1 + 2^-23)^2 + 0 = 1 + 2^-22 + 2^-46.
    let (p, q) = (bx(0x3f80_0002), bx(0x3f80_0003));
    for (m, w) in rm::STATIC.into_iter().zip([p, p, p, q, p]) {
        let a = bx(0x3f80_0001);
        let r = fx(fma(0x43, S, 0, 1, 2, 3, m), a, a, bx(0));
        assert_eq!((r.0, r.2), (w, NX), "rm {m}");
    }
    // 2 * 3 and 1 through the four variants.
    let (two, three) = (0x4000_0000_0000_0000, 0x4008_0000_0000_0000);
    for (opc, want) in [
        (0x43, 0x401c_0000_0000_0000u64), // fmadd: 7
        (0x47, 0x4014_0000_0000_0000),    // fmsub: 5
        (0x4b, 0xc014_0000_0000_0000),    // fnmsub: -5
        (0x4f, 0xc01c_0000_0000_0000),    // fnmadd: -7
    ] {
        assert_eq!(
            fx(fma(opc, D, 0, 1, 2, 3, 0), two, three, ONE_D),
            (want, 0, 0)
        );
    }
    // fnmadd(1, +0, +0) = -(+0) - (+0) = -0; fmadd(1, +0, -0) = +0, but -0 rounding down.
    assert_eq!(fx(fma(0x4f, D, 0, 1, 2, 3, 0), ONE_D, 0, 0).0, 1 << 63);
    assert_eq!(
        fx(fma(0x43, D, 0, 1, 2, 3, rm::RNE), ONE_D, 0, 1 << 63).0,
        0
    );
    assert_eq!(
        fx(fma(0x43, D, 0, 1, 2, 3, rm::RDN), ONE_D, 0, 1 << 63).0,
        1 << 63
    );
    // inf * 0 + qNaN raises invalid (the F extension requires it even with a quiet NaN addend).
    let r = fx(
        fma(0x43, D, 0, 1, 2, 3, 0),
        0x7ff0_0000_0000_0000,
        0,
        QNAN_D,
    );
    assert_eq!((r.0, r.2), (QNAN_D, NV));
}

#[test]
fn dynamic_rounding_mode() {
    let fadd_dyn = op2(0x00, S, rm::DYN);
    let frac = bx(0x33c0_0000); // 1 + this rounds up to nearest, down toward zero
    // frm preset to RTZ.
    let r = run_with(&[fadd_dyn], |cpu, _| {
        cpu.slots[33] = ONE_S;
        cpu.slots[34] = frac;
        cpu.slots[66] = 1;
    });
    assert_eq!(r.cpu.f(0), ONE_S);
    // fsrmi 1 in the same block: checked at run time, then used.
    let r = run_with(&[asm::csr(1, true, ZERO, 0x002, 1), fadd_dyn], |cpu, _| {
        cpu.slots[33] = ONE_S;
        cpu.slots[34] = frac;
    });
    assert_eq!(r.cpu.f(0), ONE_S);
    // fscsr with frm = RUP in bits 7:5.
    let r = run_with(
        &[asm::csr(1, false, ZERO, 0x003, A1), fadd_dyn],
        |cpu, _| {
            cpu.slots[33] = ONE_S;
            cpu.slots[34] = bx(0x3380_0000);
            cpu.slots[A1 as usize] = 3 << 5;
        },
    );
    assert_eq!(r.cpu.f(0), bx(0x3f80_0001));
    // Invalid frm: illegal instruction, whether known when the block is decoded or set in it.
    let illegal = (Exception::illegal(u64::from(fadd_dyn)), BASE);
    let r = run_bytes(&fadd_dyn.to_le_bytes(), |cpu, _| cpu.slots[66] = 5);
    assert_eq!(r.trap(), illegal);
    let code: Vec<u8> = [asm::csr(1, true, ZERO, 0x002, 6), fadd_dyn]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let r = run_bytes(&code, |_, _| {});
    assert_eq!(r.trap(), (illegal.0, BASE + 4));
    // A static mode does not care about frm.
    let r = run_with(&[op2(0x00, S, rm::RUP)], |cpu, _| {
        cpu.slots[33] = ONE_S;
        cpu.slots[34] = frac;
        cpu.slots[66] = 7;
    });
    assert_eq!(r.cpu.f(0), bx(0x3f80_0001));
}

#[test]
fn nan_results_are_canonical() {
    // A quiet NaN operand: canonical result, no flag. A signalling one: invalid.
    assert_eq!(fx(op2(0x00, S, 0), bx(0x7fc1_2345), ONE_S, 0).0, QNAN_S);
    assert_eq!(fx(op2(0x00, S, 0), bx(0x7fc1_2345), ONE_S, 0).2, 0);
    let r = fx(op2(0x00, S, 0), SNAN_S, ONE_S, 0);
    assert_eq!((r.0, r.2), (QNAN_S, NV));
    let r = fx(op2(0x02, D, 0), SNAN_D, ONE_D, 0);
    assert_eq!((r.0, r.2), (QNAN_D, NV));
    // Invalid operations without NaN operands.
    let inf = 0x7ff0_0000_0000_0000;
    assert_eq!(fx(op2(0x01, D, 0), inf, inf, 0), (QNAN_D, 0, NV));
    assert_eq!(fx(op2(0x03, D, 0), 0, 0, 0), (QNAN_D, 0, NV));
    // Division by zero.
    assert_eq!(fx(op2(0x03, D, 0), ONE_D, 0, 0), (inf, 0, DZ));
    assert_eq!(
        fx(op2(0x03, S, 0), ONE_S, bx(0x8000_0000), 0),
        (bx(0xff80_0000), 0, DZ)
    );
}

#[test]
fn exception_flags() {
    // Overflow: max * 2, to infinity or to the largest finite by rounding direction.
    let max = bx(0x7f7f_ffff);
    let two = bx(0x4000_0000);
    let (inf, big) = (bx(0x7f80_0000), max);
    five(0x02, S, max, two, [inf, big, big, inf, inf], OF | NX);
    // Underflow: the smallest subnormal halved is a tie between 0 and itself.
    let tiny = bx(1);
    let half = bx(0x3f00_0000);
    five(
        0x02,
        S,
        tiny,
        half,
        [bx(0), bx(0), bx(0), tiny, tiny],
        UF | NX,
    );
    // An exact subnormal result does not underflow: 2^-126 / 2 = 2^-127.
    assert_eq!(
        fx(op2(0x02, S, 0), bx(0x0080_0000), half, 0),
        (bx(0x0040_0000), 0, 0)
    );
    // Tininess is detected after rounding: (1 + 2^-23) * (2^-126 - 2^-149) = 2^-126 (1 - 2^-46)
    // rounds to 2^-126 with an unbounded exponent in the nearest and upward modes (not tiny: only
    // inexact), and stays below it toward zero and down (tiny and inexact: underflow).
    let (normal, sub) = (bx(0x0080_0000), bx(0x007f_ffff));
    for (m, want) in rm::STATIC.into_iter().zip([
        (normal, NX),
        (sub, UF | NX),
        (sub, UF | NX),
        (normal, NX),
        (normal, NX),
    ]) {
        let (f0, _, fl) = fx(op2(0x02, S, m), bx(0x3f80_0001), sub, 0);
        assert_eq!((f0, fl), want, "rm {m}");
    }
    // Flags accrue across instructions and are read and cleared through the CSRs.
    let r = run_with(
        &[
            op2(0x03, D, 0),                     // fdiv.d f0, f1, f2: 1 / 0, DZ
            fp(0x0b, D, 0, 3, 0, 4),             // fsqrt.d f4, f3: sqrt(-1), NV
            asm::csr(2, false, A0, 0x001, ZERO), // frflags a0
            asm::csr(1, true, ZERO, 0x001, 0),   // fsflagsi 0
            fp(0x03, D, 5, 1, 0, 0),             // fdiv.d f0, f1, f5: 1 / 3, NX
            asm::csr(2, false, 12, 0x003, ZERO), // frcsr a2
        ],
        |cpu, _| {
            cpu.slots[33] = ONE_D;
            cpu.slots[34] = 0;
            cpu.slots[35] = 0xbff0_0000_0000_0000;
            cpu.slots[37] = 0x4008_0000_0000_0000;
            cpu.slots[66] = 2;
        },
    );
    assert_eq!(r.cpu.x(A0), DZ | NV);
    assert_eq!(r.cpu.x(12), NX | (2 << 5));
    assert_eq!(r.cpu.fflags(), NX);
}

#[test]
fn fp_disabled_is_illegal() {
    let flw = asm::fload(false, 1, A1, 0);
    let r = run_bytes(&flw.to_le_bytes(), |cpu, _| {
        cpu.fp_enabled = false;
        cpu.slots[A1 as usize] = DATA;
    });
    assert_eq!(r.trap(), (Exception::illegal(u64::from(flw)), BASE));
    // The same instruction runs once FP is on.
    let r = run(&[flw], &[(A1, DATA)]);
    assert_eq!(r.cpu.f(1), bx(0));
}

/// IEEE 754 with tininess detected after rounding (what RISC-V specifies) raises underflow also when
/// the result rounds up to the smallest normal number but would have stayed below it with an
/// unbounded exponent (`rustc_apfloat` alone raises it only for subnormal results; vm-engine corrects
/// for that).
#[test]
fn underflow_when_rounding_up_to_the_smallest_normal() {
    let (normal, sub) = (bx(0x0080_0000), bx(0x007f_ffff));
    // 2^-126 (1 - 3 * 2^-26) (exact in f64) rounds to 2^-126 at the
    // subnormal precision, but to 2^-126 (1 - 2^-24) < 2^-126 with an unbounded exponent in the
    // nearest modes: tiny, so underflow although the result is the smallest normal number. Upward
    // it rounds to 2^-126 either way: inexact only.
    for (m, want) in rm::STATIC.into_iter().zip([
        (normal, UF | NX),
        (sub, UF | NX),
        (sub, UF | NX),
        (normal, NX),
        (normal, UF | NX),
    ]) {
        let r = fx(fp(0x08, S, 1, 1, m, 0), 0x380f_ffff_e800_0000, 0, 0);
        assert_eq!((r.0, r.2), want, "fcvt.s.d rm {m}");
    }
}
