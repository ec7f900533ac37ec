//! [`translate_cached`]: the walker behind a TLB, tagged by `satp.ASID`. Expected values follow
//! the privileged specification 20211203, sections 4.2.1 and 4.3.

use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessKind, GuestMemory};

use super::tests::{
    RAM, ROOT_PPN, SV39, SV48, get, memory, page_fault, pte, s_mode, set, slot, sv39_4k,
};
use super::*;
use crate::mmu::{AccessCheck, Mapping, PageSize, Perms, Tlb};

#[test]
fn mapping_and_satp_fields() {
    let t = Translation {
        paddr: 0x8034_5678,
        page_size: 1 << 21,
        pte: pte(0x8020_0000, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A | PTE_D),
        global: true,
    };
    assert_eq!(
        t.mapping(),
        Mapping {
            page_paddr: 0x8020_0000,
            size: PageSize::Size2M,
            perms: Perms::READ | Perms::EXEC | Perms::USER | Perms::DIRTY,
            global: true,
        }
    );
    assert_eq!(pte_perms(PTE_W | PTE_R), Perms::READ | Perms::WRITE);
    assert_eq!(satp_asid(SV39 | (0xbeef << 44) | ROOT_PPN), 0xbeef);
    let r = WalkRegime {
        satp: SV48 | (5 << 44),
        user: true,
        sum: false,
        mxr: true,
    };
    assert_eq!(r.asid(), 5);
    assert_eq!(
        r.access(AccessKind::Fetch),
        AccessCheck {
            kind: AccessKind::Fetch,
            user: true,
            sum: false,
            mxr: true
        }
    );
}

#[test]
fn cached_translation_hits_and_sets_dirty_through_the_walker() {
    let mem = memory();
    let va = 0x0000_0012_3456_7abc;
    let satp = SV39 | (3 << 44) | ROOT_PPN;
    let leaf = sv39_4k(&mem, va, pte(0x8010_0000, PTE_V | PTE_R | PTE_W));
    let mut tlb = Tlb::default();
    let r = s_mode(satp);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &r),
        Ok(0x8010_0abc)
    );
    assert_eq!(
        get(&mem, leaf),
        pte(0x8010_0000, PTE_V | PTE_R | PTE_W | PTE_A)
    );
    assert_eq!(
        translate_cached(&mut tlb, &mem, va + 4, AccessKind::Read, &r),
        Ok(0x8010_0ac0)
    );
    // The cached entry is clean: the store misses and the walker sets D.
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Write, &r),
        Ok(0x8010_0abc)
    );
    assert_eq!(get(&mem, leaf), 0x2004_00c7);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Atomic, &r),
        Ok(0x8010_0abc)
    );
    let st = tlb.stats();
    assert_eq!((st.hits, st.misses), (2, 2));
    // The entry answers without the page table: a cleared PTE is seen only after a flush.
    set(&mem, leaf, 0);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Write, &r),
        Ok(0x8010_0abc)
    );
    tlb.flush_addr_asid(va, 3);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &r),
        Err(page_fault(AccessKind::Read, va))
    );
    // The entry had the host address of the RAM page.
    set(&mem, leaf, pte(0x8010_0000, PTE_V | PTE_R | PTE_A));
    translate_cached(&mut tlb, &mem, va, AccessKind::Read, &r).unwrap();
    let hit = tlb.lookup(3, va, r.access(AccessKind::Read)).unwrap();
    let host = mem.host_slice(GuestPhysAddr(0x8010_0000)).unwrap();
    assert_eq!(
        hit.host.map(|p| p.as_ptr() as usize),
        Some(host.host as usize + 0x10_0abc)
    );
}

#[test]
fn cached_translation_checks_permissions_and_canonical_addresses_on_hits() {
    let mem = memory();
    let va = 0x2345_6000;
    let satp = SV39 | ROOT_PPN;
    sv39_4k(
        &mem,
        va,
        pte(0x8030_0000, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A | PTE_D),
    );
    let mut tlb = Tlb::default();
    let u = WalkRegime {
        user: true,
        ..s_mode(satp)
    };
    let s = s_mode(satp);
    let s_sum = WalkRegime { sum: true, ..s };
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Fetch, &u),
        Ok(0x8030_0000)
    );
    // S-mode misses on the user page, walks and faults; with SUM it may read but not fetch.
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &s),
        Err(page_fault(AccessKind::Read, va))
    );
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &s_sum),
        Ok(0x8030_0000)
    );
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Fetch, &s_sum),
        Err(page_fault(AccessKind::Fetch, va))
    );
    // Not writable: a fault, whatever is cached.
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Write, &u),
        Err(page_fault(AccessKind::Write, va))
    );
    // Sv48 entries of the same ASID do not answer for addresses Sv39 cannot reach.
    let high = 0x0000_7f00_0000_0000;
    set(&mem, slot(RAM, high, 3), pte(RAM + 0x5000, PTE_V));
    set(
        &mem,
        slot(RAM + 0x5000, high, 2),
        pte(0xc000_0000, PTE_V | PTE_R | PTE_A),
    );
    let sv48 = s_mode(SV48 | ROOT_PPN);
    assert_eq!(
        translate_cached(&mut tlb, &mem, high, AccessKind::Read, &sv48),
        Ok(0xc000_0000)
    );
    assert_eq!(
        translate_cached(&mut tlb, &mem, high, AccessKind::Read, &s),
        Err(page_fault(AccessKind::Read, high))
    );
    // Bare: the identity, no TLB.
    let before = tlb.stats();
    assert_eq!(
        translate_cached(&mut tlb, &mem, 0x1234, AccessKind::Write, &s_mode(0)),
        Ok(0x1234)
    );
    assert_eq!(tlb.stats(), before);
}

#[test]
fn cached_translation_keeps_asids_apart() {
    let mem = memory();
    let va = 0x4000;
    let leaf = sv39_4k(&mem, va, pte(0x8011_0000, PTE_V | PTE_R | PTE_A));
    let mut tlb = Tlb::default();
    let a1 = s_mode(SV39 | (1 << 44) | ROOT_PPN);
    let a2 = s_mode(SV39 | (2 << 44) | ROOT_PPN);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a1),
        Ok(0x8011_0000)
    );
    // ASID 2 sees the page table as it is now.
    set(&mem, leaf, pte(0x8012_0000, PTE_V | PTE_R | PTE_A));
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a2),
        Ok(0x8012_0000)
    );
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a1),
        Ok(0x8011_0000)
    );
    tlb.flush_asid(1);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a1),
        Ok(0x8012_0000)
    );
    // A global mapping is shared by every ASID.
    set(&mem, leaf, pte(0x8013_0000, PTE_V | PTE_R | PTE_A | PTE_G));
    tlb.flush_all();
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a1),
        Ok(0x8013_0000)
    );
    set(&mem, leaf, 0);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a2),
        Ok(0x8013_0000)
    );
    // ... and survives ASID-specific flushes.
    tlb.flush_asid(2);
    tlb.flush_addr_asid(va, 2);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a2),
        Ok(0x8013_0000)
    );
    tlb.flush_addr(va);
    assert_eq!(
        translate_cached(&mut tlb, &mem, va, AccessKind::Read, &a2),
        Err(page_fault(AccessKind::Read, va))
    );
}
