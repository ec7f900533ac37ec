//! Executing one compact block: the ops, precise faults and the terminator.
//!
//! The guest slots live in the frame for the whole run (see the module docs of [`super`]); only the
//! rare paths (helpers, exceptions) copy them to and from the CPU. Loads and stores try the TLB's
//! host fast path inline (one compare, one host access) and call the MMU otherwise.

use vm_core::exec::{Exception, ExecEnv, GuestCpu};
use vm_core::ir::{FBinOp, FloatTy, eval_bin, eval_cmp, eval_un, ext};
use vm_core::mem::AccessSize;

use super::Reservation;
use super::cache::{BlockCache, BlockId, PAGE_SHIFT};
use super::compile::is_fused;
use super::fp;
use super::lower::Layout;
use super::memory::{DATA_WAYS, Mmu, PAGE_MASK, PAGE_SIZE, way};
use super::ops::{CBlock, COp, CTerm, Frame, Ix};
use super::slow::{SlowCtx, fbin_d_slow, run_slow};

/// How a block ended.
pub(super) enum Done {
    /// Continue at this PC.
    Next(u64),
    /// Continue at this PC after a full boundary check: the block called a helper, raised an
    /// exception, wrote code, touched a device, fenced, or ended with `Sync`.
    Event(u64),
    /// A `Wait` terminator; the guest continues at this PC once woken.
    Wait(u64),
}

/// Why [`Core::run_chain`] returned.
pub(super) enum Stop {
    /// The next block is not linked from the last one: look it up.
    Unlinked(u64),
    /// The run loop must check the boundary before this PC (an event, or `check_at` reached).
    Check(u64),
    /// A `Wait` terminator; the guest continues at this PC once woken.
    Wait(u64),
}

/// The executor's state, kept across blocks and runs.
#[derive(Debug)]
pub(super) struct Core {
    /// `[guest slots | zero | pc scratch | locals]`.
    pub frame: Box<Frame>,
    pub mmu: Mmu,
    pub reservation: Option<Reservation>,
    pub layout: Layout,
    /// A `fence.i` asked for the whole block cache to go.
    pub clear_cache: bool,
    pub fused_ops: u64,
    pub exceptions: u64,
}

/// Copy the frame's guest slots to the CPU and set its PC.
pub(super) fn sync_out(fr: &Frame, layout: Layout, cpu: &mut dyn GuestCpu, pc: u64) {
    let s = cpu.slots();
    let n = layout.slots.min(s.len());
    s[..n].copy_from_slice(&fr[..n]);
    cpu.set_pc(pc);
}

/// Copy the CPU's slots into the frame.
pub(super) fn sync_in(fr: &mut Frame, layout: Layout, cpu: &mut dyn GuestCpu) {
    let s = cpu.slots();
    let n = layout.slots.min(s.len());
    fr[..n].copy_from_slice(&s[..n]);
}

impl Core {
    /// Hand exception `exc` of the instruction at `pc` to the CPU; returns the PC it continues at.
    pub(super) fn raise(&mut self, cpu: &mut dyn GuestCpu, exc: Exception, pc: u64) -> u64 {
        self.exceptions += 1;
        sync_out(&self.frame, self.layout, cpu, pc);
        cpu.raise(exc, pc);
        sync_in(&mut self.frame, self.layout, cpu);
        cpu.pc()
    }

    /// Run block `id` at `pc` and the blocks linked after it, until one needs the run loop: an event,
    /// `check_at` instructions reached, a `Wait`, or a next block that is not linked. Returns why,
    /// and the last block run.
    #[expect(clippy::too_many_arguments, reason = "the run loop's state, unbundled")]
    pub(super) fn run_chain(
        &mut self,
        mut id: BlockId,
        mut pc: u64,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        executed: &mut u64,
        check_at: u64,
        pc_ix: Ix,
        blocks: &mut u64,
    ) -> (Stop, BlockId) {
        // Only the slow paths flush translations, and they make the block return an event; the
        // cache does not change while blocks run.
        let epoch = cache.epoch(self.mmu.epoch);
        loop {
            let Some(b) = cache.block(id) else {
                return (Stop::Check(pc), id);
            };
            self.frame[usize::from(pc_ix)] = pc;
            *blocks += 1;
            match self.exec(b, cache, cpu, env, executed) {
                Done::Next(next) => {
                    if *executed >= check_at {
                        return (Stop::Check(next), id);
                    }
                    match cache.linked(id, next, epoch) {
                        Some(n) => {
                            id = n;
                            pc = next;
                        }
                        None => return (Stop::Unlinked(next), id),
                    }
                }
                Done::Event(next) => return (Stop::Check(next), id),
                Done::Wait(next) => return (Stop::Wait(next), id),
            }
        }
    }

    /// Run block `b`, adding the instructions it completes to `executed`.
    #[expect(clippy::too_many_lines, reason = "one match arm per compact op")]
    #[inline(always)]
    fn exec(
        &mut self,
        b: &CBlock,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        executed: &mut u64,
    ) -> Done {
        let layout = self.layout;
        let Core {
            frame,
            mmu,
            reservation,
            clear_cache,
            ..
        } = self;
        let fr: &mut Frame = frame;
        let mut hits = 0u64;

        macro_rules! x {
            ($i:expr) => {
                fr[usize::from($i)]
            };
        }
        macro_rules! fbin {
            ($op:expr, $fast:expr, $d:expr, $a:expr, $b:expr, $rm:expr, $fl:expr, $env:expr) => {{
                let (x, y) = (x!($a), x!($b));
                let fast = if x!($rm) == 0 { $fast } else { None };
                let (r, fl) = match fast {
                    Some(v) => v,
                    None => fbin_d_slow($op, x, y, fr, b.fenv.get(usize::from($env))),
                };
                x!($d) = r;
                // Store only new flags: the flags word is then not a chain of stores and reloads
                // from one FP op to the next.
                let old = x!($fl);
                if old | u64::from(fl) != old {
                    x!($fl) = old | u64::from(fl);
                }
            }};
        }

        let fault: Option<(Exception, u16, usize)> = 'ops: {
            for (i, op) in b.ops.iter().enumerate() {
                // Defined here to see `i` and the `'ops` label (macro hygiene).
                macro_rules! load {
                    ($d:expr, $a:expr, $off:expr, $insn:expr, $t:ty, $size:expr,
                     |$raw:ident| $fast:expr, |$v:ident| $slow:expr) => {{
                        let va = x!($a).wrapping_add($off as i64 as u64);
                        let vpn = va >> PAGE_SHIFT;
                        let e = mmu.read[way(vpn, DATA_WAYS)];
                        let n = size_of::<$t>() as u64;
                        let v = if e.fast == vpn && va & PAGE_MASK <= PAGE_SIZE - n {
                            hits += 1;
                            let p = (va as usize).wrapping_add(e.addend) as *const $t;
                            // SAFETY: `fast == vpn` means `addend` maps the whole 4 KiB guest page
                            // of `va` onto host RAM of this run's memory object (see `memory`),
                            // and the check above keeps the access inside that page.
                            let $raw = <$t>::from_le(unsafe { p.read_unaligned() });
                            $fast
                        } else {
                            match mmu.load(cache, cpu, env, va, $size, false) {
                                Ok($v) => $slow,
                                Err(exc) => break 'ops Some((exc, $insn, i)),
                            }
                        };
                        x!($d) = v;
                    }};
                }
                macro_rules! store {
                    ($s:expr, $a:expr, $off:expr, $insn:expr, $t:ty, $size:expr) => {{
                        let va = x!($a).wrapping_add($off as i64 as u64);
                        let vpn = va >> PAGE_SHIFT;
                        let e = mmu.write[way(vpn, DATA_WAYS)];
                        let v = x!($s);
                        let n = size_of::<$t>() as u64;
                        if e.fast == vpn && va & PAGE_MASK <= PAGE_SIZE - n {
                            hits += 1;
                            let p = (va as usize).wrapping_add(e.addend) as *mut $t;
                            // SAFETY: as for loads; in addition the write TLB only has a fast
                            // path for writable RAM pages that hold no translated code.
                            unsafe { p.write_unaligned((v as $t).to_le()) };
                        } else if let Err(exc) = mmu.store(cache, cpu, env, va, $size, false, v) {
                            break 'ops Some((exc, $insn, i));
                        }
                    }};
                }
                match *op {
                    COp::Mov { d, s } => x!(d) = x!(s),
                    COp::MovI { d, imm } => x!(d) = imm,
                    COp::Add { d, a, b } => x!(d) = x!(a).wrapping_add(x!(b)),
                    COp::Sub { d, a, b } => x!(d) = x!(a).wrapping_sub(x!(b)),
                    COp::And { d, a, b } => x!(d) = x!(a) & x!(b),
                    COp::Or { d, a, b } => x!(d) = x!(a) | x!(b),
                    COp::Xor { d, a, b } => x!(d) = x!(a) ^ x!(b),
                    COp::Shl { d, a, b } => x!(d) = x!(a) << (x!(b) & 63),
                    COp::ShrU { d, a, b } => x!(d) = x!(a) >> (x!(b) & 63),
                    COp::ShrS { d, a, b } => x!(d) = ((x!(a) as i64) >> (x!(b) & 63)) as u64,
                    COp::Mul { d, a, b } => x!(d) = x!(a).wrapping_mul(x!(b)),
                    COp::LtS { d, a, b } => x!(d) = u64::from((x!(a) as i64) < (x!(b) as i64)),
                    COp::LtU { d, a, b } => x!(d) = u64::from(x!(a) < x!(b)),
                    COp::AddI { d, a, imm } => x!(d) = x!(a).wrapping_add(imm),
                    COp::AndI { d, a, imm } => x!(d) = x!(a) & imm,
                    COp::OrI { d, a, imm } => x!(d) = x!(a) | imm,
                    COp::XorI { d, a, imm } => x!(d) = x!(a) ^ imm,
                    COp::ShlI { d, a, imm } => x!(d) = x!(a) << imm,
                    COp::ShrUI { d, a, imm } => x!(d) = x!(a) >> imm,
                    COp::ShrSI { d, a, imm } => x!(d) = ((x!(a) as i64) >> imm) as u64,
                    COp::LtSI { d, a, imm } => x!(d) = u64::from((x!(a) as i64) < (imm as i64)),
                    COp::LtUI { d, a, imm } => x!(d) = u64::from(x!(a) < imm),
                    COp::AddW { d, a, b } => x!(d) = sx32(x!(a).wrapping_add(x!(b))),
                    COp::SubW { d, a, b } => x!(d) = sx32(x!(a).wrapping_sub(x!(b))),
                    COp::ShlW { d, a, b } => x!(d) = sx32(x!(a) << (x!(b) & 31)),
                    COp::ShrUW { d, a, b } => {
                        x!(d) = sx32(u64::from((x!(a) as u32) >> (x!(b) & 31)));
                    }
                    COp::ShrSW { d, a, b } => {
                        x!(d) = i64::from((x!(a) as i32) >> (x!(b) & 31)) as u64;
                    }
                    COp::MulW { d, a, b } => x!(d) = sx32(x!(a).wrapping_mul(x!(b))),
                    COp::AddWI { d, a, imm } => x!(d) = sx32(x!(a).wrapping_add(imm)),
                    COp::ShlWI { d, a, imm } => x!(d) = sx32(x!(a) << imm),
                    COp::ShrUWI { d, a, imm } => x!(d) = sx32(u64::from((x!(a) as u32) >> imm)),
                    COp::ShrSWI { d, a, imm } => x!(d) = i64::from((x!(a) as i32) >> imm) as u64,
                    COp::Bin { op, ty, d, a, b } => x!(d) = eval_bin(op, ty, x!(a), x!(b)),
                    COp::BinW { op, d, a, b } => {
                        x!(d) = sx32(eval_bin(op, vm_core::ir::Ty::I32, x!(a), x!(b)));
                    }
                    COp::Un { op, ty, d, a } => x!(d) = eval_un(op, ty, x!(a)),
                    COp::Cmp { cond, ty, d, a, b } => x!(d) = eval_cmp(cond, ty, x!(a), x!(b)),
                    COp::Select { d, c, a, b } => {
                        x!(d) = if x!(c) != 0 { x!(a) } else { x!(b) };
                    }
                    COp::Ext { d, s, from, signed } => x!(d) = ext(x!(s), from, signed),
                    COp::Ld { d, a, off, insn } => {
                        load!(d, a, off, insn, u64, AccessSize::U64, |r| r, |v| v);
                    }
                    COp::Lw { d, a, off, insn } => load!(
                        d,
                        a,
                        off,
                        insn,
                        u32,
                        AccessSize::U32,
                        |r| i64::from(r as i32) as u64,
                        |v| sx32(v)
                    ),
                    COp::Lwu { d, a, off, insn } => {
                        load!(
                            d,
                            a,
                            off,
                            insn,
                            u32,
                            AccessSize::U32,
                            |r| u64::from(r),
                            |v| v
                        );
                    }
                    COp::Lh { d, a, off, insn } => load!(
                        d,
                        a,
                        off,
                        insn,
                        u16,
                        AccessSize::U16,
                        |r| i64::from(r as i16) as u64,
                        |v| i64::from(v as u16 as i16) as u64
                    ),
                    COp::Lhu { d, a, off, insn } => {
                        load!(
                            d,
                            a,
                            off,
                            insn,
                            u16,
                            AccessSize::U16,
                            |r| u64::from(r),
                            |v| v
                        );
                    }
                    COp::Lb { d, a, off, insn } => load!(
                        d,
                        a,
                        off,
                        insn,
                        u8,
                        AccessSize::U8,
                        |r| i64::from(r as i8) as u64,
                        |v| i64::from(v as u8 as i8) as u64
                    ),
                    COp::Lbu { d, a, off, insn } => {
                        load!(d, a, off, insn, u8, AccessSize::U8, |r| u64::from(r), |v| v);
                    }
                    COp::Sd { s, a, off, insn } => {
                        store!(s, a, off, insn, u64, AccessSize::U64)
                    }
                    COp::Sw { s, a, off, insn } => {
                        store!(s, a, off, insn, u32, AccessSize::U32)
                    }
                    COp::Sh { s, a, off, insn } => {
                        store!(s, a, off, insn, u16, AccessSize::U16)
                    }
                    COp::Sb { s, a, off, insn } => {
                        store!(s, a, off, insn, u8, AccessSize::U8)
                    }
                    COp::FAddD {
                        d,
                        a,
                        b: bb,
                        rm,
                        fl,
                        env,
                    } => {
                        let fast = fp::add_f64(x!(a), x!(bb), false);
                        fbin!(FBinOp::Add, fast, d, a, bb, rm, fl, env);
                    }
                    COp::FSubD {
                        d,
                        a,
                        b: bb,
                        rm,
                        fl,
                        env,
                    } => {
                        let fast = fp::add_f64(x!(a), x!(bb), true);
                        fbin!(FBinOp::Sub, fast, d, a, bb, rm, fl, env);
                    }
                    COp::FMulD {
                        d,
                        a,
                        b: bb,
                        rm,
                        fl,
                        env,
                    } => {
                        let fast = fp::mul_f64(x!(a), x!(bb));
                        fbin!(FBinOp::Mul, fast, d, a, bb, rm, fl, env);
                    }
                    COp::FDivD {
                        d,
                        a,
                        b: bb,
                        rm,
                        fl,
                        env,
                    } => {
                        let fast = fp::div_f64(x!(a), x!(bb));
                        fbin!(FBinOp::Div, fast, d, a, bb, rm, fl, env);
                    }
                    COp::FCmpD {
                        op,
                        signaling,
                        d,
                        a,
                        b: bb,
                        env,
                    } => {
                        let (xa, xb) = (x!(a), x!(bb));
                        let (r, fl) = match fp::cmp_f64(op, xa, xb) {
                            Some(r) => (r, 0),
                            None => fp::fcmp(op, signaling, FloatTy::F64, xa, xb, false),
                        };
                        x!(d) = r;
                        if fl != 0
                            && let Some(fe) = b.fenv.get(usize::from(env))
                            && let Some(f) = fe.flags
                        {
                            x!(f) |= u64::from(fl);
                        }
                    }
                    COp::AddIAddI {
                        d1,
                        a1,
                        i1,
                        d2,
                        a2,
                        i2,
                    } => {
                        x!(d1) = x!(a1).wrapping_add(i64::from(i1) as u64);
                        x!(d2) = x!(a2).wrapping_add(i64::from(i2) as u64);
                    }
                    COp::AddAdd {
                        d1,
                        a1,
                        b1,
                        d2,
                        a2,
                        b2,
                    } => {
                        x!(d1) = x!(a1).wrapping_add(x!(b1));
                        x!(d2) = x!(a2).wrapping_add(x!(b2));
                    }
                    COp::XorXor {
                        d1,
                        a1,
                        b1,
                        d2,
                        a2,
                        b2,
                    } => {
                        x!(d1) = x!(a1) ^ x!(b1);
                        x!(d2) = x!(a2) ^ x!(b2);
                    }
                    COp::ShrUWIShlI {
                        d1,
                        a1,
                        s1,
                        d2,
                        a2,
                        s2,
                    } => {
                        x!(d1) = sx32(u64::from((x!(a1) as u32) >> s1));
                        x!(d2) = x!(a2) << s2;
                    }
                    COp::ShlIShrUWI {
                        d1,
                        a1,
                        s1,
                        d2,
                        a2,
                        s2,
                    } => {
                        x!(d1) = x!(a1) << s1;
                        x!(d2) = sx32(u64::from((x!(a2) as u32) >> s2));
                    }
                    COp::ShlIOr {
                        d1,
                        a1,
                        s1,
                        d2,
                        a2,
                        b2,
                    } => {
                        x!(d1) = x!(a1) << s1;
                        x!(d2) = x!(a2) | x!(b2);
                    }
                    COp::Slow { i: si } => {
                        let Some(s) = b.slow.get(si as usize) else {
                            continue;
                        };
                        let mut cx = SlowCtx {
                            fr: &mut *fr,
                            mmu: &mut *mmu,
                            reservation: &mut *reservation,
                            clear_cache: &mut *clear_cache,
                            layout,
                            cache,
                            cpu: &mut *cpu,
                            env,
                            block_pc: b.pc,
                        };
                        if let Err(exc) = run_slow(s, &mut cx) {
                            break 'ops Some((exc, s.insn, i));
                        }
                    }
                }
            }
            None
        };
        mmu.hits += hits;

        if let Some((exc, insn, i)) = fault {
            *executed += u64::from(insn);
            let ran = b.ops.get(..i).unwrap_or_default();
            self.fused_ops += ran.iter().filter(|op| is_fused(op)).count() as u64;
            let pc = b.insn_pcs.get(usize::from(insn)).copied().unwrap_or(b.pc);
            return Done::Event(self.raise(cpu, exc, pc));
        }
        self.fused_ops += u64::from(b.fused);
        let fr = &self.frame;
        let next = match b.term {
            CTerm::Jump(t) => t,
            CTerm::Branch {
                c,
                taken,
                not_taken,
            } => {
                if fr[usize::from(c)] != 0 {
                    taken
                } else {
                    not_taken
                }
            }
            CTerm::CmpBranch {
                cond,
                ty,
                a,
                b: bb,
                taken,
                not_taken,
            } => {
                if eval_cmp(cond, ty, fr[usize::from(a)], fr[usize::from(bb)]) != 0 {
                    taken
                } else {
                    not_taken
                }
            }
            CTerm::JumpIndirect(c) => fr[usize::from(c)],
            CTerm::JumpReg { base, off } => fr[usize::from(base)].wrapping_add(off) & !1,
            CTerm::Trap { cause, tval } => {
                *executed += u64::from(b.insn_count.saturating_sub(1));
                let pc = b.last_pc();
                return Done::Event(self.raise(cpu, Exception::Trap { cause, tval }, pc));
            }
            CTerm::Wait(next) => {
                *executed += u64::from(b.insn_count);
                return Done::Wait(next);
            }
            CTerm::Sync(next) => {
                *executed += u64::from(b.insn_count);
                return Done::Event(next);
            }
        };
        *executed += u64::from(b.insn_count);
        if self.mmu.event {
            Done::Event(next)
        } else {
            Done::Next(next)
        }
    }
}

/// Sign-extend the low 32 bits.
#[inline(always)]
fn sx32(v: u64) -> u64 {
    i64::from(v as i32) as u64
}
