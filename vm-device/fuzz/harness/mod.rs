//! The fuzz targets' bodies, shared by the cargo-fuzz binaries (`fuzz_targets/`) and by
//! `vm-device/tests/fuzz_corpus.rs`, which replays the committed corpus with stable Rust in every
//! `cargo test`. Each function takes arbitrary bytes and must never panic, hang or allocate without
//! bound; the assertions check what must hold whatever the guest wrote.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;
use vm_core::mem::{AccessSize, GuestMemory, MemFault};
use vm_device::virtio::blk::{Block, BlockConfig, MemStorage};
use vm_device::virtio::net::{
    MAX_FRAME, NET_HDR_SIZE, Net, NetBackend, NetHeader, parse_tx_packet,
};
use vm_device::virtio::queue::Queue;
use vm_device::virtio::{VirtioDevice, features};

#[path = "../../tests/support/driver.rs"]
pub mod driver;

use driver::Driver;

/// Where fuzz RAM starts.
pub const RAM: u64 = 0x1_0000;
/// Fuzz RAM size.
pub const RAM_SIZE: usize = 0x1_0000;

/// A small guest RAM.
pub struct Ram(Mutex<Vec<u8>>);

impl Ram {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(vec![0; RAM_SIZE])))
    }

    /// Copy `bytes` to the start of RAM (as much as fits).
    pub fn fill(&self, bytes: &[u8]) {
        let mut m = self.0.lock().unwrap();
        let n = bytes.len().min(m.len());
        m[..n].copy_from_slice(&bytes[..n]);
    }

    fn range(&self, addr: GuestPhysAddr, len: usize) -> Result<std::ops::Range<usize>, MemFault> {
        let start = addr
            .raw()
            .checked_sub(RAM)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(MemFault::Unmapped { addr })?;
        let end = start.checked_add(len).ok_or(MemFault::Unmapped { addr })?;
        if end > RAM_SIZE {
            return Err(MemFault::Unmapped { addr });
        }
        Ok(start..end)
    }
}

impl GuestMemory for Ram {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        let r = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.0.lock().unwrap()[r]);
        Ok(())
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        let r = self.range(addr, buf.len())?;
        self.0.lock().unwrap()[r].copy_from_slice(buf);
        Ok(())
    }
}

/// Queue walker: byte 0 picks the size (bits 0-4, log2 clamped), event index (bit 5) and indirect
/// descriptors (bit 6); the rest is RAM from its start: descriptor table at +0, available ring at
/// +0x400, used ring at +0x800, buffers anywhere.
pub fn queue(data: &[u8]) -> usize {
    let Some((&cfg, rest)) = data.split_first() else {
        return 0;
    };
    let ram = Ram::new();
    ram.fill(rest);
    let mut q = Queue::new(64);
    q.set_size(1 << (cfg & 0x7).min(6));
    q.set_desc_table(RAM);
    q.set_avail_ring(RAM + 0x400);
    q.set_used_ring(RAM + 0x800);
    q.set_ring_features(cfg & 0x20 != 0, cfg & 0x40 != 0);
    q.set_ready(true);
    let mem: &dyn GuestMemory = &*ram;
    let mut buf = vec![0u8; 4096];
    let mut chains = 0;
    for _ in 0..80 {
        match q.pop(mem) {
            Ok(Some(chain)) => {
                assert!(chain.descriptors().len() <= 1024 + 64);
                assert_eq!(
                    u64::from(chain.readable_len()) + u64::from(chain.writable_len()),
                    chain
                        .descriptors()
                        .iter()
                        .map(|d| u64::from(d.len))
                        .sum::<u64>()
                );
                let mut r = chain.reader(mem);
                let n = r.read(&mut buf).unwrap_or(0);
                let mut w = chain.writer(mem);
                let written = w.write(&buf[..n]).unwrap_or(0);
                assert!(written as u64 <= u64::from(chain.writable_len()));
                if q.add_used(mem, chain.head(), written as u32).is_err() {
                    break;
                }
                chains += 1;
            }
            Ok(None) | Err(_) => break,
        }
    }
    let _ = q.needs_notification(mem);
    let _ = q.enable_notification(mem);
    let _ = q.process::<vm_device::virtio::queue::QueueError, _>(mem, 8, |c| Ok(c.writable_len()));
    chains
}

/// Set up a transport over fuzz RAM with `device`: byte 0 bits choose event index (0) and indirect
/// descriptors (1); the rest is copied over RAM after the driver's setup, so it forms the rings
/// (queue 0 at RAM, 16 entries; later queues one page apart) and the buffers.
fn transport<D: VirtioDevice>(device: D, data: &[u8]) -> Option<(Driver<D>, Arc<Ram>)> {
    let (&cfg, rest) = data.split_first()?;
    let ram = Ram::new();
    let mut d = Driver::new(device, ram.clone());
    let mut f = features::VERSION_1;
    if cfg & 1 != 0 {
        f |= features::RING_EVENT_IDX;
    }
    if cfg & 2 != 0 {
        f |= features::RING_INDIRECT_DESC;
    }
    d.init(
        f | 0xffff_ffff & !(features::RING_EVENT_IDX | features::RING_INDIRECT_DESC),
        RAM,
        16,
    );
    ram.fill(rest);
    Some((d, ram))
}

/// Block request parser and executor over an 8 KiB RAM disk. Returns the status byte at RAM + 0x300
/// (where the seeds put it).
pub fn blk(data: &[u8]) -> Option<u8> {
    let disk = Block::new(
        Box::new(MemStorage::new(vec![0x5a; 8192])),
        BlockConfig::default(),
    );
    let (mut d, ram) = transport(disk, data)?;
    d.notify(0);
    d.notify(0);
    d.mmio.poll();
    let blk = d.mmio.device();
    assert_eq!(blk.capacity(), 16, "the disk never grows");
    ram.read_u8(GuestPhysAddr(RAM + 0x300)).ok()
}

/// A back end that loops transmitted frames back (at most 8 waiting).
struct Loopback(VecDeque<Vec<u8>>);

impl NetBackend for Loopback {
    fn send(&mut self, frame: &[u8]) -> vm_device::Result<()> {
        assert!(frame.len() <= MAX_FRAME);
        if self.0.len() < 8 {
            self.0.push_back(frame.to_vec());
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> vm_device::Result<Option<usize>> {
        let Some(f) = self.0.pop_front() else {
            return Ok(None);
        };
        buf[..f.len()].copy_from_slice(&f);
        Ok(Some(f.len()))
    }
}

/// The virtio-net header parser on the raw bytes, then the device's transmit and receive paths with
/// the bytes as rings and buffers (queue 0 = receive, queue 1 = transmit). Returns the frames sent and
/// received.
pub fn net(data: &[u8]) -> (u64, u64) {
    if let Ok(h) = NetHeader::parse(data) {
        assert_eq!(&h.to_bytes()[..], &data[..NET_HDR_SIZE]);
    }
    if let Ok(frame) = parse_tx_packet(data) {
        assert_eq!(frame.len(), data.len() - NET_HDR_SIZE);
    }
    let nic = Net::new(Box::new(Loopback(VecDeque::new())), [2, 0, 0, 0, 0, 1]);
    let Some((mut d, _ram)) = transport(nic, data) else {
        return (0, 0);
    };
    d.notify(1);
    d.notify(0);
    d.mmio.poll();
    d.notify(1);
    let stats = d.mmio.device().stats();
    (stats.tx_frames, stats.rx_frames)
}

/// Register sequences: 4-byte records [op, offset low, offset high, value]; op bits 0-1 pick read or
/// write and the access size, bit 2 notifies a queue instead. The data also fills RAM, so rings the
/// driver sets up point at fuzz bytes. Returns the final device status.
pub fn mmio(data: &[u8]) -> u8 {
    let ram = Ram::new();
    ram.fill(data);
    let disk = Block::new(
        Box::new(MemStorage::new(vec![0; 4096])),
        BlockConfig::default(),
    );
    let line = Arc::new(driver::Level::default());
    let mut m = vm_device::virtio::mmio::VirtioMmio::new(disk, ram.clone(), line);
    for rec in data.chunks_exact(4).take(512) {
        let [op, lo, hi, v] = [rec[0], rec[1], rec[2], rec[3]];
        let offset = u64::from(u16::from_le_bytes([lo, hi]) & 0x1ff);
        let size = [
            AccessSize::U8,
            AccessSize::U16,
            AccessSize::U32,
            AccessSize::U64,
        ][usize::from(op >> 3 & 3)];
        // Values: the byte spread over the word, or a RAM address for the queue address registers.
        let value = match offset {
            0x80 | 0x90 | 0xa0 => RAM + u64::from(v) * 0x40,
            _ => u64::from(v),
        };
        match op & 7 {
            0 | 1 => {
                let _ = m.read(offset, size);
            }
            4 => m.write(0x50, AccessSize::U32, u64::from(v & 1)),
            _ => m.write(offset, size, value),
        }
        m.poll();
    }
    let status = m.read(0x70, AccessSize::U32) as u8;
    let cap = {
        let mut c = [0u8; 8];
        m.device().read_config(0, &mut c);
        u64::from_le_bytes(c)
    };
    assert_eq!(cap, 8);
    status
}
