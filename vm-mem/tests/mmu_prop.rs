//! Property test: TLB-backed RISC-V translation against fresh page-table walks, over random Sv39
//! page tables (three address spaces sharing tables, global bits, superpages, invalid and reserved
//! PTEs), random PTE changes and random sequences of the four `sfence.vma` forms.
//!
//! The reference is the architectural rule: a translation may come from the TLB only if a walk
//! produced it after the last flush that covers it. The test keeps that set of allowed cached
//! translations (a model TLB without capacity limits) and checks at every access that
//!
//! - a miss (the TLB's miss counter grew) returns exactly what a fresh walk returns;
//! - a hit returns the physical address of an allowed cached translation that permits the access,
//!   so after a flush that covers an address, its translation is a fresh walk (or a global entry);
//! - while no PTE changed since the last full flush, a hit on an entry walked in the same address
//!   space equals a fresh walk.

use proptest::prelude::*;
use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};
use vm_mem::PhysMemory;
use vm_mem::mmu::riscv::{WalkRegime, translate, translate_cached};
use vm_mem::mmu::{AccessCheck, Perms, Tlb, TlbStats};

const RAM: u64 = 0x8000_0000;
/// Page-table pages: roots of ASIDs 1 to 3 first, then intermediate tables.
const TABLES: u64 = 8;
/// The table indices the test writes and the VAs use.
const INDICES: [u64; 6] = [0, 1, 2, 3, 510, 511];
const SV39: u64 = 8 << 60;

fn table(i: u64) -> u64 {
    RAM + i * 0x1000
}

/// A virtual address from per-level indices (sign-extended from bit 38).
fn va(i2: u64, i1: u64, i0: u64, offset: u64) -> u64 {
    let v = (i2 << 30) | (i1 << 21) | (i0 << 12) | (offset & 0xfff);
    ((v << 25) as i64 >> 25) as u64
}

/// A PTE: mostly valid leaves (aligned for any level up to 1 GiB, or 2 MiB, or only 4 KiB) and
/// pointers to intermediate tables, sometimes invalid, and rarely reserved encodings.
fn pte_value() -> impl Strategy<Value = u64> {
    let targets = vec![0xc000_0000u64, 0x1_0000_0000, 0x8020_0000, 0x8040_1000];
    let kinds = vec![0b0010u64, 0b0110, 0b1010, 0b1110, 0b1110, 0b1110, 0b1000];
    let leaf = (
        prop::sample::select(targets),
        prop::sample::select(kinds),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(pa, rwx, user, global, accessed, dirty)| {
            ((pa >> 12) << 10)
                | rwx
                | 1
                | if user { 1 << 4 } else { 0 }
                | if global { 1 << 5 } else { 0 }
                | if accessed { 1 << 6 } else { 0 }
                | if dirty { 1 << 7 } else { 0 }
        });
    let pointer = (3..TABLES, prop::bool::weighted(0.2))
        .prop_map(|(t, g)| ((table(t) >> 12) << 10) | 1 | if g { 1 << 5 } else { 0 });
    prop_oneof![
        1 => Just(0u64),
        // W without R, or a reserved bit.
        1 => prop::sample::select(vec![0xc000_0000u64 >> 2 | 0b101, (0xc000_0000 >> 2) | 0b11 | 1 << 60]),
        6 => pointer,
        14 => leaf,
    ]
}

#[derive(Clone, Debug)]
struct Access {
    asid: u16,
    vaddr: u64,
    kind: AccessKind,
    user: bool,
    sum: bool,
    mxr: bool,
}

#[derive(Clone, Debug)]
enum Op {
    SetPte { table: u64, index: u64, value: u64 },
    Translate(Access),
    FlushAll,
    FlushAsid(u16),
    FlushAddr(u64),
    FlushAddrAsid(u64, u16),
}

/// The page of a VA the tables can reach.
fn page() -> impl Strategy<Value = u64> {
    let idx = prop::sample::select(INDICES.to_vec());
    (idx.clone(), idx.clone(), idx).prop_map(|(a, b, c)| va(a, b, c, 0))
}

/// An address in one of the `hot` pages (a case's working set, so that accesses repeat).
fn vaddr(hot: &[u64]) -> impl Strategy<Value = u64> + use<> {
    (prop::sample::select(hot.to_vec()), 0u64..0x1000).prop_map(|(p, o)| p | o)
}

fn op(hot: &[u64]) -> impl Strategy<Value = Op> + use<> {
    let kind = prop::sample::select(vec![
        AccessKind::Read,
        AccessKind::Write,
        AccessKind::Fetch,
        AccessKind::Atomic,
    ]);
    let access = (
        1u16..4,
        vaddr(hot),
        kind,
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop::bool::weighted(0.25),
    )
        .prop_map(|(asid, vaddr, kind, user, sum, mxr)| Access {
            asid,
            vaddr,
            kind,
            user,
            sum,
            mxr,
        });
    prop_oneof![
        2 => (0..TABLES, prop::sample::select(INDICES.to_vec()), pte_value())
            .prop_map(|(table, index, value)| Op::SetPte { table, index, value }),
        40 => access.prop_map(Op::Translate),
        1 => Just(Op::FlushAll),
        1 => (1u16..5).prop_map(Op::FlushAsid),
        1 => vaddr(hot).prop_map(Op::FlushAddr),
        1 => (vaddr(hot), 1u16..5).prop_map(|(v, a)| Op::FlushAddrAsid(v, a)),
    ]
}

/// One translation the TLB may still return: a whole page.
#[derive(Clone, Debug)]
struct Cached {
    asid: u16,
    global: bool,
    /// The page's first virtual page number.
    vpn: u64,
    shift: u32,
    /// The page's physical address.
    base: u64,
    perms: Perms,
}

impl Cached {
    fn covers(&self, vaddr: u64) -> bool {
        self.vpn >> (self.shift - 12) == vaddr >> self.shift
    }
}

fn regime(a: &Access) -> WalkRegime {
    WalkRegime {
        satp: SV39 | (u64::from(a.asid) << 44) | (table(u64::from(a.asid) - 1) >> 12),
        user: a.user,
        sum: a.sum,
        mxr: a.mxr,
    }
}

/// Runs `ops` after writing the `initial` PTEs; returns the TLB's counters.
fn run(initial: &[u64], ops: &[Op], sets: usize, ways: usize) -> TlbStats {
    let mem = PhysMemory::builder()
        .ram("ram", GuestPhysAddr(RAM), 0x10_0000)
        .build()
        .expect("memory map");
    let set = |t: u64, i: u64, v: u64| {
        mem.write_sized(GuestPhysAddr(table(t) + i * 8), AccessSize::U64, v)
            .expect("page table in RAM");
    };
    // The initial PTEs fill the tables' slots in order.
    let slots = (0..TABLES).flat_map(|t| INDICES.map(|i| (t, i)));
    for ((t, i), &v) in slots.zip(initial) {
        set(t, i, v);
    }
    let mut tlb = Tlb::new(sets, ways);
    let mut model: Vec<Cached> = Vec::new();
    let mut changed_since_full_flush = false;
    for op in ops {
        match *op {
            Op::SetPte {
                table,
                index,
                value,
            } => {
                set(table, index, value);
                changed_since_full_flush = true;
            }
            Op::FlushAll => {
                tlb.flush_all();
                model.clear();
                changed_since_full_flush = false;
            }
            Op::FlushAsid(asid) => {
                tlb.flush_asid(asid);
                model.retain(|c| c.global || c.asid != asid);
            }
            Op::FlushAddr(v) => {
                tlb.flush_addr(v);
                model.retain(|c| !c.covers(v));
            }
            Op::FlushAddrAsid(v, asid) => {
                tlb.flush_addr_asid(v, asid);
                model.retain(|c| c.global || c.asid != asid || !c.covers(v));
            }
            Op::Translate(ref a) => {
                let r = regime(a);
                let fresh = translate(&mem, a.vaddr, a.kind, &r);
                let misses = tlb.stats().misses;
                let got = translate_cached(&mut tlb, &mem, a.vaddr, a.kind, &r);
                let fresh_pa = fresh.map(|t| t.paddr);
                if tlb.stats().misses > misses {
                    assert_eq!(got, fresh_pa, "a miss walks: {a:x?}");
                    if let Ok(t) = fresh {
                        let m = t.mapping();
                        // The TLB replaced whatever the new entry's lookups would find.
                        model.retain(|c| {
                            !(c.covers(a.vaddr) && (c.asid == a.asid || c.global || m.global))
                        });
                        model.push(Cached {
                            asid: a.asid,
                            global: m.global,
                            vpn: (a.vaddr & !(m.size.bytes() - 1)) >> 12,
                            shift: m.size.shift(),
                            base: m.page_paddr,
                            perms: m.perms,
                        });
                    }
                    continue;
                }
                let check = AccessCheck {
                    kind: a.kind,
                    user: a.user,
                    sum: a.sum,
                    mxr: a.mxr,
                };
                let allowed: Vec<&Cached> = model
                    .iter()
                    .filter(|c| {
                        c.covers(a.vaddr)
                            && (c.global || c.asid == a.asid)
                            && check.allows(c.perms)
                            && got == Ok(c.base + (a.vaddr & ((1 << c.shift) - 1)))
                    })
                    .collect();
                assert!(
                    !allowed.is_empty(),
                    "hit {got:x?} for {a:x?} is no allowed cached translation: {model:x?}"
                );
                // Unchanged tables since the last full flush: a hit walked in this address space
                // equals a fresh walk. (A global entry walked in another one answers too: software
                // keeps global mappings identical everywhere, which random tables do not.)
                if !changed_since_full_flush && allowed.iter().any(|c| c.asid == a.asid) {
                    assert_eq!(
                        got, fresh_pa,
                        "after a flush, {a:x?} must equal a fresh walk"
                    );
                }
            }
        }
    }
    let s = tlb.stats();
    let translations = ops.iter().filter(|o| matches!(o, Op::Translate(_))).count() as u64;
    // Every translation was counted once (all the test's addresses are canonical).
    assert_eq!(s.hits + s.misses, translations);
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tlb_translation_equals_fresh_walk_under_flush_semantics(
        initial in prop::collection::vec(pte_value(), TABLES as usize * INDICES.len()),
        ops in prop::collection::vec(page(), 1..8)
            .prop_flat_map(|hot| prop::collection::vec(op(&hot), 1..150)),
        sets in prop::sample::select(vec![1usize, 4, 64]),
        ways in prop::sample::select(vec![1usize, 2, 4]),
    ) {
        let _ = run(&initial, &ops, sets, ways);
    }
}

/// A hand-written sequence: the kernel's global mapping survives ASID flushes and a user mapping
/// changes only after its flush.
#[test]
fn scripted_sequence() {
    let leaf = |pa: u64, flags: u64| ((pa >> 12) << 10) | flags | 1;
    let ptr = |t: u64| ((table(t) >> 12) << 10) | 1;
    let mut initial = vec![0; TABLES as usize * INDICES.len()];
    for (t, i, v) in [
        // ASID 1 and 2 share the kernel's 1 GiB global page at the top of the address space.
        (0, 5, leaf(0xc000_0000, 0b1110_0110)),
        (1, 5, leaf(0xc000_0000, 0b1110_0110)),
        // ASID 1: VA 0 -> table 3 -> table 4 -> 4 KiB page.
        (0, 0, ptr(3)),
        (3, 0, ptr(4)),
        (4, 0, leaf(0x8020_1000, 0b1101_0110)),
    ] {
        // `i` indexes INDICES: 5 is table index 511.
        initial[t * INDICES.len() + i] = v;
    }
    let access = |asid, vaddr, kind| {
        Op::Translate(Access {
            asid,
            vaddr,
            kind,
            user: false,
            sum: true,
            mxr: false,
        })
    };
    let ops = [
        access(1, va(511, 0, 0, 8), AccessKind::Write),
        access(2, va(511, 0, 0, 8), AccessKind::Read),
        access(1, va(0, 0, 0, 0x10), AccessKind::Write),
        Op::SetPte {
            table: 4,
            index: 0,
            value: leaf(0x8040_0000, 0b1101_0110),
        },
        access(1, va(0, 0, 0, 0x10), AccessKind::Read),
        Op::FlushAsid(1),
        access(1, va(0, 0, 0, 0x10), AccessKind::Read),
        access(1, va(511, 0, 0, 8), AccessKind::Read),
        Op::FlushAddrAsid(va(511, 0, 0, 0), 2),
        access(2, va(511, 0, 0, 8), AccessKind::Read),
        Op::FlushAddr(va(511, 3, 2, 0)),
        access(2, va(511, 0, 0, 8), AccessKind::Read),
    ];
    let s = run(&initial, &ops, 64, 4);
    // Hits: ASID 2 on ASID 1's global kernel entry, the stale user read, the kernel page for
    // ASID 1 after its ASID flush and for ASID 2 after its address-and-ASID flush (global entries
    // stay). Misses: the two first walks, the user page after its flush, and the kernel page
    // after a flush of another address inside the same gigapage.
    assert_eq!((s.hits, s.misses, s.flushes), (4, 4, 3));
}
