//! Split virtqueues (VirtIO 1.2 §2.7) over `vm-core`'s [`GuestMemory`].
//!
//! ## Why not rust-vmm's `virtio-queue`
//!
//! `virtio-queue` is written against `vm-memory`'s `GuestMemory` trait, which needs every region as a
//! host mapping (`GuestMemoryMmap`) and the standard library. Our devices see guest memory through
//! `vm_core::mem::GuestMemory` (read/write at guest physical addresses, the same path the emulated
//! engines and KVM exits use), which may have no host mapping at all (memory behind an SMMU, test
//! memories) and which must work in `no_std` builds. An adapter would alias our RAM as a
//! `GuestMemoryMmap` through raw host pointers, with an unchecked lifetime argument, and still pull
//! `std` into the queue. The split ring is small enough that writing it against our own trait, with
//! every check listed below, is the smaller and safer piece of code.
//!
//! ## What is checked
//!
//! - Queue setup ([`Queue::validate`]): the size is a power of two no larger than the maximum; the
//!   descriptor table is 16-byte aligned, the available ring 2-byte, the used ring 4-byte; no ring wraps
//!   around the address space.
//! - The available index is never more than the queue size ahead of the device.
//! - Chain heads and `next` fields are inside their table; a chain visits at most as many descriptors as
//!   its table has (which catches loops); indirect descriptors only when negotiated, never nested, never
//!   with `NEXT`, with a table length that is a non-zero multiple of 16 and at most
//!   [`MAX_INDIRECT_DESCRIPTORS`] entries.
//! - No buffer's address plus length overflows, and a chain's lengths add up to at most `u32::MAX`.
//! - Device-readable buffers come before device-writable ones.
//! - Every access to rings, tables and buffers goes through [`GuestMemory`], which fails outside RAM.
//!
//! Any failure is a [`QueueError`], which devices turn into `DEVICE_NEEDS_RESET`. The work per call is
//! bounded: one [`Queue::pop`] reads one chain of at most queue-size (or indirect-table-size)
//! descriptors, and [`Queue::process`] takes at most a caller-given number of chains.
//!
//! ## Notification suppression
//!
//! With `VIRTIO_F_EVENT_IDX` the device publishes `avail_event` when it re-enables notifications and
//! reads `used_event` to decide whether to interrupt; without it, it uses the `NO_NOTIFY` and
//! `NO_INTERRUPT` flags.

use core::num::Wrapping;
use core::sync::atomic::{Ordering, fence};

use vm_core::GuestPhysAddr;
use vm_core::mem::GuestMemory;

mod chain;
mod io;
#[cfg(test)]
mod tests;

pub use chain::{
    DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, DESC_SIZE, Descriptor, DescriptorChain,
    MAX_INDIRECT_DESCRIPTORS, QueueError,
};
pub use io::{ChainIoError, ChainReader, ChainWriter};

/// The largest queue size the split ring allows.
pub const MAX_QUEUE_SIZE: u16 = 32768;
/// `VIRTQ_USED_F_NO_NOTIFY`.
const USED_F_NO_NOTIFY: u16 = 1;
/// `VIRTQ_AVAIL_F_NO_INTERRUPT`.
const AVAIL_F_NO_INTERRUPT: u16 = 1;

/// How much work one [`Queue::process`] call did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Processed {
    /// Chains completed.
    pub chains: usize,
    /// Whether chains were left because the budget ran out.
    pub more: bool,
}

/// One split virtqueue: the driver's configuration and the device's position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    max_size: u16,
    size: u16,
    ready: bool,
    desc_table: u64,
    avail_ring: u64,
    used_ring: u64,
    event_idx: bool,
    indirect: bool,
    next_avail: Wrapping<u16>,
    next_used: Wrapping<u16>,
    /// The available index last read from the ring.
    seen_avail: Wrapping<u16>,
    /// The used index when the driver was last interrupted (event index).
    signalled_used: Option<Wrapping<u16>>,
}

impl Queue {
    /// A queue that can be up to `max_size` entries (clamped to 1..=32768), not ready, size = maximum.
    pub fn new(max_size: u16) -> Self {
        let max_size = max_size.clamp(1, MAX_QUEUE_SIZE);
        Self {
            max_size,
            size: max_size,
            ready: false,
            desc_table: 0,
            avail_ring: 0,
            used_ring: 0,
            event_idx: false,
            indirect: false,
            next_avail: Wrapping(0),
            next_used: Wrapping(0),
            seen_avail: Wrapping(0),
            signalled_used: None,
        }
    }

    /// The largest size the device supports.
    pub fn max_size(&self) -> u16 {
        self.max_size
    }
    /// The size the driver chose.
    pub fn size(&self) -> u16 {
        self.size
    }
    /// Whether the driver enabled the queue.
    pub fn ready(&self) -> bool {
        self.ready
    }
    /// Descriptor table address.
    pub fn desc_table(&self) -> u64 {
        self.desc_table
    }
    /// Available (driver) ring address.
    pub fn avail_ring(&self) -> u64 {
        self.avail_ring
    }
    /// Used (device) ring address.
    pub fn used_ring(&self) -> u64 {
        self.used_ring
    }
    /// The next available-ring entry the device will take.
    pub fn next_avail(&self) -> u16 {
        self.next_avail.0
    }
    /// The next used-ring entry the device will fill.
    pub fn next_used(&self) -> u16 {
        self.next_used.0
    }

    /// Set the size (QueueNum); any value is stored, [`validate`](Self::validate) judges it.
    pub fn set_size(&mut self, size: u16) {
        self.size = size;
    }
    /// Enable or disable the queue (QueueReady).
    pub fn set_ready(&mut self, ready: bool) {
        self.ready = ready;
    }
    /// Set the descriptor table address.
    pub fn set_desc_table(&mut self, addr: u64) {
        self.desc_table = addr;
    }
    /// Set the available ring address.
    pub fn set_avail_ring(&mut self, addr: u64) {
        self.avail_ring = addr;
    }
    /// Set the used ring address.
    pub fn set_used_ring(&mut self, addr: u64) {
        self.used_ring = addr;
    }
    /// Apply the negotiated ring features (`VIRTIO_F_EVENT_IDX`, `VIRTIO_F_INDIRECT_DESC`).
    pub fn set_ring_features(&mut self, event_idx: bool, indirect: bool) {
        self.event_idx = event_idx;
        self.indirect = indirect;
    }

    /// Back to the state after [`new`](Self::new).
    pub fn reset(&mut self) {
        *self = Self::new(self.max_size);
    }

    /// Check the driver's configuration (see the module docs).
    pub fn validate(&self) -> Result<(), QueueError> {
        let bad = |reason| Err(QueueError::InvalidConfig { reason });
        if self.size == 0 || !self.size.is_power_of_two() || self.size > self.max_size {
            return bad("size is not a power of two within the maximum");
        }
        if !self.desc_table.is_multiple_of(16)
            || !self.avail_ring.is_multiple_of(2)
            || !self.used_ring.is_multiple_of(4)
        {
            return bad("ring address is misaligned");
        }
        let n = u64::from(self.size);
        let ends = [
            self.desc_table.checked_add(n * DESC_SIZE),
            self.avail_ring.checked_add(6 + 2 * n),
            self.used_ring.checked_add(6 + 8 * n),
        ];
        if ends.iter().any(Option::is_none) {
            return bad("ring wraps around the address space");
        }
        Ok(())
    }

    fn avail_idx_addr(&self) -> GuestPhysAddr {
        GuestPhysAddr(self.avail_ring.wrapping_add(2))
    }
    fn used_event_addr(&self) -> GuestPhysAddr {
        GuestPhysAddr(self.avail_ring.wrapping_add(4 + 2 * u64::from(self.size)))
    }
    fn avail_event_addr(&self) -> GuestPhysAddr {
        GuestPhysAddr(self.used_ring.wrapping_add(4 + 8 * u64::from(self.size)))
    }

    /// Whether the queue can be used: ready and valid.
    fn usable(&self) -> bool {
        self.ready && self.validate().is_ok()
    }

    /// Read the driver's available index, checking it is at most a queue size ahead.
    fn read_avail_idx(&mut self, mem: &dyn GuestMemory) -> Result<Wrapping<u16>, QueueError> {
        let idx = Wrapping(mem.read_u16(self.avail_idx_addr())?);
        // The ring entries and descriptors the index covers are read after the index.
        fence(Ordering::Acquire);
        let pending = (idx - self.next_avail).0;
        if pending > self.size {
            return Err(QueueError::AvailIndex {
                avail_idx: idx.0,
                pending,
                size: self.size,
            });
        }
        self.seen_avail = idx;
        Ok(idx)
    }

    /// Whether the driver has made buffers available that the device has not taken.
    pub fn has_available(&mut self, mem: &dyn GuestMemory) -> Result<bool, QueueError> {
        if !self.usable() {
            return Ok(false);
        }
        Ok(self.read_avail_idx(mem)? != self.next_avail)
    }

    /// Take the next available chain, if any, and validate it.
    pub fn pop(&mut self, mem: &dyn GuestMemory) -> Result<Option<DescriptorChain>, QueueError> {
        if !self.usable() {
            return Ok(None);
        }
        if self.seen_avail == self.next_avail && self.read_avail_idx(mem)? == self.next_avail {
            return Ok(None);
        }
        let slot = u64::from(self.next_avail.0 % self.size);
        let head = mem.read_u16(GuestPhysAddr(self.avail_ring.wrapping_add(4 + 2 * slot)))?;
        self.next_avail += 1;
        let table = chain::Table {
            addr: self.desc_table,
            len: u32::from(self.size),
        };
        chain::walk(mem, table, head, self.indirect).map(Some)
    }

    /// Give the last popped chain back, unused (it will be popped again).
    pub fn undo_pop(&mut self) {
        self.next_avail -= 1;
    }

    /// Put a finished chain on the used ring: `len` is the number of bytes the device wrote.
    pub fn add_used(
        &mut self,
        mem: &dyn GuestMemory,
        head: u16,
        len: u32,
    ) -> Result<(), QueueError> {
        if !self.usable() {
            return Err(QueueError::InvalidConfig {
                reason: "used buffer on a queue that is not ready",
            });
        }
        let slot = u64::from(self.next_used.0 % self.size);
        let elem = GuestPhysAddr(self.used_ring.wrapping_add(4 + 8 * slot));
        let mut raw = [0u8; 8];
        raw[..4].copy_from_slice(&u32::from(head).to_le_bytes());
        raw[4..].copy_from_slice(&len.to_le_bytes());
        mem.write(elem, &raw)?;
        self.next_used += 1;
        // The element must be visible before the index that publishes it.
        fence(Ordering::Release);
        mem.write_u16(
            GuestPhysAddr(self.used_ring.wrapping_add(2)),
            self.next_used.0,
        )?;
        Ok(())
    }

    /// Ask the driver not to notify while the device is working through the queue.
    pub fn disable_notification(&mut self, mem: &dyn GuestMemory) -> Result<(), QueueError> {
        if !self.usable() || self.event_idx {
            // With event index, a stale `avail_event` already suppresses notifications.
            return Ok(());
        }
        mem.write_u16(GuestPhysAddr(self.used_ring), USED_F_NO_NOTIFY)?;
        Ok(())
    }

    /// Ask the driver to notify when it adds a buffer after `after`. Returns whether buffers are
    /// available already (then the device should go on working instead of waiting).
    fn enable_notification_at(
        &mut self,
        mem: &dyn GuestMemory,
        after: Wrapping<u16>,
    ) -> Result<bool, QueueError> {
        if !self.usable() {
            return Ok(false);
        }
        if self.event_idx {
            mem.write_u16(self.avail_event_addr(), after.0)?;
        } else {
            mem.write_u16(GuestPhysAddr(self.used_ring), 0)?;
        }
        // The driver reads our flag/event after writing its index; we read its index after writing ours.
        fence(Ordering::SeqCst);
        Ok(self.read_avail_idx(mem)? != self.next_avail)
    }

    /// Ask the driver to notify on its next buffer. Returns whether buffers are available already.
    pub fn enable_notification(&mut self, mem: &dyn GuestMemory) -> Result<bool, QueueError> {
        let next = self.next_avail;
        self.enable_notification_at(mem, next)
    }

    /// Whether the driver wants an interrupt for the used buffers added since the last time this
    /// returned `true`.
    pub fn needs_notification(&mut self, mem: &dyn GuestMemory) -> Result<bool, QueueError> {
        if !self.usable() {
            return Ok(false);
        }
        // Our used index must be visible before we read the driver's suppression state.
        fence(Ordering::SeqCst);
        if self.event_idx {
            let used_event = Wrapping(mem.read_u16(self.used_event_addr())?);
            let new = self.next_used;
            let old = self.signalled_used.replace(new);
            Ok(match old {
                None => true,
                // vring_need_event: notify if used_event lies in [old, new).
                Some(old) => (new - used_event - Wrapping(1)).0 < (new - old).0,
            })
        } else {
            let flags = mem.read_u16(GuestPhysAddr(self.avail_ring))?;
            Ok(flags & AVAIL_F_NO_INTERRUPT == 0)
        }
    }

    /// Complete up to `budget` chains with `handle`, which returns the number of bytes it wrote into
    /// each chain, with notifications suppressed while working.
    ///
    /// When the budget runs out with chains left, notifications are re-enabled so that the driver's next
    /// buffer notifies again, and [`Processed::more`] tells the caller to come back (its poller).
    pub fn process<E, F>(
        &mut self,
        mem: &dyn GuestMemory,
        budget: usize,
        mut handle: F,
    ) -> Result<Processed, E>
    where
        E: From<QueueError>,
        F: FnMut(&DescriptorChain) -> Result<u32, E>,
    {
        let mut done = 0;
        loop {
            self.disable_notification(mem)?;
            while done < budget {
                let Some(chain) = self.pop(mem)? else {
                    break;
                };
                let len = handle(&chain)?;
                self.add_used(mem, chain.head(), len)?;
                done += 1;
            }
            if done >= budget {
                // Notify on the driver's next buffer even though older ones are still waiting.
                let seen = self.seen_avail;
                let more = self.enable_notification_at(mem, seen)?;
                return Ok(Processed { chains: done, more });
            }
            if !self.enable_notification(mem)? {
                return Ok(Processed {
                    chains: done,
                    more: false,
                });
            }
        }
    }
}
