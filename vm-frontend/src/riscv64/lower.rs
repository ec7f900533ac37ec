//! Lowering RISC-V instructions to the vm-core IR: [`decode_block`] fetches, decodes ([`super::decode`])
//! and lowers guest code until a block ends.
//!
//! One block is straight-line code starting at `pc`. It ends:
//! - at control flow (`jal`, `jalr`, branches: [`Terminator::Jump`], [`Terminator::JumpIndirect`],
//!   [`Terminator::Branch`]), at `mret`/`sret` (an indirect jump to the helper's result);
//! - at a trap: `ecall`, `ebreak`, an illegal encoding, or a floating-point instruction the hart's
//!   [`LowerCtx`] forbids ([`Terminator::Trap`], after the instruction's own marker so the trap PC is
//!   right);
//! - after system instructions that may change privilege, translation or interrupt state
//!   ([`Terminator::Sync`]; every CSR access except to `fflags`, `frm` and `fcsr`), after `wfi`
//!   ([`Terminator::Wait`]), `fence.i` and `sfence.vma`;
//! - after `max_insns` instructions (at most [`MAX_BLOCK_INSNS`]), or before an instruction whose
//!   fetch fails (a [`Terminator::Jump`] to it: the engine raises the fault when that instruction
//!   starts a block of its own). Crossing a page does not end a block.
//!
//! How RISC-V meets the IR (where the IR's one semantics is not RISC-V's, the lowering composes):
//! - `x0` reads as the constant 0 and is never written: an instruction with `rd = x0` still performs
//!   its loads, atomics, helper calls and floating-point flag updates, into a temporary.
//! - The IR's shifts and rotates take their amount modulo the width, and its division and remainder
//!   give RISC-V's results for division by zero and signed overflow, so `sll`/`div`/... map onto one
//!   op each; the `*w` forms compute at 32 bits and sign-extend.
//! - Floating point uses [`FpEnv`] `{ Canonical NaNs, NaN-boxed f32, flags into fflags }`. The IR has
//!   no sign injection: `fsgnj*` are composed from integer ops, after replacing an improperly
//!   NaN-boxed f32 operand by the canonical NaN as the F extension requires. `fcvt.w[u]` sign-extend
//!   the IR's 32-bit result; `flw`/`fmv.w.x` box with one OR.
//! - The dynamic rounding mode is checked when the block is decoded ([`LowerCtx::frm_valid`]); after
//!   a CSR instruction in the same block that may have written `frm`, each dynamic-rounding
//!   instruction checks `frm` itself with an [`IrOp::TrapIf`].
//!
//! ```
//! use vm_core::exec::{Exception, InsnFetch};
//! use vm_core::ir::{Terminator, TrapCause};
//! use vm_frontend::riscv64::lower::{LowerCtx, decode_block};
//!
//! /// Code at address 0.
//! struct Rom(Vec<u8>);
//!
//! impl InsnFetch for Rom {
//!     fn fetch(&mut self, vaddr: u64, buf: &mut [u8]) -> Result<(), Exception> {
//!         let fault = Exception::fetch_fault(vaddr);
//!         let start = usize::try_from(vaddr).map_err(|_| fault)?;
//!         buf.copy_from_slice(self.0.get(start..start + buf.len()).ok_or(fault)?);
//!         Ok(())
//!     }
//! }
//!
//! // addi a0, a0, 1; c.addi a0, -1; c.ebreak
//! let mut rom = Rom(vec![0x13, 0x05, 0x15, 0x00, 0x7d, 0x15, 0x02, 0x90]);
//! let ctx = LowerCtx { fp_enabled: true, frm_valid: true };
//! let block = decode_block(0, &mut rom, 64, ctx).expect("the first instruction is readable");
//! block.validate().expect("lowered blocks are always valid");
//! assert_eq!((block.insn_count, block.guest_len), (3, 8));
//! assert_eq!(block.term, Terminator::Trap { cause: TrapCause::Breakpoint, tval: 6 });
//! assert!(block.to_string().contains("r10 = add.i64 r10, 0x1"));
//! ```

mod fp;
mod int;
mod mem;
mod system;
#[cfg(test)]
mod tests;

use vm_core::exec::{Exception, InsnFetch};
use vm_core::ir::{
    BinOp, Block, BlockBuilder, FpEnv, NanMode, Op as IrOp, Place, Temp, Terminator, TrapCause, Ty,
    Value,
};
use vm_core::regs::riscv64 as slot;

use super::insn::Op;
use super::reg::{FReg, XReg};
use super::{decode, insn_len};

/// What the lowering needs to know of the hart's state. It is part of the hart's context key, so a
/// block lowered under one context is never run under another.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LowerCtx {
    /// `mstatus.FS` is not Off: floating-point instructions execute (else they are illegal).
    pub fp_enabled: bool,
    /// `frm` holds a valid rounding mode (0..=4): instructions with the dynamic rounding mode execute
    /// (else they are illegal).
    pub frm_valid: bool,
}

/// The most instructions one block holds whatever `max_insns` asks: it bounds the temporaries of a
/// block (at most six per instruction) well below the IR's 65536.
pub const MAX_BLOCK_INSNS: u32 = 4096;

/// Decode and lower the block at `pc` (see [`vm_core::exec::Decoder`] for the rules, and the module
/// documentation for how blocks end). `Err` only when the first instruction cannot be fetched; the
/// result always passes [`Block::validate`], whatever the bytes.
pub fn decode_block(
    pc: u64,
    fetch: &mut dyn InsnFetch,
    max_insns: u32,
    ctx: LowerCtx,
) -> Result<Block, Exception> {
    let limit = max_insns.clamp(1, MAX_BLOCK_INSNS);
    let mut l = Lowerer {
        b: BlockBuilder::new(pc),
        ctx,
        frm_dirty: false,
    };
    let mut cur = pc;
    loop {
        let raw = match fetch_insn(fetch, cur) {
            Ok(raw) => raw,
            Err(e) if l.b.insn_count() == 0 => return Err(e),
            Err(_) => return Ok(l.b.finish(Terminator::Jump { target: cur })),
        };
        let len: u8 = if raw & 0b11 == 0b11 { 4 } else { 2 };
        let next = cur.wrapping_add(u64::from(len));
        l.b.insn(cur, len);
        let flow = match decode(raw) {
            Ok(insn) => l.lower(insn.op, cur, next, raw),
            Err(ill) => Flow::illegal(ill.raw),
        };
        if let Flow::End(term) = flow {
            return Ok(l.b.finish(term));
        }
        cur = next;
        if l.b.insn_count() >= limit {
            return Ok(l.b.finish(Terminator::Jump { target: cur }));
        }
    }
}

/// Fetch the instruction at `pc`: its first halfword, and the second one only when [`insn_len`]
/// says it is not a 16-bit instruction (so a compressed instruction at the end of a page never
/// touches the next page). Encodings longer than 32 bits are illegal; their first 32 bits are the
/// trap value.
fn fetch_insn(fetch: &mut dyn InsnFetch, pc: u64) -> Result<u32, Exception> {
    let mut half = [0u8; 2];
    fetch.fetch(pc, &mut half)?;
    let first = u16::from_le_bytes(half);
    if insn_len(first) == Some(2) {
        return Ok(u32::from(first));
    }
    fetch.fetch(pc.wrapping_add(2), &mut half)?;
    Ok(u32::from(first) | (u32::from(u16::from_le_bytes(half)) << 16))
}

/// Whether the block goes on after an instruction.
enum Flow {
    /// Lower the next instruction.
    Next,
    /// End the block here.
    End(Terminator),
}

impl Flow {
    /// End the block with an illegal-instruction trap whose value is the instruction bits.
    fn illegal(raw: u32) -> Flow {
        Flow::End(Terminator::Trap {
            cause: TrapCause::IllegalInstruction,
            tval: u64::from(raw),
        })
    }
}

/// The floating-point environment of every RISC-V FP op.
const FP_ENV: FpEnv = FpEnv {
    nan: NanMode::Canonical,
    box_f32: true,
    flags: Some(slot::FFLAGS),
};

/// The state of one block being lowered.
struct Lowerer {
    /// The block so far.
    b: BlockBuilder,
    /// The hart's context the block is lowered for.
    ctx: LowerCtx,
    /// A CSR instruction earlier in the block may have written `frm`: dynamic rounding checks it
    /// at run time.
    frm_dirty: bool,
}

impl Lowerer {
    /// Lower one decoded instruction (its marker is already emitted).
    fn lower(&mut self, op: Op, pc: u64, next: u64, raw: u32) -> Flow {
        match op {
            Op::Lui { rd, imm } => self.set_x(rd, Value::Imm(sext(imm))),
            Op::Auipc { rd, imm } => self.set_x(rd, Value::Imm(pc.wrapping_add(sext(imm)))),
            Op::Jal { rd, offset } => self.jal(rd, offset, pc, next),
            Op::Jalr { rd, rs1, offset } => self.jalr(rd, rs1, offset, next),
            Op::Branch {
                cond,
                rs1,
                rs2,
                offset,
            } => self.branch(cond, rs1, rs2, offset, pc, next),
            Op::AluImm { op, rd, rs1, imm } => {
                let a = self.x(rs1);
                self.alu(op, rd, a, Value::Imm(sext(imm)))
            }
            Op::Alu { op, rd, rs1, rs2 } => {
                let (a, b) = (self.x(rs1), self.x(rs2));
                self.alu(op, rd, a, b)
            }
            Op::AluImmW { op, rd, rs1, imm } => {
                let a = self.x(rs1);
                self.alu_w(op, rd, a, Value::Imm(sext(imm)), raw)
            }
            Op::AluW { op, rd, rs1, rs2 } => {
                let (a, b) = (self.x(rs1), self.x(rs2));
                self.alu_w(op, rd, a, b, raw)
            }
            Op::Unary { op, rd, rs1 } => self.unary(op, rd, rs1),
            Op::MulDiv { op, rd, rs1, rs2 } => self.muldiv(op, rd, rs1, rs2, false, raw),
            Op::MulDivW { op, rd, rs1, rs2 } => self.muldiv(op, rd, rs1, rs2, true, raw),
            Op::Load {
                op,
                rd,
                rs1,
                offset,
            } => self.load(op, rd, rs1, offset),
            Op::Store {
                op,
                rs1,
                rs2,
                offset,
            } => self.store(op, rs1, rs2, offset),
            Op::Lr {
                width,
                aq,
                rl,
                rd,
                rs1,
            } => self.lr(width, aq, rl, rd, rs1),
            Op::Sc {
                width,
                aq,
                rl,
                rd,
                rs1,
                rs2,
            } => self.sc(width, aq, rl, rd, rs1, rs2),
            Op::Amo {
                op,
                width,
                aq,
                rl,
                rd,
                rs1,
                rs2,
            } => self.amo(op, width, aq, rl, rd, rs1, rs2),
            Op::Fence { pred, succ, fm } => self.fence(pred, succ, fm),
            Op::FenceI => {
                self.push(IrOp::Fence(vm_core::ir::FenceKind::Instruction));
                Flow::End(Terminator::Jump { target: next })
            }
            Op::Ecall => Flow::End(Terminator::Trap {
                cause: TrapCause::SystemCall,
                tval: 0,
            }),
            Op::Ebreak => Flow::End(Terminator::Trap {
                cause: TrapCause::Breakpoint,
                tval: pc,
            }),
            Op::Mret | Op::Sret => self.xret(op == Op::Mret, raw),
            Op::Wfi => self.wfi(next, raw),
            Op::SfenceVma { rs1, rs2 } => self.sfence_vma(rs1, rs2, next, raw),
            Op::Csr { op, rd, csr, src } => self.csr(op, rd, csr, src, next, raw),
            Op::FLoad { .. }
            | Op::FStore { .. }
            | Op::FArith { .. }
            | Op::FSqrt { .. }
            | Op::FFma { .. }
            | Op::FSgnj { .. }
            | Op::FMinMax { .. }
            | Op::FCmp { .. }
            | Op::FClass { .. }
            | Op::FCvtToInt { .. }
            | Op::FCvtFromInt { .. }
            | Op::FCvtFmt { .. }
            | Op::FMvToInt { .. }
            | Op::FMvFromInt { .. } => self.fp(op, raw),
        }
    }

    /// Append an op.
    fn push(&mut self, op: IrOp) {
        self.b.push(op);
    }

    /// A fresh temporary.
    fn temp(&mut self) -> Temp {
        self.b.temp()
    }

    /// The value of `x{r}` (`x0` is the constant 0).
    fn x(&self, r: XReg) -> Value {
        if r.is_zero() {
            Value::Imm(0)
        } else {
            Value::Reg(slot::x(r.num()))
        }
    }

    /// Where a result for `x{r}` goes; `None` for `x0` (the result is dropped).
    fn xd(&self, r: XReg) -> Option<Place> {
        (!r.is_zero()).then(|| Place::Reg(slot::x(r.num())))
    }

    /// Where a result for `x{r}` goes when the op must run anyway (it may fault or set flags): a
    /// scratch temporary for `x0`.
    fn xd_or_temp(&mut self, r: XReg) -> Place {
        match self.xd(r) {
            Some(p) => p,
            None => Place::Temp(self.temp()),
        }
    }

    /// The slot of `f{r}`.
    fn f(r: FReg) -> Value {
        Value::Reg(slot::f(r.num()))
    }

    /// `x{rd} = v` (dropped for `x0`).
    fn set_x(&mut self, rd: XReg, v: Value) -> Flow {
        if let Some(dst) = self.xd(rd) {
            self.push(IrOp::Mov { dst, src: v });
        }
        Flow::Next
    }

    /// `dst = a op b` at width `ty`.
    fn bin(&mut self, op: BinOp, ty: Ty, dst: Place, a: Value, b: Value) {
        self.push(IrOp::Bin { op, ty, dst, a, b });
    }

    /// `dst = sext32(dst)`.
    fn sext32(&mut self, dst: Place) {
        self.push(IrOp::Ext {
            dst,
            src: dst.into(),
            from: Ty::I32,
            signed: true,
        });
    }
}

/// An immediate sign-extended to 64 bits.
const fn sext(imm: i32) -> u64 {
    imm as i64 as u64
}
