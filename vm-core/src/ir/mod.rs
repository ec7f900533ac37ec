//! The IR: a typed, register-based representation of guest code.
//!
//! Three producers (the RISC-V, AArch64 and x86-64 decoders in `vm-frontend`) and two consumers (the
//! interpreter and the Cranelift JIT in `vm-engine`) meet here, so every operation has exactly one
//! documented semantics and no operation belongs to one architecture. Where architectures differ
//! (division by zero, shift-amount masking, NaN rules, flags), the frontend emits the compare, select,
//! mask or trap it needs.
//!
//! # Model
//!
//! - A [`Block`] is straight-line code: a list of [`Op`]s and exactly one [`Terminator`].
//! - Values are 64-bit. A value of an integer type narrower than 64 bits lives in the low bits of its
//!   64-bit container; **every operation that produces an `I8`/`I16`/`I32` result zero-extends it** to 64
//!   bits (use [`Op::Ext`] to sign-extend). Floating-point values are their IEEE-754 bit patterns
//!   (an `F32` in the low 32 bits).
//! - Storage is either a guest register slot ([`Reg`]: index into the vCPU's `u64` slot array, laid out
//!   by the architecture — see `vm_core::regs`) or a block-local temporary ([`Temp`], dead at the end of
//!   the block). Operands may also be constants.
//! - [`Op::Insn`] marks the start of each guest instruction. Everything that can fault (loads, stores,
//!   atomics, helper calls, [`Op::TrapIf`]) is precise: when an op faults, the guest state is exactly the
//!   state before the faulting instruction's marker *plus* the effects of the ops of that instruction
//!   emitted before the faulting op. Frontends therefore emit all of an instruction's faulting ops before
//!   its first write to a guest register.
//! - System operations (CSR access, privilege changes, `cpuid`, TLB fences) are [`Op::Helper`] calls into
//!   the frontend's system semantics, so engines never learn an architecture.
//!
//! ```
//! use vm_core::ir::*;
//!
//! // RISC-V `addi a0, a0, 1; beq a0, a1, +8` at 0x8000_0000.
//! let mut b = BlockBuilder::new(0x8000_0000);
//! let (a0, a1) = (Reg(10), Reg(11));
//! b.insn(0x8000_0000, 4);
//! b.push(Op::Bin { op: BinOp::Add, ty: Ty::I64, dst: a0.into(), a: a0.into(), b: Value::Imm(1) });
//! b.insn(0x8000_0004, 4);
//! let t = b.temp();
//! b.push(Op::Cmp { cond: Cond::Eq, ty: Ty::I64, dst: t.into(), a: a0.into(), b: a1.into() });
//! let block = b.finish(Terminator::Branch { cond: t.into(), taken: 0x8000_000c, not_taken: 0x8000_0008 });
//! assert_eq!(block.insn_count, 2);
//! assert_eq!(block.guest_len, 8);
//! block.validate().unwrap();
//! ```

mod block;
mod display;
mod eval;
mod fp;
mod op;

pub use block::{Block, BlockBuilder, IrError};
pub use eval::{eval_bin, eval_cmp, eval_un, ext};
pub use fp::{FBinOp, FCmpOp, FUnOp, FloatTy, FpEnv, FpFlags, NanMode, Rounding, RoundingMode};
pub use op::{
    BinOp, Cond, FenceKind, HelperId, MemOp, MemOrder, Op, Place, Reg, RmwOp, Temp, Terminator,
    TrapCause, Ty, UnOp, Value,
};
