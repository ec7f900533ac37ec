//! Interpreter memory behaviour against a toy guest: loads and stores (fast and slow paths,
//! misaligned, page-crossing), MMIO, load-reserved/store-conditional, atomics and self-modifying code.
#![cfg(feature = "interpreter")]

mod toy;

use toy::*;
use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, ExecutionEngine, Exit, FaultKind, RunLimit};
use vm_core::ir::*;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};

fn memory_ops(fast: bool) {
    let mut m = Machine::new(fast);
    let u = MemOp::unsigned;
    let s = MemOp::signed;
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[store(imm(0x80ff_7f01), 0x2000, u(AccessSize::U32))],
            &[load(r(1), 0x2003, s(AccessSize::U8))],
            &[load(r(2), 0x2002, u(AccessSize::U16))],
            &[load(r(3), 0x2002, s(AccessSize::U16))],
            &[load(r(4), 0x2001, u(AccessSize::U32))],
            // Misaligned store and load across the page boundary 0x3000.
            &[store(
                imm(0x1122_3344_5566_7788),
                0x2ffd,
                u(AccessSize::U64),
            )],
            &[load(r(5), 0x2ffd, u(AccessSize::U64))],
            &[load(r(6), 0x3000, s(AccessSize::U32))],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(m.cpu.slots[1], 0xffff_ffff_ffff_ff80);
    assert_eq!(m.cpu.slots[2], 0x80ff);
    assert_eq!(m.cpu.slots[3], 0xffff_ffff_ffff_80ff);
    assert_eq!(m.cpu.slots[4], 0x0080_ff7f);
    assert_eq!(m.cpu.slots[5], 0x1122_3344_5566_7788);
    assert_eq!(m.cpu.slots[6], 0x2233_4455);
    assert_eq!(m.ram.read_u8(GuestPhysAddr(0x2fff)).unwrap(), 0x66);
    assert!(m.cpu.raised.is_empty());
    assert_eq!(m.eng.stats().insns, 9);

    // An aligned access that is not: a misaligned fault at its address.
    m.cpu.block(blk(
        0x300,
        0,
        &[&[load(r(7), 0x2002, u(AccessSize::U32).must_align())]],
        HALT,
    ));
    m.run_from(0x300, RunLimit::UNLIMITED).unwrap();
    assert_eq!(
        m.cpu.raised,
        vec![(
            Exception::Memory {
                kind: AccessKind::Read,
                fault: FaultKind::Misaligned,
                vaddr: 0x2002
            },
            0x300
        )]
    );
}

#[test]
fn loads_and_stores_fast_path() {
    memory_ops(true);
}

#[test]
fn loads_and_stores_slow_path() {
    memory_ops(false);
}

#[test]
fn mmio_goes_to_the_bus() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[store(
                imm(0xdead_beef_cafe),
                MMIO + 0x10,
                MemOp::unsigned(AccessSize::U32),
            )],
            &[load(r(1), MMIO + 0x20, MemOp::signed(AccessSize::U16))],
            &[load(r(2), MMIO + 0x200, MemOp::unsigned(AccessSize::U8))],
        ],
        HALT,
    ));
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    assert_eq!(
        *m.bus.log.lock().unwrap(),
        vec![
            Access::Write(MMIO + 0x10, AccessSize::U32, 0xbeef_cafe),
            Access::Read(MMIO + 0x20, AccessSize::U16),
        ]
    );
    assert_eq!(m.cpu.slots[1], 0x20);
    // Nothing at MMIO + 0x200: an access fault at the load, r2 untouched.
    assert_eq!(
        m.cpu.raised,
        vec![(
            Exception::Memory {
                kind: AccessKind::Read,
                fault: FaultKind::Access,
                vaddr: MMIO + 0x200
            },
            0x108
        )]
    );
}

fn lr(d: Reg, addr: u64) -> Op {
    Op::LoadReserved {
        dst: d.into(),
        addr: imm(addr),
        mem: MemOp::signed(AccessSize::U32).must_align(),
        order: MemOrder::Acquire,
    }
}
fn sc(d: Reg, addr: u64, v: u64) -> Op {
    Op::StoreConditional {
        dst: d.into(),
        addr: imm(addr),
        src: imm(v),
        mem: MemOp::unsigned(AccessSize::U32).must_align(),
        order: MemOrder::Release,
    }
}

#[test]
fn load_reserved_store_conditional() {
    let mut m = Machine::new(true);
    m.ram.write_u32(GuestPhysAddr(0x2000), 0x8000_0001).unwrap();
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[lr(r(1), 0x2000)],
            &[sc(r(2), 0x2000, 7)],
            // Cleared by the SC: a second SC fails.
            &[sc(r(3), 0x2000, 8)],
            // The value changed under the reservation: fails.
            &[lr(r(4), 0x2000)],
            &[store(imm(9), 0x2000, MemOp::unsigned(AccessSize::U32))],
            &[sc(r(5), 0x2000, 10)],
            // A reservation elsewhere: fails.
            &[lr(r(6), 0x2004)],
            &[sc(r(7), 0x2000, 11)],
        ],
        HALT,
    ));
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    assert_eq!(m.cpu.slots[1], 0xffff_ffff_8000_0001);
    assert_eq!(&m.cpu.slots[2..8], &[0, 1, 7, 1, 0, 1]);
    assert_eq!(m.ram.read_u32(GuestPhysAddr(0x2000)).unwrap(), 9);
    assert!(m.cpu.raised.is_empty());
}

#[test]
fn atomic_read_modify_write_and_cmpxchg() {
    let mut m = Machine::new(true);
    m.ram.write_u32(GuestPhysAddr(0x2100), 0xffff_fff0).unwrap();
    let w = MemOp::signed(AccessSize::U32).must_align();
    let amo = |op, d: Reg, v| Op::AtomicRmw {
        op,
        dst: d.into(),
        addr: imm(0x2100),
        src: imm(v),
        mem: w,
        order: MemOrder::SeqCst,
    };
    let cas = |d: Reg, e, n, addr| Op::CmpXchg {
        dst: d.into(),
        addr: imm(addr),
        expected: imm(e),
        new: imm(n),
        mem: MemOp::unsigned(AccessSize::U32),
        order: MemOrder::AcqRel,
    };
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[amo(RmwOp::Add, r(1), 0x20)],            // -16 + 32 = 16
            &[amo(RmwOp::MaxS, r(2), (-5i64) as u64)], // max(16, -5) = 16
            &[amo(RmwOp::MinS, r(3), (-5i64) as u64)], // -5
            &[amo(RmwOp::MaxU, r(4), 3)],              // 0xfffffffb stays
            &[amo(RmwOp::Swap, r(5), 0x1234)],
            &[cas(r(6), 0x1234, 0x5678, 0x2100)],
            &[cas(r(7), 0x1234, 0x9999, 0x2100)],
            &[cas(r(8), 0, 0, 0x2102)],
        ],
        HALT,
    ));
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    assert_eq!(m.cpu.slots[1], 0xffff_ffff_ffff_fff0);
    assert_eq!(
        &m.cpu.slots[2..8],
        &[16, 16, (-5i64) as u64, (-5i64) as u64, 0x1234, 0x5678]
    );
    assert_eq!(m.ram.read_u32(GuestPhysAddr(0x2100)).unwrap(), 0x5678);
    assert_eq!(
        m.cpu.raised,
        vec![(
            Exception::Memory {
                kind: AccessKind::Atomic,
                fault: FaultKind::Misaligned,
                vaddr: 0x2102
            },
            0x11c
        )]
    );
}

#[test]
fn self_modifying_code_is_invalidated() {
    for fast in [true, false] {
        let mut m = Machine::new(fast);
        m.ram.write_u32(GuestPhysAddr(0x400), 0x1111).unwrap();
        // The "decoder" turns the code word at 0x400 into `r1 = word`.
        m.cpu.add(0x400, |word| {
            blk(0x400, 0, &[&[mov(r(1), u64::from(word))]], HALT)
        });
        m.cpu.block(blk(
            0x500,
            0,
            &[&[store(imm(0x2222), 0x400, MemOp::unsigned(AccessSize::U32))]],
            Terminator::Jump { target: 0x400 },
        ));
        m.run_from(0x400, RunLimit::UNLIMITED).unwrap();
        assert_eq!(m.cpu.slots[1], 0x1111);
        m.run_from(0x500, RunLimit::UNLIMITED).unwrap();
        assert_eq!(m.cpu.slots[1], 0x2222, "fast = {fast}");
        // Invalidation is per page: the storing block (same page) goes too.
        assert_eq!(m.eng.interp_stats().blocks_invalidated, 2);

        // A write the engine does not see (a device, another vCPU) needs `invalidate`.
        m.ram.write_u32(GuestPhysAddr(0x400), 0x3333).unwrap();
        m.run_from(0x400, RunLimit::UNLIMITED).unwrap();
        assert_eq!(m.cpu.slots[1], 0x2222, "still the cached block");
        m.eng.invalidate(GuestPhysAddr(0x3fc), 8);
        m.run_from(0x400, RunLimit::UNLIMITED).unwrap();
        assert_eq!(m.cpu.slots[1], 0x3333);
    }
}

#[test]
fn blocks_may_cross_pages() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0xff8,
        0,
        &[&[mov(r(1), 1)], &[mov(r(2), 2)], &[mov(r(3), 3)]],
        HALT,
    ));
    assert_eq!(m.run_from(0xff8, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(&m.cpu.slots[1..4], &[1, 2, 3]);
    // Cached: a second run decodes nothing new and still checks the second page.
    m.run_from(0xff8, RunLimit::UNLIMITED).unwrap();
    assert_eq!(m.eng.stats().blocks_decoded, 2);
    assert_eq!(m.eng.stats().insns, 8);
}
