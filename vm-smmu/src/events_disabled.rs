//! Without the `interrupt` feature: faults are returned to the caller but not reported to the guest.
//!
//! `GERROR`/`GERRORN` still work (the command queue reports its errors there), and the event queue and
//! `IRQ_CTRL` registers are plain storage so that a driver's initialisation sequence completes; no event
//! is ever written and no interrupt raised. `IDR0.MSI` reads as 0, so the MSI configuration registers
//! read as zero and ignore writes.

use vm_core::mem::GuestMemory;

use crate::fault::Fault;
use crate::gerror::Gerror;
use crate::regs::*;

/// `IDR0` bits this unit adds: none.
pub(crate) const IDR0_BITS: u32 = 0;

/// Register storage standing in for the event queue and interrupt unit.
pub(crate) struct EventSink {
    irq_ctrl: u32,
    gerror: Gerror,
    evtq_base: u64,
    evtq_prod: u32,
    evtq_cons: u32,
}

impl EventSink {
    pub(crate) fn new(_evtq_log2: u32) -> Self {
        Self {
            irq_ctrl: 0,
            gerror: Gerror::new(),
            evtq_base: 0,
            evtq_prod: 0,
            evtq_cons: 0,
        }
    }

    pub(crate) fn read32(&self, offset: u64) -> Option<u32> {
        Some(match offset {
            IRQ_CTRL | IRQ_CTRLACK => self.irq_ctrl,
            GERROR => self.gerror.gerror(),
            GERRORN => self.gerror.gerrorn(),
            EVTQ_BASE => self.evtq_base as u32,
            o if o == EVTQ_BASE + 4 => (self.evtq_base >> 32) as u32,
            EVTQ_PROD => self.evtq_prod,
            EVTQ_CONS => self.evtq_cons,
            _ => return None,
        })
    }

    pub(crate) fn write32(&mut self, offset: u64, value: u32, _cr0: u32) -> Option<u32> {
        match offset {
            IRQ_CTRL => self.irq_ctrl = value & IRQ_CTRL_MASK,
            GERRORN => return Some(self.gerror.write_gerrorn(value)),
            EVTQ_BASE => {
                self.evtq_base = ((self.evtq_base & !0xffff_ffff) | u64::from(value)) & Q_BASE_MASK;
            }
            o if o == EVTQ_BASE + 4 => {
                self.evtq_base =
                    ((self.evtq_base & 0xffff_ffff) | (u64::from(value) << 32)) & Q_BASE_MASK;
            }
            EVTQ_PROD => self.evtq_prod = value & 0x800f_ffff,
            EVTQ_CONS => self.evtq_cons = value & 0x800f_ffff,
            _ => return None,
        }
        Some(0)
    }

    pub(crate) fn record(&mut self, _mem: &dyn GuestMemory, _cr0: u32, _fault: &Fault) -> bool {
        false
    }

    pub(crate) fn raise_gerror(&mut self, _mem: &dyn GuestMemory, bits: u32) {
        self.gerror.raise(bits);
    }

    pub(crate) fn gerror_active(&self, bits: u32) -> bool {
        self.gerror.is_active(bits)
    }

    pub(crate) fn sync_msi(&mut self, _mem: &dyn GuestMemory, _addr: u64, _data: u32) {}
}
