//! Lowering a validated IR [`Block`] into the interpreter's compact form ([`super::ops`]), with
//! constant folding and instruction fusion.
//!
//! - **Operands** become frame indices (see [`super::lower`] for the frame layout and how constants
//!   are tracked). Pure ops whose operands are all known are folded into one constant write.
//! - **Specialisation**: the frequent shapes get their own op (`Add`, `AddI`, `Ld`, `Sd`, ...), so the
//!   executor dispatches once per op. A `Bin.i64` with one constant operand uses the immediate form;
//!   a subtraction of a constant becomes an addition of its negation.
//! - **Fusion** (each fused op replaces two or more IR ops; [`super::InterpStats::fused_ops`] counts
//!   them as they run):
//!   - a `Bin.i32` followed by the sign extension of its result into the same place becomes one `…W`
//!     op (RISC-V `addw`, `addiw`, `sllw`, `mulw`, ...);
//!   - a `Cmp` into a temporary that is the block's last op and feeds its `Branch` becomes
//!     [`CTerm::CmpBranch`];
//!   - `t = base + off; t = t & !1; [rd = link]; jump_indirect t` (RISC-V `jalr`) becomes
//!     [`CTerm::JumpReg`] when `base` is not the link register (else the ops stay).
//! - **Superinstructions** (dispatch merging, not counted as fusion): frequent adjacent pairs of ops
//!   that cannot fault become one op (see `pair`).
//! - Instruction markers disappear: ops that may fault carry the ordinal of their instruction, and the
//!   block keeps each instruction's PC for precise exceptions.

use vm_core::ir::{
    BinOp, Block, Cond, FpEnv, MemOp, Op, Place, Rounding, Terminator, Ty, Value, eval_bin,
    eval_cmp, eval_un, ext,
};
use vm_core::mem::AccessSize;

use super::lower::{Layout, Lower, LowerError, Opnd};
use super::ops::{CBlock, CFpEnv, COp, CRound, CTerm, Slow, SlowOp};
use crate::error::Error;

mod pair;
mod rare;

/// Validate `block` and lower it to compact form for a CPU whose slots fill `layout`.
pub(crate) fn compile(block: &Block, layout: Layout) -> Result<CBlock, LowerError> {
    block.validate().map_err(|source| Error::InvalidBlock {
        pc: block.pc,
        source,
    })?;
    if block.insn_count > u32::from(u16::MAX) {
        return Err(LowerError::TooLarge);
    }
    let mut c = Compiler {
        l: Lower::new(layout, block.pc, block.num_temps)?,
        slow: Vec::new(),
        fenv: Vec::new(),
        insn: 0,
        insn_pcs: Vec::with_capacity(block.insn_count as usize),
        fused: 0,
    };
    let ops = &block.ops;
    let (body, fusion) = plan_terminator(ops, block.term);
    let mut i = 0;
    while i < body {
        let next = ops.get(i + 1).filter(|_| i + 1 < body);
        i += if c.op(&ops[i], next)? { 2 } else { 1 };
    }
    let (term, term_fused) = c.term(ops, block.term, fusion)?;
    let ops = core::mem::take(&mut c.l.ops);
    c.fused += u32::from(term_fused);
    Ok(CBlock {
        pc: block.pc,
        insn_count: block.insn_count,
        ops: pair::pair(ops).into_boxed_slice(),
        term,
        slow: c.slow.into_boxed_slice(),
        fenv: c.fenv.into_boxed_slice(),
        insn_pcs: c.insn_pcs.into_boxed_slice(),
        fused: c.fused,
        extra_pages: Vec::new(),
    })
}

/// Which terminator fusion applies.
#[derive(Copy, Clone)]
enum Fusion {
    None,
    /// The last op is the branch's compare.
    CmpBranch,
    /// `jalr`: the add and the mask are at `at` and `at + 1`; `link` is the op after them, if any.
    JumpReg {
        at: usize,
        link: bool,
    },
}

/// How many leading ops are lowered one by one, and the fusion of the rest into the terminator.
fn plan_terminator(ops: &[Op], term: Terminator) -> (usize, Fusion) {
    let n = ops.len();
    match term {
        Terminator::Branch {
            cond: Value::Temp(t),
            ..
        } => {
            if let Some(Op::Cmp {
                dst: Place::Temp(d),
                ..
            }) = ops.last()
                && *d == t
            {
                return (n - 1, Fusion::CmpBranch);
            }
        }
        Terminator::JumpIndirect {
            target: Value::Temp(t),
        } => {
            let pair = |at: usize| match (ops.get(at), ops.get(at + 1)) {
                (
                    Some(&Op::Bin {
                        op: BinOp::Add,
                        ty: Ty::I64,
                        dst: Place::Temp(d1),
                        a: base,
                        b: Value::Imm(_),
                    }),
                    Some(&Op::Bin {
                        op: BinOp::And,
                        ty: Ty::I64,
                        dst: Place::Temp(d2),
                        a: Value::Temp(s2),
                        b: Value::Imm(mask),
                    }),
                ) => d1 == t && d2 == t && s2 == t && mask == !1 && base != Value::Temp(t),
                _ => false,
            };
            if n >= 2 && pair(n - 2) {
                return (
                    n - 2,
                    Fusion::JumpReg {
                        at: n - 2,
                        link: false,
                    },
                );
            }
            if n >= 3
                && pair(n - 3)
                && let (
                    Some(Op::Mov {
                        dst: Place::Reg(rd),
                        src: Value::Imm(_),
                    }),
                    Some(Op::Bin { a: base, .. }),
                ) = (ops.get(n - 1), ops.get(n - 3))
                && *base != Value::Reg(*rd)
            {
                return (
                    n - 3,
                    Fusion::JumpReg {
                        at: n - 3,
                        link: true,
                    },
                );
            }
        }
        _ => {}
    }
    (n, Fusion::None)
}

/// The state of one block being compiled.
struct Compiler {
    l: Lower,
    slow: Vec<Slow>,
    fenv: Vec<CFpEnv>,
    /// Ordinal of the current instruction (`insn_pcs.len() - 1` once the first marker is seen).
    insn: u16,
    insn_pcs: Vec<u64>,
    fused: u32,
}

impl Compiler {
    fn push(&mut self, op: COp) {
        self.l.ops.push(op);
    }

    fn push_slow(&mut self, op: SlowOp) {
        let i = self.slow.len() as u32;
        self.slow.push(Slow {
            op,
            insn: self.insn,
        });
        self.push(COp::Slow { i });
    }

    /// `dst = v`.
    fn mov(&mut self, dst: Place, v: Opnd) -> Result<(), LowerError> {
        match v {
            Opnd::K(c) => self.l.set_const(dst, c),
            Opnd::Ix(s) => {
                let d = self.l.dst(dst)?;
                if d != s {
                    self.push(COp::Mov { d, s });
                }
                Ok(())
            }
        }
    }

    /// Lower one op; `next` is the op after it (for fusion). Returns whether `next` was consumed.
    fn op(&mut self, op: &Op, next: Option<&Op>) -> Result<bool, LowerError> {
        let l = &mut self.l;
        match *op {
            Op::Insn { pc, .. } => {
                self.insn = self.insn_pcs.len() as u16;
                self.insn_pcs.push(pc);
            }
            Op::Mov { dst, src } => {
                let v = l.val(src)?;
                self.mov(dst, v)?;
            }
            Op::Bin { op, ty, dst, a, b } => {
                let sext = ty == Ty::I32
                    && matches!(next, Some(&Op::Ext { dst: d2, src, from: Ty::I32, signed: true })
                        if d2 == dst && src == Value::from(dst));
                self.bin(op, ty, dst, a, b, sext)?;
                return Ok(sext);
            }
            Op::Un { op, ty, dst, a } => match l.val(a)? {
                Opnd::K(x) => l.set_const(dst, eval_un(op, ty, x))?,
                Opnd::Ix(a) => {
                    let d = l.dst(dst)?;
                    self.push(COp::Un { op, ty, d, a });
                }
            },
            Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b,
            } => self.cmp(cond, ty, dst, a, b)?,
            Op::Select { dst, cond, a, b } => {
                let (c, a, b) = (l.val(cond)?, l.val(a)?, l.val(b)?);
                match c {
                    Opnd::K(c) => self.mov(dst, if c != 0 { a } else { b })?,
                    Opnd::Ix(c) => {
                        let (a, b) = (l.ix(a)?, l.ix(b)?);
                        let d = self.l.dst(dst)?;
                        self.push(COp::Select { d, c, a, b });
                    }
                }
            }
            Op::Ext {
                dst,
                src,
                from,
                signed,
            } => match l.val(src)? {
                Opnd::K(x) => l.set_const(dst, ext(x, from, signed))?,
                Opnd::Ix(s) => {
                    let d = l.dst(dst)?;
                    self.push(COp::Ext { d, s, from, signed });
                }
            },
            Op::Load {
                dst,
                addr,
                offset,
                mem,
            } => self.load(dst, addr, offset, mem)?,
            Op::Store {
                src,
                addr,
                offset,
                mem,
            } => self.store(src, addr, offset, mem)?,
            _ => self.rare(op)?,
        }
        Ok(false)
    }

    /// `dst = a op b` at width `ty`, sign-extended from 32 bits when `sext` (the fused `…W` forms).
    fn bin(
        &mut self,
        op: BinOp,
        ty: Ty,
        dst: Place,
        a: Value,
        b: Value,
        sext: bool,
    ) -> Result<(), LowerError> {
        let l = &mut self.l;
        let (oa, ob) = (l.val(a)?, l.val(b)?);
        if let (Opnd::K(x), Opnd::K(y)) = (oa, ob) {
            let v = eval_bin(op, ty, x, y);
            return l.set_const(dst, if sext { ext(v, Ty::I32, true) } else { v });
        }
        // One side is a frame word; `imm` forms take the other when it is known.
        let commutes = matches!(op, BinOp::Add | BinOp::And | BinOp::Or | BinOp::Xor);
        let (oa, ob) = match (oa, ob) {
            (Opnd::K(_), Opnd::Ix(_)) if commutes => (ob, oa),
            _ => (oa, ob),
        };
        let imm = match (op, ob) {
            (BinOp::Sub, Opnd::K(k)) => Some(k.wrapping_neg()),
            (_, Opnd::K(k)) => Some(k),
            _ => None,
        };
        let a = l.ix(oa)?;
        let cop = if let (Some(imm), Opnd::Ix(_)) = (imm, oa) {
            let d = l.dst(dst)?;
            match (op, ty, sext) {
                (BinOp::Add | BinOp::Sub, Ty::I64, false) => Some(COp::AddI { d, a, imm }),
                (BinOp::And, Ty::I64, false) => Some(COp::AndI { d, a, imm }),
                (BinOp::Or, Ty::I64, false) => Some(COp::OrI { d, a, imm }),
                (BinOp::Xor, Ty::I64, false) => Some(COp::XorI { d, a, imm }),
                (BinOp::Shl, Ty::I64, false) => Some(COp::ShlI {
                    d,
                    a,
                    imm: imm & 63,
                }),
                (BinOp::ShrU, Ty::I64, false) => Some(COp::ShrUI {
                    d,
                    a,
                    imm: imm & 63,
                }),
                (BinOp::ShrS, Ty::I64, false) => Some(COp::ShrSI {
                    d,
                    a,
                    imm: imm & 63,
                }),
                (BinOp::Add | BinOp::Sub, Ty::I32, true) => Some(COp::AddWI { d, a, imm }),
                (BinOp::Shl, Ty::I32, true) => Some(COp::ShlWI {
                    d,
                    a,
                    imm: imm & 31,
                }),
                (BinOp::ShrU, Ty::I32, true) => Some(COp::ShrUWI {
                    d,
                    a,
                    imm: imm & 31,
                }),
                (BinOp::ShrS, Ty::I32, true) => Some(COp::ShrSWI {
                    d,
                    a,
                    imm: imm & 31,
                }),
                _ => None,
            }
        } else {
            None
        };
        let cop = match cop {
            Some(c) => c,
            None => {
                let b = l.ix(ob)?;
                let d = l.dst(dst)?;
                match (op, ty, sext) {
                    (BinOp::Add, Ty::I64, false) => COp::Add { d, a, b },
                    (BinOp::Sub, Ty::I64, false) => COp::Sub { d, a, b },
                    (BinOp::And, Ty::I64, false) => COp::And { d, a, b },
                    (BinOp::Or, Ty::I64, false) => COp::Or { d, a, b },
                    (BinOp::Xor, Ty::I64, false) => COp::Xor { d, a, b },
                    (BinOp::Shl, Ty::I64, false) => COp::Shl { d, a, b },
                    (BinOp::ShrU, Ty::I64, false) => COp::ShrU { d, a, b },
                    (BinOp::ShrS, Ty::I64, false) => COp::ShrS { d, a, b },
                    (BinOp::Mul, Ty::I64, false) => COp::Mul { d, a, b },
                    (BinOp::Add, Ty::I32, true) => COp::AddW { d, a, b },
                    (BinOp::Sub, Ty::I32, true) => COp::SubW { d, a, b },
                    (BinOp::Shl, Ty::I32, true) => COp::ShlW { d, a, b },
                    (BinOp::ShrU, Ty::I32, true) => COp::ShrUW { d, a, b },
                    (BinOp::ShrS, Ty::I32, true) => COp::ShrSW { d, a, b },
                    (BinOp::Mul, Ty::I32, true) => COp::MulW { d, a, b },
                    (op, _, true) => COp::BinW { op, d, a, b },
                    (op, ty, false) => COp::Bin { op, ty, d, a, b },
                }
            }
        };
        self.fused += u32::from(sext);
        self.push(cop);
        Ok(())
    }

    /// `dst = (a cond b)`.
    fn cmp(
        &mut self,
        cond: Cond,
        ty: Ty,
        dst: Place,
        a: Value,
        b: Value,
    ) -> Result<(), LowerError> {
        let l = &mut self.l;
        let (oa, ob) = (l.val(a)?, l.val(b)?);
        if let (Opnd::K(x), Opnd::K(y)) = (oa, ob) {
            return l.set_const(dst, eval_cmp(cond, ty, x, y));
        }
        let a = l.ix(oa)?;
        let cop = match (cond, ty, ob) {
            (Cond::LtS, Ty::I64, Opnd::K(imm)) => {
                let d = l.dst(dst)?;
                COp::LtSI { d, a, imm }
            }
            (Cond::LtU, Ty::I64, Opnd::K(imm)) => {
                let d = l.dst(dst)?;
                COp::LtUI { d, a, imm }
            }
            _ => {
                let b = l.ix(ob)?;
                let d = l.dst(dst)?;
                match (cond, ty) {
                    (Cond::LtS, Ty::I64) => COp::LtS { d, a, b },
                    (Cond::LtU, Ty::I64) => COp::LtU { d, a, b },
                    _ => COp::Cmp { cond, ty, d, a, b },
                }
            }
        };
        self.push(cop);
        Ok(())
    }

    fn load(&mut self, dst: Place, addr: Value, off: i32, mem: MemOp) -> Result<(), LowerError> {
        let a = self.l.read(addr)?;
        let d = self.l.dst(dst)?;
        let insn = self.insn;
        let cop = match (mem.aligned, mem.size, mem.signed) {
            (true, ..) => {
                self.push_slow(SlowOp::Load { d, a, off, mem });
                return Ok(());
            }
            (false, AccessSize::U64, _) => COp::Ld { d, a, off, insn },
            (false, AccessSize::U32, true) => COp::Lw { d, a, off, insn },
            (false, AccessSize::U32, false) => COp::Lwu { d, a, off, insn },
            (false, AccessSize::U16, true) => COp::Lh { d, a, off, insn },
            (false, AccessSize::U16, false) => COp::Lhu { d, a, off, insn },
            (false, AccessSize::U8, true) => COp::Lb { d, a, off, insn },
            (false, AccessSize::U8, false) => COp::Lbu { d, a, off, insn },
        };
        self.push(cop);
        Ok(())
    }

    fn store(&mut self, src: Value, addr: Value, off: i32, mem: MemOp) -> Result<(), LowerError> {
        let s = self.l.read(src)?;
        let a = self.l.read(addr)?;
        let insn = self.insn;
        let cop = match (mem.aligned, mem.size) {
            (true, _) => {
                self.push_slow(SlowOp::Store { s, a, off, mem });
                return Ok(());
            }
            (false, AccessSize::U64) => COp::Sd { s, a, off, insn },
            (false, AccessSize::U32) => COp::Sw { s, a, off, insn },
            (false, AccessSize::U16) => COp::Sh { s, a, off, insn },
            (false, AccessSize::U8) => COp::Sb { s, a, off, insn },
        };
        self.push(cop);
        Ok(())
    }

    /// The floating-point environment of an op; the flags slot counts as written.
    fn env(&mut self, e: FpEnv, rm: Option<Rounding>) -> Result<CFpEnv, LowerError> {
        let rm = match rm {
            None | Some(Rounding::Static(_)) => CRound::Static(match rm {
                Some(Rounding::Static(m)) => m,
                _ => vm_core::ir::RoundingMode::NearestEven,
            }),
            Some(Rounding::Dynamic(r)) => CRound::Dynamic(self.l.reg(r)?),
        };
        let flags = match e.flags {
            Some(r) => Some(self.l.dst(Place::Reg(r))?),
            None => None,
        };
        Ok(CFpEnv {
            nan: e.nan,
            box_f32: e.box_f32,
            flags,
            rm,
        })
    }

    /// Lower the terminator, applying the planned fusion. Returns it and whether it is fused.
    fn term(
        &mut self,
        ops: &[Op],
        term: Terminator,
        fusion: Fusion,
    ) -> Result<(CTerm, bool), LowerError> {
        let l = &mut self.l;
        match (term, fusion) {
            (
                Terminator::Branch {
                    taken, not_taken, ..
                },
                Fusion::CmpBranch,
            ) => {
                if let Some(&Op::Cmp { cond, ty, a, b, .. }) = ops.last() {
                    let (oa, ob) = (l.val(a)?, l.val(b)?);
                    if let (Opnd::K(x), Opnd::K(y)) = (oa, ob) {
                        let t = eval_cmp(cond, ty, x, y) != 0;
                        return Ok((CTerm::Jump(if t { taken } else { not_taken }), false));
                    }
                    let (a, b) = (l.ix(oa)?, l.ix(ob)?);
                    return Ok((
                        CTerm::CmpBranch {
                            cond,
                            ty,
                            a,
                            b,
                            taken,
                            not_taken,
                        },
                        true,
                    ));
                }
            }
            (Terminator::JumpIndirect { .. }, Fusion::JumpReg { at, link }) => {
                if let Some(&Op::Bin {
                    a: base,
                    b: Value::Imm(off),
                    ..
                }) = ops.get(at)
                {
                    if link && let Some(link_op) = ops.get(at + 2) {
                        self.op(link_op, None)?;
                    }
                    let l = &mut self.l;
                    return Ok(match l.val(base)? {
                        Opnd::K(b) => (CTerm::Jump(b.wrapping_add(off) & !1), false),
                        Opnd::Ix(base) => (CTerm::JumpReg { base, off }, true),
                    });
                }
            }
            _ => {}
        }
        let l = &mut self.l;
        let t = match term {
            Terminator::Jump { target } => CTerm::Jump(target),
            Terminator::Branch {
                cond,
                taken,
                not_taken,
            } => match l.val(cond)? {
                Opnd::K(c) => CTerm::Jump(if c != 0 { taken } else { not_taken }),
                Opnd::Ix(c) => CTerm::Branch {
                    c,
                    taken,
                    not_taken,
                },
            },
            Terminator::JumpIndirect { target } => match l.val(target)? {
                Opnd::K(t) => CTerm::Jump(t),
                Opnd::Ix(t) => CTerm::JumpIndirect(t),
            },
            Terminator::Trap { cause, tval } => CTerm::Trap { cause, tval },
            Terminator::Wait { next } => CTerm::Wait(next),
            Terminator::Sync { next } => CTerm::Sync(next),
        };
        Ok((t, false))
    }
}

/// Whether a compact op is a fused one (for counting the fused ops that ran before a fault).
pub(crate) fn is_fused(op: &COp) -> bool {
    matches!(
        op,
        COp::AddW { .. }
            | COp::SubW { .. }
            | COp::ShlW { .. }
            | COp::ShrUW { .. }
            | COp::ShrSW { .. }
            | COp::MulW { .. }
            | COp::AddWI { .. }
            | COp::ShlWI { .. }
            | COp::ShrUWI { .. }
            | COp::ShrSWI { .. }
            | COp::BinW { .. }
    )
}

#[cfg(test)]
mod tests;
