//! Macros that run exactly one named instruction on register operands, so that the compiler cannot fold
//! or replace it (`asm!` is opaque). An optional last argument enables extensions for the assembler
//! only (`.option arch, +zbb`): the binaries themselves stay RV64GC, and the ISA tests put such
//! instructions last.

/// `insn rd, rs1, rs2` with `u64` operands: `rr!("add", a, b)`, `rr!("andn", a, b, "+zbb")`.
#[macro_export]
macro_rules! rr {
    ($insn:literal, $a:expr, $b:expr $(, $arch:literal)?) => {{
        let r: u64;
        let a: u64 = $a;
        let b: u64 = $b;
        // SAFETY: one register-to-register instruction: no memory access, no control flow.
        unsafe {
            core::arch::asm!(
                ".option push",
                $(concat!(".option arch, ", $arch),)?
                concat!($insn, " {r}, {a}, {b}"),
                ".option pop",
                r = lateout(reg) r, a = in(reg) a, b = in(reg) b,
                options(pure, nomem, nostack),
            )
        };
        r
    }};
}

/// `insn rd, rs1, imm` with a `u64` operand and the immediate as a string: `ri!("addi", a, "-8")`.
#[macro_export]
macro_rules! ri {
    ($insn:literal, $a:expr, $imm:literal $(, $arch:literal)?) => {{
        let r: u64;
        let a: u64 = $a;
        // SAFETY: one register-immediate instruction: no memory access, no control flow.
        unsafe {
            core::arch::asm!(
                ".option push",
                $(concat!(".option arch, ", $arch),)?
                concat!($insn, " {r}, {a}, ", $imm),
                ".option pop",
                r = lateout(reg) r, a = in(reg) a,
                options(pure, nomem, nostack),
            )
        };
        r
    }};
}

/// `insn rd, rs1` with a `u64` operand: `r1!("clz", a, "+zbb")`.
#[macro_export]
macro_rules! r1 {
    ($insn:literal, $a:expr $(, $arch:literal)?) => {{
        let r: u64;
        let a: u64 = $a;
        // SAFETY: one register-to-register instruction: no memory access, no control flow.
        unsafe {
            core::arch::asm!(
                ".option push",
                $(concat!(".option arch, ", $arch),)?
                concat!($insn, " {r}, {a}"),
                ".option pop",
                r = lateout(reg) r, a = in(reg) a,
                options(pure, nomem, nostack),
            )
        };
        r
    }};
}
