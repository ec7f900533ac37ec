//! Interrupt generation: `IRQ_CTRL`, the global error registers, and MSI or wired delivery of the event
//! queue and GERROR interrupts.
//!
//! Each interrupt source has an MSI configuration (`*_IRQ_CFG0` address, `*_IRQ_CFG1` data,
//! `*_IRQ_CFG2` attributes). When the source is enabled in `IRQ_CTRL` and its MSI address is non-zero,
//! the SMMU writes the 32-bit data to that guest physical address (where an interrupt controller's
//! doorbell, such as a GIC ITS `GITS_TRANSLATER`, is mapped). With a zero address the wired line is
//! pulsed instead, if one is connected. A failed MSI write sets the matching `MSI_*_ABT_ERR` in GERROR.

use alloc::sync::Arc;

use vm_core::GuestPhysAddr;
use vm_core::device::InterruptLine;
use vm_core::mem::GuestMemory;

use crate::gerror::Gerror;
use crate::regs::*;

/// The MSI configuration of one interrupt source.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MsiConfig {
    /// `*_IRQ_CFG0`: the doorbell address (bits 51:2); 0 disables MSI.
    pub addr: u64,
    /// `*_IRQ_CFG1`: the 32-bit payload.
    pub data: u32,
    /// `*_IRQ_CFG2`: shareability and memory type (stored, not interpreted).
    pub attr: u32,
}

/// Interrupt delivery counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct InterruptStats {
    /// Event queue interrupts delivered (MSI or wired).
    pub event_irqs: u64,
    /// GERROR interrupts delivered (MSI or wired).
    pub gerror_irqs: u64,
    /// MSI writes that failed.
    pub msi_aborts: u64,
}

#[derive(Copy, Clone)]
enum Source {
    Event,
    Gerror,
}

/// `IRQ_CTRL`, `GERROR`/`GERRORN` and the interrupt sources' delivery.
#[derive(Default)]
pub struct InterruptUnit {
    irq_ctrl: u32,
    gerror: Gerror,
    gerror_msi: MsiConfig,
    evtq_msi: MsiConfig,
    evtq_line: Option<Arc<dyn InterruptLine>>,
    gerror_line: Option<Arc<dyn InterruptLine>>,
    stats: InterruptStats,
}

impl core::fmt::Debug for InterruptUnit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InterruptUnit")
            .field("irq_ctrl", &self.irq_ctrl)
            .field("gerror", &self.gerror)
            .field("gerror_msi", &self.gerror_msi)
            .field("evtq_msi", &self.evtq_msi)
            .field("evtq_line", &self.evtq_line.is_some())
            .field("gerror_line", &self.gerror_line.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

impl InterruptUnit {
    /// Interrupts disabled, no error active, no lines connected.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connect (or disconnect) the wired event queue interrupt.
    pub fn set_event_line(&mut self, line: Option<Arc<dyn InterruptLine>>) {
        self.evtq_line = line;
    }

    /// Connect (or disconnect) the wired GERROR interrupt.
    pub fn set_gerror_line(&mut self, line: Option<Arc<dyn InterruptLine>>) {
        self.gerror_line = line;
    }

    /// `IRQ_CTRL` (and `IRQ_CTRLACK`, which follows it at once).
    pub const fn irq_ctrl(&self) -> u32 {
        self.irq_ctrl
    }

    /// The global error registers.
    pub const fn gerror(&self) -> Gerror {
        self.gerror
    }

    /// The event queue MSI configuration.
    pub const fn event_msi(&self) -> MsiConfig {
        self.evtq_msi
    }

    /// The GERROR MSI configuration.
    pub const fn gerror_msi(&self) -> MsiConfig {
        self.gerror_msi
    }

    /// Delivery counters.
    pub const fn stats(&self) -> InterruptStats {
        self.stats
    }

    /// Activate the global errors in `bits` and, for newly active ones, raise the GERROR interrupt.
    /// Returns the newly active errors.
    pub fn raise_gerror(&mut self, mem: &dyn GuestMemory, bits: u32) -> u32 {
        let new = self.gerror.raise(bits);
        if new != 0
            && self.irq_ctrl & IRQ_CTRL_GERROR_IRQEN != 0
            && !self.deliver(mem, Source::Gerror)
        {
            // The GERROR MSI itself failed: flag it without another interrupt attempt.
            self.gerror.raise(GERROR_MSI_GERROR_ABT_ERR);
        }
        new
    }

    /// Signal that the event queue has new entries.
    pub fn signal_event(&mut self, mem: &dyn GuestMemory) {
        if self.irq_ctrl & IRQ_CTRL_EVTQ_IRQEN != 0 && !self.deliver(mem, Source::Event) {
            self.raise_gerror(mem, GERROR_MSI_EVTQ_ABT_ERR);
        }
    }

    /// Write a completion MSI (`CMD_SYNC` with `CS == SIG_IRQ`); a failed write sets
    /// `GERROR.MSI_CMDQ_ABT_ERR`.
    pub fn sync_msi(&mut self, mem: &dyn GuestMemory, addr: u64, data: u32) {
        if mem
            .write_u32(GuestPhysAddr(addr & MSI_ADDR_MASK), data)
            .is_err()
        {
            self.stats.msi_aborts += 1;
            self.raise_gerror(mem, GERROR_MSI_CMDQ_ABT_ERR);
        }
    }

    /// Deliver one interrupt; `false` if its MSI write failed.
    fn deliver(&mut self, mem: &dyn GuestMemory, source: Source) -> bool {
        let (msi, line) = match source {
            Source::Event => (self.evtq_msi, &self.evtq_line),
            Source::Gerror => (self.gerror_msi, &self.gerror_line),
        };
        let addr = msi.addr & MSI_ADDR_MASK;
        if addr != 0 {
            if mem.write_u32(GuestPhysAddr(addr), msi.data).is_err() {
                self.stats.msi_aborts += 1;
                return false;
            }
        } else if let Some(line) = line {
            line.pulse();
        } else {
            return true;
        }
        match source {
            Source::Event => self.stats.event_irqs += 1,
            Source::Gerror => self.stats.gerror_irqs += 1,
        }
        true
    }

    /// Read one of this unit's 32-bit registers (`None` for other offsets).
    pub fn read_reg(&self, offset: u64) -> Option<u32> {
        let lo = |v: u64| v as u32;
        let hi = |v: u64| (v >> 32) as u32;
        Some(match offset {
            IRQ_CTRL | IRQ_CTRLACK => self.irq_ctrl,
            GERROR => self.gerror.gerror(),
            GERRORN => self.gerror.gerrorn(),
            GERROR_IRQ_CFG0 => lo(self.gerror_msi.addr),
            o if o == GERROR_IRQ_CFG0 + 4 => hi(self.gerror_msi.addr),
            GERROR_IRQ_CFG1 => self.gerror_msi.data,
            GERROR_IRQ_CFG2 => self.gerror_msi.attr,
            EVTQ_IRQ_CFG0 => lo(self.evtq_msi.addr),
            o if o == EVTQ_IRQ_CFG0 + 4 => hi(self.evtq_msi.addr),
            EVTQ_IRQ_CFG1 => self.evtq_msi.data,
            EVTQ_IRQ_CFG2 => self.evtq_msi.attr,
            _ => return None,
        })
    }

    /// Write one of this unit's 32-bit registers. Returns `None` for other offsets, otherwise the global
    /// errors the write acknowledged (non-zero only for `GERRORN`).
    ///
    /// An MSI configuration can only be changed while its interrupt is disabled in `IRQ_CTRL`.
    pub fn write_reg(&mut self, offset: u64, value: u32) -> Option<u32> {
        let set_lo = |v: &mut u64| *v = ((*v & !0xffff_ffff) | u64::from(value)) & MSI_ADDR_MASK;
        let set_hi =
            |v: &mut u64| *v = ((*v & 0xffff_ffff) | (u64::from(value) << 32)) & MSI_ADDR_MASK;
        let gerror_cfg_ok = self.irq_ctrl & IRQ_CTRL_GERROR_IRQEN == 0;
        let evtq_cfg_ok = self.irq_ctrl & IRQ_CTRL_EVTQ_IRQEN == 0;
        match offset {
            IRQ_CTRL => self.irq_ctrl = value & IRQ_CTRL_MASK,
            IRQ_CTRLACK | GERROR => {}
            GERRORN => return Some(self.gerror.write_gerrorn(value)),
            GERROR_IRQ_CFG0 if gerror_cfg_ok => set_lo(&mut self.gerror_msi.addr),
            o if o == GERROR_IRQ_CFG0 + 4 && gerror_cfg_ok => set_hi(&mut self.gerror_msi.addr),
            GERROR_IRQ_CFG1 if gerror_cfg_ok => self.gerror_msi.data = value,
            GERROR_IRQ_CFG2 if gerror_cfg_ok => self.gerror_msi.attr = value & MSI_CFG2_MASK,
            EVTQ_IRQ_CFG0 if evtq_cfg_ok => set_lo(&mut self.evtq_msi.addr),
            o if o == EVTQ_IRQ_CFG0 + 4 && evtq_cfg_ok => set_hi(&mut self.evtq_msi.addr),
            EVTQ_IRQ_CFG1 if evtq_cfg_ok => self.evtq_msi.data = value,
            EVTQ_IRQ_CFG2 if evtq_cfg_ok => self.evtq_msi.attr = value & MSI_CFG2_MASK,
            GERROR_IRQ_CFG0 | GERROR_IRQ_CFG1 | GERROR_IRQ_CFG2 => {}
            EVTQ_IRQ_CFG0 | EVTQ_IRQ_CFG1 | EVTQ_IRQ_CFG2 => {}
            o if o == GERROR_IRQ_CFG0 + 4 || o == EVTQ_IRQ_CFG0 + 4 => {}
            _ => return None,
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::testmem::TestMemory;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counter(AtomicU32);
    impl InterruptLine for Counter {
        fn set_level(&self, high: bool) {
            if high {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn wired_gerror_interrupt_only_when_enabled_and_new() {
        let mem = TestMemory::new(0x1000);
        let line = Arc::new(Counter(AtomicU32::new(0)));
        let mut u = InterruptUnit::new();
        u.set_gerror_line(Some(line.clone()));
        assert_eq!(u.raise_gerror(&mem, GERROR_CMDQ_ERR), GERROR_CMDQ_ERR);
        assert_eq!(line.0.load(Ordering::SeqCst), 0);
        u.write_reg(GERRORN, GERROR_CMDQ_ERR);
        u.write_reg(IRQ_CTRL, IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_PRIQ_IRQEN);
        assert_eq!(u.read_reg(IRQ_CTRLACK), Some(IRQ_CTRL_GERROR_IRQEN));
        u.raise_gerror(&mem, GERROR_CMDQ_ERR);
        assert_eq!(line.0.load(Ordering::SeqCst), 1);
        // Already active: no second interrupt.
        assert_eq!(u.raise_gerror(&mem, GERROR_CMDQ_ERR), 0);
        assert_eq!(line.0.load(Ordering::SeqCst), 1);
        assert_eq!(u.stats().gerror_irqs, 1);
    }

    #[test]
    fn event_msi_write() {
        let mem = TestMemory::new(0x1000);
        let mut u = InterruptUnit::new();
        u.write_reg(EVTQ_IRQ_CFG0, 0x803);
        u.write_reg(EVTQ_IRQ_CFG1, 0x1234_5678);
        assert_eq!(u.event_msi().addr, 0x800);
        u.signal_event(&mem);
        assert_eq!(mem.read_u32(GuestPhysAddr(0x800)).unwrap(), 0);
        u.write_reg(IRQ_CTRL, IRQ_CTRL_EVTQ_IRQEN);
        // Configuration is locked while the interrupt is enabled.
        u.write_reg(EVTQ_IRQ_CFG1, 0xffff);
        assert_eq!(u.event_msi().data, 0x1234_5678);
        u.signal_event(&mem);
        assert_eq!(mem.read_u32(GuestPhysAddr(0x800)).unwrap(), 0x1234_5678);
        assert_eq!(u.stats().event_irqs, 1);
    }

    #[test]
    fn failed_msis_set_abort_errors() {
        let mem = TestMemory::new(0x1000);
        let mut u = InterruptUnit::new();
        u.write_reg(EVTQ_IRQ_CFG0, 0x0);
        u.write_reg(EVTQ_IRQ_CFG0 + 4, 0x1);
        u.write_reg(GERROR_IRQ_CFG0, 0x2000);
        u.write_reg(IRQ_CTRL, IRQ_CTRL_EVTQ_IRQEN | IRQ_CTRL_GERROR_IRQEN);
        assert_eq!(u.read_reg(EVTQ_IRQ_CFG0 + 4), Some(1));
        u.signal_event(&mem);
        let active = u.gerror().active();
        assert_eq!(active, GERROR_MSI_EVTQ_ABT_ERR | GERROR_MSI_GERROR_ABT_ERR);
        u.sync_msi(&mem, 0x5000, 1);
        assert!(u.gerror().is_active(GERROR_MSI_CMDQ_ABT_ERR));
        // The CMD_SYNC MSI failed, and so did the GERROR MSI announcing it.
        assert_eq!(u.stats().msi_aborts, 4);
    }

    #[test]
    fn foreign_offsets_are_not_claimed() {
        let mut u = InterruptUnit::new();
        assert_eq!(u.read_reg(CR0), None);
        assert_eq!(u.write_reg(CMDQ_PROD, 1), None);
        assert_eq!(u.write_reg(GERROR, 1), Some(0));
        assert_eq!(u.read_reg(GERROR), Some(0));
    }
}
