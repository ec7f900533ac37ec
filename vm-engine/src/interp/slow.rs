//! The rare ops of a block's side table: aligned accesses, atomics, fences, floating point, helper
//! calls and `TrapIf`.

use core::sync::atomic::{Ordering, fence};

use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, ExecEnv, FaultKind, GuestCpu};
use vm_core::ir::{
    BinOp, FBinOp, FenceKind, FloatTy, MemOrder, NanMode, RmwOp, RoundingMode, Ty, eval_bin, ext,
};
use vm_core::mem::{AccessKind, AccessSize};

use super::Reservation;
use super::cache::BlockCache;
use super::exec::{sync_in, sync_out};
use super::fp;
use super::lower::Layout;
use super::memory::{Mmu, atomic_rmw, mem_exc};
use super::ops::{CFpEnv, CRound, Frame, Slow, SlowOp};

/// What a rare op may touch.
pub(super) struct SlowCtx<'a, 'e> {
    pub fr: &'a mut Frame,
    pub mmu: &'a mut Mmu,
    pub reservation: &'a mut Option<Reservation>,
    pub clear_cache: &'a mut bool,
    pub layout: Layout,
    pub cache: &'a BlockCache,
    pub cpu: &'a mut dyn GuestCpu,
    pub env: &'a ExecEnv<'e>,
    /// PC of the block (what the CPU's PC reads during a helper call).
    pub block_pc: u64,
}

/// The rounding mode of an FP op.
#[inline]
pub(super) fn rounding(fr: &Frame, r: CRound) -> RoundingMode {
    match r {
        CRound::Static(m) => m,
        CRound::Dynamic(ix) => {
            RoundingMode::from_bits(fr[usize::from(ix)]).unwrap_or(RoundingMode::NearestEven)
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

/// `a op b` on doubles through soft-float (the fast FP ops' fallback); `env` is always present.
#[cold]
#[inline(never)]
pub(super) fn fbin_d_slow(
    op: FBinOp,
    a: u64,
    b: u64,
    fr: &Frame,
    env: Option<&CFpEnv>,
) -> (u64, u8) {
    let (rm, nan) = env.map_or((RoundingMode::NearestEven, NanMode::Canonical), |e| {
        (rounding(fr, e.rm), e.nan)
    });
    fp::fbin(op, FloatTy::F64, a, b, rm, nan, false)
}

/// Write an FP result and accumulate its flags.
fn fp_out(fr: &mut Frame, d: u16, env: CFpEnv, (r, fl): (u64, u8)) {
    fr[usize::from(d)] = r;
    if let Some(f) = env.flags {
        let old = fr[usize::from(f)];
        if old | u64::from(fl) != old {
            fr[usize::from(f)] = old | u64::from(fl);
        }
    }
}

/// Run rare op `s`; an `Err` is the exception its instruction raises.
#[inline(never)]
#[expect(clippy::too_many_lines, reason = "one match arm per op")]
pub(super) fn run_slow(s: &Slow, cx: &mut SlowCtx<'_, '_>) -> Result<(), Exception> {
    let (cache, env) = (cx.cache, cx.env);
    let get = |fr: &Frame, ix: u16| fr[usize::from(ix)];
    match s.op {
        SlowOp::Load { d, a, off, mem } => {
            let va = get(cx.fr, a).wrapping_add(i64::from(off) as u64);
            let v = cx.mmu.load(cache, cx.cpu, env, va, mem.size, mem.aligned)?;
            cx.fr[usize::from(d)] = ext(v, Ty::of_size(mem.size), mem.signed);
        }
        SlowOp::Store { s, a, off, mem } => {
            let va = get(cx.fr, a).wrapping_add(i64::from(off) as u64);
            let v = get(cx.fr, s);
            cx.mmu
                .store(cache, cx.cpu, env, va, mem.size, mem.aligned, v)?;
        }
        SlowOp::LoadReserved { d, a, mem } => {
            let va = get(cx.fr, a);
            let kind = AccessKind::Read;
            let pa = cx
                .mmu
                .atomic_target(cache, cx.cpu, env, va, mem.size, kind)?;
            let v = env
                .mem
                .read_sized(GuestPhysAddr(pa), mem.size)
                .map_err(|_| mem_exc(kind, FaultKind::Access, va))?;
            *cx.reservation = Some(Reservation {
                pa,
                size: mem.size,
                value: v,
            });
            cx.fr[usize::from(d)] = ext(v, Ty::of_size(mem.size), mem.signed);
        }
        SlowOp::StoreConditional { d, a, s, mem } => {
            let va = get(cx.fr, a);
            let kind = AccessKind::Atomic;
            let pa = cx
                .mmu
                .atomic_target(cache, cx.cpu, env, va, mem.size, kind)?;
            let ok = match cx.reservation.take() {
                Some(r) if r.pa == pa && r.size == mem.size => {
                    let new = get(cx.fr, s) & mem.size.mask();
                    let res = env
                        .mem
                        .compare_exchange(GuestPhysAddr(pa), mem.size, r.value, new)
                        .map_err(|_| mem_exc(kind, FaultKind::Access, va))?;
                    if res.is_ok() {
                        cx.mmu.note_write(cache, pa, mem.size.bytes() as u64);
                    }
                    res.is_ok()
                }
                _ => false,
            };
            cx.fr[usize::from(d)] = u64::from(!ok);
        }
        SlowOp::AtomicRmw {
            op,
            d,
            a,
            s,
            mem,
            order,
        } => {
            let va = get(cx.fr, a);
            let kind = AccessKind::Atomic;
            let pa = cx
                .mmu
                .atomic_target(cache, cx.cpu, env, va, mem.size, kind)?;
            let src = get(cx.fr, s);
            let old = atomic_rmw(cx.mmu, cache, env, pa, mem.size, |old| {
                rmw_value(op, mem.size, old, src)
            })
            .map_err(|fk| mem_exc(kind, fk, va))?;
            if let Some(o) = host_order(order) {
                fence(o);
            }
            cx.fr[usize::from(d)] = ext(old, Ty::of_size(mem.size), mem.signed);
        }
        SlowOp::CmpXchg {
            d,
            a,
            expected,
            new,
            mem,
            order,
        } => {
            let va = get(cx.fr, a);
            let kind = AccessKind::Atomic;
            let pa = cx
                .mmu
                .atomic_target(cache, cx.cpu, env, va, mem.size, kind)?;
            let mask = mem.size.mask();
            let (e, n) = (get(cx.fr, expected) & mask, get(cx.fr, new) & mask);
            let res = env
                .mem
                .compare_exchange(GuestPhysAddr(pa), mem.size, e, n)
                .map_err(|_| mem_exc(kind, FaultKind::Access, va))?;
            if res.is_ok() {
                cx.mmu.note_write(cache, pa, mem.size.bytes() as u64);
            }
            if let Some(o) = host_order(order) {
                fence(o);
            }
            let old = res.unwrap_or_else(|actual| actual);
            cx.fr[usize::from(d)] = ext(old, Ty::of_size(mem.size), mem.signed);
        }
        SlowOp::Fence(kind) => match kind {
            FenceKind::Data(o) => {
                if let Some(o) = host_order(o) {
                    fence(o);
                }
            }
            FenceKind::Instruction => {
                *cx.clear_cache = true;
                cx.mmu.event = true;
            }
            FenceKind::Translations => {
                cx.mmu.flush();
                cx.mmu.event = true;
            }
        },
        SlowOp::FBin {
            op,
            ty,
            d,
            a,
            b,
            env: fe,
        } => {
            let rm = rounding(cx.fr, fe.rm);
            let (a, b) = (get(cx.fr, a), get(cx.fr, b));
            let r = fp::fbin(op, ty, a, b, rm, fe.nan, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::FUn {
            op,
            ty,
            d,
            a,
            env: fe,
        } => {
            let rm = rounding(cx.fr, fe.rm);
            let r = fp::fun(op, ty, get(cx.fr, a), rm, fe.nan, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::FMulAdd {
            ty,
            d,
            a,
            b,
            c,
            neg_prod,
            neg_add,
            env: fe,
        } => {
            let rm = rounding(cx.fr, fe.rm);
            let (a, b, c) = (get(cx.fr, a), get(cx.fr, b), get(cx.fr, c));
            let r = fp::fmuladd(ty, a, b, c, neg_prod, neg_add, rm, fe.nan, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::FCmp {
            op,
            signaling,
            ty,
            d,
            a,
            b,
            env: fe,
        } => {
            let (a, b) = (get(cx.fr, a), get(cx.fr, b));
            let r = fp::fcmp(op, signaling, ty, a, b, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::FToInt {
            d,
            s,
            from,
            to,
            signed,
            env: fe,
        } => {
            let rm = rounding(cx.fr, fe.rm);
            let r = fp::ftoint(get(cx.fr, s), from, to, signed, rm, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::IntToF {
            d,
            s,
            from,
            signed,
            to,
            env: fe,
        } => {
            let rm = rounding(cx.fr, fe.rm);
            let r = fp::inttof(get(cx.fr, s), from, signed, to, rm, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::FConvert {
            d,
            s,
            from,
            to,
            env: fe,
        } => {
            let rm = rounding(cx.fr, fe.rm);
            let r = fp::fconvert(get(cx.fr, s), from, to, rm, fe.nan, fe.box_f32);
            fp_out(cx.fr, d, fe, r);
        }
        SlowOp::FClass { ty, d, s, env: fe } => {
            cx.fr[usize::from(d)] = fp::fclass(ty, get(cx.fr, s), fe.box_f32);
        }
        SlowOp::Helper { id, d, args } => {
            let args = args.map(|ix| get(cx.fr, ix));
            // The helper sees (and may change) the guest slots.
            sync_out(cx.fr, cx.layout, cx.cpu, cx.block_pc);
            let r = cx.cpu.helper(id, args, env);
            sync_in(cx.fr, cx.layout, cx.cpu);
            cx.mmu.check_ctx(cx.cpu.context_key());
            cx.mmu.event = true;
            let v = r?;
            if let Some(d) = d {
                cx.fr[usize::from(d)] = v;
            }
        }
        SlowOp::TrapIf { c, cause, tval } => {
            if get(cx.fr, c) != 0 {
                return Err(Exception::Trap { cause, tval });
            }
        }
    }
    Ok(())
}
