//! The CSR file: storage, WARL write rules, the views (`sstatus`, `sie`, `sip`, `fcsr`, counters)
//! and the access checks of Zicsr instructions (privileged specification 20211203, sections 2.1
//! "CSR Address Mapping Conventions", 3.1, 4.1, and the Sstc chapter of 20240411).
//!
//! Not implemented CSRs (hypervisor, debug/trigger, vector, the RV32-only `*h` halves, odd
//! `pmpcfg` numbers on RV64) do not exist: accessing them is an illegal instruction. The hardware
//! performance counters `mhpmcounter3`..`31`, their events and `hpmcounter3`..`31` exist and are
//! hardwired to zero, as the specification allows.

use vm_core::regs::riscv64::{FFLAGS, FRM};

use super::Privilege;
use super::bits::{
    COUNTEREN_TM, MCOUNTINHIBIT_MASK, MEDELEG_MASK, MISA, envcfg, ip, mstatus as ms,
};
use super::mmu::{SATP_ASID_MASK, SATP_PPN_MASK, SatpMode};
use crate::riscv64::csr::Csr;
use crate::riscv64::helpers::{CSR_OP_RC, CSR_OP_RS, CSR_OP_RW, csr_info_parts};

/// A PMP entry's configuration byte: locked.
const PMP_L: u8 = 0x80;
/// A PMP entry's address-matching field (bits 4:3): top of range.
const PMP_A_TOR: u8 = 0x08;
/// A PMP entry's address-matching field mask.
const PMP_A: u8 = 0x18;
/// Writable bits of a PMP configuration byte (bits 6:5 are reserved).
const PMP_CFG_BITS: u8 = 0x9f;
/// `pmpaddr` holds physical address bits 55:2.
const PMPADDR_MASK: u64 = (1 << 54) - 1;

/// The stored CSRs of a hart. Views and CSRs kept elsewhere (`fflags`/`frm` in the register slots,
/// `mhartid`, `time`) are composed by the accessors on [`super::Riscv64Cpu`].
#[derive(Clone, Debug)]
pub(super) struct CsrFile {
    /// `mstatus` without `SD` (computed on read); `FS` may read as Dirty although Initial or Clean
    /// is stored (see [`super::Riscv64Cpu::fs_changed`]).
    pub mstatus: u64,
    pub medeleg: u64,
    pub mideleg: u64,
    pub mie: u64,
    /// The software-written bits of `mip` (`SSIP`, `STIP`, `SEIP`).
    pub mip: u64,
    pub mtvec: u64,
    pub stvec: u64,
    pub mepc: u64,
    pub sepc: u64,
    pub mcause: u64,
    pub scause: u64,
    pub mtval: u64,
    pub stval: u64,
    pub mscratch: u64,
    pub sscratch: u64,
    pub satp: u64,
    /// Flips whenever a `satp` write changes the ASID or the root page table (see
    /// [`vm_core::exec::GuestCpu::context_key`] on [`super::Riscv64Cpu`]).
    pub address_space_parity: bool,
    pub mcounteren: u64,
    pub scounteren: u64,
    pub mcountinhibit: u64,
    pub menvcfg: u64,
    pub senvcfg: u64,
    pub stimecmp: u64,
    pub mcycle: u64,
    pub minstret: u64,
    /// `pmpcfg0`, `pmpcfg2`, ..., `pmpcfg14`, one configuration byte per entry.
    pub pmpcfg: [u64; 8],
    pub pmpaddr: [u64; 64],
}

impl CsrFile {
    /// The reset state: everything zero except `UXL`/`SXL` and `stimecmp` (all ones, so no Sstc
    /// timer interrupt is pending before software programs one, like the CLINT's `mtimecmp`).
    pub const fn new() -> Self {
        Self {
            mstatus: ms::XLEN_FIELDS,
            medeleg: 0,
            mideleg: 0,
            mie: 0,
            mip: 0,
            mtvec: 0,
            stvec: 0,
            mepc: 0,
            sepc: 0,
            mcause: 0,
            scause: 0,
            mtval: 0,
            stval: 0,
            mscratch: 0,
            sscratch: 0,
            satp: 0,
            address_space_parity: false,
            mcounteren: 0,
            scounteren: 0,
            mcountinhibit: 0,
            menvcfg: 0,
            senvcfg: 0,
            stimecmp: u64::MAX,
            mcycle: 0,
            minstret: 0,
            pmpcfg: [0; 8],
            pmpaddr: [0; 64],
        }
    }

    /// The configuration byte of PMP entry `i` (0 past the last entry).
    fn pmp_cfg_byte(&self, i: usize) -> u8 {
        self.pmpcfg
            .get(i / 8)
            .map_or(0, |w| (w >> (8 * (i % 8))) as u8)
    }

    /// WARL write of `pmpcfg{2*reg}`: locked entries keep their byte, reserved bits read zero, and
    /// the reserved `W && !R` combination leaves the byte unchanged.
    fn write_pmpcfg(&mut self, reg: usize, value: u64) {
        let Some(old) = self.pmpcfg.get(reg).copied() else {
            return;
        };
        let mut new = 0u64;
        for byte in 0..8 {
            let old_b = (old >> (8 * byte)) as u8;
            let want = (value >> (8 * byte)) as u8 & PMP_CFG_BITS;
            let b = if old_b & PMP_L != 0 || (want & 0b11 == 0b10) {
                old_b
            } else {
                want
            };
            new |= u64::from(b) << (8 * byte);
        }
        if let Some(slot) = self.pmpcfg.get_mut(reg) {
            *slot = new;
        }
    }

    /// WARL write of `pmpaddr{i}`: ignored when entry `i` is locked, or entry `i + 1` is a locked
    /// top-of-range entry.
    fn write_pmpaddr(&mut self, i: usize, value: u64) {
        let next = self.pmp_cfg_byte(i + 1);
        if self.pmp_cfg_byte(i) & PMP_L != 0 || (next & PMP_L != 0 && next & PMP_A == PMP_A_TOR) {
            return;
        }
        if let Some(slot) = self.pmpaddr.get_mut(i) {
            *slot = value & PMPADDR_MASK;
        }
    }
}

/// `xtvec` WARL: modes 2 and 3 are reserved, and a write selecting one is ignored (as QEMU does).
fn write_tvec(slot: &mut u64, value: u64) {
    if value & 3 < 2 {
        *slot = value;
    }
}

impl super::Riscv64Cpu {
    /// Whether `FS` is Initial or Clean but the floating-point state differs from the state it had
    /// when software last set `FS`: this hart reads `FS` as Dirty then (the specification lets an
    /// implementation track dirtiness as precisely as it likes; comparing values is exact).
    pub(super) fn fs_changed(&self) -> bool {
        let fs = (self.csr.mstatus & ms::FS) >> ms::FS_SHIFT;
        (fs == ms::FS_INITIAL || fs == ms::FS_CLEAN) && self.fp_snapshot() != self.fp_clean
    }

    /// `mstatus` as software reads it: `FS` Dirty when the state changed, and `SD`.
    pub(super) fn mstatus_value(&self) -> u64 {
        let mut v = self.csr.mstatus;
        if self.fs_changed() {
            v |= ms::FS;
        }
        if v & ms::FS == ms::FS {
            v |= ms::SD;
        }
        v
    }

    /// Write the `mask` bits of `mstatus` (WARL: `MPP` = 2 is reserved and keeps the old value).
    fn write_mstatus(&mut self, value: u64, mask: u64) {
        let old = self.mstatus_value() & !ms::SD;
        let mut new = (old & !mask) | (value & mask);
        if (new & ms::MPP) >> ms::MPP_SHIFT == 2 {
            new = (new & !ms::MPP) | (old & ms::MPP);
        }
        self.csr.mstatus = (new & ms::WRITE_M) | ms::XLEN_FIELDS;
        let fs = (new & ms::FS) >> ms::FS_SHIFT;
        if fs == ms::FS_INITIAL || fs == ms::FS_CLEAN {
            self.fp_clean = self.fp_snapshot();
        }
    }

    /// `mip` as software reads it: software bits, hardware wires, and Sstc's comparator for
    /// `STIP` while `menvcfg.STCE` is set.
    pub(super) fn mip_value(&self) -> u64 {
        let v = self.csr.mip | self.irqs.bits();
        if self.csr.menvcfg & envcfg::STCE != 0 {
            (v & !ip::STIP) | if self.stimecmp_reached() { ip::STIP } else { 0 }
        } else {
            v
        }
    }

    /// The value `csrrs`/`csrrc` modify for `mip`: as read, but with the software-written `SEIP`
    /// instead of its OR with the PLIC's wire (privileged specification 3.1.9).
    fn mip_rmw_base(&self) -> u64 {
        (self.mip_value() & !ip::SEIP) | (self.csr.mip & ip::SEIP)
    }

    /// Whether the counter with index `bit` (0 `cycle`, 1 `time`, 2 `instret`, 3.. HPM) may be
    /// read at the current privilege level.
    fn counter_enabled(&self, bit: u16) -> bool {
        let mask = 1u64 << (bit & 31);
        match self.privilege {
            Privilege::Machine => true,
            Privilege::Supervisor => self.csr.mcounteren & mask != 0,
            Privilege::User => self.csr.mcounteren & self.csr.scounteren & mask != 0,
        }
    }

    /// The Zicsr access checks besides existence: privilege level (bits 9:8 of the number),
    /// read-only numbers (bits 11:10 = 3), `FS` = Off for the floating-point CSRs, the counter
    /// enables, `mstatus.TVM` for `satp`, and Sstc's rules for `stimecmp`.
    fn csr_allowed(&self, csr: Csr, write: bool) -> bool {
        if (self.privilege as u8) < csr.min_privilege() || (write && csr.is_read_only()) {
            return false;
        }
        let s_mode = self.privilege == Privilege::Supervisor;
        match csr.num() {
            0x001..=0x003 => self.csr.mstatus & ms::FS != 0,
            n @ 0xc00..=0xc1f => self.counter_enabled(n - 0xc00),
            0x180 => !(s_mode && self.csr.mstatus & ms::TVM != 0),
            0x14d => {
                self.privilege == Privilege::Machine
                    || (self.csr.menvcfg & envcfg::STCE != 0
                        && self.csr.mcounteren & COUNTEREN_TM != 0)
            }
            _ => true,
        }
    }

    /// Read a CSR without side effects or access checks; `None` if this hart does not have it.
    pub(super) fn csr_read_raw(&self, csr: u16) -> Option<u64> {
        let c = &self.csr;
        let fflags = self.slots[FFLAGS.0 as usize] & 0x1f;
        let frm = self.slots[FRM.0 as usize] & 7;
        Some(match csr {
            0x001 => fflags,
            0x002 => frm,
            0x003 => (frm << 5) | fflags,
            0xc00 | 0xb00 => c.mcycle,
            0xc01 => self.time(),
            0xc02 | 0xb02 => c.minstret,
            0xc03..=0xc1f | 0xb03..=0xb1f | 0x323..=0x33f => 0,
            0x100 => self.mstatus_value() & ms::READ_S,
            0x104 => c.mie & c.mideleg,
            0x105 => c.stvec,
            0x106 => c.scounteren,
            0x10a => c.senvcfg,
            0x140 => c.sscratch,
            0x141 => c.sepc,
            0x142 => c.scause,
            0x143 => c.stval,
            0x144 => self.mip_value() & c.mideleg,
            0x14d => c.stimecmp,
            0x180 => c.satp,
            0x300 => self.mstatus_value(),
            0x301 => MISA,
            0x302 => c.medeleg,
            0x303 => c.mideleg,
            0x304 => c.mie,
            0x305 => c.mtvec,
            0x306 => c.mcounteren,
            0x30a => c.menvcfg,
            0x320 => c.mcountinhibit,
            0x340 => c.mscratch,
            0x341 => c.mepc,
            0x342 => c.mcause,
            0x343 => c.mtval,
            0x344 => self.mip_value(),
            n @ 0x3a0..=0x3af if n % 2 == 0 => *c.pmpcfg.get(usize::from((n - 0x3a0) / 2))?,
            n @ 0x3b0..=0x3ef => *c.pmpaddr.get(usize::from(n - 0x3b0))?,
            0xf11..=0xf13 | 0xf15 => 0,
            0xf14 => self.hart_id,
            _ => return None,
        })
    }

    /// Write a CSR with its WARL rules but without access checks; false if this hart does not
    /// have it or it is read-only.
    pub(super) fn csr_write_raw(&mut self, csr: u16, v: u64) -> bool {
        let c = &mut self.csr;
        match csr {
            0x001 => self.slots[FFLAGS.0 as usize] = v & 0x1f,
            0x002 => self.slots[FRM.0 as usize] = v & 7,
            0x003 => {
                self.slots[FFLAGS.0 as usize] = v & 0x1f;
                self.slots[FRM.0 as usize] = (v >> 5) & 7;
            }
            0x100 => self.write_mstatus(v, ms::WRITE_S),
            0x104 => {
                c.mie = (c.mie & !c.mideleg) | (v & c.mideleg & ip::ALL);
                self.sstc_refresh();
            }
            0x105 => write_tvec(&mut c.stvec, v),
            0x106 => c.scounteren = v & 0xffff_ffff,
            0x10a => c.senvcfg = v & envcfg::WRITE_S,
            0x140 => c.sscratch = v,
            0x141 => c.sepc = v & !1,
            0x142 => c.scause = v,
            0x143 => c.stval = v,
            0x144 => {
                let mask = ip::WRITE_S & c.mideleg;
                c.mip = (c.mip & !mask) | (v & mask);
            }
            0x14d => {
                c.stimecmp = v;
                self.sstc_refresh();
            }
            0x180 => {
                if SatpMode::from_satp(v).is_some() {
                    let space = SATP_ASID_MASK | SATP_PPN_MASK;
                    if (c.satp ^ v) & space != 0 {
                        c.address_space_parity = !c.address_space_parity;
                    }
                    c.satp = v;
                }
            }
            0x300 => self.write_mstatus(v, ms::WRITE_M),
            // misa: the extensions cannot be switched off; writes are ignored (WARL).
            0x301 => {}
            0x302 => c.medeleg = v & MEDELEG_MASK,
            0x303 => c.mideleg = v & ip::S_ALL,
            0x304 => {
                c.mie = v & ip::ALL;
                self.sstc_refresh();
            }
            0x305 => write_tvec(&mut c.mtvec, v),
            0x306 => c.mcounteren = v & 0xffff_ffff,
            0x30a => {
                c.menvcfg = v & envcfg::WRITE_M;
                self.sstc_refresh();
            }
            0x320 => c.mcountinhibit = v & MCOUNTINHIBIT_MASK,
            0x323..=0x33f | 0xb03..=0xb1f => {}
            0x340 => c.mscratch = v,
            0x341 => c.mepc = v & !1,
            0x342 => c.mcause = v,
            0x343 => c.mtval = v,
            0x344 => {
                let mask = if c.menvcfg & envcfg::STCE != 0 {
                    ip::WRITE_M & !ip::STIP
                } else {
                    ip::WRITE_M
                };
                c.mip = (c.mip & !mask) | (v & mask);
            }
            n @ 0x3a0..=0x3af if n % 2 == 0 => c.write_pmpcfg(usize::from((n - 0x3a0) / 2), v),
            n @ 0x3b0..=0x3ef => c.write_pmpaddr(usize::from(n - 0x3b0), v),
            0xb00 => c.mcycle = v,
            0xb02 => c.minstret = v,
            _ => return false,
        }
        true
    }

    /// A Zicsr instruction (the [`crate::riscv64::helpers::CSR`] helper): checks, reads, and the
    /// read-modify-write. Returns the value for `rd` (0 when the instruction does not read), or
    /// `None` for an illegal instruction.
    pub(super) fn csr_instruction(&mut self, info: u64, src: u64) -> Option<u64> {
        let (num, op, read, write) = csr_info_parts(info);
        let csr = Csr::new(num)?;
        if !self.csr_allowed(csr, write) {
            return None;
        }
        if matches!(num, 0x100 | 0x300) && self.fs_changed() {
            // Latch Dirty, as hardware that tracks it would have set it already.
            self.csr.mstatus |= ms::FS;
        }
        let old = self.csr_read_raw(num)?;
        if write {
            let base = match num {
                0x344 => self.mip_rmw_base(),
                0x144 => self.mip_rmw_base() & self.csr.mideleg,
                _ => old,
            };
            let new = match op {
                CSR_OP_RW => src,
                CSR_OP_RS => base | src,
                CSR_OP_RC => base & !src,
                _ => return None,
            };
            if !self.csr_write_raw(num, new) {
                return None;
            }
        }
        Some(if read { old } else { 0 })
    }
}

#[cfg(test)]
mod tests;
