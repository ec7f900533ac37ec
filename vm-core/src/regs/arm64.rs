//! AArch64 slot layout: `x0`–`x30` in slots 0–30, `sp` 31, `pc` 32, `nzcv` 33 (flags in bits 31:28 as
//! in the architecture), then each 128-bit `v0`–`v31` as two slots (low half first), `fpcr`, `fpsr`,
//! `tpidr_el0`. Register number 31 means `sp` or `xzr` depending on the instruction: frontends decide
//! and read `xzr` as the constant 0.

use super::SlotLayout;
use crate::arch::GuestArch;
use crate::ir::Reg;

/// General register `x{n}` (`n` ≤ 30).
pub const fn x(n: u8) -> Reg {
    Reg((n % 31) as u16)
}

/// Low 64 bits of vector register `v{n}`.
pub const fn v_lo(n: u8) -> Reg {
    Reg(34 + 2 * (n & 31) as u16)
}

/// High 64 bits of vector register `v{n}`.
pub const fn v_hi(n: u8) -> Reg {
    Reg(35 + 2 * (n & 31) as u16)
}

/// Stack pointer.
pub const SP: Reg = Reg(31);
/// Program counter.
pub const PC: Reg = Reg(32);
/// Condition flags N, Z, C, V in bits 31, 30, 29, 28.
pub const NZCV: Reg = Reg(33);
/// Floating-point control register.
pub const FPCR: Reg = Reg(98);
/// Floating-point status register.
pub const FPSR: Reg = Reg(99);
/// EL0 thread pointer.
pub const TPIDR_EL0: Reg = Reg(100);
/// Number of slots.
pub const NUM_SLOTS: u16 = 101;

const NAMES: [&str; NUM_SLOTS as usize] = {
    const X: [&str; 31] = [
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
        "x27", "x28", "x29", "x30",
    ];
    const V: [&str; 64] = [
        "v0.lo", "v0.hi", "v1.lo", "v1.hi", "v2.lo", "v2.hi", "v3.lo", "v3.hi", "v4.lo", "v4.hi",
        "v5.lo", "v5.hi", "v6.lo", "v6.hi", "v7.lo", "v7.hi", "v8.lo", "v8.hi", "v9.lo", "v9.hi",
        "v10.lo", "v10.hi", "v11.lo", "v11.hi", "v12.lo", "v12.hi", "v13.lo", "v13.hi", "v14.lo",
        "v14.hi", "v15.lo", "v15.hi", "v16.lo", "v16.hi", "v17.lo", "v17.hi", "v18.lo", "v18.hi",
        "v19.lo", "v19.hi", "v20.lo", "v20.hi", "v21.lo", "v21.hi", "v22.lo", "v22.hi", "v23.lo",
        "v23.hi", "v24.lo", "v24.hi", "v25.lo", "v25.hi", "v26.lo", "v26.hi", "v27.lo", "v27.hi",
        "v28.lo", "v28.hi", "v29.lo", "v29.hi", "v30.lo", "v30.hi", "v31.lo", "v31.hi",
    ];
    let mut n = [""; NUM_SLOTS as usize];
    let mut i = 0;
    while i < 31 {
        n[i] = X[i];
        i += 1;
    }
    n[31] = "sp";
    n[32] = "pc";
    n[33] = "nzcv";
    let mut j = 0;
    while j < 64 {
        n[34 + j] = V[j];
        j += 1;
    }
    n[98] = "fpcr";
    n[99] = "fpsr";
    n[100] = "tpidr_el0";
    n
};

/// The AArch64 layout.
pub static LAYOUT: SlotLayout = SlotLayout {
    arch: GuestArch::Arm64,
    num_slots: NUM_SLOTS,
    pc: PC,
    names: &NAMES,
    aliases: &[("fp", 29), ("lr", 30), ("ip0", 16), ("ip1", 17)],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(LAYOUT.lookup("lr"), Some(x(30)));
        assert_eq!(LAYOUT.lookup("sp"), Some(SP));
        assert_eq!(LAYOUT.lookup("v31.hi"), Some(v_hi(31)));
        assert_eq!(LAYOUT.name(v_lo(1)).as_deref(), Some("v1.lo"));
        assert_eq!(LAYOUT.name(TPIDR_EL0).as_deref(), Some("tpidr_el0"));
        assert_eq!(v_hi(31).0 + 1, FPCR.0);
    }
}
