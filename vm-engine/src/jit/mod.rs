//! The Cranelift JIT tier: compiles hot IR blocks to host code.
//!
//! # How a block becomes host code
//!
//! 1. The engine counts block executions with a [`HotSpotCounter`]; when a [`BlockKey`] becomes hot it
//!    hands the block's IR to [`CodeCache::compile`].
//! 2. [`JitCompiler::compile`] validates the block and translates it into one Cranelift function
//!    `extern "C" fn(slots: *mut u64, ctx: *mut JitContext) -> u64`:
//!    - guest register slots become Cranelift `Variable`s, loaded from `slots` on first use;
//!      temporaries are `Variable`s too; Cranelift's SSA builder turns them into registers;
//!    - integer ops are lowered in 64 bits with explicit masking so narrow results are zero-extended
//!      exactly as `vm_core::ir::eval_bin`/`eval_un`/`eval_cmp`/`ext` define; division and remainder
//!      select a safe divisor (Cranelift's `sdiv`/`udiv` trap on zero and `MIN / -1`) and then the
//!      documented result;
//!    - `Load`/`Store` call the slow-path functions stored in [`JitContext::load`]/[`JitContext::store`]
//!      and test [`JitContext::fault`] afterwards; a fault leaves through a side exit. (An inline soft-TLB
//!      fast path is the planned next step; the hook is marked in `compiler.rs`.)
//!    - every exit (terminator, fault, `TrapIf`) stores back the registers written so far, writes
//!      [`JitContext::next_pc`] (the faulting instruction's PC, from the last `Op::Insn` marker, on a
//!      fault or trap), adds the number of *completed* guest instructions to
//!      [`JitContext::insn_count`], and returns an [`ExitCode`].
//! 3. The function is placed in the newest batch of the [`CodeCache`] (one `JITModule` per batch) and
//!    finalised. [`CodeCache::lookup`] returns a [`CompiledBlock`] borrowing the cache, whose
//!    [`CompiledBlock::run`] calls it and decodes the exit into an [`Exit`].
//! 4. When the cache is full the oldest batch is evicted whole (`JITModule::free_memory`);
//!    [`CodeCache::invalidate_range`] drops the keys of blocks overlapping written guest physical memory.
//!
//! # What is compiled today, and what stays in the interpreter
//!
//! Compiled: instruction markers; every integer op (`Mov`, `Bin` including the high multiplies,
//! division and remainder, shifts and rotates; `Un` including `Clz`/`Ctz`/`Popcnt`/`Bswap`/
//! `OrCombineBytes`; `Cmp`, `Select`, `Ext`); `Load`/`Store` through the callbacks; `TrapIf`; every
//! terminator (`Jump`, `Branch`, `JumpIndirect`, `Sync`, `Wait`, `Trap`).
//!
//! Not compiled: atomics (`LoadReserved`, `StoreConditional`, `AtomicRmw`, `CmpXchg`), `Fence`,
//! `Helper` calls and all floating-point ops. For a block containing any of them
//! [`CodeCache::compile`] returns [`JitError::Unsupported`] and the caller keeps interpreting it.
//!
//! Conventions shared with the interpreter: a `Trap` terminator counts the instructions before the
//! trapping (last) one; a fault or `TrapIf` counts the instructions before the faulting one and keeps
//! the register writes of everything before the faulting op.
//!
//! ```
//! use vm_core::ir::*;
//! use vm_engine::jit::{BlockKey, CodeCache, CodeCacheConfig, Exit, JitContext};
//!
//! let mut b = BlockBuilder::new(0x1000);
//! b.insn(0x1000, 4);
//! b.push(Op::Bin { op: BinOp::Add, ty: Ty::I64, dst: Reg(1).into(), a: Reg(1).into(), b: Value::Imm(5) });
//! let block = b.finish(Terminator::Jump { target: 0x1004 });
//!
//! let mut cache = CodeCache::new(CodeCacheConfig::default()).unwrap();
//! let key = BlockKey { phys_pc: 0x1000, context: 0 };
//! cache.compile(key, &block).unwrap();
//! let mut slots = [0u64, 10];
//! let mut ctx = JitContext::without_memory();
//! let exit = cache.lookup(key).unwrap().run(&mut slots, &mut ctx).unwrap();
//! assert_eq!((exit, slots[1], ctx.insn_count), (Exit::Next(0x1004), 15, 1));
//! ```

mod cache;
mod compiler;
mod context;
mod error;
mod hotspot;
mod lower;

pub use cache::{BlockKey, CodeCache, CodeCacheConfig, CompiledBlock, JitStats};
pub use compiler::{CompiledInfo, JitCompiler};
pub use context::{
    Exit, ExitCode, JitContext, LoadFn, StoreFn, decode_trap_cause, encode_trap_cause,
};
pub use error::{JitError, JitResult};
pub use hotspot::HotSpotCounter;
