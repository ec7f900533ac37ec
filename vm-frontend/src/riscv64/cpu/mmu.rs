//! The hart's MMU: vm-mem's RISC-V walker ([`vm_mem::mmu::riscv`], re-exported here) behind the
//! hart's own [`Tlb`], and `sfence.vma` on that TLB.
//!
//! - [`GuestCpu::translate`](vm_core::exec::GuestCpu::translate) goes through
//!   [`translate_cached`]: a TLB hit answers at once, a miss walks (setting `A`/`D`) and caches the
//!   leaf tagged by `satp.ASID` (global mappings for every ASID). Stores to a page cached clean
//!   miss, so the walker sets `D`.
//! - `sfence.vma rs1, rs2` ([`crate::riscv64::helpers::SFENCE_VMA`]) flushes with exactly its four
//!   forms: `x0, x0` everything; `x0, asid` that ASID's non-global entries; `vaddr, x0` that page in
//!   every ASID, global entries included; `vaddr, asid` that page's non-global entries of that ASID.
//! - Writing `satp` flushes nothing (privileged specification 20211203, section 4.1.11: software
//!   orders page-table updates with `sfence.vma`); entries of another ASID never answer, so address
//!   space switches keep the TLB warm. A reset empties it.

use vm_mem::mmu::Tlb;
pub use vm_mem::mmu::riscv::*;

use super::Riscv64Cpu;
use crate::riscv64::helpers::{SFENCE_ALL_ADDR, SFENCE_ALL_ASID};

/// The hart's TLB geometry: 256 sets of 4 ways (1024 4 KiB entries), enough for the working set
/// of a Linux process and the kernel around it.
pub(super) fn new_tlb() -> Tlb {
    Tlb::new(256, 4)
}

impl Riscv64Cpu {
    /// `sfence.vma` with the helper's arguments: `rs1`'s value, `rs2`'s value (the ASID, of which
    /// the hart implements 16 bits) and the instruction bits with the `x0` flags.
    pub(super) fn sfence_vma(&mut self, vaddr: u64, asid: u64, raw: u64) {
        let asid = asid as u16;
        match (raw & SFENCE_ALL_ADDR != 0, raw & SFENCE_ALL_ASID != 0) {
            (true, true) => self.tlb.flush_all(),
            (true, false) => self.tlb.flush_asid(asid),
            (false, true) => self.tlb.flush_addr(vaddr),
            (false, false) => self.tlb.flush_addr_asid(vaddr, asid),
        }
    }
}

#[cfg(test)]
mod tests;
