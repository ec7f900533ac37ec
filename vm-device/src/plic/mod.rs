//! SiFive PLIC (platform-level interrupt controller), laid out as on QEMU `virt`.
//!
//! | offset | register |
//! |---|---|
//! | `0x000000 + 4 * src` | priority of source `src` (0..=7; source 0 is reserved) |
//! | `0x001000 + 4 * w` | pending bits of sources `32w..32w+32` (read-only) |
//! | `0x002000 + 0x80 * ctx + 4 * w` | enable bits of context `ctx` |
//! | `0x200000 + 0x1000 * ctx` | priority threshold of context `ctx` |
//! | `0x200004 + 0x1000 * ctx` | claim (read) / complete (write) of context `ctx` |
//!
//! There are [`PLIC_NUM_SOURCES`] sources (IDs 1..=1023) and two contexts per hart, as on QEMU `virt`:
//! context `2h` is hart `h`'s machine mode, `2h + 1` its supervisor mode ([`Plic::context`]).
//! Registers are 32 bits wide; other widths and misaligned accesses read 0 and ignore writes.
//!
//! **Gateways are level-triggered.** Devices drive their source through the [`InterruptLine`] handle that
//! [`Plic::line`] returns. A rising level makes the source pending unless it is claimed; a claim clears
//! pending; while claimed, the source is not pended again; a completion re-pends it if the line is still
//! high. A line that falls after its request was accepted leaves it pending (the PLIC spec: the handler
//! finds nothing to do), and a completion for a source not enabled in the completing context is ignored.
//! A claim returns the pending, enabled, unclaimed source of highest priority (lowest ID on ties) with
//! priority above 0, whatever the threshold — the PLIC spec says claims ignore the threshold, while QEMU
//! applies it; software never notices, as it claims only when notified. Notification —
//! [`Plic::context_pending`], which the vCPU polls to set `mip.MEIP`/`mip.SEIP` — needs a candidate whose
//! priority exceeds the threshold.
//!
//! **Thread safety without locks.** Lines are `&self` and are driven from device threads while vCPU
//! threads claim and complete, so all state is atomics: one bit per source in the `level`, `pending`
//! and `claimed` words, priorities, enables and thresholds in plain atomic words. The claimed bit is the
//! lock of a source: a claim wins a source by setting it (`fetch_or`, the winner is the one that saw it
//! clear), so two contexts never both hold a source. A rising line stores its level before it looks at
//! the claimed bit, and a completion clears the claimed bit before it looks at the level, all with
//! sequentially consistent ordering, so at least one of the two sees the other and a request that races a
//! completion is never lost. [`Plic`] is a cheap handle: clones share one controller.
//!
//! [`InterruptLine`]: vm_core::device::InterruptLine

#[cfg(test)]
mod tests;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use vm_core::device::{InterruptLine, MmioDevice};
use vm_core::mem::AccessSize;

use crate::error::{DeviceError, Result};

/// Number of interrupt sources, including the reserved source 0.
pub const PLIC_NUM_SOURCES: u32 = 1024;
/// Highest priority a source can have (priorities are 3 bits wide, as on QEMU `virt`).
pub const PLIC_MAX_PRIORITY: u32 = 7;
/// Offset of the priority registers.
pub const PLIC_PRIORITY_BASE: u64 = 0x0;
/// Offset of the pending bits.
pub const PLIC_PENDING_BASE: u64 = 0x1000;
/// Offset of context 0's enable bits.
pub const PLIC_ENABLE_BASE: u64 = 0x2000;
/// Distance between two contexts' enable bits.
pub const PLIC_ENABLE_STRIDE: u64 = 0x80;
/// Offset of context 0's threshold register.
pub const PLIC_CONTEXT_BASE: u64 = 0x20_0000;
/// Distance between two contexts' threshold registers.
pub const PLIC_CONTEXT_STRIDE: u64 = 0x1000;
/// Offset of the claim/complete register inside a context's page.
pub const PLIC_CLAIM_OFFSET: u64 = 4;
/// Contexts per hart (machine and supervisor mode).
pub const PLIC_CONTEXTS_PER_HART: usize = 2;
/// Most harts the layout has room for (15872 contexts).
pub const PLIC_MAX_HARTS: usize =
    ((0x400_0000 - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE) as usize / PLIC_CONTEXTS_PER_HART;

/// 32-bit words of one bit per source.
const WORDS: usize = (PLIC_NUM_SOURCES / 32) as usize;

/// The privilege mode a context delivers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PlicMode {
    /// Machine mode (`mip.MEIP`).
    Machine,
    /// Supervisor mode (`mip.SEIP`).
    Supervisor,
}

/// Size of the MMIO window for a PLIC with `contexts` contexts (QEMU `virt`'s formula).
pub const fn plic_mmio_size(contexts: usize) -> u64 {
    PLIC_CONTEXT_BASE + contexts as u64 * PLIC_CONTEXT_STRIDE
}

struct PlicState {
    priority: Vec<AtomicU32>,
    level: Vec<AtomicU32>,
    pending: Vec<AtomicU32>,
    claimed: Vec<AtomicU32>,
    /// `WORDS` words per context.
    enable: Vec<AtomicU32>,
    threshold: Vec<AtomicU32>,
}

fn atomics(n: usize) -> Vec<AtomicU32> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

/// Word index and bit mask of `source`.
fn bit(source: u32) -> (usize, u32) {
    ((source / 32) as usize, 1 << (source % 32))
}

fn test_bit(words: &[AtomicU32], source: u32) -> bool {
    let (w, b) = bit(source);
    words
        .get(w)
        .is_some_and(|x| x.load(Ordering::SeqCst) & b != 0)
}

fn set_bit(words: &[AtomicU32], source: u32) -> bool {
    let (w, b) = bit(source);
    words
        .get(w)
        .is_some_and(|x| x.fetch_or(b, Ordering::SeqCst) & b != 0)
}

fn clear_bit(words: &[AtomicU32], source: u32) -> bool {
    let (w, b) = bit(source);
    words
        .get(w)
        .is_some_and(|x| x.fetch_and(!b, Ordering::SeqCst) & b != 0)
}

impl PlicState {
    fn enables(&self, ctx: usize) -> Option<&[AtomicU32]> {
        let start = ctx.checked_mul(WORDS)?;
        self.enable.get(start..start.checked_add(WORDS)?)
    }

    fn priority_of(&self, source: u32) -> u32 {
        self.priority
            .get(source as usize)
            .map_or(0, |p| p.load(Ordering::SeqCst))
    }

    fn set_level(&self, source: u32, high: bool) {
        if high {
            set_bit(&self.level, source);
            if !test_bit(&self.claimed, source) {
                set_bit(&self.pending, source);
            }
        } else {
            clear_bit(&self.level, source);
        }
    }

    /// Release a claimed source, re-pending it if its line is still high.
    fn release(&self, source: u32) {
        clear_bit(&self.claimed, source);
        if test_bit(&self.level, source) {
            set_bit(&self.pending, source);
        }
    }

    /// The best candidate for `ctx`: highest priority above `floor`, lowest ID on ties.
    fn best(&self, ctx: usize, floor: u32) -> Option<(u32, u32)> {
        let enables = self.enables(ctx)?;
        let mut best: Option<(u32, u32)> = None;
        for (w, ((p, c), e)) in self
            .pending
            .iter()
            .zip(&self.claimed)
            .zip(enables)
            .enumerate()
        {
            let mut bits =
                p.load(Ordering::SeqCst) & !c.load(Ordering::SeqCst) & e.load(Ordering::SeqCst);
            while bits != 0 {
                let source = w as u32 * 32 + bits.trailing_zeros();
                bits &= bits - 1;
                let prio = self.priority_of(source);
                if prio > best.map_or(floor, |(_, bp)| bp) {
                    best = Some((source, prio));
                }
            }
        }
        best
    }
}

/// A PLIC; see the module docs. Clones are handles to the same controller.
#[derive(Clone)]
pub struct Plic {
    state: Arc<PlicState>,
}

impl core::fmt::Debug for Plic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plic")
            .field("contexts", &self.num_contexts())
            .finish_non_exhaustive()
    }
}

/// A device's interrupt line into one PLIC source.
struct PlicLine {
    state: Arc<PlicState>,
    source: u32,
}

impl InterruptLine for PlicLine {
    fn set_level(&self, high: bool) {
        self.state.set_level(self.source, high);
    }
}

impl Plic {
    /// A PLIC serving `harts` harts (1..=[`PLIC_MAX_HARTS`]), two contexts each.
    pub fn new(harts: usize) -> Result<Self> {
        if harts == 0 || harts > PLIC_MAX_HARTS {
            return Err(DeviceError::InvalidHartCount {
                device: "PLIC",
                harts,
                max: PLIC_MAX_HARTS,
            });
        }
        let contexts = harts * PLIC_CONTEXTS_PER_HART;
        let state = PlicState {
            priority: atomics(PLIC_NUM_SOURCES as usize),
            level: atomics(WORDS),
            pending: atomics(WORDS),
            claimed: atomics(WORDS),
            enable: atomics(contexts * WORDS),
            threshold: atomics(contexts),
        };
        Ok(Self {
            state: Arc::new(state),
        })
    }

    /// Number of contexts (twice the harts).
    pub fn num_contexts(&self) -> usize {
        self.state.threshold.len()
    }

    /// Size of this PLIC's MMIO window.
    pub fn mmio_size(&self) -> u64 {
        plic_mmio_size(self.num_contexts())
    }

    /// The context that delivers to `hart` in `mode`, or `None` for a hart that does not exist.
    pub fn context(&self, hart: usize, mode: PlicMode) -> Option<usize> {
        let ctx = hart.checked_mul(PLIC_CONTEXTS_PER_HART)?
            + match mode {
                PlicMode::Machine => 0,
                PlicMode::Supervisor => 1,
            };
        (ctx < self.num_contexts()).then_some(ctx)
    }

    /// The interrupt line driving `source` (1..=1023), for the device wired to it.
    pub fn line(&self, source: u32) -> Result<Arc<dyn InterruptLine>> {
        if source == 0 || source >= PLIC_NUM_SOURCES {
            return Err(DeviceError::InvalidInterruptSource {
                irq: source,
                max: PLIC_NUM_SOURCES - 1,
            });
        }
        Ok(Arc::new(PlicLine {
            state: Arc::clone(&self.state),
            source,
        }))
    }

    /// Whether context `ctx` has an interrupt to take: a pending, enabled, unclaimed source whose
    /// priority exceeds the context's threshold. `false` for a context that does not exist.
    pub fn context_pending(&self, ctx: usize) -> bool {
        let Some(threshold) = self.state.threshold.get(ctx) else {
            return false;
        };
        self.state
            .best(ctx, threshold.load(Ordering::SeqCst))
            .is_some()
    }

    /// Claim the best interrupt for `ctx` (what a guest read of the claim register does): returns its
    /// source ID, now claimed and no longer pending, or 0 if there is none.
    pub fn claim(&self, ctx: usize) -> u32 {
        loop {
            let Some((source, _)) = self.state.best(ctx, 0) else {
                return 0;
            };
            if set_bit(&self.state.claimed, source) {
                // Another context claimed it since we looked.
                continue;
            }
            if clear_bit(&self.state.pending, source) {
                return source;
            }
            // It was claimed and completed by another context since we looked, and is not pending
            // any more: give it back (re-pending it if its line went high meanwhile) and look again.
            self.state.release(source);
        }
    }

    /// Complete `source` for `ctx` (what a guest write of the complete register does). Ignored if the
    /// source does not exist or is not enabled for `ctx`.
    pub fn complete(&self, ctx: usize, source: u32) {
        if source == 0 || source >= PLIC_NUM_SOURCES {
            return;
        }
        if self.state.enables(ctx).is_some_and(|e| test_bit(e, source)) {
            self.state.release(source);
        }
    }

    /// A guest read of `size` bytes at `offset`.
    pub fn mmio_read(&self, offset: u64, size: AccessSize) -> u64 {
        if size != AccessSize::U32 || !offset.is_multiple_of(4) {
            return 0;
        }
        let s = &self.state;
        let value = match offset {
            o if o < PLIC_PENDING_BASE => s.priority_of((o / 4) as u32),
            o if o < PLIC_ENABLE_BASE => word(&s.pending, o - PLIC_PENDING_BASE),
            o if o < PLIC_CONTEXT_BASE => {
                let rel = o - PLIC_ENABLE_BASE;
                self.enable_word(rel)
                    .map_or(0, |e| e.load(Ordering::SeqCst))
            }
            o => {
                let rel = o - PLIC_CONTEXT_BASE;
                let ctx = (rel / PLIC_CONTEXT_STRIDE) as usize;
                match rel % PLIC_CONTEXT_STRIDE {
                    0 => s.threshold.get(ctx).map_or(0, |t| t.load(Ordering::SeqCst)),
                    PLIC_CLAIM_OFFSET => self.claim(ctx),
                    _ => 0,
                }
            }
        };
        u64::from(value)
    }

    /// A guest write of the low `size` bytes of `value` at `offset`.
    pub fn mmio_write(&self, offset: u64, size: AccessSize, value: u64) {
        if size != AccessSize::U32 || !offset.is_multiple_of(4) {
            return;
        }
        let value = value as u32;
        let s = &self.state;
        match offset {
            o if o < PLIC_PENDING_BASE => {
                let source = (o / 4) as usize;
                if source != 0
                    && let Some(p) = s.priority.get(source)
                {
                    p.store(value & PLIC_MAX_PRIORITY, Ordering::SeqCst);
                }
            }
            // Pending bits are read-only.
            o if o < PLIC_ENABLE_BASE => {}
            o if o < PLIC_CONTEXT_BASE => {
                let rel = o - PLIC_ENABLE_BASE;
                if let Some(e) = self.enable_word(rel) {
                    // Source 0 does not exist: its enable bit stays 0.
                    let mask = if rel.is_multiple_of(PLIC_ENABLE_STRIDE) {
                        !1
                    } else {
                        !0
                    };
                    e.store(value & mask, Ordering::SeqCst);
                }
            }
            o => {
                let rel = o - PLIC_CONTEXT_BASE;
                let ctx = (rel / PLIC_CONTEXT_STRIDE) as usize;
                match rel % PLIC_CONTEXT_STRIDE {
                    0 => {
                        if let Some(t) = s.threshold.get(ctx) {
                            t.store(value & PLIC_MAX_PRIORITY, Ordering::SeqCst);
                        }
                    }
                    PLIC_CLAIM_OFFSET => self.complete(ctx, value),
                    _ => {}
                }
            }
        }
    }

    /// The enable word at `rel` bytes into the enable area, if it belongs to a context.
    fn enable_word(&self, rel: u64) -> Option<&AtomicU32> {
        let ctx = (rel / PLIC_ENABLE_STRIDE) as usize;
        let w = ((rel % PLIC_ENABLE_STRIDE) / 4) as usize;
        if w >= WORDS {
            return None;
        }
        self.state.enables(ctx)?.get(w)
    }
}

/// The word at byte offset `rel` of a bit array.
fn word(words: &[AtomicU32], rel: u64) -> u32 {
    words
        .get((rel / 4) as usize)
        .map_or(0, |w| w.load(Ordering::SeqCst))
}

impl MmioDevice for Plic {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        self.mmio_read(offset, size)
    }

    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        self.mmio_write(offset, size, value);
    }
}
