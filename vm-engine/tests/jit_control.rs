//! The JIT's terminators, traps, memory callbacks with faults, the code cache and hot-spot detection.
#![cfg(feature = "jit")]

use core::ffi::c_void;

use vm_core::ir::*;
use vm_core::mem::AccessSize;
use vm_engine::jit::{
    BlockKey, CodeCache, CodeCacheConfig, Exit, HotSpotCounter, JitContext, JitError,
};

fn key(pc: u64) -> BlockKey {
    BlockKey {
        phys_pc: pc,
        context: 0,
    }
}

fn cache(max_blocks: usize, batch_blocks: usize) -> CodeCache {
    CodeCache::new(CodeCacheConfig {
        max_blocks,
        batch_blocks,
    })
    .unwrap()
}

fn run(cache: &mut CodeCache, block: &Block, slots: &mut [u64], ctx: &mut JitContext) -> Exit {
    let k = key(block.pc);
    cache.compile(k, block).unwrap();
    cache.lookup(k).unwrap().run(slots, ctx).unwrap()
}

/// `r1 += 1; if r1 == r2 goto 0x2000 else 0x1008`.
fn branch_block() -> Block {
    let mut b = BlockBuilder::new(0x1000);
    b.insn(0x1000, 4);
    b.push(Op::Bin {
        op: BinOp::Add,
        ty: Ty::I64,
        dst: Reg(1).into(),
        a: Reg(1).into(),
        b: Value::Imm(1),
    });
    b.insn(0x1004, 4);
    let t = b.temp();
    b.push(Op::Cmp {
        cond: Cond::Eq,
        ty: Ty::I64,
        dst: t.into(),
        a: Reg(1).into(),
        b: Reg(2).into(),
    });
    b.finish(Terminator::Branch {
        cond: t.into(),
        taken: 0x2000,
        not_taken: 0x1008,
    })
}

#[test]
fn branch_takes_both_ways_and_counts_instructions() {
    let mut c = cache(8, 4);
    let block = branch_block();
    let mut ctx = JitContext::without_memory();
    let mut slots = [0, 4, 5];
    assert_eq!(
        run(&mut c, &block, &mut slots, &mut ctx),
        Exit::Next(0x2000)
    );
    assert_eq!(slots, [0, 5, 5]);
    let code = c.lookup(key(0x1000)).unwrap();
    assert_eq!(code.run(&mut slots, &mut ctx).unwrap(), Exit::Next(0x1008));
    assert_eq!(slots, [0, 6, 5]);
    assert_eq!(ctx.next_pc, 0x1008);
    assert_eq!(ctx.insn_count, 4);
    // Register slot 2 is read: a shorter slot array is refused.
    let mut short = [0u64; 2];
    assert_eq!(
        code.run(&mut short, &mut ctx),
        Err(JitError::SlotsTooShort {
            pc: 0x1000,
            needed: 3,
            given: 2
        })
    );
}

fn one_insn(term: Terminator) -> Block {
    let mut b = BlockBuilder::new(0x3000);
    b.insn(0x3000, 4);
    b.push(Op::Mov {
        dst: Reg(0).into(),
        src: Value::Imm(0xabc),
    });
    b.insn(0x3004, 4);
    b.finish(term)
}

#[test]
fn every_terminator_has_its_exit() {
    let mut c = cache(16, 4);
    let cases = [
        (Terminator::Jump { target: 0x10 }, Exit::Next(0x10), 2),
        (Terminator::Sync { next: 0x3008 }, Exit::Sync(0x3008), 2),
        (Terminator::Wait { next: 0x3008 }, Exit::Wait(0x3008), 2),
        (
            Terminator::JumpIndirect {
                target: Reg(0).into(),
            },
            Exit::Next(0xabc),
            2,
        ),
        (
            Terminator::Trap {
                cause: TrapCause::SystemCall,
                tval: 9,
            },
            Exit::Trap {
                pc: 0x3004,
                cause: TrapCause::SystemCall,
                tval: 9,
            },
            1,
        ),
        (
            Terminator::Trap {
                cause: TrapCause::Arch(0x1234),
                tval: 0,
            },
            Exit::Trap {
                pc: 0x3004,
                cause: TrapCause::Arch(0x1234),
                tval: 0,
            },
            1,
        ),
    ];
    for (term, exit, insns) in cases {
        let mut ctx = JitContext::without_memory();
        let mut slots = [0u64; 1];
        assert_eq!(
            run(&mut c, &one_insn(term), &mut slots, &mut ctx),
            exit,
            "{term:?}"
        );
        assert_eq!(slots[0], 0xabc);
        assert_eq!(ctx.insn_count, insns, "{term:?}");
    }
}

#[test]
fn trap_if_exits_precisely_only_when_taken() {
    let mut b = BlockBuilder::new(0x100);
    b.insn(0x100, 4);
    b.push(Op::Mov {
        dst: Reg(1).into(),
        src: Value::Imm(1),
    });
    b.insn(0x104, 4);
    b.push(Op::Mov {
        dst: Reg(2).into(),
        src: Value::Imm(2),
    });
    b.push(Op::TrapIf {
        cond: Reg(0).into(),
        cause: TrapCause::DivideError,
        tval: 0x55,
    });
    b.push(Op::Mov {
        dst: Reg(3).into(),
        src: Value::Imm(3),
    });
    let block = b.finish(Terminator::Jump { target: 0x108 });
    let mut c = cache(4, 4);
    let mut ctx = JitContext::without_memory();
    let mut slots = [7u64, 0, 0, 0];
    assert_eq!(
        run(&mut c, &block, &mut slots, &mut ctx),
        Exit::Trap {
            pc: 0x104,
            cause: TrapCause::DivideError,
            tval: 0x55
        }
    );
    assert_eq!((slots, ctx.insn_count), ([7, 1, 2, 0], 1));
    let mut slots = [0u64, 0, 0, 0];
    let mut ctx = JitContext::without_memory();
    let exit = c.lookup(key(0x100)).unwrap().run(&mut slots, &mut ctx);
    assert_eq!(exit, Ok(Exit::Next(0x108)));
    assert_eq!((slots, ctx.insn_count), ([0, 1, 2, 3], 2));
}

/// Guest memory for the callbacks: `data` at `base`; anything else faults and is recorded.
struct TestMem {
    base: u64,
    data: Vec<u8>,
    fault_addr: Option<u64>,
    accesses: Vec<(char, u64, u32, u32)>,
}

impl TestMem {
    fn range(&self, vaddr: u64, size: u32) -> Option<core::ops::Range<usize>> {
        let off = usize::try_from(vaddr.checked_sub(self.base)?).ok()?;
        let end = off.checked_add(size as usize)?;
        (end <= self.data.len()).then_some(off..end)
    }
}

/// The context and the `TestMem` behind its `user` pointer.
fn parts<'a>(ctx: *mut JitContext) -> (&'a mut JitContext, &'a mut TestMem) {
    // SAFETY: generated code passes the live context it was entered with, derived from a `&mut` that
    // `run` does not use during the call.
    let ctx = unsafe { &mut *ctx };
    // SAFETY: the tests set `user` to a `TestMem` that outlives the run and is not otherwise borrowed
    // during it.
    let mem = unsafe { &mut *ctx.user.cast::<TestMem>() };
    (ctx, mem)
}

extern "C" fn test_load(ctx: *mut JitContext, vaddr: u64, size: u32, aligned: u32) -> u64 {
    let (ctx, mem) = parts(ctx);
    mem.accesses.push(('r', vaddr, size, aligned));
    match mem.range(vaddr, size) {
        Some(r) => {
            let mut buf = [0u8; 8];
            buf[..size as usize].copy_from_slice(&mem.data[r]);
            u64::from_le_bytes(buf)
        }
        None => {
            mem.fault_addr = Some(vaddr);
            ctx.fault = 1;
            0
        }
    }
}

extern "C" fn test_store(ctx: *mut JitContext, vaddr: u64, value: u64, size: u32, aligned: u32) {
    let (ctx, mem) = parts(ctx);
    mem.accesses.push(('w', vaddr, size, aligned));
    match mem.range(vaddr, size) {
        Some(r) => mem.data[r].copy_from_slice(&value.to_le_bytes()[..size as usize]),
        None => {
            mem.fault_addr = Some(vaddr);
            ctx.fault = 1;
        }
    }
}

fn mem_ctx(mem: &mut TestMem) -> JitContext {
    JitContext::new(
        test_load,
        test_store,
        (mem as *mut TestMem).cast::<c_void>(),
    )
}

#[test]
fn loads_extend_and_stores_write_low_bytes() {
    let mut mem = TestMem {
        base: 0x8000,
        data: vec![0; 32],
        fault_addr: None,
        accesses: Vec::new(),
    };
    let mut b = BlockBuilder::new(0x100);
    b.insn(0x100, 4);
    // Store 0x...8081_8283_8485_8687 as 8 bytes at 0x8000, then 0xaa as one byte at 0x8008.
    b.push(Op::Store {
        src: Reg(0).into(),
        addr: Reg(1).into(),
        offset: 0,
        mem: MemOp::unsigned(AccessSize::U64),
    });
    b.push(Op::Store {
        src: Value::Imm(0x1234_56aa),
        addr: Reg(1).into(),
        offset: 8,
        mem: MemOp::unsigned(AccessSize::U8).must_align(),
    });
    let loads = [
        (AccessSize::U8, false, 0x87),
        (AccessSize::U8, true, 0xffff_ffff_ffff_ff87),
        (AccessSize::U16, false, 0x8687),
        (AccessSize::U16, true, 0xffff_ffff_ffff_8687),
        (AccessSize::U32, false, 0x8485_8687),
        (AccessSize::U32, true, 0xffff_ffff_8485_8687),
        (AccessSize::U64, true, 0x8081_8283_8485_8687),
    ];
    for (i, (size, signed, _)) in loads.iter().enumerate() {
        b.push(Op::Load {
            dst: Reg(2 + i as u16).into(),
            addr: Reg(1).into(),
            // Negative displacement from base + 16.
            offset: -16,
            mem: MemOp {
                size: *size,
                signed: *signed,
                aligned: false,
            },
        });
    }
    let block = b.finish(Terminator::Jump { target: 0x104 });
    let mut c = cache(4, 4);
    // First run with the base at 0x8000: the stores land at 0x8000/0x8008, the first load reads 0x7ff0
    // and faults.
    let mut slots = vec![0x8081_8283_8485_8687, 0x8000, 0, 0, 0, 0, 0, 0, 0];
    let mut ctx = mem_ctx(&mut mem);
    let exit = run(&mut c, &block, &mut slots, &mut ctx);
    // Nothing after the faulting load ran; the stores did.
    assert_eq!(exit, Exit::MemFault(0x100));
    assert_eq!(mem.fault_addr, Some(0x7ff0));
    assert_eq!(ctx.insn_count, 0);
    assert_eq!(
        &mem.data[..9],
        &[0x87, 0x86, 0x85, 0x84, 0x83, 0x82, 0x81, 0x80, 0xaa]
    );
    assert_eq!(
        &mem.accesses[..2],
        &[('w', 0x8000, 8, 0), ('w', 0x8008, 1, 1)]
    );
    // With the base at 0x8010 the stores land at 0x8010/0x8018 and the loads read what the first run
    // stored at 0x8000.
    let mut slots = vec![0x8081_8283_8485_8687, 0x8010, 0, 0, 0, 0, 0, 0, 0];
    let mut ctx = mem_ctx(&mut mem);
    let exit = c.lookup(key(0x100)).unwrap().run(&mut slots, &mut ctx);
    assert_eq!(exit, Ok(Exit::Next(0x104)));
    for (i, (size, signed, want)) in loads.iter().enumerate() {
        assert_eq!(slots[2 + i], *want, "{size:?} signed={signed}");
    }
    assert_eq!(ctx.insn_count, 1);
    assert_eq!(&mem.data[0x10..0x19], &mem.data[..9].to_vec()[..]);
}

#[test]
fn fault_mid_block_keeps_earlier_writes_and_reports_the_instruction() {
    let mut mem = TestMem {
        base: 0x8000,
        data: vec![0x11; 8],
        fault_addr: None,
        accesses: Vec::new(),
    };
    let mut b = BlockBuilder::new(0x200);
    b.insn(0x200, 4); // r1 = 7
    b.push(Op::Mov {
        dst: Reg(1).into(),
        src: Value::Imm(7),
    });
    b.insn(0x204, 4); // r2 = load8 [0x8000]
    b.push(Op::Load {
        dst: Reg(2).into(),
        addr: Value::Imm(0x8000),
        offset: 0,
        mem: MemOp::unsigned(AccessSize::U8),
    });
    b.insn(0x208, 2); // r3 = r1 + r2; r4 = load [r0] (faults); r5 = 1
    let t = b.temp();
    b.push(Op::Bin {
        op: BinOp::Add,
        ty: Ty::I64,
        dst: t.into(),
        a: Reg(1).into(),
        b: Reg(2).into(),
    });
    b.push(Op::Mov {
        dst: Reg(3).into(),
        src: t.into(),
    });
    b.push(Op::Load {
        dst: Reg(4).into(),
        addr: Reg(0).into(),
        offset: 4,
        mem: MemOp::unsigned(AccessSize::U32),
    });
    b.push(Op::Mov {
        dst: Reg(5).into(),
        src: Value::Imm(1),
    });
    b.insn(0x20a, 4); // r6 = 6
    b.push(Op::Mov {
        dst: Reg(6).into(),
        src: Value::Imm(6),
    });
    let block = b.finish(Terminator::Jump { target: 0x20e });
    let mut c = cache(4, 4);

    // Faulting run: r0 points outside memory.
    let mut slots = [0x9000u64, 0, 0, 0, 0xee, 0xee, 0xee];
    let mut ctx = mem_ctx(&mut mem);
    ctx.insn_count = 100;
    let exit = run(&mut c, &block, &mut slots, &mut ctx);
    assert_eq!(exit, Exit::MemFault(0x208));
    assert_eq!(ctx.next_pc, 0x208);
    assert_eq!(ctx.insn_count, 102);
    assert_eq!(slots, [0x9000, 7, 0x11, 0x18, 0xee, 0xee, 0xee]);
    assert_eq!(mem.fault_addr, Some(0x9004));

    // The same code without a fault runs to the end; the fault flag is cleared on entry.
    let mut slots = [0x8000u64, 0, 0, 0, 0, 0, 0];
    let mut ctx = mem_ctx(&mut mem);
    ctx.fault = 1;
    let exit = c.lookup(key(0x200)).unwrap().run(&mut slots, &mut ctx);
    assert_eq!(exit, Ok(Exit::Next(0x20e)));
    assert_eq!(slots, [0x8000, 7, 0x11, 0x18, 0x1111_1111, 1, 6]);
    assert_eq!(ctx.insn_count, 4);
}

fn numbered_block(pc: u64, value: u64) -> Block {
    let mut b = BlockBuilder::new(pc);
    b.insn(pc, 4);
    b.push(Op::Mov {
        dst: Reg(0).into(),
        src: Value::Imm(value),
    });
    b.finish(Terminator::Jump { target: pc + 4 })
}

#[test]
fn eviction_frees_whole_batches_and_stale_keys_miss() {
    let mut c = cache(4, 2);
    for i in 0..4 {
        c.compile(key(0x1000 * i), &numbered_block(0x1000 * i, i))
            .unwrap();
    }
    assert_eq!((c.batch_count(), c.resident_blocks(), c.len()), (2, 4, 4));
    let g = c.generation();
    c.compile(key(0x4000), &numbered_block(0x4000, 4)).unwrap();
    // The oldest batch (keys 0 and 1) went, whole.
    assert_eq!((c.batch_count(), c.resident_blocks(), c.len()), (2, 3, 3));
    assert!(c.lookup(key(0)).is_none());
    assert!(c.lookup(key(0x1000)).is_none());
    assert_ne!(c.generation(), g);
    let stats = c.stats();
    assert_eq!((stats.compiles, stats.evictions), (5, 1));
    assert!(stats.compile_time > std::time::Duration::ZERO);
    for i in 2..5 {
        let mut slots = [0u64];
        let exit = c
            .lookup(key(0x1000 * i))
            .unwrap()
            .run(&mut slots, &mut JitContext::without_memory());
        assert_eq!((exit, slots[0]), (Ok(Exit::Next(0x1000 * i + 4)), i));
    }

    // Invalidating a physical range drops the overlapping keys only; a closed batch left empty is freed.
    assert_eq!(c.invalidate_range(0x2003, 0x2004), 1);
    assert!(c.lookup(key(0x2000)).is_none());
    assert_eq!(c.invalidate_range(0x2004, 0x3000), 0);
    assert_eq!(c.invalidate_range(0x3000, 0x3001), 1);
    assert_eq!((c.batch_count(), c.len()), (1, 1));
    assert_eq!(c.stats().batches_freed, 1);
    assert_eq!(c.stats().invalidated, 2);
    assert!(c.lookup(key(0x4000)).is_some());

    // An unsupported block is refused without evicting anything.
    let mut b = BlockBuilder::new(0x5000);
    b.insn(0x5000, 4);
    b.push(Op::Fence(FenceKind::Data(MemOrder::SeqCst)));
    let fence = b.finish(Terminator::Jump { target: 0x5004 });
    assert!(matches!(
        c.compile(key(0x5000), &fence),
        Err(JitError::Unsupported {
            pc: 0x5000,
            index: 1,
            what: "fence"
        })
    ));
    assert_eq!(c.stats().unsupported, 1);
    assert!(c.lookup(key(0x5000)).is_none());
    assert!(c.lookup(key(0x4000)).is_some());
    c.clear();
    assert_eq!((c.batch_count(), c.len()), (0, 0));
}

#[test]
fn configuration_and_malformed_blocks_are_rejected() {
    let bad = CodeCache::new(CodeCacheConfig {
        max_blocks: 1,
        batch_blocks: 2,
    });
    assert!(matches!(bad, Err(JitError::InvalidConfig(_))));
    let mut c = cache(2, 1);
    let mut block = numbered_block(0x100, 1);
    block.guest_len = 8;
    assert!(matches!(
        c.compile(key(0x100), &block),
        Err(JitError::InvalidBlock { pc: 0x100, .. })
    ));
}

#[test]
fn hot_spot_counter_fires_once_at_threshold() {
    let mut h = HotSpotCounter::new(3);
    let (a, b) = (key(0x10), key(0x20));
    assert_eq!(
        [
            h.record(a),
            h.record(a),
            h.record(b),
            h.record(a),
            h.record(a)
        ],
        [false, false, false, true, false]
    );
    assert_eq!((h.count(a), h.count(b), h.len()), (4, 1, 2));
    h.reset(a);
    assert_eq!(h.count(a), 0);
    assert_eq!(
        [h.record(a), h.record(a), h.record(a)],
        [false, false, true]
    );
    h.reset_range(0x20, 0x21);
    assert_eq!(h.count(b), 0);
    assert_eq!(h.count(a), 3);
    h.clear();
    assert!(h.is_empty());
}
