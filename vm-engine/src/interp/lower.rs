//! Lowering IR operands to frame indices (see `compile` for the frame layout).

use std::collections::BTreeMap;

use vm_core::ir::{Op, Place, Reg, Rounding, Value};

use super::compile::{CFpEnv, COp, CRound, Ix};

pub(super) struct Lower {
    pub(super) num_temps: u32,
    pub(super) consts: Vec<u64>,
    pub(super) const_map: BTreeMap<u64, u32>,
    pub(super) regs: BTreeMap<u16, u32>,
    pub(super) used: Vec<u16>,
    pub(super) written: Vec<u32>,
}

/// Temporaries and constants are numbered now; register slots get provisional indices
/// `REG_TAG | position` that are rebased once the constant count is known.
pub(super) const REG_TAG: u32 = 1 << 31;

impl Lower {
    fn reg(&mut self, r: Reg) -> Ix {
        let next = self.used.len() as u32;
        let pos = *self.regs.entry(r.0).or_insert_with(|| {
            self.used.push(r.0);
            next
        });
        REG_TAG | pos
    }

    pub(super) fn val(&mut self, v: Value) -> Ix {
        match v {
            Value::Reg(r) => self.reg(r),
            Value::Temp(t) => u32::from(t.0),
            Value::Imm(c) => {
                let next = self.consts.len() as u32;
                let pos = *self.const_map.entry(c).or_insert_with(|| {
                    self.consts.push(c);
                    next
                });
                self.num_temps + pos
            }
        }
    }

    fn place(&mut self, p: Place) -> Ix {
        match p {
            Place::Reg(r) => {
                let ix = self.reg(r);
                let pos = ix & !REG_TAG;
                if !self.written.contains(&pos) {
                    self.written.push(pos);
                }
                ix
            }
            Place::Temp(t) => u32::from(t.0),
        }
    }

    fn rm(&mut self, r: Rounding) -> CRound {
        match r {
            Rounding::Static(m) => CRound::Static(m),
            Rounding::Dynamic(reg) => CRound::Dynamic(self.reg(reg)),
        }
    }

    fn env(&mut self, e: vm_core::ir::FpEnv) -> CFpEnv {
        let flags = e.flags.map(|r| {
            let ix = self.reg(r);
            let pos = ix & !REG_TAG;
            if !self.written.contains(&pos) {
                self.written.push(pos);
            }
            ix
        });
        CFpEnv {
            nan: e.nan,
            box_f32: e.box_f32,
            flags,
        }
    }

    pub(super) fn op(&mut self, op: &Op, ordinal: &mut u32) -> COp {
        // Operands are read before the destination is resolved, matching evaluation order.
        match *op {
            Op::Insn { pc, .. } => {
                let o = *ordinal;
                *ordinal += 1;
                COp::Insn { pc, ordinal: o }
            }
            Op::Mov { dst, src } => COp::Mov {
                s: self.val(src),
                d: self.place(dst),
            },
            Op::Bin { op, ty, dst, a, b } => {
                let (a, b) = (self.val(a), self.val(b));
                COp::Bin {
                    op,
                    ty,
                    d: self.place(dst),
                    a,
                    b,
                }
            }
            Op::Un { op, ty, dst, a } => {
                let a = self.val(a);
                COp::Un {
                    op,
                    ty,
                    d: self.place(dst),
                    a,
                }
            }
            Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b,
            } => {
                let (a, b) = (self.val(a), self.val(b));
                COp::Cmp {
                    cond,
                    ty,
                    d: self.place(dst),
                    a,
                    b,
                }
            }
            Op::Select { dst, cond, a, b } => {
                let (c, a, b) = (self.val(cond), self.val(a), self.val(b));
                COp::Select {
                    d: self.place(dst),
                    c,
                    a,
                    b,
                }
            }
            Op::Ext {
                dst,
                src,
                from,
                signed,
            } => {
                let s = self.val(src);
                COp::Ext {
                    d: self.place(dst),
                    s,
                    from,
                    signed,
                }
            }
            Op::Load {
                dst,
                addr,
                offset,
                mem,
            } => {
                let a = self.val(addr);
                COp::Load {
                    d: self.place(dst),
                    a,
                    off: offset,
                    mem,
                }
            }
            Op::Store {
                src,
                addr,
                offset,
                mem,
            } => COp::Store {
                s: self.val(src),
                a: self.val(addr),
                off: offset,
                mem,
            },
            Op::LoadReserved { dst, addr, mem, .. } => {
                let a = self.val(addr);
                COp::LoadReserved {
                    d: self.place(dst),
                    a,
                    mem,
                }
            }
            Op::StoreConditional {
                dst,
                addr,
                src,
                mem,
                ..
            } => {
                let (a, s) = (self.val(addr), self.val(src));
                COp::StoreConditional {
                    d: self.place(dst),
                    a,
                    s,
                    mem,
                }
            }
            Op::AtomicRmw {
                op,
                dst,
                addr,
                src,
                mem,
                order,
            } => {
                let (a, s) = (self.val(addr), self.val(src));
                COp::AtomicRmw {
                    op,
                    d: self.place(dst),
                    a,
                    s,
                    mem,
                    order,
                }
            }
            Op::CmpXchg {
                dst,
                addr,
                expected,
                new,
                mem,
                order,
            } => {
                let (a, e, n) = (self.val(addr), self.val(expected), self.val(new));
                COp::CmpXchg {
                    d: self.place(dst),
                    a,
                    expected: e,
                    new: n,
                    mem,
                    order,
                }
            }
            Op::Fence(k) => COp::Fence(k),
            Op::FBin {
                op,
                ty,
                dst,
                a,
                b,
                rm,
                env,
            } => {
                let (a, b, rm, env) = (self.val(a), self.val(b), self.rm(rm), self.env(env));
                COp::FBin {
                    op,
                    ty,
                    d: self.place(dst),
                    a,
                    b,
                    rm,
                    env,
                }
            }
            Op::FUn {
                op,
                ty,
                dst,
                a,
                rm,
                env,
            } => {
                let (a, rm, env) = (self.val(a), self.rm(rm), self.env(env));
                COp::FUn {
                    op,
                    ty,
                    d: self.place(dst),
                    a,
                    rm,
                    env,
                }
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
                let (a, b, c) = (self.val(a), self.val(b), self.val(c));
                let (rm, env) = (self.rm(rm), self.env(env));
                COp::FMulAdd {
                    ty,
                    d: self.place(dst),
                    a,
                    b,
                    c,
                    neg_prod: negate_product,
                    neg_add: negate_addend,
                    rm,
                    env,
                }
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
                let (a, b, env) = (self.val(a), self.val(b), self.env(env));
                COp::FCmp {
                    op,
                    signaling,
                    ty,
                    d: self.place(dst),
                    a,
                    b,
                    env,
                }
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
                let (s, rm, env) = (self.val(src), self.rm(rm), self.env(env));
                COp::FToInt {
                    d: self.place(dst),
                    s,
                    from,
                    to,
                    signed,
                    rm,
                    env,
                }
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
                let (s, rm, env) = (self.val(src), self.rm(rm), self.env(env));
                COp::IntToF {
                    d: self.place(dst),
                    s,
                    from,
                    signed,
                    to,
                    rm,
                    env,
                }
            }
            Op::FConvert {
                dst,
                src,
                from,
                to,
                rm,
                env,
            } => {
                let (s, rm, env) = (self.val(src), self.rm(rm), self.env(env));
                COp::FConvert {
                    d: self.place(dst),
                    s,
                    from,
                    to,
                    rm,
                    env,
                }
            }
            Op::FClass { ty, dst, src, env } => {
                let (s, env) = (self.val(src), self.env(env));
                COp::FClass {
                    ty,
                    d: self.place(dst),
                    s,
                    env,
                }
            }
            Op::Helper { id, dst, args } => {
                let args = [self.val(args[0]), self.val(args[1]), self.val(args[2])];
                COp::Helper {
                    id,
                    d: dst.map(|p| self.place(p)),
                    args,
                }
            }
            Op::TrapIf { cond, cause, tval } => COp::TrapIf {
                c: self.val(cond),
                cause,
                tval,
            },
        }
    }
}

/// Apply `f` to every frame index an op names.
pub(super) fn for_each_ix(op: &mut COp, mut f: impl FnMut(&mut Ix)) {
    let env = |e: &mut CFpEnv, f: &mut dyn FnMut(&mut Ix)| {
        if let Some(x) = &mut e.flags {
            f(x);
        }
    };
    let rm = |r: &mut CRound, f: &mut dyn FnMut(&mut Ix)| {
        if let CRound::Dynamic(x) = r {
            f(x);
        }
    };
    match op {
        COp::Insn { .. } | COp::Fence(_) => {}
        COp::Mov { d, s } | COp::Ext { d, s, .. } => {
            f(d);
            f(s);
        }
        COp::Bin { d, a, b, .. } | COp::Cmp { d, a, b, .. } => {
            f(d);
            f(a);
            f(b);
        }
        COp::Un { d, a, .. } => {
            f(d);
            f(a);
        }
        COp::Select { d, c, a, b } => {
            f(d);
            f(c);
            f(a);
            f(b);
        }
        COp::Load { d, a, .. } | COp::LoadReserved { d, a, .. } => {
            f(d);
            f(a);
        }
        COp::Store { s, a, .. } => {
            f(s);
            f(a);
        }
        COp::StoreConditional { d, a, s, .. } | COp::AtomicRmw { d, a, s, .. } => {
            f(d);
            f(a);
            f(s);
        }
        COp::CmpXchg {
            d,
            a,
            expected,
            new,
            ..
        } => {
            f(d);
            f(a);
            f(expected);
            f(new);
        }
        COp::FBin {
            d,
            a,
            b,
            rm: r,
            env: e,
            ..
        } => {
            f(d);
            f(a);
            f(b);
            rm(r, &mut f);
            env(e, &mut f);
        }
        COp::FUn {
            d,
            a,
            rm: r,
            env: e,
            ..
        } => {
            f(d);
            f(a);
            rm(r, &mut f);
            env(e, &mut f);
        }
        COp::FMulAdd {
            d,
            a,
            b,
            c,
            rm: r,
            env: e,
            ..
        } => {
            f(d);
            f(a);
            f(b);
            f(c);
            rm(r, &mut f);
            env(e, &mut f);
        }
        COp::FCmp {
            d, a, b, env: e, ..
        } => {
            f(d);
            f(a);
            f(b);
            env(e, &mut f);
        }
        COp::FToInt {
            d,
            s,
            rm: r,
            env: e,
            ..
        }
        | COp::IntToF {
            d,
            s,
            rm: r,
            env: e,
            ..
        }
        | COp::FConvert {
            d,
            s,
            rm: r,
            env: e,
            ..
        } => {
            f(d);
            f(s);
            rm(r, &mut f);
            env(e, &mut f);
        }
        COp::FClass { d, s, env: e, .. } => {
            f(d);
            f(s);
            env(e, &mut f);
        }
        COp::Helper { d, args, .. } => {
            if let Some(d) = d {
                f(d);
            }
            args.iter_mut().for_each(&mut f);
        }
        COp::TrapIf { c, .. } => f(c),
    }
}
