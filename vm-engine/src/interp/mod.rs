//! The IR interpreter: a block cache with a jump cache, a compact pre-processed block form with
//! constant folding and instruction fusion, a software TLB with an inline host fast path, and exact
//! execution of every IR op.
//!
//! # How a run flows
//!
//! The guest slots are copied into the engine's frame when a run starts and stay there: blocks read
//! and write the frame, and the CPU's slots are brought up to date ("synced") only where the CPU can
//! look at them: around helper calls, exceptions, interrupt checks and at the end of the run.
//!
//! 1. **Boundary checks.** At the start of a run, after every block that needs attention (it called a
//!    helper, raised an exception, ended with `Sync`, `Wait` or `Trap`, wrote translated code,
//!    accessed a device or fenced) and otherwise every [`CHECK_INSNS`] instructions, the engine stops
//!    when the instruction limit is reached ([`Exit::LimitReached`]) or the stop flag of
//!    [`Interpreter::stop_handle`] is set ([`Exit::Stopped`]), drops the blocks of code pages that were
//!    written, syncs the slots and the PC out, lets the CPU take a pending interrupt
//!    ([`GuestCpu::take_interrupt`]), and flushes its software TLB if [`GuestCpu::context_key`]
//!    changed. Interrupts are thus taken at block boundaries: at the first one after anything the
//!    guest did that may raise or enable one, and within [`CHECK_INSNS`] instructions of one raised
//!    from outside (another thread, a timer).
//! 2. **Lookup.** Blocks are chained: after a block, the run stays in the executor and follows the
//!    block's links (the blocks that followed it before, still valid: see `cache`) without leaving it,
//!    until a block needs a boundary check or has no link for the next PC. Then the jump cache (by
//!    guest virtual PC) answers most lookups; on a miss the PC is translated for fetch (through the
//!    TLB, [`GuestCpu::translate`] on a miss) and the block cache is searched by (guest physical PC,
//!    context key). A hit must also match the virtual PC and, for a block whose code crosses into
//!    further pages, those pages' current translations. The block found is linked from the previous
//!    one.
//! 3. **Decode on a miss.** [`GuestCpu::decode`] reads code through the engine's [`InsnFetch`], which
//!    reads guest RAM page by page through translations made beforehand. When the decoder needs a page
//!    not yet translated, the fetch fails, the engine translates that page and decodes again (a failed
//!    translation leaves the decoder's shorter block, or raises the fault if the first instruction needs
//!    the page). The block is validated ([`vm_core::ir::Block::validate`]; a malformed block is a host
//!    [`Error::InvalidBlock`]), lowered to compact form (see `compile`), and cached; its physical code
//!    pages are recorded.
//! 4. **Execute.** The ops run on the frame (integer ops inline, memory through the TLB's host fast
//!    path for RAM or the MMU's slow path, MMIO through the bus, double-precision arithmetic and
//!    comparisons on the host FPU when that is exact, everything else in soft-float). A faulting op
//!    stops the block precisely: slots keep the effects of the ops before it, the instructions before
//!    it are counted, the PC is set to the faulting instruction's and [`GuestCpu::raise`] is called.
//! 5. **Terminator.** Sets the next PC, raises a trap, or returns [`Exit::Wait`] (when no wake-up is
//!    pending).
//!
//! Stores that reach a guest physical page holding translated code drop the blocks on that page
//! once the storing block is done (pages holding code never get a store fast path in the TLB, so every
//! store to them is checked); a `fence.i` drops the whole cache the same way.
//!
//! # Decisions
//!
//! - [`GuestCpu::translate`] and [`GuestCpu::decode`] see the slots as of the last sync (run start,
//!   helper call, exception, boundary check); frontends change what translation and decoding depend on
//!   only through helpers or blocks that end with `Sync`, as the IR requires, and those sync. They must
//!   not change slots themselves.
//! - The CPU's PC is set (with [`GuestCpu::set_pc`]) only when the slots are synced out. When the CPU
//!   keeps its PC in a slot, the engine finds that slot at the start of every run (it is the one slot
//!   `set_pc` changes; the PC is restored right away) and keeps the frame's copy current before every
//!   block, so IR that reads the PC slot sees the PC. A CPU whose `set_pc` changes several slots is
//!   synced at every block boundary instead.
//! - Atomics and load-reserved/store-conditional need RAM and raise an access fault on device memory;
//!   the host's atomic `compare_exchange` of the guest memory gives the ordering of every atomic.
//! - Translations survive from run to run (their host pointers do not): anything that changes them
//!   changes the context key or fences translations.

mod cache;
mod compile;
mod exec;
mod fp;
mod lower;
mod memory;
mod ops;
mod slow;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vm_core::GuestPhysAddr;
use vm_core::exec::{
    EngineStats, Exception, ExecEnv, ExecutionEngine, Exit, GuestCpu, InsnFetch, RunLimit,
};
use vm_core::mem::{AccessKind, AccessSize};

use crate::error::Error;
use cache::{BlockCache, BlockId, PAGE_SHIFT};
use exec::{Core, Stop, sync_in, sync_out};
use lower::{Layout, LowerError};
use memory::Mmu;
use ops::{CBlock, FRAME_LEN, Ix};

/// Counters of the interpreter, beyond the ones every engine keeps.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct InterpStats {
    /// The counters of [`ExecutionEngine::stats`].
    pub engine: EngineStats,
    /// Fused ops executed (each one replaced two or more IR ops).
    pub fused_ops: u64,
    /// Fused ops created when blocks were compiled.
    pub fused_compiled: u64,
    /// Software TLB hits.
    pub tlb_hits: u64,
    /// Software TLB misses (calls to [`GuestCpu::translate`]).
    pub tlb_misses: u64,
    /// Blocks dropped from the cache (self-modifying code, invalidation, instruction fences).
    pub blocks_invalidated: u64,
    /// Blocks in the cache now.
    pub cached_blocks: u64,
}

/// A load-reserved reservation: guest physical address, size and the value loaded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Reservation {
    pa: u64,
    size: AccessSize,
    value: u64,
}

/// The IR interpreter (see the module docs).
#[derive(Debug)]
pub struct Interpreter {
    cache: BlockCache,
    core: Core,
    /// The context key the cache is looked up with.
    ctx: u64,
    stop: Arc<AtomicBool>,
    stats: InterpStats,
    max_block_insns: u32,
}

impl Default for Interpreter {
    fn default() -> Self {
        Self::new()
    }
}

/// Most guest pages one block's code may span.
const MAX_CODE_PAGES: usize = 8;

/// Instructions per block the interpreter asks decoders for by default.
pub const DEFAULT_MAX_BLOCK_INSNS: u32 = 64;

/// Instructions between two boundary checks when nothing asks for one earlier (see the module docs).
pub const CHECK_INSNS: u64 = 512;

/// Where the frame keeps the PC.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum PcSlot {
    /// In this slot (or the scratch word when the CPU keeps its PC elsewhere).
    At(Ix),
    /// In a slot outside the frame: sync at every boundary.
    Unknown,
}

fn new_frame() -> Box<ops::Frame> {
    match vec![0u64; FRAME_LEN].into_boxed_slice().try_into() {
        Ok(f) => f,
        Err(_) => unreachable!("the vector has FRAME_LEN words"),
    }
}

impl Interpreter {
    /// An interpreter with an empty block cache.
    pub fn new() -> Self {
        Self::with_max_block_insns(DEFAULT_MAX_BLOCK_INSNS)
    }

    /// An interpreter asking decoders for at most `max` instructions per block (at least 1).
    pub fn with_max_block_insns(max: u32) -> Self {
        Self {
            cache: BlockCache::default(),
            core: Core {
                frame: new_frame(),
                mmu: Mmu::default(),
                reservation: None,
                layout: Layout { slots: 0 },
                clear_cache: false,
                fused_ops: 0,
                exceptions: 0,
            },
            ctx: 0,
            stop: Arc::new(AtomicBool::new(false)),
            stats: InterpStats::default(),
            max_block_insns: max.max(1),
        }
    }

    /// A flag another thread sets to make [`ExecutionEngine::run`] return [`Exit::Stopped`] at a
    /// block boundary soon after (at the next boundary check). The engine clears it when it stops.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// All counters, including fusion and TLB ones.
    pub fn interp_stats(&self) -> InterpStats {
        let mut s = self.stats;
        s.engine.exceptions = self.core.exceptions;
        InterpStats {
            fused_ops: self.core.fused_ops,
            tlb_hits: self.core.mmu.hits,
            tlb_misses: self.core.mmu.misses,
            blocks_invalidated: self.cache.invalidated,
            cached_blocks: self.cache.len() as u64,
            ..s
        }
    }

    /// Where the frame keeps the PC: the CPU's PC slot ([`GuestCpu::pc_slot`]), or the scratch word
    /// when the PC lives outside the slots.
    fn pc_slot(&self, cpu: &dyn GuestCpu) -> PcSlot {
        let layout = self.core.layout;
        match cpu.pc_slot() {
            None => PcSlot::At(layout.scratch()),
            Some(r) if usize::from(r.0) < layout.slots => PcSlot::At(r.0 as Ix),
            Some(_) => PcSlot::Unknown,
        }
    }

    /// Drop the blocks of written code pages, or all of them after an instruction fence.
    fn apply_invalidations(&mut self) {
        if self.core.clear_cache {
            self.core.clear_cache = false;
            self.cache.clear();
        }
        for p in self.core.mmu.dirty_code.drain(..) {
            self.cache.invalidate_page(p);
        }
    }

    /// The block for `pc`, decoding it on a miss; `Ok(Err(_))` is a fetch exception.
    fn lookup(
        &mut self,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        pc: u64,
    ) -> Result<Result<BlockId, Exception>, Error> {
        let mmu = &mut self.core.mmu;
        let ppc = match mmu.translate(&self.cache, cpu, env, pc, AccessKind::Fetch) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let key = (ppc, self.ctx);
        if let Some(id) = self.cache.get(&key)
            && let Some(b) = self.cache.block(id)
            && b.pc == pc
            && pages_match(mmu, &self.cache, b, cpu, env)
        {
            self.cache.remember(pc, mmu.epoch, id);
            return Ok(Ok(id));
        }
        let mask = (1u64 << PAGE_SHIFT) - 1;
        let mut pages = vec![(pc >> PAGE_SHIFT, ppc & !mask)];
        let mut max = self.max_block_insns;
        let cb = loop {
            let block = match self.decode(cpu, env, pc, &mut pages, max) {
                Ok(b) => b,
                Err(e) => return Ok(Err(e)),
            };
            self.stats.engine.blocks_decoded += 1;
            if block.pc != pc {
                return Err(Error::BlockPcMismatch {
                    asked: pc,
                    got: block.pc,
                });
            }
            match compile::compile(&block, self.core.layout) {
                Ok(cb) => break cb,
                Err(LowerError::TooLarge) if block.insn_count > 1 => max = block.insn_count / 2,
                Err(LowerError::TooLarge) => return Err(Error::BlockTooLarge { pc }),
                Err(LowerError::Host(e)) => return Err(e),
            }
        };
        let mut cb: CBlock = cb;
        self.stats.fused_compiled += u64::from(cb.fused);
        cb.extra_pages = pages.iter().skip(1).copied().collect();
        let phys: Vec<u64> = pages.iter().map(|p| p.1 >> PAGE_SHIFT).collect();
        let (id, new_page) = self.cache.insert(key, cb, &phys);
        if new_page {
            self.core.mmu.drop_write_fast_paths();
        }
        self.cache.remember(pc, self.core.mmu.epoch, id);
        Ok(Ok(id))
    }

    /// Decode the block at `pc` reading code through the translations in `pages`, adding pages as
    /// the decoder asks for them. `Err` is the fetch fault of the first instruction.
    fn decode(
        &mut self,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        pc: u64,
        pages: &mut Vec<(u64, u64)>,
        max: u32,
    ) -> Result<vm_core::ir::Block, Exception> {
        let mask = (1u64 << PAGE_SHIFT) - 1;
        loop {
            let mut f = Fetcher {
                env,
                pages,
                missing: None,
            };
            let res = cpu.decode(pc, &mut f, max);
            let missing = f.missing;
            match (res, missing) {
                // A decoder reading more than a few pages for one block is broken; it gets what it
                // decoded so far (or the fetch fault) instead of more pages.
                (res, Some(vp))
                    if pages.len() < MAX_CODE_PAGES && !pages.iter().any(|p| p.0 == vp) =>
                {
                    match self.core.mmu.translate(
                        &self.cache,
                        cpu,
                        env,
                        vp << PAGE_SHIFT,
                        AccessKind::Fetch,
                    ) {
                        Ok(pa) => pages.push((vp, pa & !mask)),
                        Err(e) => return res.map_err(|_| e),
                    }
                }
                (res, _) => return res,
            }
        }
    }

    /// The run loop; `pc` and `executed` are kept current for the caller.
    fn run_loop(
        &mut self,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        limit: RunLimit,
        pc: &mut u64,
        executed: &mut u64,
    ) -> Result<Exit, Error> {
        let layout = self.core.layout;
        let pc_slot = self.pc_slot(cpu);
        let (pc_ix, interval) = match pc_slot {
            PcSlot::At(ix) => (ix, CHECK_INSNS),
            PcSlot::Unknown => (layout.scratch(), 1),
        };
        let mut check_at = 0u64;
        let mut blocks = 0u64;
        // The block run last, whose links are tried first.
        let mut prev: Option<BlockId> = None;
        let exit = loop {
            if *executed >= check_at {
                if *executed >= limit.max_insns {
                    break Exit::LimitReached;
                }
                if self.stop.load(Ordering::Relaxed) && self.stop.swap(false, Ordering::AcqRel) {
                    break Exit::Stopped;
                }
                self.apply_invalidations();
                sync_out(&self.core.frame, layout, cpu, *pc);
                let taken = cpu.take_interrupt();
                if taken || pc_slot == PcSlot::Unknown {
                    sync_in(&mut self.core.frame, layout, cpu);
                    *pc = cpu.pc();
                    self.stats.engine.interrupts += u64::from(taken);
                }
                self.ctx = cpu.context_key();
                self.core.mmu.check_ctx(self.ctx);
                self.core.mmu.event = false;
                check_at = limit.max_insns.min(executed.saturating_add(interval));
            }
            let epoch = self.cache.epoch(self.core.mmu.epoch);
            let linked = prev.and_then(|p| self.cache.linked(p, *pc, epoch));
            let id = match linked {
                Some(id) => id,
                None => {
                    let id = match self.cache.jump(*pc, self.core.mmu.epoch) {
                        Some(id) => id,
                        None => match self.lookup(cpu, env, *pc)? {
                            Ok(id) => id,
                            Err(exc) => {
                                *pc = self.core.raise(cpu, exc, *pc);
                                check_at = *executed;
                                continue;
                            }
                        },
                    };
                    if let Some(p) = prev {
                        let epoch = self.cache.epoch(self.core.mmu.epoch);
                        self.cache.link(p, *pc, epoch, id);
                    }
                    id
                }
            };
            let (stop, last) = self.core.run_chain(
                id,
                *pc,
                &self.cache,
                cpu,
                env,
                executed,
                check_at,
                pc_ix,
                &mut blocks,
            );
            prev = Some(last);
            match stop {
                Stop::Unlinked(next) => *pc = next,
                Stop::Check(next) => {
                    *pc = next;
                    check_at = *executed;
                }
                Stop::Wait(next) => {
                    *pc = next;
                    check_at = *executed;
                    sync_out(&self.core.frame, layout, cpu, *pc);
                    if !cpu.wake_pending() {
                        break Exit::Wait;
                    }
                }
            }
        };
        self.stats.engine.blocks += blocks;
        Ok(exit)
    }
}

/// Whether the further code pages of `b` still translate as when it was decoded.
fn pages_match(
    mmu: &mut Mmu,
    cache: &BlockCache,
    b: &CBlock,
    cpu: &mut dyn GuestCpu,
    env: &ExecEnv<'_>,
) -> bool {
    b.extra_pages.iter().all(|&(vp, pp)| {
        mmu.translate(cache, cpu, env, vp << PAGE_SHIFT, AccessKind::Fetch)
            .is_ok_and(|pa| pa == pp)
    })
}

/// The engine's [`InsnFetch`]: reads guest RAM through the page translations made so far, and notes
/// the first page it lacks.
struct Fetcher<'a, 'e> {
    env: &'a ExecEnv<'e>,
    /// (virtual page number, physical page address).
    pages: &'a [(u64, u64)],
    missing: Option<u64>,
}

impl InsnFetch for Fetcher<'_, '_> {
    fn fetch(&mut self, vaddr: u64, buf: &mut [u8]) -> Result<(), Exception> {
        let mask = (1u64 << PAGE_SHIFT) - 1;
        let mut done = 0usize;
        while done < buf.len() {
            let va = vaddr.wrapping_add(done as u64);
            let vp = va >> PAGE_SHIFT;
            let Some(&(_, pp)) = self.pages.iter().find(|p| p.0 == vp) else {
                self.missing.get_or_insert(vp);
                return Err(Exception::fetch_fault(va));
            };
            let off = va & mask;
            let n = ((mask + 1 - off) as usize).min(buf.len() - done);
            let dst = &mut buf[done..done + n];
            self.env
                .mem
                .read(GuestPhysAddr(pp | off), dst)
                .map_err(|_| Exception::fetch_fault(va))?;
            done += n;
        }
        Ok(())
    }
}

impl ExecutionEngine for Interpreter {
    type Error = Error;

    fn run(
        &mut self,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        limit: RunLimit,
    ) -> Result<Exit, Error> {
        // Host pointers cached in the TLB belong to the previous run's memory object.
        self.core.mmu.drop_host_pointers();
        let n = cpu.slots().len();
        let layout = Layout::new(n).ok_or(Error::TooManySlots { slots: n })?;
        if layout != self.core.layout {
            // Blocks address the frame for one slot count.
            self.cache.clear();
            self.core.layout = layout;
        }
        sync_in(&mut self.core.frame, layout, cpu);
        let mut pc = cpu.pc();
        let mut executed = 0u64;
        let r = self.run_loop(cpu, env, limit, &mut pc, &mut executed);
        sync_out(&self.core.frame, layout, cpu, pc);
        self.stats.engine.insns += executed;
        r
    }

    fn invalidate(&mut self, start: GuestPhysAddr, len: u64) {
        self.cache.invalidate_range(start.raw(), len);
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            exceptions: self.core.exceptions,
            ..self.stats.engine
        }
    }
}
