//! Register-slot layouts: which IR [`Reg`] slot holds which guest register.
//!
//! Each architecture's module is behind the Cargo feature of the same name. Frontends use the slot
//! constants when lowering; debuggers, hooks and embedders use [`SlotLayout`] to name slots and to find a
//! slot by name.
//!
#![cfg_attr(feature = "riscv64", doc = "```")]
#![cfg_attr(not(feature = "riscv64"), doc = "```ignore")]
//! use vm_core::regs::riscv64::{self, LAYOUT};
//! use vm_core::riscv_reg;
//!
//! assert_eq!(riscv_reg!(a0), riscv64::x(10));
//! assert_eq!(LAYOUT.lookup("sp"), Some(riscv64::x(2)));
//! assert_eq!(LAYOUT.name(riscv64::PC), Some("pc".into()));
//! ```

use alloc::string::String;

use crate::arch::GuestArch;
use crate::ir::Reg;

#[cfg(feature = "arm64")]
pub mod arm64;
#[cfg(feature = "riscv64")]
pub mod riscv64;
#[cfg(feature = "x86_64")]
pub mod x86_64;

/// Describes one architecture's slot array.
#[derive(Copy, Clone, Debug)]
pub struct SlotLayout {
    /// The architecture.
    pub arch: GuestArch,
    /// Number of slots a vCPU allocates.
    pub num_slots: u16,
    /// The program counter's slot.
    pub pc: Reg,
    /// Names of slots in order, for the slots that have names (index = slot).
    pub names: &'static [&'static str],
    /// Extra accepted spellings, mapped to slots (ABI names and the like).
    pub aliases: &'static [(&'static str, u16)],
}

impl SlotLayout {
    /// The canonical name of a slot, if it has one.
    pub fn name(&self, reg: Reg) -> Option<String> {
        self.names.get(usize::from(reg.0)).map(|s| String::from(*s))
    }

    /// The slot with this name or alias (case-insensitive).
    pub fn lookup(&self, name: &str) -> Option<Reg> {
        if let Some(i) = self.names.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            return u16::try_from(i).ok().map(Reg);
        }
        self.aliases
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, s)| Reg(s))
    }
}

/// The layout of `arch`, if its feature is enabled.
pub fn layout(arch: GuestArch) -> Option<&'static SlotLayout> {
    match arch {
        #[cfg(feature = "riscv64")]
        GuestArch::Riscv64 => Some(&riscv64::LAYOUT),
        #[cfg(feature = "arm64")]
        GuestArch::Arm64 => Some(&arm64::LAYOUT),
        #[cfg(feature = "x86_64")]
        GuestArch::X86_64 => Some(&x86_64::LAYOUT),
        #[allow(
            unreachable_patterns,
            reason = "reachable when an architecture feature is off"
        )]
        _ => None,
    }
}
