//! RISC-V paging: the page-table walker for Sv39, Sv48 and Sv57 (privileged specification
//! 20211203, section 4.3.2 "Virtual Address Translation Process", with the Sv48/Sv57 formats of 4.5
//! and 4.6), and [`translate_cached`], which puts a [`Tlb`] in front of it.
//!
//! The walker is a pure function of guest memory, the virtual address, the access kind and a
//! [`WalkRegime`] (the `satp` value and the effective privilege, `SUM` and `MXR`). It implements:
//!
//! - the canonical-address check (bits 63 down to the top VA bit must all be equal);
//! - PTE reads through [`GuestMemory::read_sized`]: a PTE outside guest memory is an *access*
//!   fault of the original access kind;
//! - page faults for invalid PTEs, the reserved `W && !R` encodings, the reserved bits 60:54 and
//!   the `PBMT` (62:61) and `N` (63) bits (Svpbmt and Svnapot are not implemented), pointer PTEs
//!   with `D`, `A` or `U` set (as Spike and QEMU do), pointers below level 0, and misaligned
//!   superpages;
//! - permission checks: `U` pages only from U-mode, and from S-mode only for data accesses with
//!   `SUM`; `X` for fetches, `R` (or `X` with `MXR`) for loads, `W` for stores and AMOs;
//! - hardware `A`/`D` updates (the 20211203 specification allows them; `D` for stores and AMOs)
//!   with [`GuestMemory::compare_exchange`] on the PTE, restarting the walk when another hart
//!   changed the PTE meanwhile. After [`MAX_WALK_RESTARTS`] lost races the access takes a page
//!   fault, which a guest's fault handler resolves by retrying, as it does for any spurious fault;
//! - the global bit: a mapping is global when any PTE on its path has `G` set (section 4.3.1).
//!
//! Faults are [`Exception::Memory`] values with the original access kind and the virtual address,
//! which the hart turns into causes 12 (fetch), 13 (load) and 15 (store/AMO) page faults, or 1, 5
//! and 7 access faults, with `tval` = the virtual address.
//!
//! ```
//! use vm_core::GuestPhysAddr;
//! use vm_core::mem::{AccessKind, GuestMemory};
//! use vm_mem::PhysMemory;
//! use vm_mem::mmu::Tlb;
//! use vm_mem::mmu::riscv::{PTE_A, PTE_R, PTE_V, PTE_X, WalkRegime, translate_cached};
//!
//! let mem = PhysMemory::builder().ram("ram", GuestPhysAddr(0x8000_0000), 1 << 21).build()?;
//! // Sv39, root table at 0x8000_0000: one 1 GiB page VA 0x4000_0000 -> PA 0x8000_0000.
//! mem.write_u64(GuestPhysAddr(0x8000_0008), (0x8000_0000 >> 12 << 10) | PTE_V | PTE_R | PTE_X)?;
//! let regime = WalkRegime { satp: (8 << 60) | (7 << 44) | 0x8_0000, user: false, sum: false, mxr: false };
//! let mut tlb = Tlb::default();
//! let pa = translate_cached(&mut tlb, &mem, 0x4000_1234, AccessKind::Read, &regime);
//! assert_eq!(pa, Ok(0x8000_1234));
//! // The walk set A; the second access hits the TLB.
//! assert_eq!(mem.read_u64(GuestPhysAddr(0x8000_0008))? & PTE_A, PTE_A);
//! assert_eq!(translate_cached(&mut tlb, &mem, 0x4000_1238, AccessKind::Fetch, &regime), Ok(0x8000_1238));
//! assert_eq!((tlb.stats().hits, tlb.stats().misses), (1, 1));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! Written by hand: the walk is a few dozen lines and no maintained crate implements RISC-V
//! translation against this workspace's [`GuestMemory`].

use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, FaultKind};
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};

use super::{AccessCheck, Mapping, PageSize, Perms, Tlb};

/// PTE valid.
pub const PTE_V: u64 = 1 << 0;
/// PTE readable.
pub const PTE_R: u64 = 1 << 1;
/// PTE writable.
pub const PTE_W: u64 = 1 << 2;
/// PTE executable.
pub const PTE_X: u64 = 1 << 3;
/// PTE accessible to U-mode.
pub const PTE_U: u64 = 1 << 4;
/// PTE global mapping.
pub const PTE_G: u64 = 1 << 5;
/// PTE accessed.
pub const PTE_A: u64 = 1 << 6;
/// PTE dirty.
pub const PTE_D: u64 = 1 << 7;
/// Shift of the PPN field in a PTE.
pub const PTE_PPN_SHIFT: u32 = 10;
/// Bits 63:54 of a PTE: reserved (60:54), `PBMT` (62:61) and `N` (63), none implemented.
const PTE_HIGH_BITS: u64 = 0x3ff << 54;
/// The 44-bit PPN field, after shifting (also `satp`'s PPN field).
const PPN_MASK: u64 = (1 << 44) - 1;
/// Shift of the ASID field (bits 59:44) in `satp`.
pub const SATP_ASID_SHIFT: u32 = 44;
/// The ASID field of `satp`, in place (16 bits: the most the specification allows for RV64).
pub const SATP_ASID_MASK: u64 = 0xffff << SATP_ASID_SHIFT;
/// The root page-table PPN field of `satp`.
pub const SATP_PPN_MASK: u64 = PPN_MASK;

/// Page offset bits.
const PAGE_SHIFT: u32 = 12;
/// VPN bits per level.
const LEVEL_BITS: u32 = 9;

/// How many times a walk restarts after a lost `A`/`D` update race before it gives up with a page
/// fault.
pub const MAX_WALK_RESTARTS: u32 = 16;

/// The translation mode in `satp.MODE`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SatpMode {
    /// No translation (`MODE` = 0).
    Bare,
    /// Three-level, 39-bit virtual addresses (`MODE` = 8).
    Sv39,
    /// Four-level, 48-bit virtual addresses (`MODE` = 9).
    Sv48,
    /// Five-level, 57-bit virtual addresses (`MODE` = 10).
    Sv57,
}

impl SatpMode {
    /// The mode encoded in bits 63:60 of `satp`, if it is one this hart implements.
    pub const fn from_satp(satp: u64) -> Option<Self> {
        match satp >> 60 {
            0 => Some(Self::Bare),
            8 => Some(Self::Sv39),
            9 => Some(Self::Sv48),
            10 => Some(Self::Sv57),
            _ => None,
        }
    }

    /// Page-table levels (0 for [`SatpMode::Bare`]).
    pub const fn levels(self) -> u32 {
        match self {
            Self::Bare => 0,
            Self::Sv39 => 3,
            Self::Sv48 => 4,
            Self::Sv57 => 5,
        }
    }

    /// A small index for context keys: 0 Bare, 1 Sv39, 2 Sv48, 3 Sv57.
    pub const fn index(self) -> u64 {
        match self {
            Self::Bare => 0,
            Self::Sv39 => 1,
            Self::Sv48 => 2,
            Self::Sv57 => 3,
        }
    }
}

/// Everything besides memory that one translation depends on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct WalkRegime {
    /// The `satp` value (mode and root page-table PPN; the ASID does not change a walk, it tags the
    /// TLB entries of [`translate_cached`]).
    pub satp: u64,
    /// The effective privilege is U (else S). M-mode accesses are never translated.
    pub user: bool,
    /// `mstatus.SUM`: S-mode data accesses may touch `U` pages.
    pub sum: bool,
    /// `mstatus.MXR`: loads may read executable-only pages.
    pub mxr: bool,
}

impl WalkRegime {
    /// The address-space identifier in `satp` (bits 59:44).
    pub const fn asid(&self) -> u16 {
        satp_asid(self.satp)
    }

    /// The TLB permission check of an access of `kind` in this regime.
    pub const fn access(&self, kind: AccessKind) -> AccessCheck {
        AccessCheck {
            kind,
            user: self.user,
            sum: self.sum,
            mxr: self.mxr,
        }
    }
}

/// The ASID field of a `satp` value.
pub const fn satp_asid(satp: u64) -> u16 {
    ((satp & SATP_ASID_MASK) >> SATP_ASID_SHIFT) as u16
}

/// A successful translation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The guest physical address.
    pub paddr: u64,
    /// Size of the page that maps it (4 KiB, 2 MiB, 1 GiB, ...; 4 KiB for Bare).
    pub page_size: u64,
    /// The leaf PTE as it is in memory after the `A`/`D` update (0 for Bare).
    pub pte: u64,
    /// A global mapping: `G` set in the leaf or in a pointer on the way (false for Bare).
    pub global: bool,
}

impl Translation {
    /// The mapping to cache in a [`Tlb`]: the whole page, its permissions from the leaf PTE
    /// (`R`, `W`, `X`, `U`, and `D` as [`Perms::DIRTY`]) and the global bit.
    pub fn mapping(&self) -> Mapping {
        Mapping {
            page_paddr: self.paddr & !(self.page_size - 1),
            size: PageSize::from_shift(self.page_size.trailing_zeros()).unwrap_or(PageSize::Size4K),
            perms: pte_perms(self.pte),
            global: self.global,
        }
    }
}

/// A fault of `fault` kind for an access of `kind` at `vaddr`.
const fn fault(kind: AccessKind, fault: FaultKind, vaddr: u64) -> Exception {
    Exception::Memory { kind, fault, vaddr }
}

/// The TLB permissions of a leaf PTE: `R`, `W`, `X`, `U`, and `D` as [`Perms::DIRTY`].
pub const fn pte_perms(pte: u64) -> Perms {
    let mut p = Perms::empty();
    if pte & PTE_R != 0 {
        p = p.union(Perms::READ);
    }
    if pte & PTE_W != 0 {
        p = p.union(Perms::WRITE);
    }
    if pte & PTE_X != 0 {
        p = p.union(Perms::EXEC);
    }
    if pte & PTE_U != 0 {
        p = p.union(Perms::USER);
    }
    if pte & PTE_D != 0 {
        p = p.union(Perms::DIRTY);
    }
    p
}

/// Whether the leaf `pte` allows an access of `kind` under `regime` (the walker sets `D` itself, so
/// a clean page is no obstacle here). The same rules as the TLB's, by construction.
fn leaf_allows(pte: u64, kind: AccessKind, regime: &WalkRegime) -> bool {
    regime
        .access(kind)
        .allows(pte_perms(pte).union(Perms::DIRTY))
}

/// Translate `vaddr` for an access of `kind` under `regime`, reading (and updating `A`/`D` in)
/// page tables in `mem`. Faults are [`Exception::Memory`] values with the original access kind:
/// [`FaultKind::Page`] for translation faults, [`FaultKind::Access`] when a PTE cannot be read or
/// updated. A `satp` whose mode is not implemented translates as Bare (the hart never stores one).
pub fn translate(
    mem: &dyn GuestMemory,
    vaddr: u64,
    kind: AccessKind,
    regime: &WalkRegime,
) -> Result<Translation, Exception> {
    let mode = SatpMode::from_satp(regime.satp).unwrap_or(SatpMode::Bare);
    let levels = mode.levels();
    if levels == 0 {
        return Ok(Translation {
            paddr: vaddr,
            page_size: 1 << PAGE_SHIFT,
            pte: 0,
            global: false,
        });
    }
    let page_fault = fault(kind, FaultKind::Page, vaddr);
    if !canonical(vaddr, levels) {
        return Err(page_fault);
    }
    for _ in 0..MAX_WALK_RESTARTS {
        match walk_once(mem, vaddr, kind, regime, levels)? {
            Some(t) => return Ok(t),
            None => continue,
        }
    }
    Err(page_fault)
}

/// Whether `vaddr` is canonical for a walk of `levels` levels: bits 63 down to the top VA bit equal.
#[inline]
const fn canonical(vaddr: u64, levels: u32) -> bool {
    let va_bits = PAGE_SHIFT + LEVEL_BITS * levels;
    let top = (vaddr as i64) >> (va_bits - 1);
    top == 0 || top == -1
}

/// Translate through `tlb`: a hit answers at once; a miss walks with [`translate`] and caches the
/// result for the regime's ASID, with the host address of the page when it is RAM
/// ([`GuestMemory::host_slice`]). Stores and AMOs to a page whose cached entry is clean miss, so
/// the walker sets `D`. Non-canonical addresses fault before the TLB is consulted, and Bare is the
/// identity without one, so a cached translation equals a fresh walk until the page tables change
/// (which the guest announces with `sfence.vma`, that is [`Tlb`]'s flushes).
#[inline]
pub fn translate_cached(
    tlb: &mut Tlb,
    mem: &dyn GuestMemory,
    vaddr: u64,
    kind: AccessKind,
    regime: &WalkRegime,
) -> Result<u64, Exception> {
    let levels = SatpMode::from_satp(regime.satp).map_or(0, SatpMode::levels);
    if levels == 0 {
        return Ok(vaddr);
    }
    if !canonical(vaddr, levels) {
        return Err(fault(kind, FaultKind::Page, vaddr));
    }
    let asid = regime.asid();
    if let Some(paddr) = tlb.lookup_paddr(asid, vaddr, regime.access(kind)) {
        return Ok(paddr);
    }
    let t = translate(mem, vaddr, kind, regime)?;
    let host = mem.host_slice(GuestPhysAddr(t.paddr & !((1 << PAGE_SHIFT) - 1)));
    tlb.insert(asid, vaddr, &t.mapping(), host);
    Ok(t.paddr)
}

/// One walk from the root; `Ok(None)` when the `A`/`D` update lost a race and the walk must restart.
fn walk_once(
    mem: &dyn GuestMemory,
    vaddr: u64,
    kind: AccessKind,
    regime: &WalkRegime,
    levels: u32,
) -> Result<Option<Translation>, Exception> {
    let page_fault = fault(kind, FaultKind::Page, vaddr);
    let access_fault = fault(kind, FaultKind::Access, vaddr);
    let mut table = (regime.satp & PPN_MASK) << PAGE_SHIFT;
    let mut level = levels - 1;
    let mut global = false;
    loop {
        let shift = PAGE_SHIFT + LEVEL_BITS * level;
        let index = (vaddr >> shift) & ((1 << LEVEL_BITS) - 1);
        let pte_addr = GuestPhysAddr(table + index * 8);
        let pte = mem
            .read_sized(pte_addr, AccessSize::U64)
            .map_err(|_| access_fault)?;
        if pte & PTE_V == 0 || pte & PTE_HIGH_BITS != 0 || pte & (PTE_R | PTE_W) == PTE_W {
            return Err(page_fault);
        }
        let ppn = (pte >> PTE_PPN_SHIFT) & PPN_MASK;
        global |= pte & PTE_G != 0;
        if pte & (PTE_R | PTE_X) == 0 {
            // A pointer to the next level.
            if pte & (PTE_D | PTE_A | PTE_U) != 0 || level == 0 {
                return Err(page_fault);
            }
            level -= 1;
            table = ppn << PAGE_SHIFT;
            continue;
        }
        if !leaf_allows(pte, kind, regime) {
            return Err(page_fault);
        }
        let low_ppn_mask = (1u64 << (LEVEL_BITS * level)) - 1;
        if ppn & low_ppn_mask != 0 {
            // Misaligned superpage.
            return Err(page_fault);
        }
        let needed = PTE_A
            | match kind {
                AccessKind::Write | AccessKind::Atomic => PTE_D,
                AccessKind::Read | AccessKind::Fetch => 0,
            };
        let mut leaf = pte;
        if pte & needed != needed {
            leaf = pte | needed;
            match mem.compare_exchange(pte_addr, AccessSize::U64, pte, leaf) {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Ok(None),
                Err(_) => return Err(access_fault),
            }
        }
        let page_mask = (1u64 << shift) - 1;
        let paddr = ((ppn << PAGE_SHIFT) & !page_mask) | (vaddr & page_mask);
        return Ok(Some(Translation {
            paddr,
            page_size: 1 << shift,
            pte: leaf,
            global,
        }));
    }
}

#[cfg(test)]
mod cached_tests;
#[cfg(test)]
mod tests;
