//! RISC-V 64 slot layout: `x0`–`x31` in slots 0–31 (slot 0 always holds zero: frontends never write it),
//! `f0`–`f31` in slots 32–63 (NaN-boxed), then `pc`, `fflags` and `frm`. CSRs other than `fflags`/`frm`
//! live in the frontend's CPU state and are reached through helpers.

use super::SlotLayout;
use crate::arch::GuestArch;
use crate::ir::Reg;

/// Integer register `x{n}` (`n` < 32).
pub const fn x(n: u8) -> Reg {
    Reg((n & 31) as u16)
}

/// Floating-point register `f{n}` (`n` < 32).
pub const fn f(n: u8) -> Reg {
    Reg(32 + (n & 31) as u16)
}

/// Program counter.
pub const PC: Reg = Reg(64);
/// Accrued FP exception flags (`fflags`, the IR's [`crate::ir::FpFlags`] layout).
pub const FFLAGS: Reg = Reg(65);
/// Dynamic rounding mode (`frm`, the IR's [`crate::ir::RoundingMode`] encoding).
pub const FRM: Reg = Reg(66);
/// Number of slots.
pub const NUM_SLOTS: u16 = 67;

/// ABI names of `x0`–`x31`.
pub const XREG_ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI names of `f0`–`f31`.
pub const FREG_ABI: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

const NAMES: [&str; NUM_SLOTS as usize] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28", "x29", "x30", "x31", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10",
    "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23",
    "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31", "pc", "fflags", "frm",
];

const ALIASES: [(&str, u16); 65] = {
    let mut a = [("", 0u16); 65];
    let mut i = 0;
    while i < 32 {
        a[i] = (XREG_ABI[i], i as u16);
        a[32 + i] = (FREG_ABI[i], 32 + i as u16);
        i += 1;
    }
    a[64] = ("fp", 8);
    a
};

/// The RISC-V 64 layout.
pub static LAYOUT: SlotLayout = SlotLayout {
    arch: GuestArch::Riscv64,
    num_slots: NUM_SLOTS,
    pc: PC,
    names: &NAMES,
    aliases: &ALIASES,
};

/// The slot of a RISC-V register given by its ABI or numeric name, at compile time:
/// `riscv_reg!(a0)`, `riscv_reg!(x10)`, `riscv_reg!(fa0)`, `riscv_reg!(pc)`.
#[macro_export]
macro_rules! riscv_reg {
    ($name:ident) => {{
        const R: $crate::ir::Reg = match $crate::regs::riscv64::const_lookup(stringify!($name)) {
            Some(r) => r,
            None => panic!(concat!("no RISC-V register named ", stringify!($name))),
        };
        R
    }};
}

/// Const-evaluable name lookup behind [`riscv_reg!`].
pub const fn const_lookup(name: &str) -> Option<Reg> {
    let mut i = 0;
    while i < NAMES.len() {
        if const_eq(NAMES[i], name) {
            return Some(Reg(i as u16));
        }
        i += 1;
    }
    let mut j = 0;
    while j < ALIASES.len() {
        if const_eq(ALIASES[j].0, name) {
            return Some(Reg(ALIASES[j].1));
        }
        j += 1;
    }
    None
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(LAYOUT.lookup("zero"), Some(x(0)));
        assert_eq!(LAYOUT.lookup("fp"), Some(x(8)));
        assert_eq!(LAYOUT.lookup("s0"), Some(x(8)));
        assert_eq!(LAYOUT.lookup("T6"), Some(x(31)));
        assert_eq!(LAYOUT.lookup("fa0"), Some(f(10)));
        assert_eq!(LAYOUT.lookup("frm"), Some(FRM));
        assert_eq!(LAYOUT.lookup("q0"), None);
        assert_eq!(LAYOUT.name(f(31)).as_deref(), Some("f31"));
        assert_eq!(crate::riscv_reg!(ra), x(1));
        assert_eq!(crate::riscv_reg!(ft11), f(31));
    }
}
