//! SiFive CLINT (core-local interruptor) for N harts, laid out as on QEMU `virt`.
//!
//! | offset | register | width |
//! |---|---|---|
//! | `0x0000 + 4 * hart` | `msip` (bit 0: machine software interrupt) | 32-bit |
//! | `0x4000 + 8 * hart` | `mtimecmp` | 64-bit, or 32-bit halves |
//! | `0xbff8` | `mtime` (10 MHz) | 64-bit, or 32-bit halves |
//!
//! `mtime` comes from a [`ClockSource`] (the host's monotonic clock under `std`, or a [`ManualClock`]);
//! a guest write to `mtime` is kept as an offset against that source.
//!
//! **Interrupt delivery is polled, not pushed.** The CLINT drives no [`InterruptLine`]: MTIP depends on
//! time, which moves without any device event, so an edge would need a host timer per hart. Instead the
//! vCPU asks [`Clint::msip_pending`] and [`Clint::timer_pending`] where it checks for interrupts (block
//! boundaries, `wfi`) and sets `mip.MSIP`/`mip.MTIP` from the answers; a sleeping `wfi` bounds its sleep
//! with [`Clint::time_until_timer`].
//!
//! `mtimecmp` resets to `u64::MAX` (the privileged spec leaves it unspecified), so no timer interrupt is
//! pending before software programs one — the same `mip` QEMU shows after reset.
//!
//! The state is atomics only ([`Clint`] is a cheap handle: clones share it), so the bus and every vCPU
//! thread can use it at once, with or without the standard library. Accesses other than those in the
//! table (wrong width or alignment, harts that do not exist) read 0 and ignore writes.
//!
//! [`InterruptLine`]: vm_core::device::InterruptLine

mod clock;
#[cfg(feature = "std")]
mod host_clock;
#[cfg(test)]
mod tests;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;

pub use clock::{CLINT_TIMEBASE_HZ, ClockSource, ManualClock};
#[cfg(feature = "std")]
pub use host_clock::HostClock;

use crate::error::{DeviceError, Result};

/// Offset of hart 0's `msip`.
pub const CLINT_MSIP_BASE: u64 = 0x0000;
/// Offset of hart 0's `mtimecmp`.
pub const CLINT_MTIMECMP_BASE: u64 = 0x4000;
/// Offset of `mtime`.
pub const CLINT_MTIME: u64 = 0xbff8;
/// Size of the CLINT's MMIO window.
pub const CLINT_SIZE: u64 = 0x1_0000;
/// Most harts the layout has room for (`mtimecmp` ends where `mtime` starts).
pub const CLINT_MAX_HARTS: usize = ((CLINT_MTIME - CLINT_MTIMECMP_BASE) / 8) as usize;

struct ClintState {
    msip: Vec<AtomicBool>,
    mtimecmp: Vec<AtomicU64>,
    /// Added (wrapping) to the clock's ticks to give `mtime`.
    mtime_offset: AtomicU64,
    clock: Arc<dyn ClockSource>,
}

/// A CLINT; see the module docs. Clones are handles to the same device.
#[derive(Clone)]
pub struct Clint {
    state: Arc<ClintState>,
}

impl core::fmt::Debug for Clint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Clint")
            .field("harts", &self.num_harts())
            .field("mtime", &self.mtime())
            .finish_non_exhaustive()
    }
}

/// Which 32-bit part of a 64-bit register an access touches.
#[derive(Copy, Clone)]
enum Part {
    Whole,
    Low,
    High,
}

impl Part {
    /// The part for an access of `size` at byte `within` of an 8-byte register.
    fn of(within: u64, size: AccessSize) -> Option<Self> {
        match (within, size) {
            (0, AccessSize::U64) => Some(Self::Whole),
            (0, AccessSize::U32) => Some(Self::Low),
            (4, AccessSize::U32) => Some(Self::High),
            _ => None,
        }
    }

    fn read(self, reg: u64) -> u64 {
        match self {
            Self::Whole => reg,
            Self::Low => reg & 0xffff_ffff,
            Self::High => reg >> 32,
        }
    }

    fn merge(self, reg: u64, value: u64) -> u64 {
        match self {
            Self::Whole => value,
            Self::Low => (reg & !0xffff_ffff) | (value & 0xffff_ffff),
            Self::High => (reg & 0xffff_ffff) | (value << 32),
        }
    }
}

impl Clint {
    /// A CLINT for `harts` harts (1..=[`CLINT_MAX_HARTS`]) whose `mtime` follows `clock`.
    pub fn new(harts: usize, clock: Arc<dyn ClockSource>) -> Result<Self> {
        if harts == 0 || harts > CLINT_MAX_HARTS {
            return Err(DeviceError::InvalidHartCount {
                device: "CLINT",
                harts,
                max: CLINT_MAX_HARTS,
            });
        }
        let state = ClintState {
            msip: (0..harts).map(|_| AtomicBool::new(false)).collect(),
            mtimecmp: (0..harts).map(|_| AtomicU64::new(u64::MAX)).collect(),
            mtime_offset: AtomicU64::new(0),
            clock,
        };
        Ok(Self {
            state: Arc::new(state),
        })
    }

    /// Number of harts.
    pub fn num_harts(&self) -> usize {
        self.state.msip.len()
    }

    /// The current `mtime`.
    pub fn mtime(&self) -> u64 {
        self.state
            .clock
            .ticks()
            .wrapping_add(self.state.mtime_offset.load(Ordering::SeqCst))
    }

    /// Set `mtime` (as a guest write does); it keeps counting from there.
    pub fn set_mtime(&self, value: u64) {
        let offset = value.wrapping_sub(self.state.clock.ticks());
        self.state.mtime_offset.store(offset, Ordering::SeqCst);
    }

    /// `hart`'s `mtimecmp`, or `None` for a hart that does not exist.
    pub fn mtimecmp(&self, hart: usize) -> Option<u64> {
        self.state
            .mtimecmp
            .get(hart)
            .map(|c| c.load(Ordering::SeqCst))
    }

    /// Set `hart`'s `mtimecmp`; ignored for a hart that does not exist.
    pub fn set_mtimecmp(&self, hart: usize, value: u64) {
        if let Some(c) = self.state.mtimecmp.get(hart) {
            c.store(value, Ordering::SeqCst);
        }
    }

    /// Whether `hart`'s machine software interrupt (`mip.MSIP`) is pending; `false` for no such hart.
    pub fn msip_pending(&self, hart: usize) -> bool {
        self.state
            .msip
            .get(hart)
            .is_some_and(|m| m.load(Ordering::SeqCst))
    }

    /// Set or clear `hart`'s `msip` (as a guest write does); ignored for a hart that does not exist.
    pub fn set_msip(&self, hart: usize, pending: bool) {
        if let Some(m) = self.state.msip.get(hart) {
            m.store(pending, Ordering::SeqCst);
        }
    }

    /// Whether `hart`'s machine timer interrupt (`mip.MTIP`) is pending: `mtime >= mtimecmp`.
    /// `false` for a hart that does not exist.
    pub fn timer_pending(&self, hart: usize) -> bool {
        self.mtimecmp(hart).is_some_and(|cmp| self.mtime() >= cmp)
    }

    /// How long until `hart`'s timer interrupt becomes pending, in host time at the 10 MHz timebase:
    /// `Some(Duration::ZERO)` if it already is, `None` if it never will (`mtimecmp == u64::MAX`) or the
    /// hart does not exist. With a [`ManualClock`] this is guest time, not a host deadline.
    pub fn time_until_timer(&self, hart: usize) -> Option<Duration> {
        let cmp = self.mtimecmp(hart)?;
        if cmp == u64::MAX {
            return None;
        }
        let ticks = cmp.saturating_sub(self.mtime());
        let secs = ticks / CLINT_TIMEBASE_HZ;
        let nanos = (ticks % CLINT_TIMEBASE_HZ) * (1_000_000_000 / CLINT_TIMEBASE_HZ);
        Some(Duration::new(secs, nanos as u32))
    }

    /// Return every register to its reset value (`msip` 0, `mtimecmp` `u64::MAX`, `mtime` keeps
    /// counting).
    pub fn reset(&self) {
        for m in &self.state.msip {
            m.store(false, Ordering::SeqCst);
        }
        for c in &self.state.mtimecmp {
            c.store(u64::MAX, Ordering::SeqCst);
        }
    }

    /// A guest read of `size` bytes at `offset`.
    pub fn mmio_read(&self, offset: u64, size: AccessSize) -> u64 {
        if offset < CLINT_MTIMECMP_BASE {
            if size != AccessSize::U32 || !offset.is_multiple_of(4) {
                return 0;
            }
            return u64::from(self.msip_pending(((offset - CLINT_MSIP_BASE) / 4) as usize));
        }
        if offset < CLINT_MTIME {
            let rel = offset - CLINT_MTIMECMP_BASE;
            let hart = (rel / 8) as usize;
            return match (Part::of(rel % 8, size), self.mtimecmp(hart)) {
                (Some(part), Some(cmp)) => part.read(cmp),
                _ => 0,
            };
        }
        if offset < CLINT_MTIME + 8
            && let Some(part) = Part::of(offset - CLINT_MTIME, size)
        {
            return part.read(self.mtime());
        }
        0
    }

    /// A guest write of the low `size` bytes of `value` at `offset`.
    pub fn mmio_write(&self, offset: u64, size: AccessSize, value: u64) {
        if offset < CLINT_MTIMECMP_BASE {
            if size == AccessSize::U32 && offset.is_multiple_of(4) {
                self.set_msip(((offset - CLINT_MSIP_BASE) / 4) as usize, value & 1 != 0);
            }
            return;
        }
        if offset < CLINT_MTIME {
            let rel = offset - CLINT_MTIMECMP_BASE;
            let (Some(part), Some(cmp)) = (
                Part::of(rel % 8, size),
                self.state.mtimecmp.get((rel / 8) as usize),
            ) else {
                return;
            };
            // One atomic read-modify-write, so a half write never loses the other half to a racing one.
            let _ = cmp.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                Some(part.merge(old, value))
            });
            return;
        }
        if offset < CLINT_MTIME + 8
            && let Some(part) = Part::of(offset - CLINT_MTIME, size)
        {
            self.set_mtime(part.merge(self.mtime(), value));
        }
    }
}

impl MmioDevice for Clint {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        self.mmio_read(offset, size)
    }

    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        self.mmio_write(offset, size, value);
    }
}
