//! [`CodeCache`]: compiled blocks grouped in batches, one `JITModule` per batch.
//!
//! Cranelift cannot free one function of a module, only a whole module
//! ([`JITModule::free_memory`]). Blocks are therefore compiled into the newest *batch* (one module, at
//! most `batch_blocks` functions); when the cache holds `max_blocks` functions, the oldest batch is
//! evicted whole and its memory released. Callers never hold a raw code pointer: [`CodeCache::lookup`]
//! returns a [`CompiledBlock`] that borrows the cache, and eviction or invalidation need `&mut`, so the
//! borrow checker rules out running freed code. [`CodeCache::generation`] changes on every eviction and
//! invalidation for callers that remember which keys were compiled.

use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use cranelift_jit::JITModule;
use vm_core::ir::Block;

use super::compiler::JitCompiler;
use super::context::{Exit, ExitCode, JitContext, decode_trap_cause};
use super::error::{JitError, JitResult};

/// Identifies a translation: the guest physical address of its first instruction plus whatever else
/// the engine keys translations by (privilege, address-translation mode...), opaque here.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    /// Guest physical address of the block's first instruction.
    pub phys_pc: u64,
    /// Engine-defined context bits.
    pub context: u64,
}

/// Sizes of a [`CodeCache`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CodeCacheConfig {
    /// Most compiled functions resident at once (including invalidated ones not yet freed).
    pub max_blocks: usize,
    /// Functions per batch (per `JITModule`).
    pub batch_blocks: usize,
}

impl Default for CodeCacheConfig {
    fn default() -> Self {
        Self {
            max_blocks: 4096,
            batch_blocks: 256,
        }
    }
}

/// Counters of a [`CodeCache`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Blocks compiled successfully.
    pub compiles: u64,
    /// Blocks the compiler refused (unsupported ops).
    pub unsupported: u64,
    /// Time spent compiling (successful or not).
    pub compile_time: Duration,
    /// Batches evicted to make room.
    pub evictions: u64,
    /// Batches freed because every block in them was invalidated.
    pub batches_freed: u64,
    /// Keys dropped by invalidation.
    pub invalidated: u64,
}

type BlockFn = unsafe extern "C" fn(*mut u64, *mut JitContext) -> u64;

#[derive(Copy, Clone, Debug)]
struct Entry {
    batch: u64,
    func: BlockFn,
    min_slots: usize,
    pc: u64,
    /// Physical bytes covered, from `key.phys_pc`.
    len: u64,
}

struct Batch {
    id: u64,
    module: JITModule,
    /// Functions compiled into it.
    compiled: usize,
    /// Keys still pointing into it.
    live: usize,
}

/// Compiled blocks, by key, with batch-wise eviction. See the module docs.
pub struct CodeCache {
    compiler: JitCompiler,
    config: CodeCacheConfig,
    batches: VecDeque<Batch>,
    next_batch: u64,
    entries: HashMap<BlockKey, Entry>,
    stats: JitStats,
    generation: u64,
}

impl core::fmt::Debug for CodeCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CodeCache")
            .field("config", &self.config)
            .field("batches", &self.batches.len())
            .field("blocks", &self.entries.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A compiled block, borrowed from its [`CodeCache`] (which cannot evict it while the borrow lives).
#[derive(Copy, Clone, Debug)]
pub struct CompiledBlock<'a> {
    entry: Entry,
    _cache: PhantomData<&'a CodeCache>,
}

impl CompiledBlock<'_> {
    /// Guest virtual PC the block was compiled for.
    pub fn pc(&self) -> u64 {
        self.entry.pc
    }

    /// Register slots the block reads or writes.
    pub fn min_slots(&self) -> usize {
        self.entry.min_slots
    }

    /// Run the block on the register slots `slots` with `ctx`; clears `ctx.fault` first. The raw exit
    /// is also in `ctx` ([`JitContext::next_pc`], [`JitContext::insn_count`]...).
    pub fn run(&self, slots: &mut [u64], ctx: &mut JitContext) -> JitResult<Exit> {
        let pc = self.entry.pc;
        if slots.len() < self.entry.min_slots {
            return Err(JitError::SlotsTooShort {
                pc,
                needed: self.entry.min_slots,
                given: slots.len(),
            });
        }
        ctx.fault = 0;
        // SAFETY: the function was compiled by `JitCompiler::compile` with this signature, and its
        // module is alive (this value borrows the cache, which frees modules only through `&mut self`).
        // The code accesses `slots[..min_slots]`, checked above, and the fields of `ctx`; it calls
        // `ctx.load`/`ctx.store`, safe `extern "C"` functions, passing `ctx` back.
        let raw = unsafe { (self.entry.func)(slots.as_mut_ptr(), ctx) };
        let next = ctx.next_pc;
        Ok(match ExitCode::from_raw(raw) {
            Some(ExitCode::Next) => Exit::Next(next),
            Some(ExitCode::Sync) => Exit::Sync(next),
            Some(ExitCode::Wait) => Exit::Wait(next),
            Some(ExitCode::MemFault) => Exit::MemFault(next),
            Some(ExitCode::Trap) => match decode_trap_cause(ctx.trap_cause) {
                Some(cause) => Exit::Trap {
                    pc: next,
                    cause,
                    tval: ctx.trap_tval,
                },
                None => return Err(JitError::BadExitCode { pc, code: raw }),
            },
            None => return Err(JitError::BadExitCode { pc, code: raw }),
        })
    }
}

impl CodeCache {
    /// An empty cache compiling for the host.
    pub fn new(config: CodeCacheConfig) -> JitResult<Self> {
        if config.batch_blocks == 0 {
            return Err(JitError::InvalidConfig("batch_blocks must be at least 1"));
        }
        if config.max_blocks < config.batch_blocks {
            return Err(JitError::InvalidConfig(
                "max_blocks must be at least batch_blocks",
            ));
        }
        Ok(Self {
            compiler: JitCompiler::new()?,
            config,
            batches: VecDeque::new(),
            next_batch: 0,
            entries: HashMap::new(),
            stats: JitStats::default(),
            generation: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> CodeCacheConfig {
        self.config
    }

    /// Counters.
    pub fn stats(&self) -> JitStats {
        self.stats
    }

    /// Changes whenever compiled code is dropped (eviction, invalidation).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Keys with compiled code.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key has compiled code.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Batches (modules) alive.
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// Functions resident in memory (live or invalidated, until their batch is freed).
    pub fn resident_blocks(&self) -> usize {
        self.batches.iter().map(|b| b.compiled).sum()
    }

    /// The compiled code for `key`, if any.
    pub fn lookup(&self, key: BlockKey) -> Option<CompiledBlock<'_>> {
        self.entries.get(&key).map(|&entry| CompiledBlock {
            entry,
            _cache: PhantomData,
        })
    }

    /// Compile `block` for `key` (replacing older code for it), evicting the oldest batches if the
    /// cache is full. On `Err` nothing changes except the statistics: keep interpreting the block.
    pub fn compile(&mut self, key: BlockKey, block: &Block) -> JitResult<CompiledBlock<'_>> {
        let start = Instant::now();
        // Refuse before making room, so an unsupported block never evicts anything.
        if let Err(e) = JitCompiler::check_supported(block) {
            self.stats.unsupported += 1;
            self.stats.compile_time += start.elapsed();
            return Err(e);
        }
        while self.resident_blocks() >= self.config.max_blocks && !self.batches.is_empty() {
            self.evict_oldest();
        }
        let open = matches!(self.batches.back(), Some(b) if b.compiled < self.config.batch_blocks);
        if !open {
            let module = self.compiler.new_module();
            self.batches.push_back(Batch {
                id: self.next_batch,
                module,
                compiled: 0,
                live: 0,
            });
            self.next_batch += 1;
        }
        let compiler = &mut self.compiler;
        let Some(batch) = self.batches.back_mut() else {
            return Err(JitError::Codegen("No open batch".into()));
        };
        let result = compiler.compile(&mut batch.module, block);
        self.stats.compile_time += start.elapsed();
        let info = result?;
        let ptr = batch.module.get_finalized_function(info.func);
        // SAFETY: `ptr` is the finalised code of a function declared with exactly this signature by
        // `JitCompiler::compile` (two pointers in, one i64 out, the host's C calling convention).
        let func = unsafe { core::mem::transmute::<*const u8, BlockFn>(ptr) };
        batch.compiled += 1;
        batch.live += 1;
        let entry = Entry {
            batch: batch.id,
            func,
            min_slots: info.min_slots,
            pc: block.pc,
            len: u64::from(block.guest_len.max(1)),
        };
        self.stats.compiles += 1;
        if let Some(old) = self.entries.insert(key, entry) {
            self.unlink(old.batch);
        }
        Ok(CompiledBlock {
            entry,
            _cache: PhantomData,
        })
    }

    /// Drop every key whose block overlaps the guest physical range `[start, end)` (code was written,
    /// or the page was remapped). Returns how many keys were dropped.
    pub fn invalidate_range(&mut self, start: u64, end: u64) -> usize {
        let dropped: Vec<(BlockKey, u64)> = self
            .entries
            .iter()
            .filter(|(k, e)| k.phys_pc < end && k.phys_pc.saturating_add(e.len) > start)
            .map(|(k, e)| (*k, e.batch))
            .collect();
        for (key, batch) in &dropped {
            self.entries.remove(key);
            self.unlink(*batch);
        }
        if !dropped.is_empty() {
            self.stats.invalidated += dropped.len() as u64;
            self.generation += 1;
        }
        dropped.len()
    }

    /// Drop all compiled code and free every batch.
    pub fn clear(&mut self) {
        self.entries.clear();
        while let Some(b) = self.batches.pop_front() {
            Self::free(b);
        }
        self.generation += 1;
    }

    /// One key no longer points into `batch`; free the batch if it is closed and empty.
    fn unlink(&mut self, batch: u64) {
        let Some(pos) = self.batches.iter().position(|b| b.id == batch) else {
            return;
        };
        let full = self.config.batch_blocks;
        let Some(b) = self.batches.get_mut(pos) else {
            return;
        };
        b.live = b.live.saturating_sub(1);
        if b.live == 0
            && b.compiled >= full
            && let Some(b) = self.batches.remove(pos)
        {
            Self::free(b);
            self.stats.batches_freed += 1;
            self.generation += 1;
        }
    }

    fn evict_oldest(&mut self) {
        let Some(b) = self.batches.pop_front() else {
            return;
        };
        let id = b.id;
        self.entries.retain(|_, e| e.batch != id);
        Self::free(b);
        self.stats.evictions += 1;
        self.generation += 1;
    }

    fn free(b: Batch) {
        // SAFETY: every `CompiledBlock` borrows the cache, and this runs only under `&mut CodeCache`,
        // so no code of this module is running or reachable; its keys were removed by the caller.
        unsafe { b.module.free_memory() };
    }
}

impl Drop for CodeCache {
    fn drop(&mut self) {
        self.clear();
    }
}
