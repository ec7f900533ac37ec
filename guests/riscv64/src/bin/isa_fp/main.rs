//! F and D extension checks: one `name: value` line per check (results as raw register bits, single
//! results with their NaN-boxing upper half), each followed by the `fflags` the operation raised, then
//! `PASS`/`FAIL n`.
//!
//! Every operation runs in `asm!` between `csrw fflags, zero` and `csrrw .., fflags, zero`. Operands are
//! chosen so that the five rounding modes give different results; the expected values follow IEEE 754
//! and the RISC-V F/D chapters (canonical NaN `0x7fc00000`/`0x7ff8000000000000`, NaN-boxing of singles,
//! saturating conversions, `fmin`/`fmax` as minimumNumber/maximumNumber, signalling comparisons).
//! fflags bits: NV 0x10, DZ 0x08, OF 0x04, UF 0x02, NX 0x01.

#![no_std]
#![no_main]

use core::arch::asm;
use core::fmt::Display;
use rt::check::Checker;
use rt::{clear_csr, read_csr, set_csr, write_csr};

rt::entry!(main);

const NV: u64 = 0x10;
const DZ: u64 = 0x08;
const OF: u64 = 0x04;
const UF: u64 = 0x02;
const NX: u64 = 0x01;

/// Static rounding-mode names, in encoding order 0..=4.
const RM: [&str; 5] = ["rne", "rtz", "rdn", "rup", "rmm"];

/// A NaN-boxed single.
const fn bx(bits: u32) -> u64 {
    0xffff_ffff_0000_0000 | bits as u64
}

const ONE: u64 = 0x3ff0_0000_0000_0000;
const ONE_ULP: u64 = 0x3ff0_0000_0000_0001;
const NEG_ONE: u64 = 0xbff0_0000_0000_0000;
const QNAN_D: u64 = 0x7ff8_0000_0000_0000;
const SNAN_D: u64 = 0x7ff0_0000_0000_0001;
const INF_D: u64 = 0x7ff0_0000_0000_0000;
const NINF_D: u64 = 0xfff0_0000_0000_0000;
const QNAN_S: u64 = bx(0x7fc0_0000);
const SNAN_S: u64 = bx(0x7f80_0001);
const ONE_S: u64 = bx(0x3f80_0000);

/// `insn fd, fs1, fs2<rm>` on raw register bits; returns `(fd bits, fflags)`.
macro_rules! f2 {
    ($insn:literal, $rm:literal, $a:expr, $b:expr) => {{
        let (r, fl): (u64, u64);
        let (a, b): (u64, u64) = ($a, $b);
        // SAFETY: FP register and fflags operations only; the FPU is on (mstatus.FS != Off).
        unsafe {
            asm!("csrw fflags, zero", "fmv.d.x {fa}, {a}", "fmv.d.x {fb}, {b}",
                 concat!($insn, " {fd}, {fa}, {fb}", $rm), "fmv.x.d {r}, {fd}",
                 "csrrw {fl}, fflags, zero",
                 a = in(reg) a, b = in(reg) b, r = lateout(reg) r, fl = lateout(reg) fl,
                 fa = out(freg) _, fb = out(freg) _, fd = out(freg) _, options(nomem, nostack))
        };
        (r, fl)
    }};
}

/// `insn fd, fs1, fs2, fs3<rm>`; returns `(fd bits, fflags)`.
macro_rules! f3 {
    ($insn:literal, $rm:literal, $a:expr, $b:expr, $c:expr) => {{
        let (r, fl): (u64, u64);
        let (a, b, c): (u64, u64, u64) = ($a, $b, $c);
        // SAFETY: as for `f2!`.
        unsafe {
            asm!("csrw fflags, zero", "fmv.d.x {fa}, {a}", "fmv.d.x {fb}, {b}", "fmv.d.x {fc}, {c}",
                 concat!($insn, " {fd}, {fa}, {fb}, {fc}", $rm), "fmv.x.d {r}, {fd}",
                 "csrrw {fl}, fflags, zero",
                 a = in(reg) a, b = in(reg) b, c = in(reg) c, r = lateout(reg) r,
                 fl = lateout(reg) fl, fa = out(freg) _, fb = out(freg) _, fc = out(freg) _,
                 fd = out(freg) _, options(nomem, nostack))
        };
        (r, fl)
    }};
}

/// `insn fd, fs1<rm>` (float to float); returns `(fd bits, fflags)`.
macro_rules! f1 {
    ($insn:literal, $rm:literal, $a:expr) => {{
        let (r, fl): (u64, u64);
        let a: u64 = $a;
        // SAFETY: as for `f2!`.
        unsafe {
            asm!("csrw fflags, zero", "fmv.d.x {fa}, {a}", concat!($insn, " {fd}, {fa}", $rm),
                 "fmv.x.d {r}, {fd}", "csrrw {fl}, fflags, zero",
                 a = in(reg) a, r = lateout(reg) r, fl = lateout(reg) fl,
                 fa = out(freg) _, fd = out(freg) _, options(nomem, nostack))
        };
        (r, fl)
    }};
}

/// `insn rd, fs1<rm>` (float to integer); returns `(rd, fflags)`.
macro_rules! x1 {
    ($insn:literal, $rm:literal, $a:expr) => {{
        let (r, fl): (u64, u64);
        let a: u64 = $a;
        // SAFETY: as for `f2!`.
        unsafe {
            asm!("csrw fflags, zero", "fmv.d.x {fa}, {a}", concat!($insn, " {r}, {fa}", $rm),
                 "csrrw {fl}, fflags, zero",
                 a = in(reg) a, r = lateout(reg) r, fl = lateout(reg) fl,
                 fa = out(freg) _, options(nomem, nostack))
        };
        (r, fl)
    }};
}

/// `insn rd, fs1, fs2` (comparisons); returns `(rd, fflags)`.
macro_rules! x2 {
    ($insn:literal, $a:expr, $b:expr) => {{
        let (r, fl): (u64, u64);
        let (a, b): (u64, u64) = ($a, $b);
        // SAFETY: as for `f2!`.
        unsafe {
            asm!("csrw fflags, zero", "fmv.d.x {fa}, {a}", "fmv.d.x {fb}, {b}",
                 concat!($insn, " {r}, {fa}, {fb}"), "csrrw {fl}, fflags, zero",
                 a = in(reg) a, b = in(reg) b, r = lateout(reg) r, fl = lateout(reg) fl,
                 fa = out(freg) _, fb = out(freg) _, options(nomem, nostack))
        };
        (r, fl)
    }};
}

/// `insn fd, rs1<rm>` (integer to float); returns `(fd bits, fflags)`.
macro_rules! fx {
    ($insn:literal, $rm:literal, $a:expr) => {{
        let (r, fl): (u64, u64);
        let a: u64 = $a;
        // SAFETY: as for `f2!`.
        unsafe {
            asm!("csrw fflags, zero", concat!($insn, " {fd}, {a}", $rm), "fmv.x.d {r}, {fd}",
                 "csrrw {fl}, fflags, zero",
                 a = in(reg) a, r = lateout(reg) r, fl = lateout(reg) fl, fd = out(freg) _,
                 options(nomem, nostack))
        };
        (r, fl)
    }};
}

/// The five static rounding modes of one operation: `modes!(f2, "fadd.d", a, b)`.
macro_rules! modes {
    ($m:ident, $insn:literal, $($arg:expr),+) => {
        [
            $m!($insn, ", rne", $($arg),+),
            $m!($insn, ", rtz", $($arg),+),
            $m!($insn, ", rdn", $($arg),+),
            $m!($insn, ", rup", $($arg),+),
            $m!($insn, ", rmm", $($arg),+),
        ]
    };
}

/// The dynamic rounding mode under each `frm` value 0..=4: `dyn_modes!(f2, "fadd.d", a, b)`.
macro_rules! dyn_modes {
    ($m:ident, $insn:literal, $($arg:expr),+) => {{
        let mut out = [(0u64, 0u64); 5];
        for (frm, slot) in out.iter_mut().enumerate() {
            write_csr!("frm", frm as u64);
            *slot = $m!($insn, ", dyn", $($arg),+);
        }
        write_csr!("frm", 0);
        out
    }};
}

/// Checks one result and its flags.
fn one(c: &mut Checker, name: impl Display + Copy, got: (u64, u64), want: u64, flags: u64) {
    c.check(name, got.0, want);
    c.check(format_args!("{name} fflags"), got.1, flags);
}

/// Checks the five rounding modes of one operation (`how` is "" for static, " dyn" for frm).
fn five(
    c: &mut Checker,
    name: &str,
    how: &str,
    got: [(u64, u64); 5],
    want: [u64; 5],
    flags: [u64; 5],
) {
    for i in 0..5 {
        c.check(format_args!("{name}{how} {}", RM[i]), got[i].0, want[i]);
        c.check(
            format_args!("{name}{how} {} fflags", RM[i]),
            got[i].1,
            flags[i],
        );
    }
}

mod arith;
mod convert;
mod misc;

fn main(_hartid: usize, _dtb: usize) -> u32 {
    let mut c = Checker::new();
    fcsr(&mut c);
    arith::rounding(&mut c);
    arith::fused(&mut c);
    arith::specials(&mut c);
    convert::conversions(&mut c);
    misc::boxing(&mut c);
    misc::classify(&mut c);
    misc::min_max_compare_sign(&mut c);
    c.finish()
}

fn fcsr(c: &mut Checker) {
    // mstatus.FS: Initial (1) until an FP register or fcsr is written, then Dirty (3) with SD set.
    clear_csr!("mstatus", 0x6000);
    set_csr!("mstatus", 0x2000);
    c.check("mstatus.FS initial", (read_csr!("mstatus") >> 13) & 3, 1);
    write_csr!("fcsr", 0x1ff);
    let ms = read_csr!("mstatus");
    c.check("mstatus.FS after fcsr write", (ms >> 13) & 3, 3);
    c.check("mstatus.SD after fcsr write", ms >> 63, 1);
    c.check("fcsr after writing 0x1ff", read_csr!("fcsr"), 0xff);
    c.check("frm", read_csr!("frm"), 7);
    c.check("fflags", read_csr!("fflags"), 0x1f);
    write_csr!("frm", 1);
    c.check("fcsr after frm=1", read_csr!("fcsr"), 0x3f);
    let old: u64;
    // SAFETY: swaps fflags with zero.
    unsafe { asm!("csrrw {0}, fflags, zero", out(reg) old, options(nomem, nostack)) };
    c.check("csrrw fflags old", old, 0x1f);
    c.check("fcsr after clearing fflags", read_csr!("fcsr"), 0x20);
    write_csr!("fcsr", 0);
}
