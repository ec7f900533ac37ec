//! The compact form through the interpreter: fused ops, constant folding, the PC slot, context
//! changes, interrupt polling, and self-modifying code between chained blocks.
#![cfg(feature = "interpreter")]

mod toy;

use toy::*;
use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, ExecutionEngine, Exit, FaultKind, GuestCpu, RunLimit};
use vm_core::ir::*;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};
use vm_engine::interp::CHECK_INSNS;

fn sext32(p: Reg) -> Op {
    Op::Ext {
        dst: p.into(),
        src: p.into(),
        from: Ty::I32,
        signed: true,
    }
}

fn neg(v: i64) -> u64 {
    v as u64
}

#[test]
fn word_ops_fuse_with_their_sign_extension() {
    let mut m = Machine::new(true);
    m.cpu.slots[1..10].copy_from_slice(&[
        0x7fff_ffff,
        1,
        0,
        3,
        0x4000_0000,
        neg(-7),
        2,
        0xffff_ffff,
        1,
    ]);
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[bin(BinOp::Add, Ty::I32, r(1), r(1), r(2)), sext32(r(1))],
            &[bin(BinOp::Sub, Ty::I32, r(3), r(4), imm(5)), sext32(r(3))],
            &[bin(BinOp::Shl, Ty::I32, r(5), r(5), imm(33)), sext32(r(5))],
            &[bin(BinOp::DivS, Ty::I32, r(6), r(6), r(7)), sext32(r(6))],
            // The extension writes another place: no fusion, r8 keeps the zero-extended sum.
            &[
                bin(BinOp::Add, Ty::I32, r(8), r(8), r(9)),
                Op::Ext {
                    dst: r(10).into(),
                    src: r(8).into(),
                    from: Ty::I32,
                    signed: true,
                },
            ],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(
        &m.cpu.slots[1..11],
        &[
            0xffff_ffff_8000_0000,
            1,
            neg(-2),
            3,
            0xffff_ffff_8000_0000,
            neg(-3),
            2,
            0,
            1,
            0
        ]
    );
    let s = m.eng.interp_stats();
    assert_eq!((s.fused_compiled, s.fused_ops), (4, 4));
}

#[test]
fn jalr_targets_fuse_unless_the_link_overwrites_the_base() {
    let mut m = Machine::new(true);
    let jalr = |pc: u64, base: Reg, off: u64, link: Reg| {
        let mut b = BlockBuilder::new(pc);
        b.insn(pc, 4);
        let t = b.temp();
        b.push(bin(BinOp::Add, Ty::I64, t, base, imm(off)));
        b.push(bin(BinOp::And, Ty::I64, t, t, imm(!1)));
        b.push(mov(link, pc + 4));
        b.finish(Terminator::JumpIndirect { target: t.into() })
    };
    m.cpu.slots[1] = 0x301;
    m.cpu.slots[3] = 0x401;
    // The link is the base: the target must come from the base before the link is written.
    m.cpu.block(jalr(0x100, r(1), 8, r(1)));
    m.cpu.block(jalr(0x308, r(3), 0, r(2)));
    m.cpu.block(blk(0x400, 0, &[&[mov(r(4), 4)]], HALT));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(&m.cpu.slots[1..5], &[0x104, 0x30c, 0x401, 4]);
    let s = m.eng.interp_stats();
    assert_eq!((s.fused_compiled, s.fused_ops), (1, 1));
    assert_eq!(s.engine.insns, 3 + 1);
}

#[test]
fn constants_fold_until_a_helper_may_change_the_slots() {
    let mut m = Machine::new(true);
    m.ram.write_u64(GuestPhysAddr(0x2020), 0x1234).unwrap();
    m.cpu.block(blk(
        0x100,
        1,
        &[
            &[mov(r(1), 5), mov(r(15), 1)],
            &[bin(BinOp::Add, Ty::I64, r(2), r(1), imm(3))],
            // A temporary known at compile time, used as an address.
            &[
                bin(BinOp::Shl, Ty::I64, t(0), imm(0x201), imm(4)),
                Op::Load {
                    dst: r(5).into(),
                    addr: t(0).into(),
                    offset: 0x10,
                    mem: MemOp::unsigned(AccessSize::U64),
                },
            ],
            &[Op::TrapIf {
                cond: imm(0),
                cause: TrapCause::Breakpoint,
                tval: 0,
            }],
            &[Op::Select {
                dst: r(6).into(),
                cond: r(1).into(),
                a: r(2).into(),
                b: imm(99),
            }],
            // The helper sets r15 = r1 + 0x70: what the block knew of r15 is void.
            &[Op::Helper {
                id: HelperId(1),
                dst: Some(r(3).into()),
                args: [r(1).into(), imm(10), imm(0)],
            }],
            &[bin(BinOp::Add, Ty::I64, r(4), r(15), imm(1))],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(&m.cpu.slots[1..7], &[5, 8, 15, 0x76, 0x1234, 8]);
    assert_eq!(m.cpu.slots[15], 0x75);
    assert!(m.cpu.raised.is_empty());
}

#[test]
fn blocks_that_read_the_pc_slot_see_the_pc() {
    let mut m = Machine::new(true);
    m.cpu.pc_slot = Some(14);
    let read_pc = |pc: u64, d: Reg, next: u64| {
        let mut b = BlockBuilder::new(pc);
        b.insn(pc, 4);
        b.push(Op::Mov {
            dst: d.into(),
            src: r(14).into(),
        });
        b.finish(Terminator::Jump { target: next })
    };
    m.cpu.block(read_pc(0x100, r(1), 0x200));
    m.cpu.block(read_pc(0x200, r(2), TRAP_VEC));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!((m.cpu.slots[1], m.cpu.slots[2]), (0x100, 0x200));
    assert_eq!((m.cpu.pc(), m.cpu.slots[14]), (TRAP_VEC, TRAP_VEC));
}

#[test]
fn a_context_change_by_a_helper_applies_to_the_next_block() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[&[Op::Helper {
            id: HelperId(3),
            dst: None,
            args: [r(5).into(), imm(0), imm(0)],
        }]],
        Terminator::Jump { target: 0x200 },
    ));
    m.cpu
        .ctx_block(0, blk(0x200, 0, &[&[mov(r(2), 0xaa)]], HALT));
    m.cpu
        .ctx_block(1, blk(0x200, 0, &[&[mov(r(2), 0xbb)]], HALT));
    // Context 0 throughout: the chain 0x100 -> 0x200 is made.
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(m.cpu.slots[2], 0xaa);
    // The helper switches to context 1: the chained block of context 0 must not run.
    m.cpu.slots[5] = 1;
    m.cpu.ctx = 0;
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!((m.cpu.slots[2], m.cpu.ctx), (0xbb, 1));
    // Both contexts' versions stay cached: 0x100, 0x200 and the trap vector's block in context 0,
    // 0x200 and the trap vector's block in context 1.
    m.cpu.ctx = 0;
    m.run_from(0x200, RunLimit::UNLIMITED).unwrap();
    assert_eq!(m.cpu.slots[2], 0xaa);
    assert_eq!(m.eng.stats().blocks_decoded, 5);
}

#[test]
fn interrupts_are_polled_every_check_interval() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[&[bin(BinOp::Add, Ty::I64, r(1), r(1), imm(1))]],
        Terminator::Jump { target: 0x100 },
    ));
    let limit = 10 * CHECK_INSNS;
    assert_eq!(
        m.run_from(0x100, RunLimit { max_insns: limit }),
        Ok(Exit::LimitReached)
    );
    // At the start and after every CHECK_INSNS instructions, but not at the limit.
    assert_eq!(m.cpu.irq_polls, 10);
    assert_eq!(m.cpu.slots[1], limit);
    // An interrupt pending from outside is taken at the next poll.
    m.cpu.irq = true;
    assert_eq!(m.run(RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!((m.cpu.pc, m.cpu.slots[1]), (IRQ_VEC, limit));
    assert_eq!(m.eng.stats().interrupts, 1);
}

#[test]
fn code_rewritten_in_a_chained_loop_is_decoded_again() {
    let mut m = Machine::new(true);
    // The block at 0x400 loads its code word into r1.
    m.cpu.add(0x400, |word| {
        blk(
            0x400,
            0,
            &[&[mov(r(1), u64::from(word))]],
            Terminator::Jump { target: 0x600 },
        )
    });
    // 0x500 writes r3 over that code word, then counts.
    m.cpu.block(blk(
        0x500,
        0,
        &[
            &[store(r(3), 0x400, MemOp::unsigned(AccessSize::U32))],
            &[bin(BinOp::Add, Ty::I64, r(3), r(3), imm(1))],
        ],
        Terminator::Jump { target: 0x400 },
    ));
    // 0x600 loops back while r3 < 5.
    m.cpu.block(blk(
        0x600,
        1,
        &[&[Op::Cmp {
            cond: Cond::LtU,
            ty: Ty::I64,
            dst: t(0).into(),
            a: r(3).into(),
            b: imm(5),
        }]],
        Terminator::Branch {
            cond: t(0).into(),
            taken: 0x500,
            not_taken: TRAP_VEC,
        },
    ));
    // Bounded: a stale chain would loop on the first code word.
    assert_eq!(
        m.run_from(0x500, RunLimit { max_insns: 1000 }),
        Ok(Exit::Wait)
    );
    assert_eq!((m.cpu.slots[1], m.cpu.slots[3]), (4, 5));
    assert_eq!(m.eng.stats().blocks_decoded, 5 * 3 + 1);
}

#[test]
fn a_fault_counts_only_the_fused_ops_before_it() {
    let mut m = Machine::new(true);
    m.cpu.block(blk(
        0x100,
        0,
        &[
            &[bin(BinOp::Add, Ty::I32, r(1), r(1), imm(1)), sext32(r(1))],
            &[load(r(2), FAULT_PAGE, MemOp::unsigned(AccessSize::U64))],
            &[bin(BinOp::Add, Ty::I32, r(3), r(3), imm(1)), sext32(r(3))],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(&m.cpu.slots[1..4], &[1, 0, 0]);
    assert_eq!(
        m.cpu.raised,
        vec![(
            Exception::Memory {
                kind: AccessKind::Read,
                fault: FaultKind::Page,
                vaddr: FAULT_PAGE
            },
            0x104
        )]
    );
    let s = m.eng.interp_stats();
    assert_eq!(
        (s.fused_compiled, s.fused_ops, s.engine.insns),
        (2, 1, 1 + 1)
    );
}

#[test]
fn double_precision_fast_path_and_fallbacks() {
    let mut m = Machine::new(true);
    let env = FpEnv {
        nan: NanMode::Canonical,
        box_f32: true,
        flags: Some(r(9)),
    };
    let f = |op, d: Reg, a: Reg, b: Reg, rm| Op::FBin {
        op,
        ty: FloatTy::F64,
        dst: d.into(),
        a: a.into(),
        b: b.into(),
        rm,
        env,
    };
    let rne = Rounding::Static(RoundingMode::NearestEven);
    m.cpu.slots[1] = 1.5f64.to_bits();
    m.cpu.slots[2] = 0.25f64.to_bits();
    m.cpu.slots[11] = 1.0f64.to_bits();
    m.cpu.slots[12] = 3.0f64.to_bits();
    m.cpu.slots[8] = RoundingMode::Up as u64;
    m.cpu.block(blk(
        0x100,
        0,
        &[
            // Exact: no flag.
            &[f(FBinOp::Add, r(4), r(1), r(2), rne)],
            &[f(FBinOp::Mul, r(5), r(1), r(2), rne)],
        ],
        Terminator::Jump { target: 0x200 },
    ));
    m.cpu.block(blk(
        0x200,
        0,
        &[
            // Inexact, rounded up by the dynamic mode (the soft-float fallback).
            &[f(FBinOp::Div, r(6), r(11), r(12), Rounding::Dynamic(r(8)))],
            // A NaN operand: canonical NaN, and invalid for a signalling one.
            &[f(FBinOp::Sub, r(7), r(1), r(10), rne)],
        ],
        HALT,
    ));
    m.cpu.slots[10] = 0x7ff0_0000_0000_0001;
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    assert_eq!(m.cpu.slots[4], 1.75f64.to_bits());
    assert_eq!(m.cpu.slots[5], 0.375f64.to_bits());
    assert_eq!(m.cpu.slots[6], (1.0f64 / 3.0).to_bits() + 1);
    assert_eq!(m.cpu.slots[7], 0x7ff8_0000_0000_0000);
    assert_eq!(
        m.cpu.slots[9],
        u64::from(FpFlags::INEXACT | FpFlags::INVALID)
    );
}

#[test]
fn paired_ops_see_each_others_results() {
    let mut m = Machine::new(true);
    let shr_w = |d: Reg, a: Reg, n: u64| {
        [
            bin(BinOp::ShrU, Ty::I32, d, a, imm(n)),
            Op::Ext {
                dst: d.into(),
                src: d.into(),
                from: Ty::I32,
                signed: true,
            },
        ]
    };
    let rot = shr_w(r(5), r(4), 4);
    let rot2 = shr_w(r(8), r(7), 1);
    m.cpu.slots[1] = 10;
    m.cpu.slots[4] = 0x8000_00f0;
    m.cpu.slots[7] = 0xffff_fffe;
    m.cpu.block(blk(
        0x100,
        0,
        &[
            // AddI + AddI, the second reading the first's result.
            &[bin(BinOp::Add, Ty::I64, r(1), r(1), imm(1))],
            &[bin(BinOp::Add, Ty::I64, r(2), r(1), imm(neg(-20)))],
            // Add + Add and Xor + Xor, chained.
            &[bin(BinOp::Add, Ty::I64, r(3), r(1), r(2))],
            &[bin(BinOp::Add, Ty::I64, r(3), r(3), r(3))],
            &[bin(BinOp::Xor, Ty::I64, r(9), r(3), r(1))],
            &[bin(BinOp::Xor, Ty::I64, r(9), r(9), r(2))],
            // ShrUWI + ShlI and ShlI + ShrUWI (a 32-bit rotation's halves), then ShlI + Or.
            &rot,
            &[bin(BinOp::Shl, Ty::I64, r(6), r(4), imm(28))],
            &[bin(BinOp::Shl, Ty::I64, r(10), r(7), imm(31))],
            &rot2,
            &[bin(BinOp::Shl, Ty::I64, r(11), r(5), imm(4))],
            &[bin(BinOp::Or, Ty::I64, r(11), r(11), r(6))],
        ],
        HALT,
    ));
    assert_eq!(m.run_from(0x100, RunLimit::UNLIMITED), Ok(Exit::Wait));
    let s = &m.cpu.slots;
    assert_eq!((s[1], s[2], s[3], s[9]), (11, neg(-9), 4, 4 ^ 11 ^ neg(-9)));
    assert_eq!((s[5], s[6]), (0x0800_000f, 0x0800_000f_0000_0000));
    assert_eq!((s[8], s[10]), (0x7fff_ffff, 0x7fff_ffff_0000_0000));
    assert_eq!(s[11], 0x0800_000f_8000_00f0);
}
