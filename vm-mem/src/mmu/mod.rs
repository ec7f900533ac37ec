//! The MMU: guest page-table walkers and the [`Tlb`] that caches their results.
//!
//! - [`riscv`]: the RISC-V Sv39/Sv48/Sv57 walker with hardware `A`/`D` updates, every permission
//!   and format check of the privileged specification, and [`riscv::translate_cached`], the
//!   TLB-backed translation a hart uses.
//! - [`Tlb`]: a set-associative TLB tagged by (ASID, virtual page, global bit) with the four
//!   `sfence.vma` flush forms, hit/miss/flush counters ([`TlbStats`]) and host addresses for RAM
//!   pages (the engines' fast path).
//!
//! Everything here is `no_std` + `alloc` and ungated: the TLB *is* the MMU.

mod page;
pub mod riscv;
mod tlb;

pub use page::{AccessCheck, Mapping, PageSize, Perms, TLB_PAGE_SHIFT};
pub use tlb::{DEFAULT_SETS, DEFAULT_WAYS, MAX_WAYS, SUPERPAGE_ENTRIES, Tlb, TlbHit, TlbStats};
