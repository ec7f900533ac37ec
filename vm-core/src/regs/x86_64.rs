//! x86-64 slot layout: the sixteen general registers in encoding order (`rax`, `rcx`, `rdx`, `rbx`,
//! `rsp`, `rbp`, `rsi`, `rdi`, `r8`–`r15`) in slots 0–15, `rip` 16, `rflags` 17 (the non-arithmetic
//! bits, and the arithmetic ones once materialised), the lazy-flags triple `cc_op`/`cc_src`/`cc_dst` 18–20
//! (the last flag-setting operation and its operands, materialised into CF/ZF/SF/OF/PF/AF only when read,
//! as QEMU does), `fs_base`, `gs_base`, then each `xmm0`–`xmm15` as two slots, and `mxcsr`.

use super::SlotLayout;
use crate::arch::GuestArch;
use crate::ir::Reg;

/// General register by encoding number (0 = `rax` ... 15 = `r15`).
pub const fn gpr(n: u8) -> Reg {
    Reg((n & 15) as u16)
}

/// Low 64 bits of `xmm{n}`.
pub const fn xmm_lo(n: u8) -> Reg {
    Reg(23 + 2 * (n & 15) as u16)
}

/// High 64 bits of `xmm{n}`.
pub const fn xmm_hi(n: u8) -> Reg {
    Reg(24 + 2 * (n & 15) as u16)
}

/// Instruction pointer.
pub const RIP: Reg = Reg(16);
/// Flags register.
pub const RFLAGS: Reg = Reg(17);
/// Lazy flags: which operation last set the arithmetic flags.
pub const CC_OP: Reg = Reg(18);
/// Lazy flags: its source operand.
pub const CC_SRC: Reg = Reg(19);
/// Lazy flags: its result.
pub const CC_DST: Reg = Reg(20);
/// FS segment base.
pub const FS_BASE: Reg = Reg(21);
/// GS segment base.
pub const GS_BASE: Reg = Reg(22);
/// SSE control and status.
pub const MXCSR: Reg = Reg(55);
/// Number of slots.
pub const NUM_SLOTS: u16 = 56;

const NAMES: [&str; NUM_SLOTS as usize] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip", "rflags", "cc_op", "cc_src", "cc_dst", "fs_base", "gs_base", "xmm0.lo",
    "xmm0.hi", "xmm1.lo", "xmm1.hi", "xmm2.lo", "xmm2.hi", "xmm3.lo", "xmm3.hi", "xmm4.lo",
    "xmm4.hi", "xmm5.lo", "xmm5.hi", "xmm6.lo", "xmm6.hi", "xmm7.lo", "xmm7.hi", "xmm8.lo",
    "xmm8.hi", "xmm9.lo", "xmm9.hi", "xmm10.lo", "xmm10.hi", "xmm11.lo", "xmm11.hi", "xmm12.lo",
    "xmm12.hi", "xmm13.lo", "xmm13.hi", "xmm14.lo", "xmm14.hi", "xmm15.lo", "xmm15.hi", "mxcsr",
];

/// The x86-64 layout.
pub static LAYOUT: SlotLayout = SlotLayout {
    arch: GuestArch::X86_64,
    num_slots: NUM_SLOTS,
    pc: RIP,
    names: &NAMES,
    aliases: &[("pc", 16), ("eflags", 17)],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(LAYOUT.lookup("rsp"), Some(gpr(4)));
        assert_eq!(LAYOUT.lookup("R15"), Some(gpr(15)));
        assert_eq!(LAYOUT.lookup("pc"), Some(RIP));
        assert_eq!(LAYOUT.name(xmm_hi(15)).as_deref(), Some("xmm15.hi"));
        assert_eq!(xmm_hi(15).0 + 1, MXCSR.0);
    }
}
