//! Circular queues in guest memory: the index arithmetic shared by the command and event queues.
//!
//! An SMMUv3 queue is described by a base register (address and `LOG2SIZE`) and two index registers,
//! `PROD` and `CONS`. Each index holds `LOG2SIZE` index bits plus one wrap bit above them; the queue is
//! empty when both indexes (wrap included) are equal and full when the index bits are equal and the wrap
//! bits differ. Bits above the wrap bit carry other fields (`CMDQ_CONS.ERR`, `EVTQ_PROD.OVFLG`) and are
//! preserved by [`Queue::advance_prod`] and [`Queue::advance_cons`].

use crate::regs::{Q_BASE_ADDR_MASK, Q_BASE_LOG2SIZE_MASK, Q_BASE_MASK};

/// The registers of one circular queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queue {
    base: u64,
    prod: u32,
    cons: u32,
    entry_size: u64,
    max_log2: u32,
}

impl Queue {
    /// An empty queue whose entries are `entry_size` bytes, with at most `2^max_log2` entries (larger
    /// `LOG2SIZE` values in the base register are treated as `max_log2`, as the architecture requires).
    pub const fn new(entry_size: u64, max_log2: u32) -> Self {
        Self {
            base: 0,
            prod: 0,
            cons: 0,
            entry_size,
            max_log2,
        }
    }

    /// The base register as software wrote it (masked to its defined fields).
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// Write the base register.
    pub fn set_base(&mut self, value: u64) {
        self.base = value & Q_BASE_MASK;
    }

    /// The raw producer register.
    pub const fn prod(&self) -> u32 {
        self.prod
    }

    /// Write the raw producer register.
    pub fn set_prod(&mut self, value: u32) {
        self.prod = value;
    }

    /// The raw consumer register.
    pub const fn cons(&self) -> u32 {
        self.cons
    }

    /// Write the raw consumer register.
    pub fn set_cons(&mut self, value: u32) {
        self.cons = value;
    }

    /// The effective `LOG2SIZE`.
    pub fn log2size(&self) -> u32 {
        ((self.base & Q_BASE_LOG2SIZE_MASK) as u32).min(self.max_log2)
    }

    /// Number of entries.
    pub fn capacity(&self) -> u32 {
        1 << self.log2size()
    }

    /// Guest physical address of the first entry.
    pub const fn addr(&self) -> u64 {
        self.base & Q_BASE_ADDR_MASK
    }

    /// Mask of the index and wrap bits of a `PROD`/`CONS` value.
    pub fn ptr_mask(&self) -> u32 {
        (2u32 << self.log2size()) - 1
    }

    /// The index bits of `ptr`.
    pub fn index(&self, ptr: u32) -> u32 {
        ptr & (self.capacity() - 1)
    }

    /// Whether the queue holds no entries.
    pub fn is_empty(&self) -> bool {
        (self.prod ^ self.cons) & self.ptr_mask() == 0
    }

    /// Whether every entry is in use.
    pub fn is_full(&self) -> bool {
        (self.prod ^ self.cons) & self.ptr_mask() == self.capacity()
    }

    /// Guest physical address of the entry `ptr` points at.
    pub fn entry_addr(&self, ptr: u32) -> u64 {
        self.addr()
            .wrapping_add(u64::from(self.index(ptr)) * self.entry_size)
    }

    /// Address of the entry the consumer index points at.
    pub fn cons_entry_addr(&self) -> u64 {
        self.entry_addr(self.cons)
    }

    /// Address of the entry the producer index points at.
    pub fn prod_entry_addr(&self) -> u64 {
        self.entry_addr(self.prod)
    }

    /// Step the consumer index by one entry, keeping the bits above the wrap bit.
    pub fn advance_cons(&mut self) {
        self.cons = Self::step(self.cons, self.ptr_mask());
    }

    /// Step the producer index by one entry, keeping the bits above the wrap bit.
    pub fn advance_prod(&mut self) {
        self.prod = Self::step(self.prod, self.ptr_mask());
    }

    fn step(ptr: u32, mask: u32) -> u32 {
        (ptr & !mask) | (ptr.wrapping_add(1) & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(log2: u64) -> Queue {
        let mut q = Queue::new(16, 8);
        q.set_base(0x8000 | log2);
        q
    }

    #[test]
    fn empty_and_full_with_wrap_bit() {
        let mut q = queue(2);
        assert_eq!(q.capacity(), 4);
        assert!(q.is_empty());
        for _ in 0..4 {
            assert!(!q.is_full());
            q.advance_prod();
        }
        assert_eq!(q.prod(), 0b100);
        assert!(q.is_full());
        assert!(!q.is_empty());
        q.advance_cons();
        assert!(!q.is_full());
        assert_eq!(q.cons_entry_addr(), 0x8010);
        for _ in 0..3 {
            q.advance_cons();
        }
        assert!(q.is_empty());
        q.advance_prod();
        assert_eq!(q.prod(), 0b101);
        assert_eq!(q.prod_entry_addr(), 0x8010);
    }

    #[test]
    fn advancing_wraps_and_keeps_flags() {
        let mut q = queue(1);
        q.set_cons(0x8000_0003);
        q.advance_cons();
        assert_eq!(q.cons(), 0x8000_0000);
        q.set_cons(0x0500_0001);
        q.advance_cons();
        assert_eq!(q.cons(), 0x0500_0002);
    }

    #[test]
    fn log2size_is_capped() {
        let mut q = Queue::new(32, 5);
        q.set_base(0x1_0000 | 0x1f);
        assert_eq!(q.log2size(), 5);
        assert_eq!(q.capacity(), 32);
        assert_eq!(q.ptr_mask(), 0x3f);
        assert_eq!(q.entry_addr(33), 0x1_0020);
    }

    #[test]
    fn base_keeps_only_defined_fields() {
        let mut q = Queue::new(16, 19);
        q.set_base(u64::MAX);
        assert_eq!(q.base(), 0x400f_ffff_ffff_ffff);
        assert_eq!(q.addr(), 0x000f_ffff_ffff_ffe0);
    }

    #[test]
    fn zero_sized_queue_holds_one_entry() {
        let mut q = queue(0);
        assert_eq!(q.capacity(), 1);
        q.advance_prod();
        assert!(q.is_full());
        assert_eq!(q.prod_entry_addr(), 0x8000);
    }
}
