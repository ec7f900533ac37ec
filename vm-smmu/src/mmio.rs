//! The SMMU's register file, as a memory-mapped device.
//!
//! Registers are 32 bits wide; the 64-bit ones (`STRTAB_BASE`, `CMDQ_BASE`, `EVTQ_BASE`,
//! `*_IRQ_CFG0`) may be accessed as one 64-bit access or as two 32-bit halves. A 64-bit access to a pair
//! of 32-bit registers is split into its two halves, low first. Byte and half-word reads return the
//! corresponding bytes; narrower writes, misaligned accesses and unknown offsets are ignored (RAZ/WI).
//! Page 1 (`0x10000..0x20000`) aliases page 0.

use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;

use crate::config::SmmuConfig;
use crate::regs::*;
use crate::smmu::Smmu;
use crate::{ats, events};

impl Smmu {
    /// Read a 32-bit register (0 for unknown offsets).
    pub fn read_reg32(&self, offset: u64) -> u32 {
        let lo = |v: u64| v as u32;
        let hi = |v: u64| (v >> 32) as u32;
        match offset {
            IDR0 => SmmuConfig::idr0(ats::IDR0_BITS | events::IDR0_BITS),
            IDR1 => self.config.idr1(),
            IDR3 => SmmuConfig::idr3(),
            IDR5 => SmmuConfig::idr5(),
            AIDR => AIDR_VALUE,
            CR0 | CR0ACK => self.cr0,
            CR1 => self.cr1,
            CR2 => self.cr2,
            GBPA => self.gbpa,
            STRTAB_BASE => lo(self.strtab_base),
            o if o == STRTAB_BASE + 4 => hi(self.strtab_base),
            STRTAB_BASE_CFG => self.strtab_cfg,
            CMDQ_BASE => lo(self.cmdq.base()),
            o if o == CMDQ_BASE + 4 => hi(self.cmdq.base()),
            CMDQ_PROD => self.cmdq.prod(),
            CMDQ_CONS => self.cmdq.cons(),
            _ => self.events.read32(offset).unwrap_or(0),
        }
    }

    /// Write a 32-bit register, with its side effects.
    pub fn write_reg32(&mut self, offset: u64, value: u32) {
        let smmu_off = !self.is_enabled();
        let cmdq_off = self.cr0 & CR0_CMDQEN == 0;
        let set_lo = |r: &mut u64| *r = (*r & !0xffff_ffff) | u64::from(value);
        let set_hi = |r: &mut u64| *r = (*r & 0xffff_ffff) | (u64::from(value) << 32);
        match offset {
            CR0 => self.write_cr0(value),
            CR1 => self.cr1 = value & CR1_MASK,
            CR2 => self.cr2 = value & CR2_MASK,
            GBPA if value & GBPA_UPDATE != 0 => self.gbpa = value & GBPA_MASK,
            STRTAB_BASE if smmu_off => {
                set_lo(&mut self.strtab_base);
                self.strtab_base &= STRTAB_BASE_ADDR_MASK | STRTAB_BASE_RA;
            }
            o if o == STRTAB_BASE + 4 && smmu_off => {
                set_hi(&mut self.strtab_base);
                self.strtab_base &= STRTAB_BASE_ADDR_MASK | STRTAB_BASE_RA;
            }
            STRTAB_BASE_CFG if smmu_off => self.strtab_cfg = value & STRTAB_CFG_MASK,
            CMDQ_BASE if cmdq_off => {
                let mut b = self.cmdq.base();
                set_lo(&mut b);
                self.cmdq.set_base(b);
            }
            o if o == CMDQ_BASE + 4 && cmdq_off => {
                let mut b = self.cmdq.base();
                set_hi(&mut b);
                self.cmdq.set_base(b);
            }
            CMDQ_PROD => {
                self.cmdq.set_prod(value & 0xf_ffff);
                self.process_cmdq();
            }
            CMDQ_CONS if cmdq_off => {
                let err = CMDQ_CONS_ERR_MASK << CMDQ_CONS_ERR_SHIFT;
                self.cmdq.set_cons(value & (0xf_ffff | err));
            }
            _ => {
                let acked = self.events.write32(offset, value, self.cr0).unwrap_or(0);
                if acked & GERROR_CMDQ_ERR != 0 {
                    self.process_cmdq();
                }
            }
        }
    }

    fn write_cr0(&mut self, value: u32) {
        let old = self.cr0;
        self.cr0 = value & CR0_MASK;
        if (old ^ self.cr0) & CR0_SMMUEN != 0 {
            // Nothing cached while disabled (or before) may be used once enabled, and vice versa.
            self.tlb.clear();
        }
        if self.cr0 & CR0_CMDQEN != 0 && old & CR0_CMDQEN == 0 {
            self.process_cmdq();
        }
    }

    fn offset_in_page0(offset: u64) -> Option<u64> {
        match offset {
            o if o < PAGE1 => Some(o),
            o if o < MMIO_SIZE => Some(o - PAGE1),
            _ => None,
        }
    }
}

impl MmioDevice for Smmu {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        let Some(off) = Self::offset_in_page0(offset) else {
            return 0;
        };
        match size {
            AccessSize::U64 if off % 8 == 0 => {
                u64::from(self.read_reg32(off)) | (u64::from(self.read_reg32(off + 4)) << 32)
            }
            AccessSize::U64 => 0,
            _ => {
                let shift = (off % 4) * 8;
                if (off % 4) + size.bytes() as u64 > 4 {
                    return 0;
                }
                (u64::from(self.read_reg32(off & !3)) >> shift) & size.mask()
            }
        }
    }

    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        let Some(off) = Self::offset_in_page0(offset) else {
            return;
        };
        match size {
            AccessSize::U64 if off % 8 == 0 => {
                self.write_reg32(off, value as u32);
                self.write_reg32(off + 4, (value >> 32) as u32);
            }
            AccessSize::U32 if off % 4 == 0 => self.write_reg32(off, value as u32),
            _ => {}
        }
    }
}
