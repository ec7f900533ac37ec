//! Register operands: the 32 integer registers `x0`..`x31` and the 32 floating-point registers
//! `f0`..`f31`, with their ABI names (the names GNU objdump prints).

use core::fmt;

/// ABI names of the integer registers, indexed by register number.
const X_ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// ABI names of the floating-point registers, indexed by register number.
const F_ABI: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// An integer register `x0`..`x31`. The number is always below 32.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct XReg(u8);

impl XReg {
    /// `x0`, hard-wired to zero.
    pub const ZERO: XReg = XReg(0);
    /// `x1`, the return address.
    pub const RA: XReg = XReg(1);
    /// `x2`, the stack pointer.
    pub const SP: XReg = XReg(2);

    /// The register with this number, if it is below 32.
    pub const fn new(num: u8) -> Option<XReg> {
        if num < 32 { Some(XReg(num)) } else { None }
    }

    /// The register named by the five bits of `field` (higher bits are ignored).
    pub const fn from_field(field: u32) -> XReg {
        XReg((field & 0x1f) as u8)
    }

    /// The register named by a three-bit compressed register field (`x8`..`x15`).
    pub const fn from_compressed(field: u32) -> XReg {
        XReg(8 + (field & 0x7) as u8)
    }

    /// The register number, 0..=31.
    pub const fn num(self) -> u8 {
        self.0
    }

    /// Whether this is `x0`.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The ABI name (`zero`, `ra`, `sp`, `a0`, ...).
    pub const fn abi_name(self) -> &'static str {
        X_ABI[(self.0 & 0x1f) as usize]
    }
}

impl fmt::Display for XReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abi_name())
    }
}

/// A floating-point register `f0`..`f31`. The number is always below 32.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FReg(u8);

impl FReg {
    /// The register with this number, if it is below 32.
    pub const fn new(num: u8) -> Option<FReg> {
        if num < 32 { Some(FReg(num)) } else { None }
    }

    /// The register named by the five bits of `field` (higher bits are ignored).
    pub const fn from_field(field: u32) -> FReg {
        FReg((field & 0x1f) as u8)
    }

    /// The register named by a three-bit compressed register field (`f8`..`f15`).
    pub const fn from_compressed(field: u32) -> FReg {
        FReg(8 + (field & 0x7) as u8)
    }

    /// The register number, 0..=31.
    pub const fn num(self) -> u8 {
        self.0
    }

    /// The ABI name (`ft0`, `fa0`, `fs0`, ...).
    pub const fn abi_name(self) -> &'static str {
        F_ABI[(self.0 & 0x1f) as usize]
    }
}

impl fmt::Display for FReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abi_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_names() {
        assert_eq!(XReg::ZERO.abi_name(), "zero");
        assert_eq!(XReg::from_field(8).abi_name(), "s0");
        assert_eq!(XReg::from_field(10).abi_name(), "a0");
        assert_eq!(XReg::from_field(18).abi_name(), "s2");
        assert_eq!(XReg::from_field(31).abi_name(), "t6");
        assert_eq!(XReg::from_compressed(0b111).abi_name(), "a5");
        assert_eq!(FReg::from_field(0).abi_name(), "ft0");
        assert_eq!(FReg::from_field(10).abi_name(), "fa0");
        assert_eq!(FReg::from_field(27).abi_name(), "fs11");
        assert_eq!(FReg::from_compressed(0).abi_name(), "fs0");
        assert_eq!(XReg::new(32), None);
        assert_eq!(FReg::new(31).map(FReg::num), Some(31));
        // Only the low five bits count.
        assert_eq!(XReg::from_field(0x3f), XReg::from_field(31));
    }
}
