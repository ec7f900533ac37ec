//! Checks of the runtime's promises, one `name: value` line each, then `PASS (n checks)`; the exit
//! status is then 42 (so that a test sees the status travel from ring 3 through the exit port to the
//! `vm` process), or the number of mismatches.

#![no_std]
#![no_main]

use rt::check::Checker;
use rt::kernel::{ENOSYS, USER_CS, USER_DS};

/// `sqrtsd`, the SSE2 square root (correctly rounded).
fn sqrtsd(x: f64) -> f64 {
    let out: f64;
    // SAFETY: `sqrtsd` on registers only.
    unsafe {
        core::arch::asm!("sqrtsd {0}, {1}", out(xmm_reg) out, in(xmm_reg) x, options(pure, nomem, nostack));
    }
    out
}

rt::entry!(main);

/// The status that reports success.
const EXIT_OK: u32 = 42;

fn main(hartid: usize, bootinfo: usize) -> u32 {
    let mut c = Checker::new();
    let (cs, ss): (u16, u16);
    // SAFETY: reading segment registers has no side effects.
    unsafe {
        core::arch::asm!("mov {0:x}, cs", "mov {1:x}, ss", out(reg) cs, out(reg) ss, options(nomem, nostack));
    }
    // The privilege level only: under PVM ring 3 sees the host's user selectors, not the runtime's.
    c.check("cs.rpl", (cs & 3).into(), (USER_CS & 3).into());
    c.check("ss.rpl", (ss & 3).into(), (USER_DS & 3).into());
    let rflags: u64;
    // SAFETY: pushf/pop only touch the stack.
    unsafe { core::arch::asm!("pushfq", "pop {0}", out(reg) rflags) };
    c.check("rflags.iopl", rflags >> 12 & 3, 0);
    c.check("rflags.df", rflags >> 10 & 1, 0);
    c.check("hartid", hartid as u64, 0);
    c.check("bootinfo (zero page)", bootinfo as u64, 0x7000);

    let mut mxcsr: u32 = 0;
    let mut fcw: u16 = 0;
    // SAFETY: both store a control register to a local.
    unsafe {
        core::arch::asm!("stmxcsr [{0}]", "fnstcw [{1}]", in(reg) &mut mxcsr, in(reg) &mut fcw, options(nostack));
    }
    c.check("mxcsr", mxcsr.into(), 0x1f80);
    c.check("x87 control word", fcw.into(), 0x37f);
    let third = core::hint::black_box(1.0f64) / core::hint::black_box(3.0f64);
    c.check(
        "1.0 / 3.0 (f64 bits)",
        third.to_bits(),
        0x3fd5_5555_5555_5555,
    );
    let root = sqrtsd(core::hint::black_box(2.0));
    c.check("sqrt(2) (f64 bits)", root.to_bits(), 0x3ff6_a09e_667f_3bcd);

    let leaf1 = core::arch::x86_64::__cpuid(1);
    c.check_true("cpuid.1:edx.sse2", leaf1.edx >> 26 & 1 == 1);

    let n = rt::user::write(b"write returns its length\n");
    c.check("write length", n, 25);
    c.check("unknown syscall", rt::user::syscall2(999, 0, 0), ENOSYS);

    match c.finish() {
        0 => EXIT_OK,
        failures => failures,
    }
}
