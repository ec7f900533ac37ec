//! Executing one compact block: the frame, every op, precise faults and the terminator.

use core::sync::atomic::{Ordering, fence};

use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, ExecEnv, Exit, FaultKind, GuestCpu};
use vm_core::ir::{
    BinOp, FenceKind, MemOrder, RmwOp, RoundingMode, Ty, eval_bin, eval_cmp, eval_un, ext,
};
use vm_core::mem::{AccessKind, AccessSize};

use super::compile::{CBlock, CFpEnv, COp, CRound, CTerm};
use super::memory::{atomic_rmw, mem_exc};
use super::{Interpreter, Reservation, fp};
use crate::error::Error;

/// How the ops of a block ended.
enum Outcome {
    /// All ops ran.
    Done,
    /// Op of instruction number `ordinal` (at `pc`) raised `exc`.
    Fault {
        exc: Exception,
        pc: u64,
        ordinal: u32,
    },
}

/// Copy the slots the block uses into the frame.
fn copy_in(b: &CBlock, cpu: &mut dyn GuestCpu, frame: &mut [u64]) {
    let slots = cpu.slots();
    for (i, &r) in b.used.iter().enumerate() {
        if let (Some(d), Some(&v)) = (frame.get_mut(b.reg_base + i), slots.get(usize::from(r))) {
            *d = v;
        }
    }
}

/// Copy the slots the block writes back to the CPU.
fn write_back(b: &CBlock, cpu: &mut dyn GuestCpu, frame: &[u64]) {
    let slots = cpu.slots();
    for &pos in &b.written {
        let pos = pos as usize;
        if let (Some(&r), Some(&v)) = (b.used.get(pos), frame.get(b.reg_base + pos))
            && let Some(d) = slots.get_mut(usize::from(r))
        {
            *d = v;
        }
    }
}

fn rounding(frame: &[u64], r: CRound) -> RoundingMode {
    match r {
        CRound::Static(m) => m,
        CRound::Dynamic(ix) => {
            RoundingMode::from_bits(frame[ix as usize]).unwrap_or(RoundingMode::NearestEven)
        }
    }
}

fn rmw_value(op: RmwOp, size: AccessSize, old: u64, src: u64) -> u64 {
    let ty = Ty::of_size(size);
    let bin = |op| eval_bin(op, ty, old, src);
    match op {
        RmwOp::Swap => src & size.mask(),
        RmwOp::Add => bin(BinOp::Add),
        RmwOp::And => bin(BinOp::And),
        RmwOp::Or => bin(BinOp::Or),
        RmwOp::Xor => bin(BinOp::Xor),
        RmwOp::MinS => bin(BinOp::MinS),
        RmwOp::MaxS => bin(BinOp::MaxS),
        RmwOp::MinU => bin(BinOp::MinU),
        RmwOp::MaxU => bin(BinOp::MaxU),
    }
}

fn host_order(o: MemOrder) -> Option<Ordering> {
    match o {
        MemOrder::Relaxed => None,
        MemOrder::Acquire => Some(Ordering::Acquire),
        MemOrder::Release => Some(Ordering::Release),
        MemOrder::AcqRel => Some(Ordering::AcqRel),
        MemOrder::SeqCst => Some(Ordering::SeqCst),
    }
}

impl Interpreter {
    /// Run block `b`: ops, then the terminator. Returns an exit when the run must return.
    pub(super) fn exec_block(
        &mut self,
        b: &CBlock,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        executed: &mut u64,
    ) -> Result<Option<Exit>, Error> {
        if let Some(m) = b.max_reg {
            let n = cpu.slots().len();
            if usize::from(m) >= n {
                return Err(Error::RegisterOutOfRange {
                    pc: b.pc,
                    reg: m,
                    slots: n,
                });
            }
        }
        let mut frame = core::mem::take(&mut self.frame);
        frame.clear();
        frame.resize(b.frame_len(), 0);
        frame[b.const_base..b.reg_base].copy_from_slice(&b.consts);
        copy_in(b, cpu, &mut frame);
        let outcome = self.exec_ops(b, cpu, env, &mut frame);
        write_back(b, cpu, &frame);
        self.stats.engine.blocks += 1;
        let count = |s: &mut Self, executed: &mut u64, n: u32| {
            s.stats.engine.insns += u64::from(n);
            *executed += u64::from(n);
        };
        let exit = match outcome {
            Outcome::Fault { exc, pc, ordinal } => {
                count(self, executed, ordinal);
                self.stats.engine.exceptions += 1;
                cpu.set_pc(pc);
                cpu.raise(exc, pc);
                None
            }
            Outcome::Done => {
                let get = |ix: u32| frame[ix as usize];
                match b.term {
                    CTerm::Trap { cause, tval } => {
                        count(self, executed, b.insn_count.saturating_sub(1));
                        self.stats.engine.exceptions += 1;
                        cpu.set_pc(b.last_pc);
                        cpu.raise(Exception::Trap { cause, tval }, b.last_pc);
                        None
                    }
                    term => {
                        count(self, executed, b.insn_count);
                        match term {
                            CTerm::Jump(t) => cpu.set_pc(t),
                            CTerm::Branch {
                                c,
                                taken,
                                not_taken,
                            } => cpu.set_pc(if get(c) != 0 { taken } else { not_taken }),
                            CTerm::CmpBranch {
                                cond,
                                ty,
                                a,
                                b: bb,
                                taken,
                                not_taken,
                            } => {
                                self.stats.fused_ops += 1;
                                let t = eval_cmp(cond, ty, get(a), get(bb)) != 0;
                                cpu.set_pc(if t { taken } else { not_taken });
                            }
                            CTerm::JumpIndirect(c) => cpu.set_pc(get(c)),
                            CTerm::Wait(next) => cpu.set_pc(next),
                            CTerm::Sync(next) => cpu.set_pc(next),
                            CTerm::Trap { .. } => {}
                        }
                        match term {
                            CTerm::Wait(_) if !cpu.wake_pending() => Some(Exit::Wait),
                            _ => None,
                        }
                    }
                }
            }
        };
        self.frame = frame;
        Ok(exit)
    }

    #[expect(clippy::too_many_lines, reason = "one match arm per IR op")]
    fn exec_ops(
        &mut self,
        b: &CBlock,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        f: &mut [u64],
    ) -> Outcome {
        let mut cur_pc = b.pc;
        let mut ordinal = 0u32;
        macro_rules! try_mem {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(exc) => {
                        return Outcome::Fault {
                            exc,
                            pc: cur_pc,
                            ordinal,
                        };
                    }
                }
            };
        }
        let flags = |f: &mut [u64], env: CFpEnv, fl: u8| {
            if let Some(ix) = env.flags {
                f[ix as usize] |= u64::from(fl);
            }
        };
        for op in &b.ops {
            match *op {
                COp::Insn { pc, ordinal: o } => {
                    cur_pc = pc;
                    ordinal = o;
                }
                COp::Mov { d, s } => f[d as usize] = f[s as usize],
                COp::Bin { op, ty, d, a, b } => {
                    f[d as usize] = eval_bin(op, ty, f[a as usize], f[b as usize]);
                }
                COp::Un { op, ty, d, a } => f[d as usize] = eval_un(op, ty, f[a as usize]),
                COp::Cmp { cond, ty, d, a, b } => {
                    f[d as usize] = eval_cmp(cond, ty, f[a as usize], f[b as usize]);
                }
                COp::Select { d, c, a, b } => {
                    f[d as usize] = if f[c as usize] != 0 {
                        f[a as usize]
                    } else {
                        f[b as usize]
                    };
                }
                COp::Ext { d, s, from, signed } => f[d as usize] = ext(f[s as usize], from, signed),
                COp::Load { d, a, off, mem } => {
                    let va = f[a as usize].wrapping_add(i64::from(off) as u64);
                    let v =
                        try_mem!(
                            self.mmu
                                .load(&self.cache, cpu, env, va, mem.size, mem.aligned)
                        );
                    f[d as usize] = ext(v, Ty::of_size(mem.size), mem.signed);
                }
                COp::Store { s, a, off, mem } => {
                    let va = f[a as usize].wrapping_add(i64::from(off) as u64);
                    try_mem!(self.mmu.store(
                        &mut self.cache,
                        cpu,
                        env,
                        va,
                        mem.size,
                        mem.aligned,
                        f[s as usize]
                    ));
                }
                COp::LoadReserved { d, a, mem } => {
                    let va = f[a as usize];
                    let kind = AccessKind::Read;
                    let pa =
                        try_mem!(
                            self.mmu
                                .atomic_target(&self.cache, cpu, env, va, mem.size, kind)
                        );
                    let v = try_mem!(
                        env.mem
                            .read_sized(GuestPhysAddr(pa), mem.size)
                            .map_err(|_| mem_exc(kind, FaultKind::Access, va))
                    );
                    self.reservation = Some(Reservation {
                        pa,
                        size: mem.size,
                        value: v,
                    });
                    f[d as usize] = ext(v, Ty::of_size(mem.size), mem.signed);
                }
                COp::StoreConditional { d, a, s, mem } => {
                    let va = f[a as usize];
                    let kind = AccessKind::Atomic;
                    let pa =
                        try_mem!(
                            self.mmu
                                .atomic_target(&self.cache, cpu, env, va, mem.size, kind)
                        );
                    let ok = match self.reservation.take() {
                        Some(r) if r.pa == pa && r.size == mem.size => {
                            let new = f[s as usize] & mem.size.mask();
                            let res = try_mem!(
                                env.mem
                                    .compare_exchange(GuestPhysAddr(pa), mem.size, r.value, new)
                                    .map_err(|_| mem_exc(kind, FaultKind::Access, va))
                            );
                            if res.is_ok() {
                                self.cache.note_write(pa, mem.size.bytes() as u64);
                            }
                            res.is_ok()
                        }
                        _ => false,
                    };
                    f[d as usize] = u64::from(!ok);
                }
                COp::AtomicRmw {
                    op,
                    d,
                    a,
                    s,
                    mem,
                    order,
                } => {
                    let va = f[a as usize];
                    let kind = AccessKind::Atomic;
                    let pa =
                        try_mem!(
                            self.mmu
                                .atomic_target(&self.cache, cpu, env, va, mem.size, kind)
                        );
                    let src = f[s as usize];
                    let old = try_mem!(
                        atomic_rmw(&mut self.cache, env, pa, mem.size, |old| rmw_value(
                            op, mem.size, old, src
                        ))
                        .map_err(|fk| mem_exc(kind, fk, va))
                    );
                    if let Some(o) = host_order(order) {
                        fence(o);
                    }
                    f[d as usize] = ext(old, Ty::of_size(mem.size), mem.signed);
                }
                COp::CmpXchg {
                    d,
                    a,
                    expected,
                    new,
                    mem,
                    order,
                } => {
                    let va = f[a as usize];
                    let kind = AccessKind::Atomic;
                    let pa =
                        try_mem!(
                            self.mmu
                                .atomic_target(&self.cache, cpu, env, va, mem.size, kind)
                        );
                    let mask = mem.size.mask();
                    let res = try_mem!(
                        env.mem
                            .compare_exchange(
                                GuestPhysAddr(pa),
                                mem.size,
                                f[expected as usize] & mask,
                                f[new as usize] & mask
                            )
                            .map_err(|_| mem_exc(kind, FaultKind::Access, va))
                    );
                    if res.is_ok() {
                        self.cache.note_write(pa, mem.size.bytes() as u64);
                    }
                    if let Some(o) = host_order(order) {
                        fence(o);
                    }
                    let old = res.unwrap_or_else(|actual| actual);
                    f[d as usize] = ext(old, Ty::of_size(mem.size), mem.signed);
                }
                COp::Fence(kind) => match kind {
                    FenceKind::Data(o) => {
                        if let Some(o) = host_order(o) {
                            fence(o);
                        }
                    }
                    FenceKind::Instruction => self.cache.clear(),
                    FenceKind::Translations => self.mmu.flush(),
                },
                COp::FBin {
                    op,
                    ty,
                    d,
                    a,
                    b,
                    rm,
                    env: fe,
                } => {
                    let rm = rounding(f, rm);
                    let (r, fl) =
                        fp::fbin(op, ty, f[a as usize], f[b as usize], rm, fe.nan, fe.box_f32);
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::FUn {
                    op,
                    ty,
                    d,
                    a,
                    rm,
                    env: fe,
                } => {
                    let rm = rounding(f, rm);
                    let (r, fl) = fp::fun(op, ty, f[a as usize], rm, fe.nan, fe.box_f32);
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::FMulAdd {
                    ty,
                    d,
                    a,
                    b,
                    c,
                    neg_prod,
                    neg_add,
                    rm,
                    env: fe,
                } => {
                    let rm = rounding(f, rm);
                    let (r, fl) = fp::fmuladd(
                        ty,
                        f[a as usize],
                        f[b as usize],
                        f[c as usize],
                        neg_prod,
                        neg_add,
                        rm,
                        fe.nan,
                        fe.box_f32,
                    );
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::FCmp {
                    op,
                    signaling,
                    ty,
                    d,
                    a,
                    b,
                    env: fe,
                } => {
                    let (r, fl) =
                        fp::fcmp(op, signaling, ty, f[a as usize], f[b as usize], fe.box_f32);
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::FToInt {
                    d,
                    s,
                    from,
                    to,
                    signed,
                    rm,
                    env: fe,
                } => {
                    let rm = rounding(f, rm);
                    let (r, fl) = fp::ftoint(f[s as usize], from, to, signed, rm, fe.box_f32);
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::IntToF {
                    d,
                    s,
                    from,
                    signed,
                    to,
                    rm,
                    env: fe,
                } => {
                    let rm = rounding(f, rm);
                    let (r, fl) = fp::inttof(f[s as usize], from, signed, to, rm, fe.box_f32);
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::FConvert {
                    d,
                    s,
                    from,
                    to,
                    rm,
                    env: fe,
                } => {
                    let rm = rounding(f, rm);
                    let (r, fl) = fp::fconvert(f[s as usize], from, to, rm, fe.nan, fe.box_f32);
                    f[d as usize] = r;
                    flags(f, fe, fl);
                }
                COp::FClass { ty, d, s, env: fe } => {
                    f[d as usize] = fp::fclass(ty, f[s as usize], fe.box_f32);
                }
                COp::Helper { id, d, args } => {
                    let args = args.map(|ix| f[ix as usize]);
                    // The helper sees (and may change) the guest slots.
                    write_back(b, cpu, f);
                    let r = cpu.helper(id, args, env);
                    copy_in(b, cpu, f);
                    self.mmu.check_ctx(cpu.context_key());
                    let v = try_mem!(r);
                    if let Some(d) = d {
                        f[d as usize] = v;
                    }
                }
                COp::TrapIf { c, cause, tval } => {
                    if f[c as usize] != 0 {
                        return Outcome::Fault {
                            exc: Exception::Trap { cause, tval },
                            pc: cur_pc,
                            ordinal,
                        };
                    }
                }
            }
        }
        Outcome::Done
    }
}
