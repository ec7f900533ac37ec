//! Interpreter behaviour against a toy guest: exact results for arithmetic, control flow, fusion,
//! precise faults, helpers, floating point, malformed blocks and the run-loop exits.
#![cfg(feature = "interpreter")]

mod toy;

use std::sync::atomic::Ordering;

use toy::*;
use vm_core::exec::{Exception, ExecutionEngine, Exit, FaultKind, RunLimit};
use vm_core::ir::*;
use vm_core::mem::{AccessKind, AccessSize};
use vm_engine::Error;

#[test]
fn arithmetic_block() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        1,
        &[
            &[mov(r(1), 5)],
            &[bin(BinOp::Mul, Ty::I64, r(2), r(1), imm(7))],
            &[bin(BinOp::Sub, Ty::I32, r(3), imm(0), imm(1))],
            &[Op::Ext {
                dst: r(4).into(),
                src: r(3).into(),
                from: Ty::I32,
                signed: true,
            }],
            &[
                bin(BinOp::DivS, Ty::I64, t(0), r(2), imm(0)),
                bin(BinOp::Xor, Ty::I64, r(5), t(0), imm(0xff)),
            ],
            &[Op::Un {
                op: UnOp::Clz,
                ty: Ty::I32,
                dst: r(6).into(),
                a: r(1).into(),
            }],
            &[Op::Select {
                dst: r(7).into(),
                cond: r(1).into(),
                a: imm(11),
                b: imm(22),
            }],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(
        &m.cpu.slots[1..8],
        &[5, 35, 0xffff_ffff, u64::MAX, !0xffu64, 29, 11]
    );
    assert_eq!(m.cpu.pc, TRAP_VEC);
    let s = m.eng.stats();
    assert_eq!(
        (s.insns, s.blocks, s.blocks_decoded, s.exceptions),
        (8, 2, 2, 0)
    );
}

fn sum_loop(m: &mut Machine, fused: bool) {
    m.cpu.block(blk(
        0x100,
        0,
        &[&[mov(r(1), 0), mov(r(2), 1)]],
        Terminator::Jump { target: 0x200 },
    ));
    let c: Place = if fused { t(0).into() } else { r(3).into() };
    m.cpu.block(blk(
        0x200,
        1,
        &[
            &[bin(BinOp::Add, Ty::I64, r(1), r(1), r(2))],
            &[bin(BinOp::Add, Ty::I64, r(2), r(2), imm(1))],
            &[Op::Cmp {
                cond: Cond::LeU,
                ty: Ty::I64,
                dst: c,
                a: r(2).into(),
                b: imm(100),
            }],
        ],
        Terminator::Branch {
            cond: c.into(),
            taken: 0x200,
            not_taken: TRAP_VEC,
        },
    ));
}

#[test]
fn loop_sums_1_to_100_with_and_without_fusion() {
    for fused in [true, false] {
        let mut m = Machine::new(true);
        sum_loop(&mut m, fused);
        assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
        assert_eq!(m.cpu.slots[1], 5050);
        assert_eq!(m.cpu.slots[2], 101);
        let s = m.eng.interp_stats();
        assert_eq!(s.engine.blocks_decoded, 3);
        assert_eq!(s.engine.insns, 1 + 300 + 1);
        assert_eq!(s.fused_ops, if fused { 100 } else { 0 });
        assert_eq!(s.fused_compiled, u64::from(fused));
    }
}

#[test]
fn faults_are_precise() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x300,
        0,
        &[
            &[mov(r(1), 1)],
            &[
                mov(r(2), 2),
                store(r(1), FAULT_PAGE + 8, MemOp::unsigned(AccessSize::U64)),
                mov(r(3), 3),
            ],
            &[mov(r(4), 4)],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x300, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(&m.cpu.slots[1..5], &[1, 2, 0, 0]);
    assert_eq!(
        m.cpu.raised,
        vec![(
            Exception::Memory {
                kind: AccessKind::Write,
                fault: FaultKind::Page,
                vaddr: FAULT_PAGE + 8
            },
            0x304
        )]
    );
    let s = m.eng.stats();
    assert_eq!(
        (s.insns, s.exceptions),
        (2, 1),
        "one instruction before the fault, then the wait"
    );

    // TrapIf and a failing helper are precise too.
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x400,
        0,
        &[
            &[mov(r(1), 9)],
            &[Op::TrapIf {
                cond: imm(0),
                cause: TrapCause::Breakpoint,
                tval: 0,
            }],
            &[Op::Helper {
                id: HelperId(2),
                dst: Some(r(2).into()),
                args: [imm(0), imm(0), imm(42)],
            }],
            &[mov(r(3), 3)],
        ],
        HALT,
    ));
    m.run_from(0x400, RunLimit::UNLIMITED).unwrap();
    assert_eq!(&m.cpu.slots[1..4], &[9, 0, 0]);
    assert_eq!(
        m.cpu.raised,
        vec![(
            Exception::Trap {
                cause: TrapCause::Arch(5),
                tval: 42
            },
            0x408
        )]
    );
}

#[test]
fn helpers_see_and_change_slots() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[mov(r(1), 5)],
            &[Op::Helper {
                id: HelperId(1),
                dst: Some(r(2).into()),
                args: [r(1).into(), imm(10), imm(0)],
            }],
            &[bin(BinOp::Add, Ty::I64, r(3), r(15), imm(1))],
        ],
        HALT,
    ));
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    assert_eq!(
        (m.cpu.slots[2], m.cpu.slots[15], m.cpu.slots[3]),
        (15, 0x75, 0x76)
    );
}

#[test]
fn instruction_fence_drops_the_cache() {
    let mut m = Machine::new(true);
    m.cpu
        .block(blk(0x100, 0, &[&[Op::Fence(FenceKind::Instruction)]], HALT));
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    // Both blocks decoded twice: the fence dropped them.
    assert_eq!(m.eng.stats().blocks_decoded, 4);
    assert_eq!(m.eng.interp_stats().cached_blocks, 1);
}

#[test]
fn instruction_limit_stops_at_block_boundaries() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[bin(BinOp::Add, Ty::I64, r(1), r(1), imm(1))],
            &[bin(BinOp::Add, Ty::I64, r(1), r(1), imm(1))],
            &[bin(BinOp::Add, Ty::I64, r(1), r(1), imm(1))],
        ],
        Terminator::Jump { target: 0x100 },
    ));
    assert_eq!(
        m.run_from(0x100, RunLimit { max_insns: 10 }),
        Ok(Exit::LimitReached)
    );
    assert_eq!(m.cpu.slots[1], 12);
    assert_eq!(m.cpu.pc, 0x100);
    assert_eq!(m.run(RunLimit { max_insns: 0 }), Ok(Exit::LimitReached));
    assert_eq!(m.run(RunLimit { max_insns: 3 }), Ok(Exit::LimitReached));
    assert_eq!(m.cpu.slots[1], 15);
    assert_eq!(m.eng.stats().insns, 15);
}

#[test]
fn stop_flag_stops_and_is_consumed() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[&[mov(r(1), 1)]],
        Terminator::Jump { target: 0x100 },
    ));
    let stop = m.eng.stop_handle();
    stop.store(true, Ordering::SeqCst);
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Stopped));
    assert_eq!(m.cpu.slots[1], 0);
    assert!(!stop.load(Ordering::SeqCst));
    assert_eq!(m.run(RunLimit { max_insns: 5 }), Ok(Exit::LimitReached));
}

#[test]
fn wait_and_interrupts() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[&[mov(r(1), 1)]],
        Terminator::Wait { next: 0x104 },
    ));
    m.cpu.block(blk(0x104, 0, &[&[mov(r(2), 2)]], HALT));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!((m.cpu.pc, m.cpu.slots[2]), (0x104, 0));
    // With a wake-up pending the wait falls through.
    m.cpu.wake = true;
    assert_eq!(
        m.run_from(0x100, RunLimit { max_insns: 2 }),
        Ok(Exit::LimitReached)
    );
    assert_eq!((m.cpu.pc, m.cpu.slots[2]), (TRAP_VEC, 2));
    // An interrupt is taken at the block boundary.
    m.cpu.wake = false;
    m.cpu.irq = true;
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(m.cpu.pc, IRQ_VEC);
    assert_eq!(m.eng.stats().interrupts, 1);
}

#[test]
fn malformed_blocks_are_host_errors() {
    let mut m = Machine::new(true);
    m.cpu.add(0x100, |_| Block {
        pc: 0x100,
        guest_len: 4,
        insn_count: 1,
        num_temps: 0,
        ops: vec![Op::Insn { pc: 0x100, len: 4 }, mov(r(1), 1)],
        term: Terminator::JumpIndirect {
            target: Value::Temp(Temp(3)),
        },
    });
    assert!(matches!(
        m.run_from(0x100, RunLimit::UNLIMITED),
        Err(Error::InvalidBlock {
            pc: 0x100,
            source: IrError::TempOutOfRange { temp: 3, .. }
        })
    ));
    m.cpu.block(blk(0x200, 0, &[&[mov(r(40), 1)]], HALT));
    assert_eq!(
        m.run_from(0x200, RunLimit::UNLIMITED),
        Err(Error::RegisterOutOfRange {
            pc: 0x200,
            reg: 40,
            slots: 16
        })
    );
}

#[test]
fn fetch_faults_are_raised() {
    let mut m = Machine::new(true);
    // Nothing decodes at 0x600 (the toy raises illegal instruction) and nothing is mapped at FAULT_PAGE.
    m.run_from(0x600, RunLimit::UNLIMITED).unwrap();
    m.run_from(FAULT_PAGE, RunLimit::UNLIMITED).unwrap();
    assert_eq!(
        m.cpu.raised,
        vec![
            (Exception::illegal(0), 0x600),
            (
                Exception::Memory {
                    kind: AccessKind::Fetch,
                    fault: FaultKind::Page,
                    vaddr: FAULT_PAGE
                },
                FAULT_PAGE
            )
        ]
    );
}

#[test]
fn floating_point_through_the_interpreter() {
    let mut m = Machine::new(true);
    let env = FpEnv {
        nan: NanMode::Canonical,
        box_f32: true,
        flags: Some(r(9)),
    };
    let one = 1.0f64.to_bits();
    let three = 3.0f64.to_bits();
    let div = |d: Reg, rm| Op::FBin {
        op: FBinOp::Div,
        ty: FloatTy::F64,
        dst: d.into(),
        a: imm(one),
        b: imm(three),
        rm,
        env,
    };
    m.cpu.slots[8] = RoundingMode::Up as u64;
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[div(r(1), Rounding::Static(RoundingMode::NearestEven))],
            &[div(r(2), Rounding::Dynamic(r(8)))],
            &[Op::FCmp {
                op: FCmpOp::Lt,
                signaling: false,
                ty: FloatTy::F64,
                dst: r(3).into(),
                a: r(1).into(),
                b: r(2).into(),
                env,
            }],
        ],
        HALT,
    ));
    m.run_from(0x100, RunLimit::UNLIMITED).unwrap();
    assert_eq!(m.cpu.slots[1], 0x3fd5_5555_5555_5555);
    assert_eq!(m.cpu.slots[2], 0x3fd5_5555_5555_5556);
    assert_eq!(m.cpu.slots[3], 1);
    assert_eq!(m.cpu.slots[9], u64::from(FpFlags::INEXACT));
}
