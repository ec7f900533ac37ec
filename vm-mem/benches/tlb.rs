//! The MMU's cost: nanoseconds per RISC-V Sv39 translation on a TLB hit and on a miss (a full
//! three-level walk plus the insert), and the TLB's hit rate on a realistic access pattern.
//!
//! ```text
//! cargo bench -p vm-mem --bench tlb
//! ```
//!
//! The access pattern models one Linux process and its kernel: instruction fetches running through
//! 48 code pages with loops, a stack of 8 pages, a heap of 1024 pages where 85% of the accesses go
//! to a hot set of 32 pages, and kernel data in a global gigapage; every 20 000 accesses a context
//! switch changes the ASID (no flush: the entries of the other ASID stay), and every 50 000 an
//! `sfence.vma` of one heap page. The hit rate is printed once before the timings.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessKind, GuestMemory};
use vm_mem::PhysMemory;
use vm_mem::mmu::riscv::{
    PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, WalkRegime, translate, translate_cached,
};
use vm_mem::mmu::{AccessCheck, Tlb};

const RAM: u64 = 0x8000_0000;
const RAM_SIZE: u64 = 64 << 20;
const SV39: u64 = 8 << 60;
const CODE: u64 = 0x1_0000;
const HEAP: u64 = 0x100_0000;
const STACK: u64 = 0x3f_ffff_0000;
const KERNEL: u64 = 0xffff_ffc0_0000_0000;

/// Sv39 page tables in guest RAM, tables allocated from the top of RAM downwards.
struct Tables {
    mem: PhysMemory,
    root: u64,
    next: u64,
}

impl Tables {
    fn new() -> Self {
        let mem = PhysMemory::builder()
            .ram("ram", GuestPhysAddr(RAM), RAM_SIZE)
            .build()
            .expect("memory map");
        let mut t = Self {
            mem,
            root: 0,
            next: RAM + RAM_SIZE,
        };
        t.root = t.table();
        t
    }

    fn table(&mut self) -> u64 {
        self.next -= 0x1000;
        self.next
    }

    fn pte(pa: u64, flags: u64) -> u64 {
        ((pa >> 12) << 10) | flags
    }

    /// Map the 4 KiB page at `va` to `pa`.
    fn map_4k(&mut self, va: u64, pa: u64, flags: u64) {
        let mut table = self.root;
        for level in [2u32, 1] {
            let slot = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
            let pte = self.mem.read_u64(GuestPhysAddr(slot)).expect("RAM");
            table = if pte & PTE_V == 0 {
                let t = self.table();
                self.mem
                    .write_u64(GuestPhysAddr(slot), Self::pte(t, PTE_V))
                    .expect("RAM");
                t
            } else {
                (pte >> 10) << 12
            };
        }
        let slot = table + ((va >> 12) & 0x1ff) * 8;
        self.mem
            .write_u64(GuestPhysAddr(slot), Self::pte(pa, flags))
            .expect("RAM");
    }

    /// Map the global kernel gigapage.
    fn map_kernel(&mut self) {
        let slot = self.root + ((KERNEL >> 30) & 0x1ff) * 8;
        let flags = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | PTE_G;
        self.mem
            .write_u64(GuestPhysAddr(slot), Self::pte(RAM, flags))
            .expect("RAM");
    }
}

/// A process's address space: code, heap, stack and the kernel.
fn address_space() -> Tables {
    let mut t = Tables::new();
    let user = PTE_V | PTE_U | PTE_A | PTE_D;
    let mut pa = RAM + (1 << 20);
    let mut map = |t: &mut Tables, va: u64, flags: u64| {
        t.map_4k(va, pa, flags);
        pa += 0x1000;
    };
    for i in 0..48 {
        map(&mut t, CODE + i * 0x1000, user | PTE_R | PTE_X);
    }
    for i in 0..1024 {
        map(&mut t, HEAP + i * 0x1000, user | PTE_R | PTE_W);
    }
    for i in 0..8 {
        map(&mut t, STACK + i * 0x1000, user | PTE_R | PTE_W);
    }
    t.map_kernel();
    t
}

fn regime(root: u64, asid: u64, user: bool) -> WalkRegime {
    WalkRegime {
        satp: SV39 | (asid << 44) | (root >> 12),
        user,
        sum: false,
        mxr: false,
    }
}

/// xorshift64: deterministic pseudo-random numbers for the access pattern.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs the realistic pattern for `n` accesses and returns the TLB's hit rate.
fn realistic_hit_rate(t: &Tables, n: u64) -> f64 {
    let mut tlb = Tlb::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut pc = CODE;
    let mut asid = 1;
    for i in 0..n {
        if i % 20_000 == 19_999 {
            asid = asid % 4 + 1;
        }
        if i % 50_000 == 49_999 {
            tlb.flush_addr_asid(HEAP + (rng.next() % 1024) * 0x1000, asid as u16);
        }
        let r = rng.next();
        let (va, kind, user) = match r % 16 {
            // Fetch: straight-line code, loops back now and then, calls elsewhere rarely.
            0..=5 => {
                pc = match (r >> 8) % 64 {
                    0 => CODE + ((r >> 16) % (48 * 1024)) * 4,
                    1..=6 => pc.saturating_sub(0x80).max(CODE),
                    _ => (pc + 4).min(CODE + 48 * 0x1000 - 4),
                };
                (pc, AccessKind::Fetch, true)
            }
            6..=8 => (STACK + (r >> 8) % (8 * 0x1000), AccessKind::Write, true),
            9..=13 => {
                let page = if (r >> 8) % 100 < 85 {
                    (r >> 16) % 32
                } else {
                    (r >> 16) % 1024
                };
                let kind = if (r >> 40).is_multiple_of(3) {
                    AccessKind::Write
                } else {
                    AccessKind::Read
                };
                (HEAP + page * 0x1000 + (r >> 28) % 0x1000, kind, true)
            }
            // The kernel (system calls, interrupts): its global data.
            _ => (KERNEL + (r >> 8) % (16 << 20), AccessKind::Read, false),
        };
        let reg = regime(t.root, asid, user);
        let pa = translate_cached(&mut tlb, &t.mem, va, kind, &reg);
        black_box(pa.expect("mapped"));
    }
    tlb.stats().hit_rate()
}

fn benches(c: &mut Criterion) {
    let t = address_space();
    let s = regime(t.root, 1, true);
    let rate = realistic_hit_rate(&t, 2_000_000);
    println!(
        "tlb: hit rate on the realistic pattern (2 000 000 accesses): {:.2}%",
        rate * 100.0
    );

    // Hit: the page is cached.
    let mut tlb = Tlb::default();
    let va = HEAP + 0x5008;
    translate_cached(&mut tlb, &t.mem, va, AccessKind::Read, &s).expect("mapped");
    c.bench_function("sv39 translate, TLB hit", |b| {
        b.iter(|| translate_cached(&mut tlb, &t.mem, black_box(va), AccessKind::Read, &s))
    });
    let check = AccessCheck {
        user: true,
        ..AccessCheck::supervisor(AccessKind::Read)
    };
    let mut raw = Tlb::default();
    raw.insert(
        1,
        va,
        &translate(&t.mem, va, AccessKind::Read, &s)
            .expect("mapped")
            .mapping(),
        t.mem.host_slice(GuestPhysAddr(RAM)),
    );
    c.bench_function("Tlb::lookup hit with host address", |b| {
        b.iter(|| raw.lookup(1, black_box(va), check))
    });

    // Miss: a one-entry TLB and two pages in turn, so every access walks all three levels.
    let mut tiny = Tlb::new(1, 1);
    let pages = [HEAP + 0x1000, HEAP + 0x2_0000];
    let mut i = 0;
    c.bench_function("sv39 translate, TLB miss (3-level walk + insert)", |b| {
        b.iter(|| {
            i ^= 1;
            translate_cached(&mut tiny, &t.mem, black_box(pages[i]), AccessKind::Read, &s)
        })
    });
    c.bench_function("sv39 walk alone (no TLB)", |b| {
        b.iter(|| translate(&t.mem, black_box(va), AccessKind::Read, &s))
    });
}

criterion_group!(tlb, benches);
criterion_main!(tlb);
