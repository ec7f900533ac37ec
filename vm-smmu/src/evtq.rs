//! The event queue: where the SMMU reports faults and configuration errors to software.
//!
//! The SMMU is the producer: it writes a 32-byte [`EventRecord`] at `EVTQ_PROD` and advances it; software
//! consumes and advances `EVTQ_CONS`. When the queue is full the event is lost and the overflow flag
//! `EVTQ_PROD.OVFLG` is toggled so that it differs from `EVTQ_CONS.OVACKFLG`; software acknowledges by
//! copying the flag into `EVTQ_CONS`. Further events lost before that acknowledgement do not toggle it
//! again.

use vm_core::GuestPhysAddr;
use vm_core::mem::GuestMemory;

use crate::event::{EVENT_BYTES, EventRecord};
use crate::queue::Queue;
use crate::regs::{EVTQ_BASE, EVTQ_CONS, EVTQ_PROD, Q_OVERFLOW_FLAG};

/// What happened to one event.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The record was written and the producer index advanced.
    Written,
    /// The queue was full; the record was discarded.
    Overflow,
    /// Writing the record to guest memory failed (`GERROR.EVENTQ_ABT_ERR`).
    Aborted,
    /// The queue is disabled (`CR0.EVENTQEN == 0`); the record was discarded.
    Disabled,
}

/// The event queue's registers and producer logic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EventQueue {
    q: Queue,
}

/// The index bits (and wrap bit) `EVTQ_PROD`/`EVTQ_CONS` can hold.
const PTR_MASK: u32 = 0xf_ffff;

impl EventQueue {
    /// An empty, unconfigured queue of at most `2^max_log2` entries.
    pub const fn new(max_log2: u32) -> Self {
        Self {
            q: Queue::new(EVENT_BYTES, max_log2),
        }
    }

    /// The queue's registers.
    pub const fn queue(&self) -> &Queue {
        &self.q
    }

    /// Whether an overflow is flagged and not yet acknowledged.
    pub const fn overflow_pending(&self) -> bool {
        (self.q.prod() ^ self.q.cons()) & Q_OVERFLOW_FLAG != 0
    }

    /// Append `record`. `enabled` is `CR0.EVENTQEN`: a disabled queue discards events without flagging
    /// an overflow.
    pub fn push(
        &mut self,
        mem: &dyn GuestMemory,
        enabled: bool,
        record: &EventRecord,
    ) -> PushOutcome {
        if !enabled {
            return PushOutcome::Disabled;
        }
        if self.q.is_full() {
            if !self.overflow_pending() {
                self.q.set_prod(self.q.prod() ^ Q_OVERFLOW_FLAG);
            }
            return PushOutcome::Overflow;
        }
        let addr = GuestPhysAddr(self.q.prod_entry_addr());
        if mem.write(addr, &record.to_bytes()).is_err() {
            return PushOutcome::Aborted;
        }
        self.q.advance_prod();
        PushOutcome::Written
    }

    /// Read `EVTQ_BASE` (both halves), `EVTQ_PROD` or `EVTQ_CONS` (`None` for other offsets).
    pub fn read_reg(&self, offset: u64) -> Option<u32> {
        Some(match offset {
            EVTQ_BASE => self.q.base() as u32,
            o if o == EVTQ_BASE + 4 => (self.q.base() >> 32) as u32,
            EVTQ_PROD => self.q.prod(),
            EVTQ_CONS => self.q.cons(),
            _ => return None,
        })
    }

    /// Write one of the queue's registers; `enabled` is `CR0.EVENTQEN`. The base and producer index can
    /// only be written while the queue is disabled. Returns `false` for offsets that are not the queue's.
    pub fn write_reg(&mut self, offset: u64, value: u32, enabled: bool) -> bool {
        match offset {
            EVTQ_BASE if !enabled => {
                self.q
                    .set_base((self.q.base() & !0xffff_ffff) | u64::from(value));
            }
            o if o == EVTQ_BASE + 4 && !enabled => {
                self.q
                    .set_base((self.q.base() & 0xffff_ffff) | (u64::from(value) << 32));
            }
            EVTQ_PROD if !enabled => self.q.set_prod(value & (PTR_MASK | Q_OVERFLOW_FLAG)),
            EVTQ_CONS => self.q.set_cons(value & (PTR_MASK | Q_OVERFLOW_FLAG)),
            EVTQ_BASE | EVTQ_PROD => {}
            o if o == EVTQ_BASE + 4 => {}
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{C_BAD_STE, F_TRANSLATION};
    use crate::testmem::TestMemory;

    fn setup(log2: u32) -> (TestMemory, EventQueue) {
        let mem = TestMemory::new(0x2000);
        let mut q = EventQueue::new(7);
        q.write_reg(EVTQ_BASE, 0x1000 | log2, false);
        (mem, q)
    }

    #[test]
    fn records_are_written_at_prod() {
        let (mem, mut q) = setup(2);
        let r = EventRecord {
            input_addr: 0x1234,
            ..EventRecord::new(F_TRANSLATION, 3)
        };
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Written);
        assert_eq!(
            q.push(&mem, true, &EventRecord::new(C_BAD_STE, 4)),
            PushOutcome::Written
        );
        assert_eq!(q.read_reg(EVTQ_PROD), Some(2));
        let mut b = [0u8; 32];
        mem.read(GuestPhysAddr(0x1000), &mut b).unwrap();
        assert_eq!(EventRecord::from_bytes(&b), r);
        mem.read(GuestPhysAddr(0x1020), &mut b).unwrap();
        assert_eq!(&b[..8], &[0x04, 0, 0, 0, 4, 0, 0, 0]);
    }

    #[test]
    fn overflow_toggles_once_until_acknowledged() {
        let (mem, mut q) = setup(1);
        let r = EventRecord::new(C_BAD_STE, 1);
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Written);
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Written);
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Overflow);
        assert_eq!(q.read_reg(EVTQ_PROD), Some(0x8000_0002));
        assert!(q.overflow_pending());
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Overflow);
        assert_eq!(q.read_reg(EVTQ_PROD), Some(0x8000_0002));
        // Software consumes one entry and acknowledges the overflow.
        q.write_reg(EVTQ_CONS, 0x8000_0001, true);
        assert!(!q.overflow_pending());
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Written);
        assert_eq!(q.read_reg(EVTQ_PROD), Some(0x8000_0003));
    }

    #[test]
    fn disabled_queue_and_write_aborts() {
        let (mem, mut q) = setup(1);
        let r = EventRecord::new(C_BAD_STE, 1);
        assert_eq!(q.push(&mem, false, &r), PushOutcome::Disabled);
        assert_eq!(q.read_reg(EVTQ_PROD), Some(0));
        q.write_reg(EVTQ_BASE, 0x4000 | 1, false);
        assert_eq!(q.push(&mem, true, &r), PushOutcome::Aborted);
        assert_eq!(q.read_reg(EVTQ_PROD), Some(0));
    }

    #[test]
    fn registers_locked_while_enabled() {
        let (_mem, mut q) = setup(3);
        q.write_reg(EVTQ_BASE, 0x8000 | 3, true);
        q.write_reg(EVTQ_PROD, 5, true);
        assert_eq!(q.read_reg(EVTQ_BASE), Some(0x1003));
        assert_eq!(q.read_reg(EVTQ_PROD), Some(0));
        q.write_reg(EVTQ_BASE + 4, 0x1, false);
        assert_eq!(q.read_reg(EVTQ_BASE + 4), Some(1));
        assert!(!q.write_reg(0x40, 0, false));
    }
}
