//! RV64I and M (then Zba/Zbb/Zbs, last) checks: one `name: value` line per check, then `PASS`/`FAIL n`.
//!
//! Every checked instruction runs in `asm!` on register operands, so the compiler cannot fold it; the
//! expected values come from the RISC-V unprivileged specification (shift amounts masked to 6 or 5 bits,
//! `*W` results sign-extended from bit 31, division by zero and overflow results of the M chapter's
//! table). The bit-manipulation checks come last so that a machine without them still reports every
//! base check before it traps.

#![no_std]
#![no_main]

use core::arch::asm;
use rt::check::Checker;
use rt::{r1, ri, rr};

rt::entry!(main);

const MIN: u64 = 0x8000_0000_0000_0000;
const MAX: u64 = 0x7fff_ffff_ffff_ffff;
const ONES: u64 = u64::MAX;

fn main(_hartid: usize, _dtb: usize) -> u32 {
    let mut c = Checker::new();
    arith(&mut c);
    shifts(&mut c);
    compares(&mut c);
    upper_immediates(&mut c);
    loads_stores(&mut c);
    branches_jumps(&mut c);
    mul_div(&mut c);
    div_w(&mut c);
    zba(&mut c);
    zbb(&mut c);
    zbs(&mut c);
    c.finish()
}

fn arith(c: &mut Checker) {
    c.check("add max+1", rr!("add", MAX, 1), MIN);
    c.check("sub 0-1", rr!("sub", 0, 1), ONES);
    c.check("addi 5-8", ri!("addi", 5, "-8"), 0xffff_ffff_ffff_fffd);
    c.check(
        "addw 0x7fffffff+1",
        rr!("addw", 0x7fff_ffff, 1),
        0xffff_ffff_8000_0000,
    );
    c.check(
        "addw ignores upper",
        rr!("addw", 0xffff_ffff_0000_0001, 1),
        2,
    );
    c.check(
        "subw 0x80000000-1",
        rr!("subw", 0x8000_0000, 1),
        0x7fff_ffff,
    );
    c.check("subw 0-1", rr!("subw", 0x1234_5678_0000_0000, 1), ONES);
    c.check("addiw -1+1", ri!("addiw", 0xffff_ffff, "1"), 0);
    c.check(
        "sext.w",
        ri!("addiw", 0x8000_0000, "0"),
        0xffff_ffff_8000_0000,
    );
    c.check("xor", rr!("xor", 0xff00_ff00, 0x0ff0_0ff0), 0xf0f0_f0f0);
    c.check(
        "or",
        rr!("or", 0xff00_0000_0000_0000, 0xff),
        0xff00_0000_0000_00ff,
    );
    c.check("and", rr!("and", 0xff00_ff00, 0x0ff0_0ff0), 0x0f00_0f00);
    c.check("xori not", ri!("xori", 0x1234, "-1"), !0x1234);
    c.check(
        "ori sign-extended imm",
        ri!("ori", 0, "-2048"),
        0xffff_ffff_ffff_f800,
    );
    c.check("andi 0x7ff", ri!("andi", ONES, "0x7ff"), 0x7ff);
    let x0: u64;
    // SAFETY: writes to x0 are discarded; only `t0` (declared) is clobbered.
    unsafe { asm!("li t0, 5", "add x0, t0, t0", "mv {r}, x0", r = out(reg) x0, out("t0") _) };
    c.check("x0 stays zero", x0, 0);
}

fn shifts(c: &mut Checker) {
    c.check("sll 1<<63", rr!("sll", 1, 63), MIN);
    c.check("sll amount 65 masked", rr!("sll", 1, 65), 2);
    c.check(
        "srl amount 68 masked",
        rr!("srl", MIN, 68),
        0x0800_0000_0000_0000,
    );
    c.check(
        "sra amount 68 masked",
        rr!("sra", MIN, 68),
        0xf800_0000_0000_0000,
    );
    c.check("slli 63", ri!("slli", 1, "63"), MIN);
    c.check("srli 60", ri!("srli", ONES, "60"), 0xf);
    c.check("srai 63", ri!("srai", MIN, "63"), ONES);
    c.check("sllw 1<<31", rr!("sllw", 1, 31), 0xffff_ffff_8000_0000);
    c.check("sllw amount 33 masked", rr!("sllw", 1, 33), 2);
    c.check("sllw drops upper", rr!("sllw", 0x1_0000_0001, 4), 0x10);
    c.check(
        "srlw amount 36 masked",
        rr!("srlw", 0xffff_ffff_8000_0000, 36),
        0x0800_0000,
    );
    c.check(
        "srlw by 0 sign-extends",
        rr!("srlw", 0x8000_0000, 0),
        0xffff_ffff_8000_0000,
    );
    c.check(
        "srlw ignores upper",
        rr!("srlw", 0xffff_ffff_0000_0010, 4),
        1,
    );
    c.check("sraw", rr!("sraw", 0x8000_0000, 4), 0xffff_ffff_f800_0000);
    c.check(
        "sraw ignores upper",
        rr!("sraw", 0x0000_0001_7fff_ffff, 35),
        0x0fff_ffff,
    );
    c.check("slliw 31", ri!("slliw", 1, "31"), 0xffff_ffff_8000_0000);
    c.check(
        "srliw 0 sign-extends",
        ri!("srliw", 0x1_8000_0000, "0"),
        0xffff_ffff_8000_0000,
    );
    c.check("srliw 31", ri!("srliw", 0x8000_0000, "31"), 1);
    c.check("sraiw 31", ri!("sraiw", 0x8000_0000, "31"), ONES);
}

fn compares(c: &mut Checker) {
    c.check("slt -1<0", rr!("slt", ONES, 0), 1);
    c.check("sltu max<0", rr!("sltu", ONES, 0), 0);
    c.check("slt min<max", rr!("slt", MIN, MAX), 1);
    c.check("sltu min<max", rr!("sltu", MIN, MAX), 0);
    c.check("slti -5<-4", ri!("slti", 0xffff_ffff_ffff_fffb, "-4"), 1);
    c.check("sltiu 5<-1", ri!("sltiu", 5, "-1"), 1);
    c.check("sltiu seqz", ri!("sltiu", 0, "1"), 1);
    c.check("sltu snez", rr!("sltu", 0, 7), 1);
}

fn upper_immediates(c: &mut Checker) {
    let (lui_hi, lui_lo, auipc0, auipc1): (u64, u64, u64, u64);
    // SAFETY: register-only instructions; `lla` and `auipc` compute addresses of local labels.
    unsafe {
        asm!(
            "lui {a}, 0x80000",
            "lui {b}, 0x7ffff",
            "1: auipc {c}, 0",
            "lla {t}, 1b",
            "sub {c}, {c}, {t}",
            "2: auipc {d}, 0xfffff",
            "lla {t}, 2b",
            "sub {d}, {d}, {t}",
            a = out(reg) lui_hi, b = out(reg) lui_lo, c = out(reg) auipc0, d = out(reg) auipc1,
            t = out(reg) _,
        )
    };
    c.check("lui 0x80000 sign-extends", lui_hi, 0xffff_ffff_8000_0000);
    c.check("lui 0x7ffff", lui_lo, 0x7fff_f000);
    c.check("auipc 0 - pc", auipc0, 0);
    c.check("auipc 0xfffff - pc", auipc1, 0xffff_ffff_ffff_f000);
}

/// A loaded value: `load!("lh", buf, "2")` runs `lh rd, 2(buf)`.
macro_rules! load {
    ($insn:literal, $base:expr, $off:literal) => {{
        let r: u64;
        // SAFETY: `$base` points at the 16-byte buffer of `loads_stores` and the offsets stay inside.
        unsafe {
            asm!(concat!($insn, " {r}, ", $off, "({b})"), r = out(reg) r, b = in(reg) $base,
                 options(readonly, nostack))
        };
        r
    }};
}

/// A store: `store!("sh", buf, "2", value)` runs `sh value, 2(buf)`.
macro_rules! store {
    ($insn:literal, $base:expr, $off:literal, $v:expr) => {{
        let v: u64 = $v;
        // SAFETY: as for `load!`.
        unsafe {
            asm!(concat!($insn, " {v}, ", $off, "({b})"), v = in(reg) v, b = in(reg) $base,
                 options(nostack))
        };
    }};
}

fn loads_stores(c: &mut Checker) {
    let mut buf = [0u64; 2];
    let p = buf.as_mut_ptr();
    store!("sd", p, "0", 0x1234_5678_9abc_def0);
    store!("sd", p, "8", 0x8081_8283_8485_8687);
    c.check(
        "lb sign-extends",
        load!("lb", p, "0"),
        0xffff_ffff_ffff_fff0,
    );
    c.check("lbu", load!("lbu", p, "0"), 0xf0);
    c.check("lb positive", load!("lb", p, "7"), 0x12);
    c.check(
        "lh sign-extends",
        load!("lh", p, "0"),
        0xffff_ffff_ffff_def0,
    );
    c.check("lhu", load!("lhu", p, "0"), 0xdef0);
    c.check("lh positive", load!("lh", p, "6"), 0x1234);
    c.check(
        "lw sign-extends",
        load!("lw", p, "0"),
        0xffff_ffff_9abc_def0,
    );
    c.check("lwu", load!("lwu", p, "0"), 0x9abc_def0);
    c.check("lw positive", load!("lw", p, "4"), 0x1234_5678);
    c.check("ld", load!("ld", p, "8"), 0x8081_8283_8485_8687);
    c.check("lw at +12", load!("lw", p, "12"), 0xffff_ffff_8081_8283);
    store!("sb", p, "1", 0xffff_ffff_ffff_ffaa);
    c.check(
        "sb stores one byte",
        load!("ld", p, "0"),
        0x1234_5678_9abc_aaf0,
    );
    store!("sh", p, "2", 0x1111_2222_3333_bbbb);
    c.check(
        "sh stores two bytes",
        load!("ld", p, "0"),
        0x1234_5678_bbbb_aaf0,
    );
    store!("sw", p, "4", 0x5555_5555_cccc_cccc);
    c.check(
        "sw stores four bytes",
        load!("ld", p, "0"),
        0xcccc_cccc_bbbb_aaf0,
    );
    store!("sd", p, "8", 0);
    c.check("sd", load!("ld", p, "8"), 0);
    c.check(
        "buffer untouched by asm view",
        buf[0],
        0xcccc_cccc_bbbb_aaf0,
    );
}

/// 1 when `branch a, b` is taken.
macro_rules! taken {
    ($insn:literal, $a:expr, $b:expr) => {{
        let r: u64;
        let a: u64 = $a;
        let b: u64 = $b;
        // SAFETY: a branch to a local label; registers only.
        unsafe {
            asm!("li {r}, 1", concat!($insn, " {a}, {b}, 1f"), "li {r}, 0", "1:",
                 r = out(reg) r, a = in(reg) a, b = in(reg) b, options(nomem, nostack))
        };
        r
    }};
}

fn branches_jumps(c: &mut Checker) {
    c.check("beq equal", taken!("beq", 7, 7), 1);
    c.check("beq differ", taken!("beq", 7, 8), 0);
    c.check("bne equal", taken!("bne", 7, 7), 0);
    c.check("blt -1<1", taken!("blt", ONES, 1), 1);
    c.check("bltu max<1", taken!("bltu", ONES, 1), 0);
    c.check("bge -1>=-1", taken!("bge", ONES, ONES), 1);
    c.check("bge min>=max", taken!("bge", MIN, MAX), 0);
    c.check("bgeu min>=max", taken!("bgeu", MIN, MAX), 1);
    c.check("bgeu 0>=max", taken!("bgeu", 0, ONES), 0);

    let (jal_link, jalr_ok, jalr_link, same_link): (u64, u64, u64, u64);
    // SAFETY: jumps between local labels only; every path reaches label 9.
    unsafe {
        asm!(
            // jal: the link register gets the address of the next instruction.
            "lla {t}, 1f",
            "jal {l1}, 1f",
            "1: sub {l1}, {l1}, {t}",
            // jalr to an odd address: bit 0 of the target is cleared.
            "lla {t}, 3f",
            "addi {t}, {t}, 1",
            "li {ok}, 0",
            "jalr {l2}, 0({t})",
            "2: j 9f",
            "3: li {ok}, 1",
            "lla {t}, 2b",
            "sub {l2}, {l2}, {t}",
            // jalr with rd == rs1: the target is computed from the old value.
            "lla {l3}, 5f",
            ".option push",
            ".option norvc",
            "jalr {l3}, 0({l3})",
            "4: j 9f",
            ".option pop",
            "5: lla {t}, 4b",
            "sub {l3}, {l3}, {t}",
            "9:",
            t = out(reg) _, l1 = out(reg) jal_link, ok = out(reg) jalr_ok, l2 = out(reg) jalr_link,
            l3 = out(reg) same_link, options(nomem, nostack),
        )
    };
    c.check("jal link - next pc", jal_link, 0);
    c.check("jalr odd target reached", jalr_ok, 1);
    c.check("jalr link - next pc", jalr_link, 0);
    c.check("jalr rd==rs1 link - next pc", same_link, 0);
}

fn mul_div(c: &mut Checker) {
    c.check("mul wraps", rr!("mul", MAX, 2), 0xffff_ffff_ffff_fffe);
    c.check("mulh -1*-1", rr!("mulh", ONES, ONES), 0);
    c.check("mulh min*min", rr!("mulh", MIN, MIN), 0x4000_0000_0000_0000);
    c.check("mulh -2*3", rr!("mulh", 0xffff_ffff_ffff_fffe, 3), ONES);
    c.check(
        "mulhu max*max",
        rr!("mulhu", ONES, ONES),
        0xffff_ffff_ffff_fffe,
    );
    c.check("mulhsu -1*maxu", rr!("mulhsu", ONES, ONES), ONES);
    c.check("mulhsu 2*2^63", rr!("mulhsu", 2, MIN), 1);
    c.check("mulhsu min*maxu", rr!("mulhsu", MIN, ONES), MIN);
    c.check(
        "mulw sign-extends",
        rr!("mulw", 0x7fff_ffff, 2),
        0xffff_ffff_ffff_fffe,
    );
    c.check(
        "mulw ignores upper",
        rr!("mulw", 0x1_0000_0003, 0x1_0000_0005),
        15,
    );
    c.check("div -7/2", rr!("div", (-7i64) as u64, 2), (-3i64) as u64);
    c.check("rem -7%2", rr!("rem", (-7i64) as u64, 2), ONES);
    c.check("div 7/-2", rr!("div", 7, (-2i64) as u64), (-3i64) as u64);
    c.check("rem 7%-2", rr!("rem", 7, (-2i64) as u64), 1);
    c.check("divu max/2", rr!("divu", ONES, 2), MAX);
    c.check("remu max%10", rr!("remu", ONES, 10), 5);
    c.check("div by zero", rr!("div", 5, 0), ONES);
    c.check("divu by zero", rr!("divu", 5, 0), ONES);
    c.check("rem by zero", rr!("rem", (-5i64) as u64, 0), (-5i64) as u64);
    c.check("remu by zero", rr!("remu", 5, 0), 5);
    c.check("div overflow", rr!("div", MIN, ONES), MIN);
    c.check("rem overflow", rr!("rem", MIN, ONES), 0);
}

fn div_w(c: &mut Checker) {
    c.check(
        "divw overflow",
        rr!("divw", 0x8000_0000, ONES),
        0xffff_ffff_8000_0000,
    );
    c.check("remw overflow", rr!("remw", 0x8000_0000, ONES), 0);
    c.check("divw by zero", rr!("divw", 5, 0), ONES);
    c.check("divuw by zero", rr!("divuw", 5, 0), ONES);
    c.check("remw by zero", rr!("remw", 0xffff_fffb, 0), (-5i64) as u64);
    c.check(
        "remuw by zero sign-extends",
        rr!("remuw", 0x8000_0000, 0),
        0xffff_ffff_8000_0000,
    );
    c.check(
        "divuw 0xfffffffe/2",
        rr!("divuw", 0xffff_ffff_ffff_fffe, 2),
        0x7fff_ffff,
    );
    c.check(
        "divuw sign-extends",
        rr!("divuw", 0xffff_fffe, 1),
        0xffff_ffff_ffff_fffe,
    );
    c.check(
        "divw ignores upper",
        rr!("divw", 0x1_0000_0007, 0x1_0000_0002),
        3,
    );
    c.check("remw -7%2", rr!("remw", (-7i64) as u64, 2), ONES);
    c.check("remuw", rr!("remuw", 0xffff_ffff, 10), 5);
}

fn zba(c: &mut Checker) {
    c.check("sh1add", rr!("sh1add", 3, 10, "+zba"), 16);
    c.check("sh2add", rr!("sh2add", 3, 10, "+zba"), 22);
    c.check("sh3add", rr!("sh3add", 3, 10, "+zba"), 34);
    c.check(
        "add.uw",
        rr!("add.uw", 0xffff_ffff_8000_0000, 1, "+zba"),
        0x8000_0001,
    );
    c.check(
        "sh1add.uw",
        rr!("sh1add.uw", 0xffff_ffff_8000_0000, 0, "+zba"),
        0x1_0000_0000,
    );
    c.check(
        "sh2add.uw",
        rr!("sh2add.uw", 0xffff_ffff_8000_0000, 1, "+zba"),
        0x2_0000_0001,
    );
    c.check(
        "sh3add.uw",
        rr!("sh3add.uw", 0x1_ffff_ffff, 0, "+zba"),
        0x7_ffff_fff8,
    );
    c.check(
        "slli.uw",
        ri!("slli.uw", 0xffff_ffff_8000_0001, "4", "+zba"),
        0x8_0000_0010,
    );
    c.check("zext.w", r1!("zext.w", ONES, "+zba"), 0xffff_ffff);
}

fn zbb(c: &mut Checker) {
    c.check("andn", rr!("andn", 0xff, 0x0f, "+zbb"), 0xf0);
    c.check("orn", rr!("orn", 0, 0xffff_ffff_ffff_ff00, "+zbb"), 0xff);
    c.check("xnor", rr!("xnor", 5, 3, "+zbb"), 0xffff_ffff_ffff_fff9);
    c.check("clz 0", r1!("clz", 0, "+zbb"), 64);
    c.check("clz 1", r1!("clz", 1, "+zbb"), 63);
    c.check("clzw 0", r1!("clzw", 0xffff_ffff_0000_0000, "+zbb"), 32);
    c.check("clzw 1", r1!("clzw", 0xffff_ffff_0000_0001, "+zbb"), 31);
    c.check("ctz 0", r1!("ctz", 0, "+zbb"), 64);
    c.check("ctz min", r1!("ctz", MIN, "+zbb"), 63);
    c.check("ctzw upper only", r1!("ctzw", 0x1_0000_0000, "+zbb"), 32);
    c.check("cpop", r1!("cpop", ONES, "+zbb"), 64);
    c.check("cpopw", r1!("cpopw", 0xffff_ffff_0000_000f, "+zbb"), 4);
    c.check("max", rr!("max", ONES, 1, "+zbb"), 1);
    c.check("maxu", rr!("maxu", ONES, 1, "+zbb"), ONES);
    c.check("min", rr!("min", ONES, 1, "+zbb"), ONES);
    c.check("minu", rr!("minu", ONES, 1, "+zbb"), 1);
    c.check("sext.b", r1!("sext.b", 0x80, "+zbb"), 0xffff_ffff_ffff_ff80);
    c.check(
        "sext.h",
        r1!("sext.h", 0x8000, "+zbb"),
        0xffff_ffff_ffff_8000,
    );
    c.check(
        "zext.h",
        r1!("zext.h", 0xffff_ffff_ffff_8001, "+zbb"),
        0x8001,
    );
    c.check("rol", rr!("rol", 0x8000_0000_0000_0001, 1, "+zbb"), 3);
    c.check(
        "rol amount 65 masked",
        rr!("rol", 0x8000_0000_0000_0001, 65, "+zbb"),
        3,
    );
    c.check("ror", rr!("ror", 1, 1, "+zbb"), MIN);
    c.check("rori", ri!("rori", 1, "4", "+zbb"), 0x1000_0000_0000_0000);
    c.check("rolw", rr!("rolw", 0x8000_0001, 1, "+zbb"), 3);
    c.check(
        "rorw sign-extends",
        rr!("rorw", 1, 1, "+zbb"),
        0xffff_ffff_8000_0000,
    );
    c.check(
        "roriw sign-extends",
        ri!("roriw", 0xffff_ffff_0000_0001, "1", "+zbb"),
        0xffff_ffff_8000_0000,
    );
    c.check(
        "orc.b",
        r1!("orc.b", 0x0100_0000_0000_8000, "+zbb"),
        0xff00_0000_0000_ff00,
    );
    c.check(
        "rev8",
        r1!("rev8", 0x0102_0304_0506_0708, "+zbb"),
        0x0807_0605_0403_0201,
    );
}

fn zbs(c: &mut Checker) {
    c.check("bclr 63", rr!("bclr", ONES, 63, "+zbs"), MAX);
    c.check(
        "bclr amount 67 masked",
        rr!("bclr", ONES, 67, "+zbs"),
        0xffff_ffff_ffff_fff7,
    );
    c.check("bclri", ri!("bclri", 0xff, "0", "+zbs"), 0xfe);
    c.check("bext", rr!("bext", 0x10, 4, "+zbs"), 1);
    c.check("bexti", ri!("bexti", 0x10, "3", "+zbs"), 0);
    c.check("binv", rr!("binv", 0, 63, "+zbs"), MIN);
    c.check("binvi", ri!("binvi", 1, "0", "+zbs"), 0);
    c.check("bset", rr!("bset", 0, 32, "+zbs"), 0x1_0000_0000);
    c.check("bseti", ri!("bseti", 0, "63", "+zbs"), MIN);
}
