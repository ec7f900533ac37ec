//! Lowering the ops that live in a block's side table: atomics, fences, floating point, helper calls
//! and `TrapIf`.

use vm_core::ir::{FBinOp, FloatTy, Op};

use super::super::lower::{LowerError, Opnd};
use super::super::ops::{COp, CRound, SlowOp};
use super::Compiler;

impl Compiler {
    /// Lower one of the ops [`Compiler::op`] does not handle itself.
    pub(super) fn rare(&mut self, op: &Op) -> Result<(), LowerError> {
        match *op {
            Op::LoadReserved { dst, addr, mem, .. } => {
                let a = self.l.read(addr)?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::LoadReserved { d, a, mem });
            }
            Op::StoreConditional {
                dst,
                addr,
                src,
                mem,
                ..
            } => {
                let (a, s) = (self.l.read(addr)?, self.l.read(src)?);
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::StoreConditional { d, a, s, mem });
            }
            Op::AtomicRmw {
                op,
                dst,
                addr,
                src,
                mem,
                order,
            } => {
                let (a, s) = (self.l.read(addr)?, self.l.read(src)?);
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::AtomicRmw {
                    op,
                    d,
                    a,
                    s,
                    mem,
                    order,
                });
            }
            Op::CmpXchg {
                dst,
                addr,
                expected,
                new,
                mem,
                order,
            } => {
                let a = self.l.read(addr)?;
                let (expected, new) = (self.l.read(expected)?, self.l.read(new)?);
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::CmpXchg {
                    d,
                    a,
                    expected,
                    new,
                    mem,
                    order,
                });
            }
            Op::Fence(kind) => self.push_slow(SlowOp::Fence(kind)),
            Op::FBin {
                op,
                ty,
                dst,
                a,
                b,
                rm,
                env,
            } => {
                let (a, b) = (self.l.read(a)?, self.l.read(b)?);
                let env = self.env(env, Some(rm))?;
                let d = self.l.dst(dst)?;
                if ty == FloatTy::F64 && self.fenv.len() < usize::from(u16::MAX) {
                    let rm = match env.rm {
                        CRound::Static(m) => self.l.ix(Opnd::K(m as u64))?,
                        CRound::Dynamic(ix) => ix,
                    };
                    let e = self.fenv.len() as u16;
                    let fl = env.flags.unwrap_or(self.l.layout.scratch());
                    let fast = match op {
                        FBinOp::Add => Some(COp::FAddD {
                            d,
                            a,
                            b,
                            rm,
                            fl,
                            env: e,
                        }),
                        FBinOp::Sub => Some(COp::FSubD {
                            d,
                            a,
                            b,
                            rm,
                            fl,
                            env: e,
                        }),
                        FBinOp::Mul => Some(COp::FMulD {
                            d,
                            a,
                            b,
                            rm,
                            fl,
                            env: e,
                        }),
                        FBinOp::Div => Some(COp::FDivD {
                            d,
                            a,
                            b,
                            rm,
                            fl,
                            env: e,
                        }),
                        FBinOp::MinNum | FBinOp::MaxNum => None,
                    };
                    if let Some(cop) = fast {
                        self.fenv.push(env);
                        self.push(cop);
                        return Ok(());
                    }
                }
                self.push_slow(SlowOp::FBin {
                    op,
                    ty,
                    d,
                    a,
                    b,
                    env,
                });
            }
            Op::FUn {
                op,
                ty,
                dst,
                a,
                rm,
                env,
            } => {
                let a = self.l.read(a)?;
                let env = self.env(env, Some(rm))?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::FUn { op, ty, d, a, env });
            }
            Op::FMulAdd {
                ty,
                dst,
                a,
                b,
                c,
                negate_product,
                negate_addend,
                rm,
                env,
            } => {
                let (a, b, c) = (self.l.read(a)?, self.l.read(b)?, self.l.read(c)?);
                let env = self.env(env, Some(rm))?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::FMulAdd {
                    ty,
                    d,
                    a,
                    b,
                    c,
                    neg_prod: negate_product,
                    neg_add: negate_addend,
                    env,
                });
            }
            Op::FCmp {
                op,
                signaling,
                ty,
                dst,
                a,
                b,
                env,
            } => {
                let (a, b) = (self.l.read(a)?, self.l.read(b)?);
                let env = self.env(env, None)?;
                let d = self.l.dst(dst)?;
                if ty == FloatTy::F64 && self.fenv.len() < usize::from(u16::MAX) {
                    let e = self.fenv.len() as u16;
                    self.fenv.push(env);
                    self.push(COp::FCmpD {
                        op,
                        signaling,
                        d,
                        a,
                        b,
                        env: e,
                    });
                    return Ok(());
                }
                self.push_slow(SlowOp::FCmp {
                    op,
                    signaling,
                    ty,
                    d,
                    a,
                    b,
                    env,
                });
            }
            Op::FToInt {
                dst,
                src,
                from,
                to,
                signed,
                rm,
                env,
            } => {
                let s = self.l.read(src)?;
                let env = self.env(env, Some(rm))?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::FToInt {
                    d,
                    s,
                    from,
                    to,
                    signed,
                    env,
                });
            }
            Op::IntToF {
                dst,
                src,
                from,
                signed,
                to,
                rm,
                env,
            } => {
                let s = self.l.read(src)?;
                let env = self.env(env, Some(rm))?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::IntToF {
                    d,
                    s,
                    from,
                    signed,
                    to,
                    env,
                });
            }
            Op::FConvert {
                dst,
                src,
                from,
                to,
                rm,
                env,
            } => {
                let s = self.l.read(src)?;
                let env = self.env(env, Some(rm))?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::FConvert {
                    d,
                    s,
                    from,
                    to,
                    env,
                });
            }
            Op::FClass { ty, dst, src, env } => {
                let s = self.l.read(src)?;
                let env = self.env(env, None)?;
                let d = self.l.dst(dst)?;
                self.push_slow(SlowOp::FClass { ty, d, s, env });
            }
            Op::Helper { id, dst, args } => {
                let args = [
                    self.l.read(args[0])?,
                    self.l.read(args[1])?,
                    self.l.read(args[2])?,
                ];
                // The helper may change any guest slot.
                self.l.forget_slots();
                let d = match dst {
                    Some(p) => Some(self.l.dst(p)?),
                    None => None,
                };
                self.push_slow(SlowOp::Helper { id, d, args });
            }
            Op::TrapIf { cond, cause, tval } => match self.l.val(cond)? {
                // Never traps.
                Opnd::K(0) => {}
                o => {
                    let c = self.l.ix(o)?;
                    self.push_slow(SlowOp::TrapIf { c, cause, tval });
                }
            },
            // Lowered by `Compiler::op`.
            Op::Insn { .. }
            | Op::Mov { .. }
            | Op::Bin { .. }
            | Op::Un { .. }
            | Op::Cmp { .. }
            | Op::Select { .. }
            | Op::Ext { .. }
            | Op::Load { .. }
            | Op::Store { .. } => {}
        }
        Ok(())
    }
}
