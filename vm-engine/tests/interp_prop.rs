//! Property test: random straight-line integer blocks give exactly what a direct evaluation with
//! vm-core's reference functions gives (including the fused compare-and-branch at their end).
#![cfg(feature = "interpreter")]

mod toy;

use proptest::prelude::*;
use toy::*;
use vm_core::exec::{ExecEnv, ExecutionEngine, Exit, RunLimit};
use vm_core::ir::*;
use vm_engine::interp::Interpreter;

const BIN: [BinOp; BinOp::ALL.len()] = BinOp::ALL;
const UN: [UnOp; UnOp::ALL.len()] = UnOp::ALL;
const COND: [Cond; Cond::ALL.len()] = Cond::ALL;
const TY: [Ty; 4] = [Ty::I8, Ty::I16, Ty::I32, Ty::I64];
const TEMPS: u16 = 4;
const REGS: u16 = 8;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0..REGS).prop_map(|r| Value::Reg(Reg(r))),
        (0..TEMPS).prop_map(|t| Value::Temp(Temp(t))),
        prop_oneof![any::<u64>(), 0u64..70, Just(u64::MAX), Just(1 << 63)].prop_map(Value::Imm),
    ]
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        (0..REGS).prop_map(|r| Place::Reg(Reg(r))),
        (0..TEMPS).prop_map(|t| Place::Temp(Temp(t))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (place(), value()).prop_map(|(dst, src)| Op::Mov { dst, src }),
        (0..BIN.len(), 0..4usize, place(), value(), value()).prop_map(|(o, t, dst, a, b)| {
            Op::Bin {
                op: BIN[o],
                ty: TY[t],
                dst,
                a,
                b,
            }
        }),
        (0..UN.len(), 0..4usize, place(), value()).prop_map(|(o, t, dst, a)| Op::Un {
            op: UN[o],
            ty: TY[t],
            dst,
            a
        }),
        (0..COND.len(), 0..4usize, place(), value(), value()).prop_map(|(c, t, dst, a, b)| {
            Op::Cmp {
                cond: COND[c],
                ty: TY[t],
                dst,
                a,
                b,
            }
        }),
        (place(), value(), value(), value()).prop_map(|(dst, cond, a, b)| Op::Select {
            dst,
            cond,
            a,
            b
        }),
        (place(), value(), 0..3usize, any::<bool>()).prop_map(|(dst, src, f, signed)| Op::Ext {
            dst,
            src,
            from: TY[f],
            signed
        }),
    ]
}

/// Direct evaluation with vm-core's reference functions.
fn reference(slots: &mut [u64], ops: &[Op], term: Terminator) -> u64 {
    let mut temps = [0u64; TEMPS as usize];
    let get = |slots: &[u64], temps: &[u64], v: Value| match v {
        Value::Reg(r) => slots[usize::from(r.0)],
        Value::Temp(t) => temps[usize::from(t.0)],
        Value::Imm(c) => c,
    };
    for op in ops {
        let (dst, v) = match *op {
            Op::Insn { .. } => continue,
            Op::Mov { dst, src } => (dst, get(slots, &temps, src)),
            Op::Bin { op, ty, dst, a, b } => (
                dst,
                eval_bin(op, ty, get(slots, &temps, a), get(slots, &temps, b)),
            ),
            Op::Un { op, ty, dst, a } => (dst, eval_un(op, ty, get(slots, &temps, a))),
            Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b,
            } => (
                dst,
                eval_cmp(cond, ty, get(slots, &temps, a), get(slots, &temps, b)),
            ),
            Op::Select { dst, cond, a, b } => (
                dst,
                if get(slots, &temps, cond) != 0 {
                    get(slots, &temps, a)
                } else {
                    get(slots, &temps, b)
                },
            ),
            Op::Ext {
                dst,
                src,
                from,
                signed,
            } => (dst, ext(get(slots, &temps, src), from, signed)),
            _ => unreachable!("not generated"),
        };
        match dst {
            Place::Reg(r) => slots[usize::from(r.0)] = v,
            Place::Temp(t) => temps[usize::from(t.0)] = v,
        }
    }
    match term {
        Terminator::Branch {
            cond,
            taken,
            not_taken,
        } => {
            if get(slots, &temps, cond) != 0 {
                taken
            } else {
                not_taken
            }
        }
        _ => unreachable!("not generated"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn straight_line_blocks_match_the_reference(
        init in prop::collection::vec(any::<u64>(), REGS as usize),
        temps in prop::collection::vec(any::<u64>(), TEMPS as usize),
        body in prop::collection::vec(op(), 1..24),
        last in (0..COND.len(), 0..4usize, value(), value()),
    ) {
        let pc = 0x1000;
        let mut b = BlockBuilder::new(pc);
        for _ in 0..TEMPS {
            b.temp();
        }
        let mut ops = Vec::new();
        // Every temporary is written before the random ops may read it.
        for (i, v) in temps.iter().enumerate() {
            ops.push(Op::Mov { dst: Temp(i as u16).into(), src: Value::Imm(*v) });
        }
        ops.extend(body);
        ops.push(Op::Cmp { cond: COND[last.0], ty: TY[last.1], dst: Temp(0).into(), a: last.2, b: last.3 });
        for (i, op) in ops.iter().enumerate() {
            b.insn(pc + 4 * i as u64, 4);
            b.push(*op);
        }
        let term = Terminator::Branch { cond: Temp(0).into(), taken: TRAP_VEC, not_taken: IRQ_VEC };
        let block = b.finish(term);

        let mut cpu = ToyCpu::new();
        cpu.slots[..REGS as usize].copy_from_slice(&init);
        cpu.block(block);
        cpu.pc = pc;
        let (ram, bus) = (Ram::new(true), LogBus::default());
        let env = ExecEnv { mem: &ram, bus: &bus };
        let mut eng = Interpreter::new();
        prop_assert_eq!(eng.run(&mut cpu, &env, RunLimit::UNLIMITED), Ok(Exit::Wait));

        let mut expect = init.clone();
        let next = reference(&mut expect, &ops, term);
        prop_assert_eq!(&cpu.slots[..REGS as usize], &expect[..]);
        prop_assert_eq!(cpu.pc, next);
        // The block ran once and completely: every fused op it was compiled with ran once.
        let st = eng.interp_stats();
        prop_assert_eq!(st.fused_ops, st.fused_compiled);
        prop_assert!(cpu.raised.is_empty());
    }
}
