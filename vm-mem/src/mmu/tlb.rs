//! [`Tlb`]: a translation lookaside buffer tagged by address-space identifier.
//!
//! Two arrays, as in most hardware TLBs: a set-associative one for 4 KiB pages (indexed by the
//! virtual page number) and a small fully associative one for superpages (2 MiB, 1 GiB, 512 GiB,
//! 256 TiB), so that one entry serves a whole superpage (a Linux kernel maps its text and the
//! linear map of RAM with them). A lookup probes the 4 KiB set, then the superpages; a flush by
//! address looks at the same two places.
//!
//! The four flush operations are exactly the four forms of RISC-V `sfence.vma` (privileged
//! specification 20211203, section 4.2.1), which also serve AArch64 `TLBI` (`ALL`, `ASID`, `VA`,
//! `VAA`) and x86 `INVPCID` types 0 to 3:
//!
//! | `rs1` | `rs2` | operation | drops |
//! |---|---|---|---|
//! | `x0` | `x0` | [`Tlb::flush_all`] | every entry, global ones included |
//! | `x0` | ASID | [`Tlb::flush_asid`] | the non-global entries of that ASID |
//! | vaddr | `x0` | [`Tlb::flush_addr`] | every entry mapping `vaddr`, in every ASID, global ones included |
//! | vaddr | ASID | [`Tlb::flush_addr_asid`] | the non-global entries of that ASID mapping `vaddr` |
//!
//! Written by hand: the TLB must know the guest's permission rules (`U`, `SUM`, `MXR`, the dirty
//! state), its flush forms and vm-core's [`HostSlice`]; no maintained crate models a guest TLB.

use alloc::vec;
use alloc::vec::Vec;
use core::ptr::NonNull;

use vm_core::mem::{AccessKind, HostSlice};

use super::page::{AccessCheck, Mapping, PageSize, Perms, TLB_PAGE_SHIFT};
/// A tag no virtual page number equals (they have at most 52 bits).
const INVALID: u64 = u64::MAX;
/// Sets of [`Tlb::default`].
pub const DEFAULT_SETS: usize = 256;
/// Ways of [`Tlb::default`].
pub const DEFAULT_WAYS: usize = 4;
/// The most ways a set may have.
pub const MAX_WAYS: usize = 16;
/// Entries of the fully associative superpage array.
pub const SUPERPAGE_ENTRIES: usize = 16;

/// A lookup that hit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TlbHit {
    /// The guest physical address of the accessed byte.
    pub paddr: u64,
    /// The host address of the accessed byte, when the 4 KiB page is host RAM that this access may
    /// use directly (writable RAM for stores and atomics). It came from the [`HostSlice`] given to
    /// [`Tlb::insert`] and stays valid as long as that memory object does.
    pub host: Option<NonNull<u8>>,
    /// The size of the page that maps it.
    pub size: PageSize,
    /// What the mapping allows.
    pub perms: Perms,
}

/// The counters of a [`Tlb`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlbStats {
    /// Lookups answered from the TLB.
    pub hits: u64,
    /// Lookups that found no entry allowing the access (the caller walks).
    pub misses: u64,
    /// Flush operations (any of the four forms).
    pub flushes: u64,
}

impl TlbStats {
    /// Hits over lookups, 0 when there were none.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// Flag bits of a slot beside the permissions.
const GLOBAL: u8 = 1 << 5;
/// The host address may be used for stores.
const HOST_WRITABLE: u8 = 1 << 6;

/// One cached page.
#[derive(Copy, Clone, Debug)]
struct Slot {
    /// Virtual page number (vaddr >> 12) of the page's first 4 KiB, or `INVALID`.
    vpn: u64,
    /// Guest physical page number of the page's first 4 KiB.
    ppn: u64,
    /// Host address of the page's first byte, 0 for none.
    host: usize,
    /// The address-space identifier (ignored for global entries).
    asid: u16,
    /// `Perms` bits, `GLOBAL`, `HOST_WRITABLE`.
    flags: u8,
    /// The page size.
    size: PageSize,
}

const EMPTY: Slot = Slot {
    vpn: INVALID,
    ppn: 0,
    host: 0,
    asid: 0,
    flags: 0,
    size: PageSize::Size4K,
};

impl Slot {
    #[inline]
    const fn global(&self) -> bool {
        self.flags & GLOBAL != 0
    }

    /// Whether the entry answers for address space `asid`.
    #[inline]
    const fn in_space(&self, asid: u16) -> bool {
        self.global() || self.asid == asid
    }

    /// Whether the page maps `vaddr`.
    #[inline]
    const fn covers(&self, vaddr: u64) -> bool {
        self.vpn != INVALID
            && self.vpn >> (self.size.shift() - TLB_PAGE_SHIFT) == vaddr >> self.size.shift()
    }

    /// Whether an ASID-specific flush of `asid` drops this entry.
    #[inline]
    const fn in_asid(&self, asid: u16) -> bool {
        !self.global() && self.asid == asid
    }

    /// Whether a lookup of the new entry (`asid`, global or not) could also find this one.
    #[inline]
    const fn shadows(&self, asid: u16, global: bool) -> bool {
        self.asid == asid || self.global() || global
    }
}

/// Drops the entries of `slots` that `select` picks; returns how many.
fn drop_where(slots: &mut [Slot], select: impl Fn(&Slot) -> bool) -> usize {
    let mut n = 0;
    for s in slots {
        if s.vpn != INVALID && select(s) {
            *s = EMPTY;
            n += 1;
        }
    }
    n
}

/// A TLB of leaf translations tagged by (ASID, virtual page, global bit): a set-associative array
/// of 4 KiB pages and a small fully associative array of superpages; see the module docs.
///
/// ```
/// use vm_core::mem::AccessKind;
/// use vm_mem::mmu::{AccessCheck, Mapping, PageSize, Perms, Tlb};
///
/// let mut tlb = Tlb::default();
/// let read = AccessCheck::supervisor(AccessKind::Read);
/// assert!(tlb.lookup(1, 0x4000_1234, read).is_none());
/// // A 2 MiB page at VA 0x4000_0000 -> PA 0x8020_0000, readable and writable but still clean.
/// let map = Mapping {
///     page_paddr: 0x8020_0000,
///     size: PageSize::Size2M,
///     perms: Perms::READ | Perms::WRITE,
///     global: false,
/// };
/// tlb.insert(1, 0x4000_1234, &map, None);
/// assert_eq!(tlb.lookup(1, 0x401f_fff8, read).map(|h| h.paddr), Some(0x803f_fff8));
/// // Another address space, and a store to the clean page, miss.
/// assert!(tlb.lookup(2, 0x4000_1234, read).is_none());
/// assert!(tlb.lookup(1, 0x4000_1234, AccessCheck::supervisor(AccessKind::Write)).is_none());
/// tlb.flush_asid(1);
/// assert!(tlb.lookup(1, 0x4000_1234, read).is_none());
/// let s = tlb.stats();
/// assert_eq!((s.hits, s.misses, s.flushes), (1, 4, 1));
/// ```
#[derive(Clone, Debug)]
pub struct Tlb {
    /// `sets * ways` 4 KiB entries, set by set.
    slots: Vec<Slot>,
    /// The next way to replace, per set.
    victim: Vec<u8>,
    /// `sets - 1` (sets is a power of two).
    set_mask: usize,
    ways: usize,
    /// [`SUPERPAGE_ENTRIES`] superpage entries, fully associative.
    large: Vec<Slot>,
    /// The next superpage entry to replace.
    large_victim: usize,
    /// Valid entries in `large` (lookups and flushes skip it while there are none).
    large_len: usize,
    stats: TlbStats,
}

impl Default for Tlb {
    /// [`DEFAULT_SETS`] sets of [`DEFAULT_WAYS`] ways (1024 4 KiB entries), and
    /// [`SUPERPAGE_ENTRIES`] superpage entries.
    fn default() -> Self {
        Self::new(DEFAULT_SETS, DEFAULT_WAYS)
    }
}

impl Tlb {
    /// A TLB of `sets` sets (rounded up to a power of two) of `ways` ways (clamped to
    /// 1..=[`MAX_WAYS`]) for 4 KiB pages (one way makes it direct-mapped), and
    /// [`SUPERPAGE_ENTRIES`] entries for larger pages.
    pub fn new(sets: usize, ways: usize) -> Self {
        let sets = sets.max(1).next_power_of_two();
        let ways = ways.clamp(1, MAX_WAYS);
        Self {
            slots: vec![EMPTY; sets * ways],
            victim: vec![0; sets],
            set_mask: sets - 1,
            ways,
            large: vec![EMPTY; SUPERPAGE_ENTRIES],
            large_victim: 0,
            large_len: 0,
            stats: TlbStats::default(),
        }
    }

    /// The number of sets of 4 KiB entries.
    pub fn sets(&self) -> usize {
        self.set_mask + 1
    }

    /// The number of ways per set.
    pub fn ways(&self) -> usize {
        self.ways
    }

    /// The counters so far.
    pub fn stats(&self) -> TlbStats {
        self.stats
    }

    /// Set the counters back to zero (the entries stay).
    pub fn reset_stats(&mut self) {
        self.stats = TlbStats::default();
    }

    /// The number of valid entries (each page counts once, whatever its size).
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .chain(&self.large)
            .filter(|s| s.vpn != INVALID)
            .count()
    }

    /// Whether the TLB holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot range of the set of `vpn`.
    #[inline]
    fn set_range(&self, vpn: u64) -> core::ops::Range<usize> {
        let start = (vpn as usize & self.set_mask) * self.ways;
        start..start + self.ways
    }

    /// Look up `vaddr` in address space `asid` for `access`. A hit needs an entry for the page (in
    /// `asid`, or global) that allows the access, dirty for stores and atomics; anything else is
    /// a miss, after which the caller walks the page tables and [`Tlb::insert`]s the result.
    #[inline]
    pub fn lookup(&mut self, asid: u16, vaddr: u64, access: AccessCheck) -> Option<TlbHit> {
        let s = self.find(asid, vaddr, access)?;
        let offset = vaddr & (s.size.bytes() - 1);
        let store = matches!(access.kind, AccessKind::Write | AccessKind::Atomic);
        let host = if s.host != 0 && (!store || s.flags & HOST_WRITABLE != 0) {
            NonNull::new(s.host.wrapping_add(offset as usize) as *mut u8)
        } else {
            None
        };
        Some(TlbHit {
            paddr: (s.ppn << TLB_PAGE_SHIFT) + offset,
            host,
            size: s.size,
            perms: Perms(s.flags & Perms::ALL),
        })
    }

    /// [`Tlb::lookup`] for callers that need only the guest physical address (the same lookup,
    /// hit and miss counted alike, without building the host address).
    #[inline]
    pub fn lookup_paddr(&mut self, asid: u16, vaddr: u64, access: AccessCheck) -> Option<u64> {
        let s = self.find(asid, vaddr, access)?;
        Some((s.ppn << TLB_PAGE_SHIFT) + (vaddr & (s.size.bytes() - 1)))
    }

    /// The entry answering `access` at `vaddr` in `asid`, counting the hit or miss: the 4 KiB set
    /// first, then the superpages.
    #[inline]
    fn find(&mut self, asid: u16, vaddr: u64, access: AccessCheck) -> Option<Slot> {
        let vpn = vaddr >> TLB_PAGE_SHIFT;
        let small = self
            .slots
            .get(self.set_range(vpn))
            .and_then(|set| set.iter().find(|s| s.vpn == vpn && s.in_space(asid)));
        // Insertion keeps at most one entry per page and address space, so the first match is
        // the only one.
        let entry = match small {
            Some(s) => Some(s),
            None if self.large_len == 0 => None,
            None => self
                .large
                .iter()
                .find(|s| s.covers(vaddr) && s.in_space(asid)),
        };
        let found = entry
            .filter(|s| access.allows(Perms(s.flags & Perms::ALL)))
            .copied();
        if found.is_some() {
            self.stats.hits += 1;
        } else {
            self.stats.misses += 1;
        }
        found
    }

    /// Cache `mapping` for the page holding `vaddr` in address space `asid`, replacing the
    /// entries a lookup of it could also find (the same page or an overlapping one, in the same
    /// address space or global). 4 KiB pages go to their set (round robin once it is full),
    /// superpages to the superpage array (round robin). `host` is the host RAM around the page's
    /// physical address ([`GuestMemory::host_slice`](vm_core::mem::GuestMemory::host_slice)); the
    /// entry gets a host address only when that slice covers the whole page.
    ///
    /// Only insert what a successful walk returned, with the accessed bit already set: the TLB
    /// answers later accesses without looking at the page table again.
    pub fn insert(&mut self, asid: u16, vaddr: u64, mapping: &Mapping, host: Option<HostSlice>) {
        let size = mapping.size;
        let base_va = vaddr & !(size.bytes() - 1);
        let base_pa = mapping.page_paddr & !(size.bytes() - 1);
        let (host, host_writable) = host
            .and_then(|h| host_address(&h, base_pa, size.bytes()).map(|a| (a, h.writable)))
            .unwrap_or((0, false));
        let slot = Slot {
            vpn: base_va >> TLB_PAGE_SHIFT,
            ppn: base_pa >> TLB_PAGE_SHIFT,
            host,
            asid,
            flags: (mapping.perms.0 & Perms::ALL)
                | if mapping.global { GLOBAL } else { 0 }
                | if host_writable { HOST_WRITABLE } else { 0 },
            size,
        };
        let vpn = vaddr >> TLB_PAGE_SHIFT;
        let (g, range) = (mapping.global, self.set_range(vpn));
        if let Some(set) = self.slots.get_mut(range.clone()) {
            drop_where(set, |s| s.vpn == vpn && s.shadows(asid, g));
        }
        self.drop_large(|s| s.covers(vaddr) && s.shadows(asid, g));
        if size != PageSize::Size4K {
            let n = self.large.len().max(1);
            let way = match self.large.iter().position(|s| s.vpn == INVALID) {
                Some(w) => {
                    self.large_len += 1;
                    w
                }
                None => {
                    let w = self.large_victim % n;
                    self.large_victim = (w + 1) % n;
                    w
                }
            };
            if let Some(s) = self.large.get_mut(way) {
                *s = slot;
            }
            return;
        }
        let ways = self.ways;
        let Some(set) = self.slots.get_mut(range.clone()) else {
            return;
        };
        let way = set
            .iter()
            .position(|s| s.vpn == INVALID)
            .unwrap_or_else(|| {
                self.victim.get_mut(range.start / ways).map_or(0, |v| {
                    let w = usize::from(*v) % ways;
                    *v = ((w + 1) % ways) as u8;
                    w
                })
            });
        if let Some(s) = set.get_mut(way) {
            *s = slot;
        }
    }

    /// `sfence.vma x0, x0`: drop every entry, global ones included.
    pub fn flush_all(&mut self) {
        self.slots.fill(EMPTY);
        self.large.fill(EMPTY);
        self.large_len = 0;
        self.stats.flushes += 1;
    }

    /// `sfence.vma x0, asid`: drop the non-global entries of `asid`.
    pub fn flush_asid(&mut self, asid: u16) {
        drop_where(&mut self.slots, |s| s.in_asid(asid));
        self.drop_large(|s| s.in_asid(asid));
        self.stats.flushes += 1;
    }

    /// `sfence.vma vaddr, x0`: drop every entry whose page maps `vaddr`, in every address space,
    /// global ones included.
    pub fn flush_addr(&mut self, vaddr: u64) {
        self.flush_matching(vaddr, |_| true);
    }

    /// `sfence.vma vaddr, asid`: drop the non-global entries of `asid` whose page maps `vaddr`.
    pub fn flush_addr_asid(&mut self, vaddr: u64, asid: u16) {
        self.flush_matching(vaddr, |s| s.in_asid(asid));
    }

    /// Drop the entries covering `vaddr` that `select` picks: in the set of `vaddr`'s 4 KiB page
    /// and among the superpages.
    fn flush_matching(&mut self, vaddr: u64, select: impl Fn(&Slot) -> bool) {
        self.stats.flushes += 1;
        let range = self.set_range(vaddr >> TLB_PAGE_SHIFT);
        if let Some(set) = self.slots.get_mut(range) {
            drop_where(set, |s| s.covers(vaddr) && select(s));
        }
        self.drop_large(|s| s.covers(vaddr) && select(s));
    }

    /// Drops the superpage entries that `select` picks.
    fn drop_large(&mut self, select: impl Fn(&Slot) -> bool) {
        if self.large_len > 0 {
            self.large_len -= drop_where(&mut self.large, select).min(self.large_len);
        }
    }
}

/// The host address of the guest physical page at `base` of `len` bytes inside `h`, when `h`
/// covers the whole page.
fn host_address(h: &HostSlice, base: u64, len: u64) -> Option<usize> {
    let offset = base.checked_sub(h.gpa.raw())?;
    let end = offset.checked_add(len)?;
    if h.host.is_null() || end > h.len {
        return None;
    }
    Some((h.host as usize).wrapping_add(usize::try_from(offset).ok()?))
}

#[cfg(test)]
mod tests;
