//! Where `mtime` comes from: the [`ClockSource`] trait and a [`ManualClock`] driven by the embedder.

use core::sync::atomic::{AtomicU64, Ordering};

/// The CLINT timebase on QEMU `virt`: `mtime` counts at 10 MHz (the device tree's `timebase-frequency`).
pub const CLINT_TIMEBASE_HZ: u64 = 10_000_000;

/// A monotonic counter of timebase ticks ([`CLINT_TIMEBASE_HZ`] per second) from some fixed epoch.
///
/// The CLINT reads it for `mtime`; a guest write to `mtime` is kept as an offset, so sources never need
/// to be set backwards.
pub trait ClockSource: Send + Sync {
    /// Ticks since the source's epoch.
    fn ticks(&self) -> u64;
}

/// A clock that moves only when told to: for deterministic runs where the engine advances guest time
/// itself (by instructions retired, say, like QEMU's `icount`), and for replay.
#[derive(Debug, Default)]
pub struct ManualClock {
    ticks: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `ticks`.
    pub const fn new(ticks: u64) -> Self {
        Self {
            ticks: AtomicU64::new(ticks),
        }
    }

    /// Set the count.
    pub fn set(&self, ticks: u64) {
        self.ticks.store(ticks, Ordering::SeqCst);
    }

    /// Advance the count by `delta` ticks (wrapping, as a 64-bit counter does).
    pub fn advance(&self, delta: u64) {
        self.ticks.fetch_add(delta, Ordering::SeqCst);
    }
}

impl ClockSource for ManualClock {
    fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }
}
