//! `compare_exchange` on guest RAM is a host atomic: contended increments from several threads add up.

use std::sync::Arc;
use std::thread;

use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessSize, GuestMemory, MemFault};
use vm_mem::PhysMemory;

const THREADS: u64 = 4;
const INCREMENTS: u64 = 10_000;

fn ram() -> Arc<PhysMemory> {
    Arc::new(
        PhysMemory::builder()
            .ram("ram", GuestPhysAddr(0x8000_0000), 0x1000)
            .build()
            .unwrap(),
    )
}

/// What an AMOADD compiles to when the engine has only compare-and-swap: a CAS loop.
fn cas_increment(m: &PhysMemory, addr: GuestPhysAddr, size: AccessSize) {
    let mut seen = m.read_sized(addr, size).unwrap();
    loop {
        let next = seen.wrapping_add(1) & size.mask();
        match m.compare_exchange(addr, size, seen, next).unwrap() {
            Ok(_) => return,
            Err(actual) => seen = actual,
        }
    }
}

fn contend(size: AccessSize, addr: GuestPhysAddr) -> u64 {
    let m = ram();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    cas_increment(&m, addr, size);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    m.read_sized(addr, size).unwrap()
}

#[test]
fn contended_u64_increments_are_not_lost() {
    assert_eq!(
        contend(AccessSize::U64, GuestPhysAddr(0x8000_0008)),
        THREADS * INCREMENTS
    );
}

#[test]
fn contended_u32_increments_are_not_lost() {
    assert_eq!(
        contend(AccessSize::U32, GuestPhysAddr(0x8000_0ffc)),
        THREADS * INCREMENTS
    );
}

#[test]
fn contended_u16_increments_are_not_lost() {
    assert_eq!(
        contend(AccessSize::U16, GuestPhysAddr(0x8000_0002)),
        THREADS * INCREMENTS
    );
}

#[test]
fn contended_u8_increments_wrap_exactly() {
    // 40000 mod 256 = 64: every increment landed, and the byte wrapped like a guest `amoadd.b`.
    assert_eq!(
        contend(AccessSize::U8, GuestPhysAddr(0x8000_0001)),
        (THREADS * INCREMENTS) % 256
    );
}

#[test]
fn neighbours_of_a_sub_word_exchange_are_untouched() {
    let m = ram();
    let base = GuestPhysAddr(0x8000_0010);
    m.write_u64(base, 0x1111_2222_3333_4444).unwrap();
    let at = GuestPhysAddr(0x8000_0012);
    assert_eq!(
        m.compare_exchange(at, AccessSize::U16, 0x3333, 0xabcd),
        Ok(Ok(0x3333))
    );
    assert_eq!(
        m.compare_exchange(at, AccessSize::U16, 0x3333, 0),
        Ok(Err(0xabcd))
    );
    assert_eq!(m.read_u64(base), Ok(0x1111_2222_abcd_4444));
    // Only the low `size` bytes of `current` and `new` take part.
    assert_eq!(
        m.compare_exchange(at, AccessSize::U16, 0xffff_abcd, 0x1_0042),
        Ok(Ok(0xabcd))
    );
    assert_eq!(m.read_u64(base), Ok(0x1111_2222_0042_4444));
}

#[test]
fn misaligned_and_unmapped_exchanges_fault() {
    let m = ram();
    for (addr, size) in [
        (0x8000_0004, AccessSize::U64),
        (0x8000_0002, AccessSize::U32),
        (0x8000_0001, AccessSize::U16),
    ] {
        assert_eq!(
            m.compare_exchange(GuestPhysAddr(addr), size, 0, 1),
            Err(MemFault::Misaligned {
                addr: GuestPhysAddr(addr),
                size
            })
        );
    }
    // Misalignment is reported before the missing mapping.
    assert_eq!(
        m.compare_exchange(GuestPhysAddr(0x4), AccessSize::U64, 0, 1),
        Err(MemFault::Misaligned {
            addr: GuestPhysAddr(0x4),
            size: AccessSize::U64
        })
    );
    assert_eq!(
        m.compare_exchange(GuestPhysAddr(0x8000_1000), AccessSize::U64, 0, 1),
        Err(MemFault::Unmapped {
            addr: GuestPhysAddr(0x8000_1000)
        })
    );
}
