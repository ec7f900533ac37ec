//! Shared pieces of the floating-point execution tests: flag bits, NaN-boxing, common constants
//! and a one-instruction runner.

use super::asm::{fp, rm};
use super::run_with;

/// Single precision in the `fmt` field.
pub const S: u32 = 0;
/// Double precision.
pub const D: u32 = 1;
/// Inexact.
pub const NX: u64 = 1;
/// Underflow.
pub const UF: u64 = 2;
/// Overflow.
pub const OF: u64 = 4;
/// Division by zero.
pub const DZ: u64 = 8;
/// Invalid operation.
pub const NV: u64 = 16;

/// A NaN-boxed f32.
pub const fn bx(v: u32) -> u64 {
    0xffff_ffff_0000_0000 | v as u64
}

/// 1.0f32, boxed.
pub const ONE_S: u64 = bx(0x3f80_0000);
/// 1.0f64.
pub const ONE_D: u64 = 0x3ff0_0000_0000_0000;
/// The canonical f32 NaN, boxed.
pub const QNAN_S: u64 = bx(0x7fc0_0000);
/// The canonical f64 NaN.
pub const QNAN_D: u64 = 0x7ff8_0000_0000_0000;
/// A signalling f32 NaN, boxed.
pub const SNAN_S: u64 = bx(0x7f80_0001);
/// A signalling f64 NaN.
pub const SNAN_D: u64 = 0x7ff0_0000_0000_0001;

/// Runs `word` with `f1`, `f2`, `f3` = `a`, `b`, `c` and `a1` = `a` too; returns (`f0`, `a0`,
/// `fflags`).
pub fn fx(word: u32, a: u64, b: u64, c: u64) -> (u64, u64, u64) {
    let r = run_with(&[word], |cpu, _| {
        cpu.slots[33] = a;
        cpu.slots[34] = b;
        cpu.slots[35] = c;
        cpu.slots[11] = a;
    });
    (r.cpu.f(0), r.cpu.x(10), r.cpu.fflags())
}

/// `op f0, f1, f2, rm` (OP-FP funct5 `f5`).
pub fn op2(f5: u32, fmt: u32, rm: u32) -> u32 {
    fp(f5, fmt, 2, 1, rm, 0)
}

/// Checks a two-operand op in the five static rounding modes (RNE, RTZ, RDN, RUP, RMM).
pub fn five(f5: u32, fmt: u32, a: u64, b: u64, want: [u64; 5], flags: u64) {
    for (m, w) in rm::STATIC.into_iter().zip(want) {
        let (f0, _, fl) = fx(op2(f5, fmt, m), a, b, 0);
        assert_eq!(
            (f0, fl),
            (w, flags),
            "funct5 {f5:#x} rm {m}: {a:#x}, {b:#x}"
        );
    }
}
