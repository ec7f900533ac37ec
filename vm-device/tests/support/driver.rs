//! Test support shared by the unit tests, the integration tests and the fuzz harness: a VirtIO driver
//! in the guest's place, which programs a `VirtioMmio` through its registers the way Linux does and
//! builds split rings in guest memory.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::vec::Vec;

use vm_core::GuestPhysAddr;
use vm_core::device::{InterruptLine, MmioDevice};
use vm_core::mem::{AccessSize, GuestMemory};
use vm_device::virtio::mmio::{VirtioMmio, regs};
use vm_device::virtio::queue::{DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE};
use vm_device::virtio::{VirtioDevice, status};

/// An interrupt line that remembers its level and counts rising edges.
#[derive(Default)]
pub struct Level {
    pub high: AtomicBool,
    pub rises: AtomicU32,
}

impl InterruptLine for Level {
    fn set_level(&self, high: bool) {
        if high && !self.high.swap(true, Ordering::SeqCst) {
            self.rises.fetch_add(1, Ordering::SeqCst);
        }
        if !high {
            self.high.store(false, Ordering::SeqCst);
        }
    }
}

impl Level {
    pub fn is_high(&self) -> bool {
        self.high.load(Ordering::SeqCst)
    }
}

/// A split ring laid out from `base`: descriptors, then the available ring, then the used ring.
#[derive(Clone, Debug)]
pub struct Ring {
    pub size: u16,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
    next_desc: u16,
    avail_idx: u16,
    last_used: u16,
}

/// One buffer of a chain the test builds: (guest address, length, device-writable).
pub type Buf = (u64, u32, bool);

impl Ring {
    /// Bytes a ring of `size` entries takes.
    pub fn footprint(size: u16) -> u64 {
        let n = u64::from(size);
        let used = (16 * n + 6 + 2 * n + 3) & !3;
        used + 6 + 8 * n
    }

    pub fn new(base: u64, size: u16) -> Self {
        let n = u64::from(size);
        let desc = base;
        let avail = desc + 16 * n;
        let used = (avail + 6 + 2 * n + 3) & !3;
        Self {
            size,
            desc,
            avail,
            used,
            next_desc: 0,
            avail_idx: 0,
            last_used: 0,
        }
    }

    /// Write descriptor `index` of the table at `table`.
    pub fn write_desc_at(
        mem: &dyn GuestMemory,
        table: u64,
        index: u16,
        addr: u64,
        len: u32,
        flags: u16,
        next: u16,
    ) {
        let at = GuestPhysAddr(table + 16 * u64::from(index));
        mem.write_u64(at, addr).unwrap();
        mem.write_u32(GuestPhysAddr(at.0 + 8), len).unwrap();
        mem.write_u16(GuestPhysAddr(at.0 + 12), flags).unwrap();
        mem.write_u16(GuestPhysAddr(at.0 + 14), next).unwrap();
    }

    pub fn write_desc(
        &self,
        mem: &dyn GuestMemory,
        index: u16,
        addr: u64,
        len: u32,
        flags: u16,
        next: u16,
    ) {
        Self::write_desc_at(mem, self.desc, index, addr, len, flags, next);
    }

    /// Put a chain of `bufs` into free descriptors; returns the head index.
    pub fn add_chain(&mut self, mem: &dyn GuestMemory, bufs: &[Buf]) -> u16 {
        let head = self.next_desc;
        for (i, &(addr, len, writable)) in bufs.iter().enumerate() {
            let index = (self.next_desc + i as u16) % self.size;
            let next = (index + 1) % self.size;
            let mut flags = if writable { DESC_F_WRITE } else { 0 };
            if i + 1 < bufs.len() {
                flags |= DESC_F_NEXT;
            }
            self.write_desc(mem, index, addr, len, flags, next);
        }
        self.next_desc = (self.next_desc + bufs.len() as u16) % self.size;
        head
    }

    /// Put `bufs` into an indirect table at `table` and one descriptor pointing at it; returns the head.
    pub fn add_indirect(&mut self, mem: &dyn GuestMemory, table: u64, bufs: &[Buf]) -> u16 {
        for (i, &(addr, len, writable)) in bufs.iter().enumerate() {
            let mut flags = if writable { DESC_F_WRITE } else { 0 };
            if i + 1 < bufs.len() {
                flags |= DESC_F_NEXT;
            }
            Self::write_desc_at(mem, table, i as u16, addr, len, flags, i as u16 + 1);
        }
        let head = self.next_desc;
        self.write_desc(mem, head, table, 16 * bufs.len() as u32, DESC_F_INDIRECT, 0);
        self.next_desc = (self.next_desc + 1) % self.size;
        head
    }

    /// Make chain `head` available (and publish the new index).
    pub fn push(&mut self, mem: &dyn GuestMemory, head: u16) {
        let slot = u64::from(self.avail_idx % self.size);
        mem.write_u16(GuestPhysAddr(self.avail + 4 + 2 * slot), head)
            .unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_u16(GuestPhysAddr(self.avail + 2), self.avail_idx)
            .unwrap();
    }

    /// Set the available index directly (to test bad indices).
    pub fn set_avail_idx(&mut self, mem: &dyn GuestMemory, idx: u16) {
        self.avail_idx = idx;
        mem.write_u16(GuestPhysAddr(self.avail + 2), idx).unwrap();
    }

    /// The used entries added since the last call: (id, len).
    pub fn take_used(&mut self, mem: &dyn GuestMemory) -> Vec<(u32, u32)> {
        let idx = mem.read_u16(GuestPhysAddr(self.used + 2)).unwrap();
        let mut out = Vec::new();
        while self.last_used != idx {
            let slot = u64::from(self.last_used % self.size);
            let at = GuestPhysAddr(self.used + 4 + 8 * slot);
            let id = mem.read_u32(at).unwrap();
            let len = mem.read_u32(GuestPhysAddr(at.0 + 4)).unwrap();
            out.push((id, len));
            self.last_used = self.last_used.wrapping_add(1);
        }
        out
    }

    pub fn used_idx(&self, mem: &dyn GuestMemory) -> u16 {
        mem.read_u16(GuestPhysAddr(self.used + 2)).unwrap()
    }
    pub fn used_flags(&self, mem: &dyn GuestMemory) -> u16 {
        mem.read_u16(GuestPhysAddr(self.used)).unwrap()
    }
    pub fn avail_event(&self, mem: &dyn GuestMemory) -> u16 {
        mem.read_u16(GuestPhysAddr(self.used + 4 + 8 * u64::from(self.size)))
            .unwrap()
    }
    pub fn set_used_event(&self, mem: &dyn GuestMemory, v: u16) {
        mem.write_u16(GuestPhysAddr(self.avail + 4 + 2 * u64::from(self.size)), v)
            .unwrap();
    }
    pub fn set_avail_flags(&self, mem: &dyn GuestMemory, v: u16) {
        mem.write_u16(GuestPhysAddr(self.avail), v).unwrap();
    }
}

/// A transport and the driver's view of it.
pub struct Driver<D> {
    pub mmio: VirtioMmio<D>,
    pub mem: Arc<dyn GuestMemory + Send + Sync>,
    pub line: Arc<Level>,
    pub rings: Vec<Ring>,
}

impl<D: VirtioDevice> Driver<D> {
    pub fn new(device: D, mem: Arc<dyn GuestMemory + Send + Sync>) -> Self {
        let line = Arc::new(Level::default());
        let mmio = VirtioMmio::new(device, Arc::clone(&mem), line.clone());
        Self {
            mmio,
            mem,
            line,
            rings: Vec::new(),
        }
    }

    pub fn rd(&mut self, offset: u64) -> u32 {
        self.mmio.read(offset, AccessSize::U32) as u32
    }

    pub fn wr(&mut self, offset: u64, value: u32) {
        self.mmio.write(offset, AccessSize::U32, u64::from(value));
    }

    pub fn device_features(&mut self) -> u64 {
        self.wr(regs::DEVICE_FEATURES_SEL, 1);
        let hi = u64::from(self.rd(regs::DEVICE_FEATURES));
        self.wr(regs::DEVICE_FEATURES_SEL, 0);
        (hi << 32) | u64::from(self.rd(regs::DEVICE_FEATURES))
    }

    pub fn write_features(&mut self, f: u64) {
        self.wr(regs::DRIVER_FEATURES_SEL, 1);
        self.wr(regs::DRIVER_FEATURES, (f >> 32) as u32);
        self.wr(regs::DRIVER_FEATURES_SEL, 0);
        self.wr(regs::DRIVER_FEATURES, f as u32);
    }

    /// Set up queue `index` of `size` entries with its rings at `base`.
    pub fn setup_queue(&mut self, index: u32, base: u64, size: u16) {
        let ring = Ring::new(base, size);
        self.wr(regs::QUEUE_SEL, index);
        self.wr(regs::QUEUE_NUM, u32::from(size));
        for (lo, v) in [
            (regs::QUEUE_DESC_LOW, ring.desc),
            (regs::QUEUE_DRIVER_LOW, ring.avail),
            (regs::QUEUE_DEVICE_LOW, ring.used),
        ] {
            self.wr(lo, v as u32);
            self.wr(lo + 4, (v >> 32) as u32);
        }
        self.wr(regs::QUEUE_READY, 1);
        let i = index as usize;
        if self.rings.len() <= i {
            self.rings.resize(i + 1, Ring::new(0, 1));
        }
        self.rings[i] = ring;
    }

    /// The whole Linux-style initialisation: accept `features` (intersected with the offer), one ring
    /// of `size` entries per queue starting at `base`. Returns the final status.
    pub fn init(&mut self, features: u64, base: u64, size: u16) -> u8 {
        self.wr(regs::STATUS, 0);
        self.wr(regs::STATUS, u32::from(status::ACKNOWLEDGE));
        self.wr(
            regs::STATUS,
            u32::from(status::ACKNOWLEDGE | status::DRIVER),
        );
        let offered = self.device_features();
        self.write_features(offered & features);
        let s = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
        self.wr(regs::STATUS, u32::from(s));
        let mut q = 0u32;
        let mut at = base;
        loop {
            self.wr(regs::QUEUE_SEL, q);
            let max = self.rd(regs::QUEUE_NUM_MAX);
            if max == 0 {
                break;
            }
            let n = size.min(max as u16);
            self.setup_queue(q, at, n);
            at += (Ring::footprint(n) + 0xfff) & !0xfff;
            q += 1;
        }
        self.wr(regs::STATUS, u32::from(s | status::DRIVER_OK));
        self.rd(regs::STATUS) as u8
    }

    pub fn notify(&mut self, queue: u32) {
        self.wr(regs::QUEUE_NOTIFY, queue);
    }

    pub fn status(&mut self) -> u8 {
        self.rd(regs::STATUS) as u8
    }

    /// Read and acknowledge the interrupt status.
    pub fn ack(&mut self) -> u32 {
        let s = self.rd(regs::INTERRUPT_STATUS);
        self.wr(regs::INTERRUPT_ACK, s);
        s
    }

    pub fn needs_reset(&mut self) -> bool {
        self.status() & status::DEVICE_NEEDS_RESET != 0
    }

    pub fn mem(&self) -> &dyn GuestMemory {
        &*self.mem
    }

    /// Add `bufs` as a chain to queue `q`, publish it and notify.
    pub fn submit(&mut self, q: usize, bufs: &[Buf]) -> u16 {
        let mem = Arc::clone(&self.mem);
        let ring = &mut self.rings[q];
        let head = ring.add_chain(&*mem, bufs);
        ring.push(&*mem, head);
        self.notify(q as u32);
        head
    }

    pub fn take_used(&mut self, q: usize) -> Vec<(u32, u32)> {
        let mem = Arc::clone(&self.mem);
        self.rings[q].take_used(&*mem)
    }
}
