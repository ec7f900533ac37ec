//! The interrupt inputs a machine drives into a hart: the hardware-owned bits of `mip`.
//!
//! The privileged specification lets software write only `SSIP`, `STIP` and `SEIP` of `mip`; the
//! others follow wires from the platform: `MSIP` from the CLINT's `msip` register, `MTIP` from its
//! timer comparator, `MEIP` and `SEIP` from the PLIC's machine and supervisor contexts. A machine
//! holds these wires as one [`HartIrqs`] per hart (shared through [`Arc`]) and sets their levels
//! from any thread; the hart reads them with one relaxed atomic load at every block boundary. The
//! `SEIP` read from `mip` is the OR of the software-written bit and the wire, as the specification
//! requires.

use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use vm_core::device::InterruptLine;

/// Supervisor software interrupt (`mip`/`mie` bit 1).
pub const IRQ_SSI: u32 = 1;
/// Machine software interrupt (bit 3).
pub const IRQ_MSI: u32 = 3;
/// Supervisor timer interrupt (bit 5).
pub const IRQ_STI: u32 = 5;
/// Machine timer interrupt (bit 7).
pub const IRQ_MTI: u32 = 7;
/// Supervisor external interrupt (bit 9).
pub const IRQ_SEI: u32 = 9;
/// Machine external interrupt (bit 11).
pub const IRQ_MEI: u32 = 11;

/// The `mip` bits a machine may drive: `MSIP`, `MTIP`, `SEIP` and `MEIP`.
pub const HW_IRQ_MASK: u64 = (1 << IRQ_MSI) | (1 << IRQ_MTI) | (1 << IRQ_SEI) | (1 << IRQ_MEI);

/// The hardware-driven interrupt-pending bits of one hart (see the module docs).
///
/// ```
/// use vm_frontend::riscv64::cpu::{HartIrqs, IRQ_MTI, IRQ_SSI};
///
/// let irqs = HartIrqs::new();
/// irqs.set(IRQ_MTI, true);
/// assert_eq!(irqs.bits(), 1 << 7);
/// // Software-owned bits cannot be driven from outside.
/// irqs.set(IRQ_SSI, true);
/// assert_eq!(irqs.bits(), 1 << 7);
/// irqs.set(IRQ_MTI, false);
/// assert_eq!(irqs.bits(), 0);
/// ```
#[derive(Default)]
pub struct HartIrqs {
    bits: AtomicU64,
}

impl HartIrqs {
    /// All wires low.
    pub const fn new() -> Self {
        Self {
            bits: AtomicU64::new(0),
        }
    }

    /// Drive the wire of `mip` bit `bit` (one of [`IRQ_MSI`], [`IRQ_MTI`], [`IRQ_SEI`],
    /// [`IRQ_MEI`]) high or low. Other bit numbers are ignored: software owns those bits.
    pub fn set(&self, bit: u32, level: bool) {
        let Some(mask) = 1u64.checked_shl(bit).map(|m| m & HW_IRQ_MASK) else {
            return;
        };
        if mask == 0 {
            return;
        }
        if level {
            self.bits.fetch_or(mask, Ordering::Release);
        } else {
            self.bits.fetch_and(!mask, Ordering::Release);
        }
    }

    /// Whether the wire of `mip` bit `bit` is high.
    pub fn get(&self, bit: u32) -> bool {
        1u64.checked_shl(bit)
            .is_some_and(|m| self.bits.load(Ordering::Acquire) & m != 0)
    }

    /// The levels of all wires, as `mip` bits.
    #[inline]
    pub fn bits(&self) -> u64 {
        self.bits.load(Ordering::Relaxed)
    }

    /// Replace all wire levels at once with the [`HW_IRQ_MASK`] bits of `mip_bits`.
    pub fn set_bits(&self, mip_bits: u64) {
        self.bits.store(mip_bits & HW_IRQ_MASK, Ordering::Release);
    }

    /// An [`InterruptLine`] that drives `mip` bit `bit` of these wires (a PLIC context output, say).
    pub fn line(self: &Arc<Self>, bit: u32) -> HartIrqLine {
        HartIrqLine {
            irqs: Arc::clone(self),
            bit,
        }
    }
}

impl fmt::Debug for HartIrqs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HartIrqs")
            .field("mip", &format_args!("{:#x}", self.bits()))
            .finish()
    }
}

/// One wire of a [`HartIrqs`] as an [`InterruptLine`] (from [`HartIrqs::line`]).
#[derive(Clone, Debug)]
pub struct HartIrqLine {
    irqs: Arc<HartIrqs>,
    bit: u32,
}

impl InterruptLine for HartIrqLine {
    fn set_level(&self, high: bool) {
        self.irqs.set(self.bit, high);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hardware_bits_are_driven() {
        let irqs = Arc::new(HartIrqs::new());
        for bit in [IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_MEI] {
            irqs.set(bit, true);
        }
        irqs.set(IRQ_SSI, true);
        irqs.set(IRQ_STI, true);
        irqs.set(64, true);
        irqs.set(200, true);
        assert_eq!(irqs.bits(), 0xa88);
        assert!(irqs.get(IRQ_MEI) && !irqs.get(IRQ_SSI) && !irqs.get(99));
        let line = irqs.line(IRQ_SEI);
        line.set_level(false);
        assert_eq!(irqs.bits(), 0x888);
        line.pulse();
        assert_eq!(irqs.bits(), 0x888);
        irqs.set_bits(u64::MAX);
        assert_eq!(irqs.bits(), HW_IRQ_MASK);
    }
}
