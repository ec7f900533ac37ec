//! Walker tests against page tables built in a vm-mem `PhysMemory`. Expected values follow the
//! privileged specification 20211203, section 4.3.2.

use core::cell::Cell;

use vm_core::mem::MemFault;

use super::*;
use crate::PhysMemory;

pub(super) const RAM: u64 = 0x8000_0000;
pub(super) const ROM: u64 = 0x1000_0000;
/// Root table at RAM + 0, further tables from RAM + 0x1000 on.
pub(super) const ROOT_PPN: u64 = RAM >> 12;
pub(super) const SV39: u64 = 8 << 60;
pub(super) const SV48: u64 = 9 << 60;
pub(super) const SV57: u64 = 10 << 60;
pub(super) const RWX: u64 = PTE_R | PTE_W | PTE_X;

pub(super) fn memory() -> PhysMemory {
    PhysMemory::builder()
        .ram("ram", GuestPhysAddr(RAM), 0x40_0000)
        .rom("rom", GuestPhysAddr(ROM), 0x1_0000)
        .build()
        .expect("memory map")
}

/// A PTE pointing at physical address `pa` with `flags`.
pub(super) const fn pte(pa: u64, flags: u64) -> u64 {
    ((pa >> 12) << PTE_PPN_SHIFT) | flags
}

pub(super) fn set(mem: &PhysMemory, addr: u64, value: u64) {
    mem.write_sized(GuestPhysAddr(addr), AccessSize::U64, value)
        .expect("PTE in RAM");
}

pub(super) fn get(mem: &PhysMemory, addr: u64) -> u64 {
    mem.read_sized(GuestPhysAddr(addr), AccessSize::U64)
        .expect("PTE in RAM")
}

/// The address of the level-`level` PTE for `va` in the table at `table`.
pub(super) const fn slot(table: u64, va: u64, level: u32) -> u64 {
    table + ((va >> (12 + 9 * level)) & 0x1ff) * 8
}

pub(super) fn s_mode(satp: u64) -> WalkRegime {
    WalkRegime {
        satp,
        user: false,
        sum: false,
        mxr: false,
    }
}

/// Sv39 tables: root at RAM, level-1 table at RAM + 0x1000, level-0 table at RAM + 0x2000, all
/// for `va`; the leaf at level 0 is `leaf`. Returns the leaf PTE's address.
pub(super) fn sv39_4k(mem: &PhysMemory, va: u64, leaf: u64) -> u64 {
    set(mem, slot(RAM, va, 2), pte(RAM + 0x1000, PTE_V));
    set(mem, slot(RAM + 0x1000, va, 1), pte(RAM + 0x2000, PTE_V));
    let at = slot(RAM + 0x2000, va, 0);
    set(mem, at, leaf);
    at
}

pub(super) fn page_fault(kind: AccessKind, vaddr: u64) -> Exception {
    Exception::Memory {
        kind,
        fault: FaultKind::Page,
        vaddr,
    }
}

#[test]
fn bare_is_identity() {
    let mem = memory();
    let t = translate(&mem, 0xdead_beef_0123, AccessKind::Write, &s_mode(0)).unwrap();
    assert_eq!((t.paddr, t.page_size, t.pte), (0xdead_beef_0123, 4096, 0));
    // Unimplemented modes translate as Bare (the hart never stores them).
    let t = translate(&mem, 0x1234, AccessKind::Read, &s_mode(11 << 60)).unwrap();
    assert_eq!(t.paddr, 0x1234);
}

#[test]
fn sv39_4k_page_with_accessed_and_dirty_updates() {
    let mem = memory();
    let va = 0x0000_0012_3456_7abc;
    let leaf = sv39_4k(&mem, va, pte(0x8010_0000, PTE_V | PTE_R | PTE_W));
    let satp = SV39 | ROOT_PPN;
    let t = translate(&mem, va, AccessKind::Read, &s_mode(satp)).unwrap();
    assert_eq!(t.paddr, 0x8010_0abc);
    assert_eq!(t.page_size, 4096);
    // A read sets A only.
    assert_eq!(
        get(&mem, leaf),
        pte(0x8010_0000, PTE_V | PTE_R | PTE_W | PTE_A)
    );
    assert_eq!(t.pte, get(&mem, leaf));
    // A write sets D.
    let t = translate(&mem, va, AccessKind::Write, &s_mode(satp)).unwrap();
    assert_eq!(t.paddr, 0x8010_0abc);
    assert_eq!(get(&mem, leaf), 0x2004_00c7);
    // An AMO needs W and sets D too.
    set(&mem, leaf, pte(0x8010_0000, PTE_V | PTE_R | PTE_W));
    translate(&mem, va, AccessKind::Atomic, &s_mode(satp)).unwrap();
    assert_eq!(get(&mem, leaf), 0x2004_00c7);
    // Pointer PTEs are never updated.
    assert_eq!(get(&mem, slot(RAM, va, 2)), pte(RAM + 0x1000, PTE_V));
}

#[test]
fn sv39_megapage_and_gigapage() {
    let mem = memory();
    let satp = SV39 | ROOT_PPN;
    // 1 GiB page: VA 0x40000000.. -> PA 0xc0000000..
    set(
        &mem,
        slot(RAM, 0x4000_0000, 2),
        pte(0xc000_0000, PTE_V | RWX | PTE_A),
    );
    let t = translate(&mem, 0x4abc_def0, AccessKind::Fetch, &s_mode(satp)).unwrap();
    assert_eq!((t.paddr, t.page_size), (0xcabc_def0, 1 << 30));
    // 2 MiB page: VA 0x80200000.. -> PA 0x80400000..
    let va = 0x8020_0000;
    set(&mem, slot(RAM, va, 2), pte(RAM + 0x1000, PTE_V));
    set(
        &mem,
        slot(RAM + 0x1000, va, 1),
        pte(0x8040_0000, PTE_V | PTE_R | PTE_A),
    );
    let t = translate(&mem, 0x802f_fff8, AccessKind::Read, &s_mode(satp)).unwrap();
    assert_eq!((t.paddr, t.page_size), (0x804f_fff8, 1 << 21));
    // Misaligned superpages fault.
    set(
        &mem,
        slot(RAM + 0x1000, va, 1),
        pte(0x8040_1000, PTE_V | PTE_R | PTE_A),
    );
    assert_eq!(
        translate(&mem, va, AccessKind::Read, &s_mode(satp)),
        Err(page_fault(AccessKind::Read, va))
    );
    set(
        &mem,
        slot(RAM, 0x4000_0000, 2),
        pte(0xc020_0000, PTE_V | RWX),
    );
    assert_eq!(
        translate(&mem, 0x4000_0000, AccessKind::Write, &s_mode(satp)),
        Err(page_fault(AccessKind::Write, 0x4000_0000))
    );
}

#[test]
fn sv48_and_sv57_walks() {
    let mem = memory();
    // Sv48: 4 levels; VA 0x7f12_3456_7000 (bit 47 clear).
    let va = 0x0000_7f12_3456_7123;
    set(&mem, slot(RAM, va, 3), pte(RAM + 0x1000, PTE_V));
    set(&mem, slot(RAM + 0x1000, va, 2), pte(RAM + 0x2000, PTE_V));
    set(&mem, slot(RAM + 0x2000, va, 1), pte(RAM + 0x3000, PTE_V));
    set(
        &mem,
        slot(RAM + 0x3000, va, 0),
        pte(0x8020_0000, PTE_V | PTE_R),
    );
    let t = translate(&mem, va, AccessKind::Read, &s_mode(SV48 | ROOT_PPN)).unwrap();
    assert_eq!(t.paddr, 0x8020_0123);
    // Sv57: 5 levels, a 512 GiB (level-3) superpage at VA 0x00ff_0000_0000_0000 + 0x8000000000.
    let root = RAM + 0x10_0000;
    let va = 0x00ff_0080_0000_0042;
    set(&mem, slot(root, va, 4), pte(root + 0x1000, PTE_V));
    set(
        &mem,
        slot(root + 0x1000, va, 3),
        pte(0x80_0000_0000, PTE_V | PTE_X | PTE_A),
    );
    let t = translate(&mem, va, AccessKind::Fetch, &s_mode(SV57 | (root >> 12))).unwrap();
    assert_eq!((t.paddr, t.page_size), (0x80_0000_0042, 1 << 39));
    // That VA is not canonical for Sv48.
    assert_eq!(
        translate(&mem, va, AccessKind::Fetch, &s_mode(SV48 | ROOT_PPN)),
        Err(page_fault(AccessKind::Fetch, va))
    );
}

#[test]
fn non_canonical_addresses_fault() {
    let mem = memory();
    let satp = SV39 | ROOT_PPN;
    set(
        &mem,
        slot(RAM, 0xffff_ffff_c000_0000, 2),
        pte(0x8000_0000, PTE_V | RWX | PTE_A | PTE_D),
    );
    // Sign-extended bit 38: canonical.
    let t = translate(
        &mem,
        0xffff_ffff_c000_0010,
        AccessKind::Write,
        &s_mode(satp),
    )
    .unwrap();
    assert_eq!(t.paddr, 0x8000_0010);
    for va in [
        0x0000_0040_0000_0000,
        0xffff_ffbf_ffff_ffff,
        0x8000_0000_0000_0000,
    ] {
        assert_eq!(
            translate(&mem, va, AccessKind::Read, &s_mode(satp)),
            Err(page_fault(AccessKind::Read, va)),
            "{va:#x}"
        );
    }
}

#[test]
fn invalid_and_reserved_ptes_fault() {
    let mem = memory();
    let satp = SV39 | ROOT_PPN;
    let va = 0x1000;
    let leaf = |flags| pte(0x8020_0000, flags);
    let bad = [
        leaf(PTE_R | PTE_A),                   // V clear
        leaf(PTE_V | PTE_W | PTE_A),           // W without R
        leaf(PTE_V | PTE_W | PTE_X | PTE_A),   // W without R
        leaf(PTE_V | PTE_R | PTE_A) | 1 << 54, // reserved
        leaf(PTE_V | PTE_R | PTE_A) | 1 << 60, // reserved
        leaf(PTE_V | PTE_R | PTE_A) | 1 << 61, // PBMT (Svpbmt absent)
        leaf(PTE_V | PTE_R | PTE_A) | 1 << 63, // N (Svnapot absent)
    ];
    for leaf_pte in bad {
        sv39_4k(&mem, va, leaf_pte);
        assert_eq!(
            translate(&mem, va, AccessKind::Read, &s_mode(satp)),
            Err(page_fault(AccessKind::Read, va)),
            "{leaf_pte:#x}"
        );
    }
    // Pointer PTEs with A, D or U set, and a pointer at level 0.
    for flags in [PTE_A, PTE_D, PTE_U] {
        sv39_4k(&mem, va, leaf(PTE_V | PTE_R | PTE_A));
        set(
            &mem,
            slot(RAM + 0x1000, va, 1),
            pte(RAM + 0x2000, PTE_V | flags),
        );
        assert_eq!(
            translate(&mem, va, AccessKind::Read, &s_mode(satp)),
            Err(page_fault(AccessKind::Read, va))
        );
    }
    sv39_4k(&mem, va, pte(RAM + 0x3000, PTE_V));
    assert_eq!(
        translate(&mem, va, AccessKind::Fetch, &s_mode(satp)),
        Err(page_fault(AccessKind::Fetch, va))
    );
    // The G bit and the RSW bits are fine.
    sv39_4k(&mem, va, leaf(PTE_V | PTE_R | PTE_A | PTE_G | (3 << 8)));
    assert_eq!(
        translate(&mem, va, AccessKind::Read, &s_mode(satp)).map(|t| t.paddr),
        Ok(0x8020_0000)
    );
}

#[test]
fn permissions() {
    let mem = memory();
    let satp = SV39 | ROOT_PPN;
    let va = 0x2345_6000;
    let s = s_mode(satp);
    let s_sum = WalkRegime { sum: true, ..s };
    let s_mxr = WalkRegime { mxr: true, ..s };
    let u = WalkRegime { user: true, ..s };
    let u_mxr = WalkRegime { mxr: true, ..u };
    let ad = PTE_V | PTE_A | PTE_D;
    let ok = |flags, kind, r: &WalkRegime| {
        sv39_4k(&mem, va, pte(0x8030_0000, ad | flags));
        translate(&mem, va, kind, r).map(|t| t.paddr)
    };
    use AccessKind::{Atomic, Fetch, Read, Write};
    // Execute-only page: fetch yes, read only with MXR, write never.
    assert_eq!(ok(PTE_X, Fetch, &s), Ok(0x8030_0000));
    assert_eq!(ok(PTE_X, Read, &s), Err(page_fault(Read, va)));
    assert_eq!(ok(PTE_X, Read, &s_mxr), Ok(0x8030_0000));
    assert_eq!(ok(PTE_X, Write, &s_mxr), Err(page_fault(Write, va)));
    // Read-only page.
    assert_eq!(ok(PTE_R, Write, &s), Err(page_fault(Write, va)));
    assert_eq!(ok(PTE_R, Atomic, &s), Err(page_fault(Atomic, va)));
    assert_eq!(ok(PTE_R, Fetch, &s), Err(page_fault(Fetch, va)));
    // U pages: S-mode only with SUM and never for fetches; U-mode only on U pages.
    assert_eq!(
        ok(PTE_U | PTE_R | PTE_W, Read, &s),
        Err(page_fault(Read, va))
    );
    assert_eq!(ok(PTE_U | PTE_R | PTE_W, Write, &s_sum), Ok(0x8030_0000));
    assert_eq!(ok(PTE_U | PTE_X, Fetch, &s_sum), Err(page_fault(Fetch, va)));
    assert_eq!(ok(PTE_U | PTE_X, Fetch, &u), Ok(0x8030_0000));
    assert_eq!(ok(PTE_U | PTE_X, Read, &u_mxr), Ok(0x8030_0000));
    assert_eq!(
        ok(PTE_R | PTE_W | PTE_X, Read, &u),
        Err(page_fault(Read, va))
    );
    assert_eq!(
        ok(PTE_R | PTE_W | PTE_X, Fetch, &u),
        Err(page_fault(Fetch, va))
    );
}

#[test]
fn page_tables_outside_memory_are_access_faults() {
    let mem = memory();
    let access = |kind, vaddr| Exception::Memory {
        kind,
        fault: FaultKind::Access,
        vaddr,
    };
    // Root outside RAM.
    assert_eq!(
        translate(&mem, 0x5000, AccessKind::Write, &s_mode(SV39 | 0x1234)),
        Err(access(AccessKind::Write, 0x5000))
    );
    // Next level outside RAM.
    set(&mem, slot(RAM, 0x5000, 2), pte(0x4000_0000, PTE_V));
    assert_eq!(
        translate(&mem, 0x5000, AccessKind::Fetch, &s_mode(SV39 | ROOT_PPN)),
        Err(access(AccessKind::Fetch, 0x5000))
    );
    // A leaf in ROM: readable, but the A update cannot be written.
    let rom_table = ROM;
    mem.load_image(
        GuestPhysAddr(slot(rom_table, 0x7000_0000, 2)),
        &pte(0xc000_0000, PTE_V | PTE_R).to_le_bytes(),
    )
    .expect("ROM image");
    assert_eq!(
        translate(
            &mem,
            0x7000_0000,
            AccessKind::Read,
            &s_mode(SV39 | (ROM >> 12))
        ),
        Err(access(AccessKind::Read, 0x7000_0000))
    );
    // With A already set, no update is needed.
    mem.load_image(
        GuestPhysAddr(slot(rom_table, 0x7000_0000, 2)),
        &pte(0xc000_0000, PTE_V | PTE_R | PTE_A).to_le_bytes(),
    )
    .expect("ROM image");
    assert_eq!(
        translate(
            &mem,
            0x7000_0000,
            AccessKind::Read,
            &s_mode(SV39 | (ROM >> 12))
        )
        .map(|t| t.paddr),
        Ok(0xf000_0000)
    );
}

/// Memory whose `compare_exchange` reports a concurrent change `fails` times (test-only model of
/// another hart updating the PTE).
struct Racy {
    inner: PhysMemory,
    fails: Cell<u32>,
    attempts: Cell<u32>,
}

impl GuestMemory for Racy {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        self.inner.read(addr, buf)
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        self.inner.write(addr, buf)
    }
    fn compare_exchange(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemFault> {
        self.attempts.set(self.attempts.get() + 1);
        if self.fails.get() > 0 {
            self.fails.set(self.fails.get() - 1);
            return Ok(Err(current ^ 1));
        }
        self.inner.compare_exchange(addr, size, current, new)
    }
}

#[test]
fn lost_ad_races_restart_the_walk() {
    let racy = Racy {
        inner: memory(),
        fails: Cell::new(3),
        attempts: Cell::new(0),
    };
    let va = 0x3000;
    let leaf = sv39_4k(&racy.inner, va, pte(0x8040_0000, PTE_V | PTE_R | PTE_W));
    let t = translate(&racy, va, AccessKind::Write, &s_mode(SV39 | ROOT_PPN)).unwrap();
    assert_eq!(t.paddr, 0x8040_0000);
    assert_eq!(racy.attempts.get(), 4);
    assert_eq!(
        get(&racy.inner, leaf),
        pte(0x8040_0000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    );
    // Losing every race gives a page fault after MAX_WALK_RESTARTS walks.
    set(&racy.inner, leaf, pte(0x8040_0000, PTE_V | PTE_R | PTE_W));
    racy.fails.set(u32::MAX);
    racy.attempts.set(0);
    assert_eq!(
        translate(&racy, va, AccessKind::Read, &s_mode(SV39 | ROOT_PPN)),
        Err(page_fault(AccessKind::Read, va))
    );
    assert_eq!(racy.attempts.get(), MAX_WALK_RESTARTS);
}

#[test]
fn satp_modes() {
    assert_eq!(SatpMode::from_satp(0), Some(SatpMode::Bare));
    assert_eq!(SatpMode::from_satp(SV39 | 0xffff), Some(SatpMode::Sv39));
    assert_eq!(SatpMode::from_satp(SV48), Some(SatpMode::Sv48));
    assert_eq!(SatpMode::from_satp(SV57), Some(SatpMode::Sv57));
    assert_eq!(SatpMode::from_satp(1 << 60), None);
    assert_eq!(SatpMode::from_satp(11 << 60), None);
    assert_eq!(
        [
            SatpMode::Bare,
            SatpMode::Sv39,
            SatpMode::Sv48,
            SatpMode::Sv57
        ]
        .map(SatpMode::levels),
        [0, 3, 4, 5]
    );
}

#[test]
fn global_bit_anywhere_on_the_path() {
    let mem = memory();
    let satp = SV39 | ROOT_PPN;
    let va = 0x6000;
    let leaf = sv39_4k(&mem, va, pte(0x8050_0000, PTE_V | PTE_R | PTE_A));
    let t = translate(&mem, va, AccessKind::Read, &s_mode(satp)).unwrap();
    assert!(!t.global);
    set(&mem, leaf, pte(0x8050_0000, PTE_V | PTE_R | PTE_A | PTE_G));
    assert!(
        translate(&mem, va, AccessKind::Read, &s_mode(satp))
            .unwrap()
            .global
    );
    // G in a pointer makes everything below it global.
    set(&mem, leaf, pte(0x8050_0000, PTE_V | PTE_R | PTE_A));
    set(&mem, slot(RAM, va, 2), pte(RAM + 0x1000, PTE_V | PTE_G));
    assert!(
        translate(&mem, va, AccessKind::Read, &s_mode(satp))
            .unwrap()
            .global
    );
}

#[test]
fn page_faults_map_to_each_access_kind() {
    let mem = memory();
    let satp = SV39 | ROOT_PPN;
    for kind in [
        AccessKind::Read,
        AccessKind::Write,
        AccessKind::Fetch,
        AccessKind::Atomic,
    ] {
        // Nothing mapped at all: every access kind gets its own page fault with the address.
        let va = 0x0000_0040_0000_0000 - 8;
        assert_eq!(
            translate(&mem, va, kind, &s_mode(satp)),
            Err(page_fault(kind, va))
        );
    }
}
