//! The compact forms the compiler chooses, exactly.

use vm_core::ir::{
    BinOp, Block, BlockBuilder, Cond, MemOp, Op, Place, Reg, Temp, Terminator, TrapCause, Ty, Value,
};
use vm_core::mem::AccessSize;

use super::super::lower::Layout;
use super::super::ops::{CBlock, COp, CTerm};
use super::compile;

const LAYOUT: Layout = Layout { slots: 16 };
/// The zero word, and the first local, of [`LAYOUT`].
const ZERO: u16 = 16;
const LOCALS: u16 = 18;

fn r(n: u16) -> Place {
    Place::Reg(Reg(n))
}
fn rv(n: u16) -> Value {
    Value::Reg(Reg(n))
}

/// One instruction per inner slice, 4 bytes each, at 0x1000.
fn block(temps: u16, insns: &[&[Op]], term: Terminator) -> Block {
    let mut b = BlockBuilder::new(0x1000);
    for _ in 0..temps {
        b.temp();
    }
    for (i, ops) in insns.iter().enumerate() {
        b.insn(0x1000 + 4 * i as u64, 4);
        for op in *ops {
            b.push(*op);
        }
    }
    b.finish(term)
}

fn lower(temps: u16, insns: &[&[Op]], term: Terminator) -> CBlock {
    compile(&block(temps, insns, term), LAYOUT).expect("a valid block")
}

fn bin(op: BinOp, ty: Ty, dst: Place, a: Value, b: Value) -> Op {
    Op::Bin { op, ty, dst, a, b }
}

const END: Terminator = Terminator::Jump { target: 0x2000 };

#[test]
fn immediates_become_immediate_forms() {
    let b = lower(
        0,
        &[
            &[bin(BinOp::Add, Ty::I64, r(1), rv(2), Value::Imm(5))],
            &[bin(BinOp::Sub, Ty::I64, r(1), rv(1), Value::Imm(5))],
            &[bin(BinOp::And, Ty::I64, r(3), Value::Imm(0xff), rv(2))],
            &[bin(BinOp::ShrS, Ty::I64, r(4), rv(4), Value::Imm(65))],
            // `x0` reads as the constant 0: the zero word.
            &[bin(BinOp::Sub, Ty::I64, r(5), Value::Imm(0), rv(2))],
        ],
        END,
    );
    assert_eq!(
        &*b.ops,
        &[
            // Two adjacent immediate additions share a dispatch.
            COp::AddIAddI {
                d1: 1,
                a1: 2,
                i1: 5,
                d2: 1,
                a2: 1,
                i2: -5
            },
            COp::AndI {
                d: 3,
                a: 2,
                imm: 0xff
            },
            COp::ShrSI { d: 4, a: 4, imm: 1 },
            COp::Sub {
                d: 5,
                a: ZERO,
                b: 2
            },
        ]
    );
    assert_eq!(b.fused, 0);
}

#[test]
fn known_values_fold_and_are_reused() {
    let b = lower(
        2,
        &[
            &[Op::Mov {
                dst: r(1),
                src: Value::Imm(100),
            }],
            &[bin(BinOp::Add, Ty::I64, r(2), rv(1), Value::Imm(1))],
            // A temporary with a known value is never written; its use materialises the value.
            &[
                Op::Mov {
                    dst: Place::Temp(Temp(0)),
                    src: Value::Imm(0x8000),
                },
                Op::Store {
                    src: rv(3),
                    addr: Value::Temp(Temp(0)),
                    offset: 8,
                    mem: MemOp::unsigned(AccessSize::U64),
                },
            ],
            // Never traps: no op.
            &[Op::TrapIf {
                cond: Value::Imm(0),
                cause: TrapCause::Breakpoint,
                tval: 0,
            }],
            // The compare reads r1, which holds the constant.
            &[Op::Cmp {
                cond: Cond::LtU,
                ty: Ty::I64,
                dst: Place::Temp(Temp(1)),
                a: rv(4),
                b: Value::Imm(100),
            }],
        ],
        Terminator::Branch {
            cond: Value::Temp(Temp(1)),
            taken: 0x1000,
            not_taken: 0x2000,
        },
    );
    let local = LOCALS + 2;
    assert_eq!(
        &*b.ops,
        &[
            COp::MovI { d: 1, imm: 100 },
            COp::MovI { d: 2, imm: 101 },
            COp::MovI {
                d: local,
                imm: 0x8000
            },
            COp::Sd {
                s: 3,
                a: local,
                off: 8,
                insn: 2
            },
        ]
    );
    assert_eq!(
        b.term,
        CTerm::CmpBranch {
            cond: Cond::LtU,
            ty: Ty::I64,
            a: 4,
            b: 1,
            taken: 0x1000,
            not_taken: 0x2000
        }
    );
    assert_eq!(b.fused, 1);
    assert_eq!(&*b.insn_pcs, &[0x1000, 0x1004, 0x1008, 0x100c, 0x1010]);
}

#[test]
fn word_pairs_and_jalr_fuse() {
    let t = Temp(0);
    let b = lower(
        1,
        &[
            &[
                bin(BinOp::Add, Ty::I32, r(1), rv(1), Value::Imm(3)),
                Op::Ext {
                    dst: r(1),
                    src: rv(1),
                    from: Ty::I32,
                    signed: true,
                },
            ],
            &[
                bin(BinOp::Add, Ty::I64, t.into(), rv(5), Value::Imm(16)),
                bin(BinOp::And, Ty::I64, t.into(), t.into(), Value::Imm(!1)),
                Op::Mov {
                    dst: r(1),
                    src: Value::Imm(0x1008),
                },
            ],
        ],
        Terminator::JumpIndirect { target: t.into() },
    );
    assert_eq!(
        &*b.ops,
        &[
            COp::AddWI { d: 1, a: 1, imm: 3 },
            COp::MovI { d: 1, imm: 0x1008 },
        ]
    );
    assert_eq!(b.term, CTerm::JumpReg { base: 5, off: 16 });
    assert_eq!(b.fused, 2);
}

#[test]
fn a_link_that_overwrites_the_base_keeps_the_ops() {
    let t = Temp(0);
    let b = lower(
        1,
        &[&[
            bin(BinOp::Add, Ty::I64, t.into(), rv(1), Value::Imm(16)),
            bin(BinOp::And, Ty::I64, t.into(), t.into(), Value::Imm(!1)),
            Op::Mov {
                dst: r(1),
                src: Value::Imm(0x1004),
            },
        ]],
        Terminator::JumpIndirect { target: t.into() },
    );
    let t = LOCALS;
    assert_eq!(
        &*b.ops,
        &[
            COp::AddI {
                d: t,
                a: 1,
                imm: 16
            },
            COp::AndI {
                d: t,
                a: t,
                imm: !1
            },
            COp::MovI { d: 1, imm: 0x1004 },
        ]
    );
    assert_eq!(b.term, CTerm::JumpIndirect(t));
    assert_eq!(b.fused, 0);
}

#[test]
fn slots_beyond_the_cpu_are_host_errors() {
    let blk = block(
        0,
        &[&[Op::Mov {
            dst: r(40),
            src: Value::Imm(1),
        }]],
        END,
    );
    assert!(matches!(
        compile(&blk, LAYOUT),
        Err(super::LowerError::Host(crate::Error::RegisterOutOfRange {
            pc: 0x1000,
            reg: 40,
            slots: 16
        }))
    ));
}

#[test]
fn adjacent_pairs_merge_into_one_dispatch() {
    let t = Temp(0);
    let b = lower(
        1,
        &[
            &[bin(BinOp::Add, Ty::I64, r(1), rv(1), rv(2))],
            &[bin(BinOp::Add, Ty::I64, r(3), rv(1), rv(4))],
            &[bin(BinOp::Add, Ty::I64, r(5), rv(5), Value::Imm(0x1_0000))],
            &[bin(BinOp::Add, Ty::I64, r(6), rv(6), Value::Imm(8))],
            &[bin(BinOp::Add, Ty::I64, r(7), rv(7), Value::Imm(1))],
            &[Op::Cmp {
                cond: Cond::Ne,
                ty: Ty::I64,
                dst: t.into(),
                a: rv(7),
                b: rv(8),
            }],
        ],
        Terminator::Branch {
            cond: t.into(),
            taken: 0x1000,
            not_taken: 0x2000,
        },
    );
    assert_eq!(
        &*b.ops,
        &[
            COp::AddAdd {
                d1: 1,
                a1: 1,
                b1: 2,
                d2: 3,
                a2: 1,
                b2: 4
            },
            // The immediate does not fit 16 bits: no pair.
            COp::AddI {
                d: 5,
                a: 5,
                imm: 0x1_0000
            },
            COp::AddIAddI {
                d1: 6,
                a1: 6,
                i1: 8,
                d2: 7,
                a2: 7,
                i2: 1
            },
        ]
    );
    assert_eq!(
        b.term,
        CTerm::CmpBranch {
            cond: Cond::Ne,
            ty: Ty::I64,
            a: 7,
            b: 8,
            taken: 0x1000,
            not_taken: 0x2000
        }
    );
    // Only the compare-and-branch is a fusion; pairs merge dispatches, not IR ops.
    assert_eq!(b.fused, 1);
}
