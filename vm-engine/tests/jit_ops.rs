//! The JIT's integer ops against vm-core's reference semantics: edge cases per op and width, and random
//! straight-line blocks.
#![cfg(feature = "jit")]

use proptest::prelude::*;
use vm_core::ir::*;
use vm_engine::jit::{BlockKey, CodeCache, CodeCacheConfig, Exit, JitContext};

const EDGE: [u64; 12] = [
    0,
    1,
    2,
    3,
    0x7f,
    0x80,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    i64::MIN as u64,
    u64::MAX,
];

const TYS: [Ty; 4] = [Ty::I8, Ty::I16, Ty::I32, Ty::I64];

const BINS: [BinOp; BinOp::ALL.len()] = BinOp::ALL;

const UNS: [UnOp; UnOp::ALL.len()] = UnOp::ALL;

const CONDS: [Cond; Cond::ALL.len()] = Cond::ALL;

/// The edge values with some high garbage, so narrow ops must ignore the upper bits.
fn inputs() -> Vec<u64> {
    let mut v = EDGE.to_vec();
    v.extend([0xdead_beef_0000_0080, 0x1234_5678_9abc_def0, 63, 64, 65]);
    v
}

/// Compile a one-instruction block of `ops`, run it on `slots`, return the slots.
fn run_block(cache: &mut CodeCache, ops: Vec<Op>, mut slots: Vec<u64>) -> Vec<u64> {
    let mut b = BlockBuilder::new(0x4000);
    b.insn(0x4000, 4);
    for op in ops {
        b.push(op);
    }
    let block = b.finish(Terminator::Jump { target: 0x4004 });
    let key = BlockKey {
        phys_pc: 0x4000,
        context: 0,
    };
    cache.compile(key, &block).unwrap();
    let mut ctx = JitContext::without_memory();
    let exit = cache
        .lookup(key)
        .unwrap()
        .run(&mut slots, &mut ctx)
        .unwrap();
    assert_eq!(exit, Exit::Next(0x4004));
    assert_eq!(ctx.insn_count, 1);
    slots
}

fn cache() -> CodeCache {
    CodeCache::new(CodeCacheConfig {
        max_blocks: 64,
        batch_blocks: 16,
    })
    .unwrap()
}

/// Inputs in slots `0..n`, one result slot per pair from `n`.
fn pairs_block(
    make: impl Fn(Place, Value, Value) -> Op,
    expect: impl Fn(u64, u64) -> u64,
    what: &str,
) {
    let mut cache = cache();
    let ins = inputs();
    let n = ins.len();
    let mut ops = Vec::new();
    let mut want = Vec::new();
    for (i, &a) in ins.iter().enumerate() {
        for (j, &b) in ins.iter().enumerate() {
            let dst = Reg((n + ops.len()) as u16).into();
            // Alternate register and immediate right operands.
            let bv = if (i + j) % 2 == 0 {
                Value::Reg(Reg(j as u16))
            } else {
                Value::Imm(b)
            };
            ops.push(make(dst, Value::Reg(Reg(i as u16)), bv));
            want.push((a, b, expect(a, b)));
        }
    }
    let mut slots = ins.clone();
    slots.resize(n + ops.len(), 0x5555_5555_5555_5555);
    let out = run_block(&mut cache, ops, slots);
    assert_eq!(&out[..n], &ins[..], "{what}: inputs changed");
    for (k, (a, b, w)) in want.into_iter().enumerate() {
        assert_eq!(out[n + k], w, "{what} a={a:#x} b={b:#x}");
    }
}

#[test]
fn every_binop_every_width_matches_eval_bin() {
    for op in BINS {
        for ty in TYS {
            pairs_block(
                |dst, a, b| Op::Bin { op, ty, dst, a, b },
                |a, b| eval_bin(op, ty, a, b),
                &format!("{op:?} {ty:?}"),
            );
        }
    }
}

#[test]
fn every_compare_every_width_matches_eval_cmp() {
    for cond in CONDS {
        for ty in TYS {
            pairs_block(
                |dst, a, b| Op::Cmp {
                    cond,
                    ty,
                    dst,
                    a,
                    b,
                },
                |a, b| eval_cmp(cond, ty, a, b),
                &format!("{cond:?} {ty:?}"),
            );
        }
    }
}

#[test]
fn select_uses_all_64_bits_of_the_condition() {
    pairs_block(
        |dst, a, b| Op::Select {
            dst,
            cond: a,
            a: b,
            b: Value::Imm(0x77),
        },
        |a, b| if a != 0 { b } else { 0x77 },
        "Select",
    );
}

#[test]
fn unary_ops_and_extensions_match_reference() {
    let mut cache = cache();
    let ins = inputs();
    let n = ins.len();
    let mut ops = Vec::new();
    let mut want = Vec::new();
    for (i, &a) in ins.iter().enumerate() {
        for ty in TYS {
            for op in UNS {
                let dst = Reg((n + ops.len()) as u16).into();
                ops.push(Op::Un {
                    op,
                    ty,
                    dst,
                    a: Reg(i as u16).into(),
                });
                want.push((format!("{op:?} {ty:?} {a:#x}"), eval_un(op, ty, a)));
            }
            if ty != Ty::I64 {
                for signed in [false, true] {
                    let dst = Reg((n + ops.len()) as u16).into();
                    ops.push(Op::Ext {
                        dst,
                        src: Reg(i as u16).into(),
                        from: ty,
                        signed,
                    });
                    want.push((format!("Ext {ty:?} {signed} {a:#x}"), ext(a, ty, signed)));
                }
            }
        }
        let dst = Reg((n + ops.len()) as u16).into();
        ops.push(Op::Mov {
            dst,
            src: Reg(i as u16).into(),
        });
        want.push((format!("Mov {a:#x}"), a));
    }
    let mut slots = ins.clone();
    slots.resize(n + ops.len(), 0);
    let out = run_block(&mut cache, ops, slots);
    for (k, (what, w)) in want.into_iter().enumerate() {
        assert_eq!(out[n + k], w, "{what}");
    }
}

#[test]
fn documented_division_results() {
    let mut cache = cache();
    let min = i64::MIN as u64;
    let div = |op, ty, a, b, dst: u16| Op::Bin {
        op,
        ty,
        dst: Reg(dst).into(),
        a: Value::Imm(a),
        b: Value::Imm(b),
    };
    let ops = vec![
        div(BinOp::DivU, Ty::I64, 7, 0, 0),
        div(BinOp::DivS, Ty::I64, 7, 0, 1),
        div(BinOp::RemU, Ty::I64, 7, 0, 2),
        div(BinOp::RemS, Ty::I64, -7i64 as u64, 0, 3),
        div(BinOp::DivS, Ty::I64, min, u64::MAX, 4),
        div(BinOp::RemS, Ty::I64, min, u64::MAX, 5),
        div(BinOp::DivS, Ty::I32, 0x8000_0000, 0xffff_ffff, 6),
        div(BinOp::DivU, Ty::I32, 7, 0, 7),
    ];
    let out = run_block(&mut cache, ops, vec![0; 8]);
    assert_eq!(
        out,
        vec![
            u64::MAX,
            u64::MAX,
            7,
            -7i64 as u64,
            min,
            0,
            0x8000_0000,
            0xffff_ffff
        ]
    );
}

/// A small reference evaluator over vm-core's eval functions.
fn reference(block: &Block, slots: &mut [u64]) {
    let mut temps = vec![0u64; usize::from(block.num_temps)];
    let get = |v: Value, slots: &[u64], temps: &[u64]| match v {
        Value::Imm(i) => i,
        Value::Reg(r) => slots[usize::from(r.0)],
        Value::Temp(t) => temps[usize::from(t.0)],
    };
    for op in &block.ops {
        let (dst, v) = match *op {
            Op::Insn { .. } => continue,
            Op::Mov { dst, src } => (dst, get(src, slots, &temps)),
            Op::Bin { op, ty, dst, a, b } => (
                dst,
                eval_bin(op, ty, get(a, slots, &temps), get(b, slots, &temps)),
            ),
            Op::Un { op, ty, dst, a } => (dst, eval_un(op, ty, get(a, slots, &temps))),
            Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b,
            } => (
                dst,
                eval_cmp(cond, ty, get(a, slots, &temps), get(b, slots, &temps)),
            ),
            Op::Select { dst, cond, a, b } => (
                dst,
                if get(cond, slots, &temps) != 0 {
                    get(a, slots, &temps)
                } else {
                    get(b, slots, &temps)
                },
            ),
            Op::Ext {
                dst,
                src,
                from,
                signed,
            } => (dst, ext(get(src, slots, &temps), from, signed)),
            ref other => panic!("reference evaluator does not handle {other:?}"),
        };
        match dst {
            Place::Reg(r) => slots[usize::from(r.0)] = v,
            Place::Temp(t) => temps[usize::from(t.0)] = v,
        }
    }
}

const NREGS: u16 = 8;
const NTEMPS: u16 = 4;

fn imm() -> impl Strategy<Value = u64> {
    prop_oneof![prop::sample::select(EDGE.to_vec()), any::<u64>(), 0u64..70]
}

fn operand() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0..NREGS).prop_map(|r| Value::Reg(Reg(r))),
        (0..NTEMPS).prop_map(|t| Value::Temp(Temp(t))),
        imm().prop_map(Value::Imm),
    ]
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        (0..NREGS).prop_map(|r| Place::Reg(Reg(r))),
        (0..NTEMPS).prop_map(|t| Place::Temp(Temp(t))),
    ]
}

fn ty() -> impl Strategy<Value = Ty> {
    prop::sample::select(TYS.to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (place(), operand()).prop_map(|(dst, src)| Op::Mov { dst, src }),
        (
            prop::sample::select(BINS.to_vec()),
            ty(),
            place(),
            operand(),
            operand()
        )
            .prop_map(|(op, ty, dst, a, b)| Op::Bin { op, ty, dst, a, b }),
        (prop::sample::select(UNS.to_vec()), ty(), place(), operand())
            .prop_map(|(op, ty, dst, a)| Op::Un { op, ty, dst, a }),
        (
            prop::sample::select(CONDS.to_vec()),
            ty(),
            place(),
            operand(),
            operand()
        )
            .prop_map(|(cond, ty, dst, a, b)| Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b
            }),
        (place(), operand(), operand(), operand()).prop_map(|(dst, cond, a, b)| Op::Select {
            dst,
            cond,
            a,
            b
        }),
        (
            place(),
            operand(),
            prop::sample::select(vec![Ty::I8, Ty::I16, Ty::I32]),
            any::<bool>()
        )
            .prop_map(|(dst, src, from, signed)| Op::Ext {
                dst,
                src,
                from,
                signed
            }),
    ]
}

/// A valid block: temporaries read before any write become constants; an instruction marker every
/// three ops.
fn make_block(ops: Vec<Op>) -> Block {
    let mut b = BlockBuilder::new(0x1000);
    for _ in 0..NTEMPS {
        b.temp();
    }
    let mut written = [false; NTEMPS as usize];
    let mut pc = 0x1000;
    for (i, mut op) in ops.into_iter().enumerate() {
        if i % 3 == 0 {
            b.insn(pc, 4);
            pc += 4;
        }
        let fix = |v: &mut Value| {
            if let Value::Temp(t) = *v
                && !written[usize::from(t.0)]
            {
                *v = Value::Imm(u64::from(t.0) * 0x0101_0101_0101_0101);
            }
        };
        match &mut op {
            Op::Mov { src, .. } | Op::Ext { src, .. } | Op::Un { a: src, .. } => fix(src),
            Op::Bin { a, b, .. } | Op::Cmp { a, b, .. } => {
                fix(a);
                fix(b);
            }
            Op::Select { cond, a, b, .. } => {
                fix(cond);
                fix(a);
                fix(b);
            }
            _ => {}
        }
        if let Some(Place::Temp(t)) = op.dst() {
            written[usize::from(t.0)] = true;
        }
        b.push(op);
    }
    if b.insn_count() == 0 {
        b.insn(pc, 4);
    }
    let target = b.next_pc();
    b.finish(Terminator::Jump { target })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_blocks_match_reference(
        ops in prop::collection::vec(op(), 0..40),
        regs in prop::collection::vec(imm(), NREGS as usize),
    ) {
        let block = make_block(ops);
        block.validate().unwrap();
        let mut want = regs.clone();
        reference(&block, &mut want);
        let mut cache = CodeCache::new(CodeCacheConfig { max_blocks: 4, batch_blocks: 4 }).unwrap();
        let key = BlockKey { phys_pc: 0x1000, context: 0 };
        cache.compile(key, &block).unwrap();
        let mut got = regs.clone();
        let mut ctx = JitContext::without_memory();
        let exit = cache.lookup(key).unwrap().run(&mut got, &mut ctx).unwrap();
        prop_assert_eq!(exit, Exit::Next(0x1000 + u64::from(block.guest_len)));
        prop_assert_eq!(ctx.insn_count, u64::from(block.insn_count));
        prop_assert_eq!(got, want);
    }
}
