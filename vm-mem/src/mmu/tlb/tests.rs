//! TLB unit tests: tags, permissions, the four flush forms with global entries and ASIDs,
//! superpage fragments, replacement, host addresses and counters.

use vm_core::GuestPhysAddr;

use super::*;

const RW: Perms = Perms(Perms::READ.0 | Perms::WRITE.0);
const RWD: Perms = Perms(RW.0 | Perms::DIRTY.0);

fn map(page_paddr: u64, size: PageSize, perms: Perms, global: bool) -> Mapping {
    Mapping {
        page_paddr,
        size,
        perms,
        global,
    }
}

fn s(kind: AccessKind) -> AccessCheck {
    AccessCheck::supervisor(kind)
}

fn pa(tlb: &mut Tlb, asid: u16, vaddr: u64) -> Option<u64> {
    tlb.lookup(asid, vaddr, s(AccessKind::Read))
        .map(|h| h.paddr)
}

#[test]
fn page_sizes() {
    let sizes = [
        PageSize::Size4K,
        PageSize::Size2M,
        PageSize::Size1G,
        PageSize::Size512G,
        PageSize::Size256T,
    ];
    assert_eq!(sizes.map(PageSize::shift), [12, 21, 30, 39, 48]);
    assert_eq!(PageSize::Size2M.bytes(), 0x20_0000);
    for (level, size) in sizes.iter().enumerate() {
        assert_eq!(PageSize::at_level(level as u32), Some(*size));
        assert_eq!(PageSize::from_shift(size.shift()), Some(*size));
    }
    assert_eq!(PageSize::at_level(5), None);
    assert_eq!(PageSize::from_shift(13), None);
}

#[test]
fn geometry_is_rounded() {
    let t = Tlb::new(100, 3);
    assert_eq!((t.sets(), t.ways()), (128, 3));
    let t = Tlb::new(0, 99);
    assert_eq!((t.sets(), t.ways()), (1, MAX_WAYS));
    let t = Tlb::default();
    assert_eq!(
        (t.sets(), t.ways(), t.len()),
        (DEFAULT_SETS, DEFAULT_WAYS, 0)
    );
    assert!(t.is_empty());
}

#[test]
fn hits_are_tagged_by_asid_and_global_bit() {
    let mut t = Tlb::default();
    t.insert(
        1,
        0x1000,
        &map(0x8000_0000, PageSize::Size4K, RW, false),
        None,
    );
    t.insert(
        2,
        0x1000,
        &map(0x9000_0000, PageSize::Size4K, RW, false),
        None,
    );
    t.insert(
        3,
        0xffff_ffc0_0000_0000,
        &map(0x8000_0000, PageSize::Size4K, RW, true),
        None,
    );
    assert_eq!(pa(&mut t, 1, 0x1abc), Some(0x8000_0abc));
    assert_eq!(pa(&mut t, 2, 0x1abc), Some(0x9000_0abc));
    assert_eq!(pa(&mut t, 3, 0x1abc), None);
    assert_eq!(pa(&mut t, 2, 0x2abc), None);
    // A global entry answers in every address space.
    for asid in [0, 3, 0xffff] {
        assert_eq!(pa(&mut t, asid, 0xffff_ffc0_0000_0010), Some(0x8000_0010));
    }
    assert_eq!(t.len(), 3);
    let st = t.stats();
    assert_eq!((st.hits, st.misses, st.flushes), (5, 2, 0));
    assert!((st.hit_rate() - 5.0 / 7.0).abs() < 1e-12);
    t.reset_stats();
    assert_eq!(t.stats(), TlbStats::default());
    assert_eq!(t.stats().hit_rate(), 0.0);
}

#[test]
fn permission_checks_match_the_specification() {
    use AccessKind::{Atomic, Fetch, Read, Write};
    let all = [Read, Write, Fetch, Atomic];
    let x = Perms::EXEC;
    let r = Perms::READ;
    let u = Perms::USER;
    /// (perms, (user, sum, mxr), the kinds allowed).
    type Case<'a> = (Perms, (bool, bool, bool), &'a [AccessKind]);
    let cases: &[Case<'_>] = &[
        (r, (false, false, false), &[Read]),
        (RW, (false, false, false), &[Read]),
        (RWD, (false, false, false), &[Read, Write, Atomic]),
        (x, (false, false, false), &[Fetch]),
        (x, (false, false, true), &[Read, Fetch]),
        (RWD | x, (false, false, false), &all),
        // User pages: not from S-mode unless SUM, and never fetched from S-mode.
        (RWD | x | u, (false, false, false), &[]),
        (RWD | x | u, (false, true, false), &[Read, Write, Atomic]),
        (RWD | x | u, (true, false, false), &all),
        (x | u, (true, false, true), &[Read, Fetch]),
        // U-mode never touches supervisor pages.
        (RWD | x, (true, true, true), &[]),
    ];
    for &(perms, (user, sum, mxr), allowed) in cases {
        for kind in all {
            let check = AccessCheck {
                kind,
                user,
                sum,
                mxr,
            };
            assert_eq!(
                check.allows(perms),
                allowed.contains(&kind),
                "{perms:?} {check:?}"
            );
            let mut t = Tlb::new(4, 1);
            t.insert(
                9,
                0x5000,
                &map(0x8000_5000, PageSize::Size4K, perms, false),
                None,
            );
            assert_eq!(
                t.lookup(9, 0x5008, check).map(|h| h.paddr),
                allowed.contains(&kind).then_some(0x8000_5008)
            );
        }
    }
    assert!(Perms::READ.union(Perms::DIRTY).contains(Perms::DIRTY));
    assert!(!Perms::READ.contains(RW));
    assert_eq!(RWD.bits(), 0b1_0011);
}

#[test]
fn store_to_clean_entry_misses_until_dirty_entry_replaces_it() {
    let mut t = Tlb::default();
    let clean = map(0x8000_0000, PageSize::Size4K, RW, false);
    t.insert(1, 0x7000, &clean, None);
    assert!(t.lookup(1, 0x7000, s(AccessKind::Read)).is_some());
    assert!(t.lookup(1, 0x7000, s(AccessKind::Write)).is_none());
    assert!(t.lookup(1, 0x7000, s(AccessKind::Atomic)).is_none());
    // The walker set D; the new entry replaces the clean one in place.
    t.insert(
        1,
        0x7000,
        &map(0x8000_0000, PageSize::Size4K, RWD, false),
        None,
    );
    assert_eq!(t.len(), 1);
    let hit = t.lookup(1, 0x7010, s(AccessKind::Write)).unwrap();
    assert_eq!(
        (hit.paddr, hit.perms, hit.size),
        (0x8000_0010, RWD, PageSize::Size4K)
    );
    assert_eq!((t.stats().hits, t.stats().misses), (2, 2));
    // The address-only lookup answers and counts the same.
    assert_eq!(
        t.lookup_paddr(1, 0x7ff8, s(AccessKind::Atomic)),
        Some(0x8000_0ff8)
    );
    assert_eq!(t.lookup_paddr(2, 0x7ff8, s(AccessKind::Read)), None);
    assert_eq!((t.stats().hits, t.stats().misses), (3, 3));
}

/// A TLB with, for ASIDs 1 and 2, a 4 KiB page at 0x1000 and 0x2000 each, a 2 MiB page at
/// 0x4000_0000 (inserted twice, from both ends: one entry), and a global 4 KiB page at
/// 0x1000_0000.
fn populated() -> Tlb {
    let mut t = Tlb::new(64, 4);
    for asid in [1, 2] {
        let base = u64::from(asid) << 28 | 0x8000_0000;
        for va in [0x1000, 0x2000] {
            t.insert(
                asid,
                va,
                &map(base + va, PageSize::Size4K, RWD, false),
                None,
            );
        }
        for va in [0x4000_0000, 0x401f_f000] {
            t.insert(asid, va, &map(base, PageSize::Size2M, RWD, false), None);
        }
    }
    t.insert(
        1,
        0x1000_0000,
        &map(0x8800_0000, PageSize::Size4K, RWD, true),
        None,
    );
    assert_eq!(t.len(), 7);
    t
}

/// Which of the cached pages still hit, per ASID.
fn present(t: &mut Tlb) -> [[bool; 6]; 2] {
    [1u16, 2].map(|asid| {
        [
            0x1000,
            0x2000,
            0x4000_0000,
            0x401f_f000,
            0x1000_0000,
            0x1000_0008,
        ]
        .map(|va| t.lookup(asid, va, s(AccessKind::Read)).is_some())
    })
}

#[test]
fn flush_all_drops_everything() {
    let mut t = populated();
    t.flush_all();
    assert!(t.is_empty());
    assert_eq!(present(&mut t), [[false; 6]; 2]);
    assert_eq!(t.stats().flushes, 1);
}

#[test]
fn flush_asid_keeps_other_asids_and_global_entries() {
    let mut t = populated();
    t.flush_asid(1);
    assert_eq!(
        present(&mut t),
        [
            [false, false, false, false, true, true],
            [true, true, true, true, true, true]
        ]
    );
    // An ASID with no entries: nothing changes.
    t.flush_asid(7);
    assert_eq!(t.len(), 4);
    assert_eq!(t.stats().flushes, 2);
}

#[test]
fn flush_addr_drops_that_page_in_every_asid_global_included() {
    let mut t = populated();
    t.flush_addr(0x1fff);
    assert_eq!(
        present(&mut t),
        [
            [false, true, true, true, true, true],
            [false, true, true, true, true, true]
        ]
    );
    t.flush_addr(0x1000_0abc);
    assert_eq!(present(&mut t)[0][4..], [false, false]);
    assert_eq!(present(&mut t)[1][4..], [false, false]);
    // Any address inside a superpage drops it.
    t.flush_addr(0x4012_3456);
    assert_eq!(
        present(&mut t),
        [
            [false, true, false, false, false, false],
            [false, true, false, false, false, false]
        ]
    );
    assert_eq!(t.len(), 2);
}

#[test]
fn flush_addr_asid_keeps_global_entries_and_other_asids() {
    let mut t = populated();
    t.flush_addr_asid(0x2000, 2);
    t.flush_addr_asid(0x1000_0000, 1);
    t.flush_addr_asid(0x4000_0000, 1);
    assert_eq!(
        present(&mut t),
        [
            [true, true, false, false, true, true],
            [true, false, true, true, true, true]
        ]
    );
    assert_eq!(t.stats().flushes, 3);
}

#[test]
fn one_entry_serves_a_whole_superpage() {
    let mut t = Tlb::default();
    let giga = map(0xc000_0000, PageSize::Size1G, RWD, false);
    t.insert(0, 0x4abc_d123, &giga, None);
    let hit = t.lookup(0, 0x4abc_dff8, s(AccessKind::Read)).unwrap();
    assert_eq!((hit.paddr, hit.size), (0xcabc_dff8, PageSize::Size1G));
    assert_eq!(pa(&mut t, 0, 0x4000_0000), Some(0xc000_0000));
    assert_eq!(pa(&mut t, 0, 0x7fff_ffff), Some(0xffff_ffff));
    assert_eq!(pa(&mut t, 0, 0x8000_0000), None);
    assert_eq!(t.len(), 1);
    // A misaligned page_paddr is aligned down (the walker never produces one).
    t.insert(
        0,
        0x20_1000,
        &map(0x8000_3000, PageSize::Size2M, RWD, false),
        None,
    );
    assert_eq!(pa(&mut t, 0, 0x20_1004), Some(0x8000_1004));
    // Sv48/Sv57 sizes.
    let tera = map(0x80_0000_0000, PageSize::Size512G, RWD, false);
    t.insert(0, 0x00ff_8000_0000_0042, &tera, None);
    assert_eq!(pa(&mut t, 0, 0x00ff_8012_3456_7890), Some(0x92_3456_7890));
    let peta = map(0, PageSize::Size256T, RWD, true);
    t.insert(0, 0xff01_0000_0000_0000, &peta, None);
    assert_eq!(pa(&mut t, 5, 0xff01_2345_6789_abcd), Some(0x2345_6789_abcd));
}

#[test]
fn superpages_replace_overlapping_entries_and_round_robin() {
    let mut t = Tlb::default();
    // A 4 KiB entry, then a 2 MiB page over it (the page tables changed): the new page answers.
    t.insert(
        1,
        0x20_3000,
        &map(0x8000_3000, PageSize::Size4K, RWD, false),
        None,
    );
    t.insert(
        1,
        0x20_3000,
        &map(0x8040_0000, PageSize::Size2M, RWD, false),
        None,
    );
    assert_eq!((pa(&mut t, 1, 0x20_3008), t.len()), (Some(0x8040_3008), 1));
    // And back: a 4 KiB page replaces the superpage that covered it.
    t.insert(
        1,
        0x20_5000,
        &map(0x9000_0000, PageSize::Size4K, RWD, false),
        None,
    );
    assert_eq!((pa(&mut t, 1, 0x20_5008), t.len()), (Some(0x9000_0008), 1));
    assert_eq!(pa(&mut t, 1, 0x20_3008), None);
    // The superpage array holds SUPERPAGE_ENTRIES pages, then replaces the oldest.
    let mut t = Tlb::default();
    for i in 0..=SUPERPAGE_ENTRIES as u64 {
        let m = map(0x8000_0000 + (i << 21), PageSize::Size2M, RWD, false);
        t.insert(1, i << 21, &m, None);
    }
    assert_eq!(t.len(), SUPERPAGE_ENTRIES);
    assert_eq!(pa(&mut t, 1, 0), None);
    assert_eq!(pa(&mut t, 1, 1 << 21), Some(0x8020_0000));
    let last = (SUPERPAGE_ENTRIES as u64) << 21;
    assert_eq!(pa(&mut t, 1, last + 8), Some(0x8000_0008 + last));
}

#[test]
fn replacement_is_round_robin_after_free_ways() {
    let mut t = Tlb::new(1, 2);
    let m = |pa| map(pa, PageSize::Size4K, RWD, false);
    t.insert(0, 0x1000, &m(0x8000_1000), None);
    t.insert(0, 0x2000, &m(0x8000_2000), None);
    t.insert(0, 0x3000, &m(0x8000_3000), None); // evicts way 0 (0x1000)
    assert_eq!(pa(&mut t, 0, 0x1000), None);
    assert_eq!(pa(&mut t, 0, 0x2000), Some(0x8000_2000));
    t.insert(0, 0x4000, &m(0x8000_4000), None); // evicts way 1 (0x2000)
    assert_eq!(pa(&mut t, 0, 0x2000), None);
    assert_eq!(pa(&mut t, 0, 0x3000), Some(0x8000_3000));
    assert_eq!(pa(&mut t, 0, 0x4000), Some(0x8000_4000));
    // Direct-mapped: pages with the same index evict each other.
    let mut d = Tlb::new(16, 1);
    d.insert(0, 0x1000, &m(0x8000_1000), None);
    d.insert(0, 0x11000, &m(0x8001_1000), None);
    assert_eq!((pa(&mut d, 0, 0x1000), d.len()), (None, 1));
}

#[test]
fn a_global_insert_replaces_every_entry_of_that_page() {
    let mut t = Tlb::new(1, 4);
    let m = |pa, g| map(pa, PageSize::Size4K, RWD, g);
    t.insert(1, 0x1000, &m(0x8000_1000, false), None);
    t.insert(2, 0x1000, &m(0x8000_2000, false), None);
    t.insert(3, 0x1000, &m(0x8000_3000, true), None);
    assert_eq!(t.len(), 1);
    assert_eq!(pa(&mut t, 1, 0x1000), Some(0x8000_3000));
    // A non-global insert replaces a global entry for that page.
    t.insert(1, 0x1000, &m(0x8000_4000, false), None);
    assert_eq!(
        (pa(&mut t, 1, 0x1000), pa(&mut t, 2, 0x1000)),
        (Some(0x8000_4000), None)
    );
}

#[test]
fn host_addresses_for_ram_pages() {
    let mut backing = [0u8; 0x3000];
    let host = backing.as_mut_ptr();
    let slice = |writable| HostSlice {
        gpa: GuestPhysAddr(0x8000_0000),
        host,
        len: 0x3000,
        writable,
    };
    let mut t = Tlb::default();
    let m = |pa| map(pa, PageSize::Size4K, RWD, false);
    t.insert(0, 0x1000, &m(0x8000_1000), Some(slice(true)));
    let hit = t.lookup(0, 0x1010, s(AccessKind::Write)).unwrap();
    assert_eq!(
        hit.host.map(NonNull::as_ptr),
        Some(host.wrapping_add(0x1010))
    );
    // ROM: loads get the host address, stores do not.
    t.insert(0, 0x2000, &m(0x8000_2000), Some(slice(false)));
    let load = t.lookup(0, 0x2fff, s(AccessKind::Read)).unwrap();
    assert_eq!(
        load.host.map(NonNull::as_ptr),
        Some(host.wrapping_add(0x2fff))
    );
    let store = t.lookup(0, 0x2fff, s(AccessKind::Write)).unwrap();
    assert_eq!((store.paddr, store.host), (0x8000_2fff, None));
    // A slice that does not cover the whole page, or lies elsewhere: no host address.
    for pa in [0x8000_3000, 0x7fff_f000] {
        t.insert(0, 0x5000, &m(pa), Some(slice(true)));
        assert_eq!(t.lookup(0, 0x5000, s(AccessKind::Read)).unwrap().host, None);
    }
    let short = HostSlice {
        len: 0x2800,
        ..slice(true)
    };
    t.insert(0, 0x5000, &m(0x8000_2000), Some(short));
    assert_eq!(t.lookup(0, 0x5000, s(AccessKind::Read)).unwrap().host, None);
    let empty = HostSlice {
        host: core::ptr::null_mut(),
        ..slice(true)
    };
    t.insert(0, 0x1000, &m(0x8000_1000), Some(empty));
    assert_eq!(t.lookup(0, 0x1000, s(AccessKind::Read)).unwrap().host, None);
    // A superpage gets a host address only when the slice covers all of it.
    let big = HostSlice {
        len: 0x40_0000,
        ..slice(true)
    };
    let mega = |pa| map(pa, PageSize::Size2M, RWD, false);
    t.insert(0, 0x20_0000, &mega(0x8020_0000), Some(big));
    let hit = t.lookup(0, 0x3f_fff0, s(AccessKind::Write)).unwrap();
    assert_eq!(
        hit.host.map(NonNull::as_ptr),
        Some(host.wrapping_add(0x3f_fff0))
    );
    t.insert(0, 0x20_0000, &mega(0x8020_0000), Some(slice(true)));
    assert_eq!(
        t.lookup(0, 0x20_0000, s(AccessKind::Read)).unwrap().host,
        None
    );
}
