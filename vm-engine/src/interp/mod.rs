//! The IR interpreter: a block cache, a compact pre-processed block form with instruction fusion, a
//! software TLB, and exact execution of every IR op.
//!
//! # How a block flows
//!
//! 1. **Boundary checks.** At the top of the loop of [`Interpreter::run`] the engine stops when the
//!    instruction limit is reached ([`Exit::LimitReached`]) or the stop flag of
//!    [`Interpreter::stop_handle`] is set ([`Exit::Stopped`]), lets the CPU take a pending interrupt
//!    ([`GuestCpu::take_interrupt`]), and flushes its software TLB if [`GuestCpu::context_key`] changed.
//! 2. **Lookup.** The PC is translated for fetch (through the TLB, [`GuestCpu::translate`] on a miss)
//!    and the block cache is searched by (guest physical PC, context key). A hit must also match the
//!    virtual PC and, for a block whose code crosses into further pages, those pages' current
//!    translations.
//! 3. **Decode on a miss.** [`GuestCpu::decode`] reads code through the engine's [`InsnFetch`], which
//!    reads guest RAM page by page through translations made beforehand. When the decoder needs a page
//!    not yet translated, the fetch fails, the engine translates that page and decodes again (a failed
//!    translation leaves the decoder's shorter block, or raises the fault if the first instruction needs
//!    the page). The block is validated ([`vm_core::ir::Block::validate`]; a malformed block is a host
//!    [`Error::InvalidBlock`]), lowered to compact form (every operand a flat index into one `u64` frame,
//!    see `compile`), fused, and cached; its physical code pages are recorded.
//! 4. **Execute.** The frame is filled (constants, then the guest slots the block uses), the ops run
//!    (integer ops through vm-core's reference `eval_*` functions, memory through the TLB and a host
//!    pointer fast path for RAM, MMIO through the bus, floating point through soft-float), and the
//!    written slots are copied back. A faulting op stops the block precisely: slots keep the effects of
//!    the ops before it, the PC is set to the faulting instruction's and [`GuestCpu::raise`] is called.
//! 5. **Terminator.** Sets the next PC, raises a trap, or returns [`Exit::Wait`].
//!
//! Stores that reach a guest physical page holding translated code drop the blocks on that page
//! (pages holding code never get a write fast path in the TLB, so every store to them is checked).
//!
//! Decisions: register slots that translation reads are seen as of the last block boundary or helper
//! call (frontends end blocks after changing translation state, as the IR requires); atomics and
//! load-reserved/store-conditional need RAM and raise an access fault on device memory; the host's
//! atomic `compare_exchange` of the guest memory gives the ordering of every atomic.

mod cache;
mod compile;
mod exec;
mod fp;
mod lower;
mod memory;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vm_core::GuestPhysAddr;
use vm_core::exec::{
    EngineStats, Exception, ExecEnv, ExecutionEngine, Exit, GuestCpu, InsnFetch, RunLimit,
};
use vm_core::mem::{AccessKind, AccessSize};

use crate::error::Error;
use cache::{BlockCache, PAGE_SHIFT};
use compile::CBlock;
use memory::Mmu;

/// Counters of the interpreter, beyond the ones every engine keeps.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct InterpStats {
    /// The counters of [`ExecutionEngine::stats`].
    pub engine: EngineStats,
    /// Fused ops executed (each one replaced two IR ops).
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
    mmu: Mmu,
    reservation: Option<Reservation>,
    frame: Vec<u64>,
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

impl Interpreter {
    /// An interpreter with an empty block cache.
    pub fn new() -> Self {
        Self::with_max_block_insns(DEFAULT_MAX_BLOCK_INSNS)
    }

    /// An interpreter asking decoders for at most `max` instructions per block (at least 1).
    pub fn with_max_block_insns(max: u32) -> Self {
        Self {
            cache: BlockCache::default(),
            mmu: Mmu::default(),
            reservation: None,
            frame: Vec::with_capacity(256),
            stop: Arc::new(AtomicBool::new(false)),
            stats: InterpStats::default(),
            max_block_insns: max.max(1),
        }
    }

    /// A flag another thread sets to make [`ExecutionEngine::run`] return [`Exit::Stopped`] at the next
    /// block boundary. The engine clears it when it stops.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// All counters, including fusion and TLB ones.
    pub fn interp_stats(&self) -> InterpStats {
        InterpStats {
            tlb_hits: self.mmu.hits,
            tlb_misses: self.mmu.misses,
            blocks_invalidated: self.cache.invalidated,
            cached_blocks: self.cache.len() as u64,
            ..self.stats
        }
    }

    /// The cached block for `pc`, decoding it on a miss; `Ok(Err(_))` is a fetch exception.
    fn lookup(
        &mut self,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        pc: u64,
        ctx: u64,
    ) -> Result<Result<Arc<CBlock>, Exception>, Error> {
        let ppc = match self
            .mmu
            .translate(&self.cache, cpu, env, pc, AccessKind::Fetch)
        {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(b) = self.cache.get(&(ppc, ctx)).cloned()
            && b.pc == pc
            && self.extra_pages_match(&b, cpu, env)
        {
            return Ok(Ok(b));
        }
        let mask = (1u64 << PAGE_SHIFT) - 1;
        let mut pages = vec![(pc >> PAGE_SHIFT, ppc & !mask)];
        let block = loop {
            let mut f = Fetcher {
                env,
                pages: &pages,
                missing: None,
            };
            let res = cpu.decode(pc, &mut f, self.max_block_insns);
            let missing = f.missing;
            match (res, missing) {
                // A decoder reading more than a few pages for one block is broken; it gets what it
                // decoded so far (or the fetch fault) instead of more pages.
                (res, Some(vp))
                    if pages.len() < MAX_CODE_PAGES && !pages.iter().any(|p| p.0 == vp) =>
                {
                    match self.mmu.translate(
                        &self.cache,
                        cpu,
                        env,
                        vp << PAGE_SHIFT,
                        AccessKind::Fetch,
                    ) {
                        Ok(pa) => pages.push((vp, pa & !mask)),
                        Err(e) => match res {
                            Ok(b) => break b,
                            Err(_) => return Ok(Err(e)),
                        },
                    }
                }
                (Ok(b), _) => break b,
                (Err(e), _) => return Ok(Err(e)),
            }
        };
        self.stats.engine.blocks_decoded += 1;
        if block.pc != pc {
            return Err(Error::BlockPcMismatch {
                asked: pc,
                got: block.pc,
            });
        }
        let mut cb = compile::compile(&block)?;
        self.stats.fused_compiled += u64::from(cb.fused);
        cb.extra_pages = pages.iter().skip(1).copied().collect();
        let phys: Vec<u64> = pages.iter().map(|p| p.1 >> PAGE_SHIFT).collect();
        let cb = Arc::new(cb);
        if self.cache.insert((ppc, ctx), cb.clone(), &phys) {
            // A new code page: write fast paths to it must go.
            self.mmu.flush();
        }
        Ok(Ok(cb))
    }

    /// Whether the further code pages of `b` still translate as when it was decoded.
    fn extra_pages_match(&mut self, b: &CBlock, cpu: &mut dyn GuestCpu, env: &ExecEnv<'_>) -> bool {
        b.extra_pages.iter().all(|&(vp, pp)| {
            self.mmu
                .translate(&self.cache, cpu, env, vp << PAGE_SHIFT, AccessKind::Fetch)
                .is_ok_and(|pa| pa == pp)
        })
    }
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
        self.mmu.flush();
        let mut executed = 0u64;
        loop {
            if executed >= limit.max_insns {
                return Ok(Exit::LimitReached);
            }
            if self.stop.load(Ordering::Relaxed) && self.stop.swap(false, Ordering::AcqRel) {
                return Ok(Exit::Stopped);
            }
            if cpu.take_interrupt() {
                self.stats.engine.interrupts += 1;
            }
            let ctx = cpu.context_key();
            self.mmu.check_ctx(ctx);
            let pc = cpu.pc();
            let block = match self.lookup(cpu, env, pc, ctx)? {
                Ok(b) => b,
                Err(exc) => {
                    self.stats.engine.exceptions += 1;
                    cpu.set_pc(pc);
                    cpu.raise(exc, pc);
                    continue;
                }
            };
            if let Some(exit) = self.exec_block(&block, cpu, env, &mut executed)? {
                return Ok(exit);
            }
        }
    }

    fn invalidate(&mut self, start: GuestPhysAddr, len: u64) {
        self.cache.invalidate_range(start.raw(), len);
    }

    fn stats(&self) -> EngineStats {
        self.stats.engine
    }
}
