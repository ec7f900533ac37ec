//! A extension checks: LR/SC success and failure, and every AMO in `.w` and `.d` form, one
//! `name: value` line per check, then `PASS`/`FAIL n`.
//!
//! Expected values follow the RISC-V unprivileged specification: SC writes 0 on success and a non-zero
//! code on failure (1 on QEMU and in the spec's own examples, checked here), an SC without a valid
//! reservation or to another address fails and writes nothing, and every SC (successful or not)
//! ends the reservation. `.w` forms use the low 32 bits of `rs2`, compare signed or unsigned as 32-bit
//! values, and sign-extend the loaded word into `rd`.

#![no_std]
#![no_main]

use core::arch::asm;
use rt::check::Checker;

rt::entry!(main);

/// Two 8-byte-aligned words for the atomics.
#[repr(C, align(16))]
struct Cells([u64; 2]);

/// `amo rd, rs2, (addr)` on the cell, returning `(rd, memory after)`; `.w` forms see the low word.
macro_rules! amo {
    ($insn:literal, $cells:expr, $init:expr, $src:expr) => {{
        let cells: &mut Cells = $cells;
        cells.0[0] = $init;
        let p = cells.0.as_mut_ptr();
        let rd: u64;
        let src: u64 = $src;
        // SAFETY: `p` points at the first, 8-byte-aligned word of `cells`, which this function borrows
        // mutably; the AMO touches 4 or 8 bytes of it.
        unsafe {
            asm!(concat!($insn, " {rd}, {src}, ({p})"), rd = out(reg) rd, src = in(reg) src,
                 p = in(reg) p, options(nostack))
        };
        // SAFETY: as above; a volatile read sees the AMO's store.
        let after = unsafe { p.read_volatile() };
        (rd, after)
    }};
}

fn main(_hartid: usize, _dtb: usize) -> u32 {
    let mut c = Checker::new();
    let mut cells = Cells([0; 2]);
    lr_sc(&mut c, &mut cells);
    amo_w(&mut c, &mut cells);
    amo_d(&mut c, &mut cells);
    c.finish()
}

fn lr_sc(c: &mut Checker, cells: &mut Cells) {
    let p = cells.0.as_mut_ptr();
    // SAFETY: `p` points at two aligned words borrowed from `cells`.
    unsafe { p.write_volatile(0xffff_ffff_8000_0000) };
    let (lr, sc_ok, sc_again, sc_other, after_other): (u64, u64, u64, u64, u64);
    // SAFETY: LR/SC on the first word and SC on the second word of `cells` (8-byte aligned).
    unsafe {
        asm!(
            // lr.w sign-extends; a matching sc.w succeeds (0).
            "lr.w {lr}, ({p})",
            "li {t}, 0x12345678",
            "sc.w {ok}, {t}, ({p})",
            // The reservation is gone: a second sc.w fails (non-zero) and stores nothing.
            "li {t}, 0x7777",
            "sc.w {again}, {t}, ({p})",
            // lr.d on the first word, sc.d to the second: fails, and the second word keeps its value.
            "lr.d {t}, ({p})",
            "li {t}, 0x5555",
            "sc.d {other}, {t}, ({q})",
            "ld {after}, 0({q})",
            p = in(reg) p, q = in(reg) p.wrapping_add(1), t = out(reg) _,
            lr = out(reg) lr, ok = out(reg) sc_ok, again = out(reg) sc_again,
            other = out(reg) sc_other, after = out(reg) after_other,
            options(nostack),
        )
    };
    c.check("lr.w sign-extends", lr, 0xffff_ffff_8000_0000);
    c.check("sc.w after lr.w", sc_ok, 0);
    c.check("sc.w without reservation", sc_again, 1);
    // SAFETY: as above.
    c.check(
        "memory after sc.w pair",
        unsafe { p.read_volatile() },
        0xffff_ffff_1234_5678,
    );
    c.check("sc.d to another address", sc_other, 1);
    c.check("other word unchanged", after_other, 0);

    let (sc_after_fail, lr_d, sc_d): (u64, u64, u64);
    // SAFETY: as above.
    unsafe {
        asm!(
            // The failed sc.d above also ended the reservation: this sc.d to the reserved address fails.
            "li {t}, 1",
            "sc.d {f}, {t}, ({p})",
            "lr.d {l}, ({p})",
            "addi {t}, {l}, 1",
            "sc.d {s}, {t}, ({p})",
            p = in(reg) p, t = out(reg) _, f = out(reg) sc_after_fail, l = out(reg) lr_d,
            s = out(reg) sc_d, options(nostack),
        )
    };
    c.check("sc.d after failed sc", sc_after_fail, 1);
    c.check("lr.d", lr_d, 0xffff_ffff_1234_5678);
    c.check("sc.d after lr.d", sc_d, 0);
    // SAFETY: as above.
    c.check(
        "memory after lr.d/sc.d",
        unsafe { p.read_volatile() },
        0xffff_ffff_1234_5679,
    );
}

fn amo_w(c: &mut Checker, cells: &mut Cells) {
    // The upper word of the cell (0xaaaaaaaa) must never change under a .w AMO on the low word.
    const UP: u64 = 0xaaaa_aaaa_0000_0000;
    let (rd, mem) = amo!("amoswap.w", cells, UP | 0x8000_0000, 0x1234_5678_0000_0001);
    c.check("amoswap.w rd", rd, 0xffff_ffff_8000_0000);
    c.check("amoswap.w mem", mem, UP | 1);
    let (rd, mem) = amo!("amoadd.w", cells, UP | 0x7fff_ffff, 0x1234_5678_0000_0001);
    c.check("amoadd.w rd", rd, 0x7fff_ffff);
    c.check("amoadd.w mem wraps in 32 bits", mem, UP | 0x8000_0000);
    let (rd, mem) = amo!("amoadd.w", cells, UP | 0xffff_ffff, 1);
    c.check("amoadd.w carry stays in word rd", rd, 0xffff_ffff_ffff_ffff);
    c.check("amoadd.w carry stays in word mem", mem, UP);
    let (rd, mem) = amo!("amoxor.w", cells, UP | 0xff00_ff00, 0xffff_0000_0ff0_0ff0);
    c.check("amoxor.w rd", rd, 0xffff_ffff_ff00_ff00);
    c.check("amoxor.w mem", mem, UP | 0xf0f0_f0f0);
    let (rd, mem) = amo!("amoand.w", cells, UP | 0xff00_ff00, 0x0ff0_0ff0);
    c.check("amoand.w rd", rd, 0xffff_ffff_ff00_ff00);
    c.check("amoand.w mem", mem, UP | 0x0f00_0f00);
    let (rd, mem) = amo!("amoor.w", cells, UP | 0x0000_ff00, 0x8000_0000);
    c.check("amoor.w rd", rd, 0xff00);
    c.check("amoor.w mem", mem, UP | 0x8000_ff00);
    // Signed 32-bit compare: -1 < 1.
    let (rd, mem) = amo!("amomin.w", cells, UP | 0xffff_ffff, 1);
    c.check("amomin.w rd", rd, u64::MAX);
    c.check("amomin.w mem", mem, UP | 0xffff_ffff);
    // rs2 = 0x00000000_ffffffff is -1 as a word: the minimum is -1 even though rs2 as u64 is positive.
    let (rd, mem) = amo!("amomin.w", cells, UP, 0xffff_ffff);
    c.check("amomin.w word of rs2 rd", rd, 0);
    c.check("amomin.w word of rs2 mem", mem, UP | 0xffff_ffff);
    let (rd, mem) = amo!("amomax.w", cells, UP | 0x8000_0000, 0x7fff_ffff);
    c.check("amomax.w rd", rd, 0xffff_ffff_8000_0000);
    c.check("amomax.w mem", mem, UP | 0x7fff_ffff);
    // Unsigned 32-bit compare ignores rs2's upper half: min(2, 1) = 1.
    let (rd, mem) = amo!("amominu.w", cells, UP | 2, 0xffff_ffff_0000_0001);
    c.check("amominu.w rd", rd, 2);
    c.check("amominu.w mem", mem, UP | 1);
    let (rd, mem) = amo!("amomaxu.w", cells, UP | 0x7fff_ffff, 0x8000_0000);
    c.check("amomaxu.w rd", rd, 0x7fff_ffff);
    c.check("amomaxu.w mem", mem, UP | 0x8000_0000);
    let (rd, mem) = amo!("amoswap.w.aqrl", cells, UP | 5, 6);
    c.check("amoswap.w.aqrl rd", rd, 5);
    c.check("amoswap.w.aqrl mem", mem, UP | 6);
}

fn amo_d(c: &mut Checker, cells: &mut Cells) {
    const MIN: u64 = 0x8000_0000_0000_0000;
    const MAX: u64 = 0x7fff_ffff_ffff_ffff;
    let (rd, mem) = amo!("amoswap.d", cells, 0x1122_3344_5566_7788, MIN);
    c.check("amoswap.d rd", rd, 0x1122_3344_5566_7788);
    c.check("amoswap.d mem", mem, MIN);
    let (rd, mem) = amo!("amoadd.d", cells, MAX, 1);
    c.check("amoadd.d rd", rd, MAX);
    c.check("amoadd.d mem", mem, MIN);
    let (rd, mem) = amo!(
        "amoxor.d",
        cells,
        0xff00_ff00_ff00_ff00,
        0x0ff0_0ff0_0ff0_0ff0
    );
    c.check("amoxor.d rd", rd, 0xff00_ff00_ff00_ff00);
    c.check("amoxor.d mem", mem, 0xf0f0_f0f0_f0f0_f0f0);
    let (rd, mem) = amo!(
        "amoand.d",
        cells,
        0xff00_ff00_ff00_ff00,
        0x0ff0_0ff0_0ff0_0ff0
    );
    c.check("amoand.d rd", rd, 0xff00_ff00_ff00_ff00);
    c.check("amoand.d mem", mem, 0x0f00_0f00_0f00_0f00);
    let (rd, mem) = amo!("amoor.d", cells, 0xff, MIN);
    c.check("amoor.d rd", rd, 0xff);
    c.check("amoor.d mem", mem, MIN | 0xff);
    let (rd, mem) = amo!("amomin.d", cells, MIN, MAX);
    c.check("amomin.d rd", rd, MIN);
    c.check("amomin.d mem", mem, MIN);
    let (rd, mem) = amo!("amomax.d", cells, MIN, MAX);
    c.check("amomax.d rd", rd, MIN);
    c.check("amomax.d mem", mem, MAX);
    let (rd, mem) = amo!("amominu.d", cells, MIN, MAX);
    c.check("amominu.d rd", rd, MIN);
    c.check("amominu.d mem", mem, MAX);
    let (rd, mem) = amo!("amomaxu.d", cells, MAX, u64::MAX);
    c.check("amomaxu.d rd", rd, MAX);
    c.check("amomaxu.d mem", mem, u64::MAX);
    let (rd, mem) = amo!("amoadd.d.aq", cells, 40, 2);
    c.check("amoadd.d.aq rd", rd, 40);
    c.check("amoadd.d.aq mem", mem, 42);
    // The second word was never an AMO target.
    c.check("neighbour word untouched", cells.0[1], 0);
}
