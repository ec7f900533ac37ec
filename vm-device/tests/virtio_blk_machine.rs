//! A virtio-blk disk on a raw image, wired the way riscv64-virt wires it (MMIO slot 0 at 0x1000_1000,
//! PLIC source 1): data written and flushed survives a power-off and is read back after "reboot" by a
//! new device on the same image, and the image never grows.
#![cfg(all(feature = "std", unix))]

#[path = "support/driver.rs"]
mod driver;

use std::sync::{Arc, Mutex};

use driver::{Driver, Ring};
use vm_core::GuestPhysAddr;
use vm_core::device::Bus;
use vm_core::mem::{AccessSize, GuestMemory};
use vm_device::bus::MmioBus;
use vm_device::plic::{Plic, PlicMode};
use vm_device::virtio::blk::{Block, blk_status, req_type};
use vm_device::virtio::mmio::{VIRTIO_MMIO_SIZE, VirtioMmio, regs};

const RAM: u64 = 0x8000_0000;
const SLOT0: u64 = 0x1000_1000;
const IRQ: u32 = 1;
const HDR: u64 = RAM + 0x10_0000;
const STATUS: u64 = HDR + 0x100;
const BUF: u64 = HDR + 0x1000;

struct TempImage(std::path::PathBuf);

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ram() -> Arc<dyn GuestMemory + Send + Sync> {
    Arc::new(
        vm_mem::PhysMemory::builder()
            .ram("ram", GuestPhysAddr(RAM), 0x40_0000)
            .build()
            .unwrap(),
    )
}

fn request(d: &mut Driver<Block>, kind: u32, sector: u64, data: Option<(u32, bool)>) -> u8 {
    let mem = d.mem.clone();
    mem.write_u32(GuestPhysAddr(HDR), kind).unwrap();
    mem.write_u64(GuestPhysAddr(HDR + 8), sector).unwrap();
    mem.write_u8(GuestPhysAddr(STATUS), 0xff).unwrap();
    let mut bufs = vec![(HDR, 16, false)];
    if let Some((len, writable)) = data {
        bufs.push((BUF, len, writable));
    }
    bufs.push((STATUS, 1, true));
    d.submit(0, &bufs);
    assert_eq!(d.take_used(0).len(), 1);
    mem.read_u8(GuestPhysAddr(STATUS)).unwrap()
}

#[test]
fn written_and_flushed_data_survives_a_reboot() {
    let path = std::env::temp_dir().join(format!("vm-device-reboot-{}.img", std::process::id()));
    std::fs::write(&path, vec![0u8; 1 << 20]).unwrap();
    let _cleanup = TempImage(path.clone());
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 31 + 7) as u8).collect();

    // First boot: write 8 sectors at sector 100, flush, power off.
    {
        let mut d = Driver::new(Block::open(&path, false).unwrap(), ram());
        d.init(u64::MAX, RAM, 32);
        d.mem.write(GuestPhysAddr(BUF), &pattern).unwrap();
        assert_eq!(
            request(&mut d, req_type::OUT, 100, Some((4096, false))),
            blk_status::OK
        );
        assert_eq!(request(&mut d, req_type::FLUSH, 0, None), blk_status::OK);
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);

    // Second boot, on the bus and the PLIC as riscv64-virt has it.
    let plic = Plic::new(1).unwrap();
    let mem = ram();
    let mmio = VirtioMmio::new(
        Block::open(&path, false).unwrap(),
        mem.clone(),
        plic.line(IRQ).unwrap(),
    );
    let shared = Arc::new(Mutex::new(mmio));
    let mut bus = MmioBus::new();
    bus.insert(GuestPhysAddr(SLOT0), VIRTIO_MMIO_SIZE, shared.clone())
        .unwrap();
    assert_eq!(
        bus.read(GuestPhysAddr(SLOT0 + regs::MAGIC), AccessSize::U32)
            .unwrap(),
        0x7472_6976
    );
    assert_eq!(
        bus.read(GuestPhysAddr(SLOT0 + regs::DEVICE_ID), AccessSize::U32)
            .unwrap(),
        2
    );
    // Capacity through the bus: 1 MiB = 2048 sectors.
    assert_eq!(
        bus.read(GuestPhysAddr(SLOT0 + regs::CONFIG), AccessSize::U64)
            .unwrap(),
        2048
    );

    // The driver sets the device up through the bus.
    let w = |off: u64, v: u32| {
        bus.write(GuestPhysAddr(SLOT0 + off), AccessSize::U32, u64::from(v))
            .unwrap()
    };
    w(regs::STATUS, 1);
    w(regs::STATUS, 3);
    w(regs::DRIVER_FEATURES_SEL, 1);
    w(regs::DRIVER_FEATURES, 1); // VIRTIO_F_VERSION_1
    w(regs::STATUS, 0xb);
    let ring = Ring::new(RAM, 32);
    w(regs::QUEUE_SEL, 0);
    w(regs::QUEUE_NUM, 32);
    w(regs::QUEUE_DESC_LOW, ring.desc as u32);
    w(regs::QUEUE_DESC_HIGH, (ring.desc >> 32) as u32);
    w(regs::QUEUE_DRIVER_LOW, ring.avail as u32);
    w(regs::QUEUE_DRIVER_HIGH, (ring.avail >> 32) as u32);
    w(regs::QUEUE_DEVICE_LOW, ring.used as u32);
    w(regs::QUEUE_DEVICE_HIGH, (ring.used >> 32) as u32);
    w(regs::QUEUE_READY, 1);
    w(regs::STATUS, 0xf);
    assert_eq!(
        bus.read(GuestPhysAddr(SLOT0 + regs::STATUS), AccessSize::U32)
            .unwrap(),
        0xf
    );

    // Read the 8 sectors back.
    let mut ring = ring;
    mem.write_u32(GuestPhysAddr(HDR), req_type::IN).unwrap();
    mem.write_u64(GuestPhysAddr(HDR + 8), 100).unwrap();
    let head = ring.add_chain(
        &*mem,
        &[(HDR, 16, false), (BUF, 4096, true), (STATUS, 1, true)],
    );
    mem.write(GuestPhysAddr(BUF), &[0; 4096]).unwrap();
    ring.push(&*mem, head);
    w(regs::QUEUE_NOTIFY, 0);
    assert_eq!(ring.take_used(&*mem), vec![(u32::from(head), 4097)]);
    assert_eq!(mem.read_u8(GuestPhysAddr(STATUS)).unwrap(), blk_status::OK);
    let mut back = vec![0u8; 4096];
    mem.read(GuestPhysAddr(BUF), &mut back).unwrap();
    assert_eq!(back, pattern);

    // The completion interrupt reaches PLIC source 1.
    let ctx = plic.context(0, PlicMode::Supervisor).unwrap();
    plic.mmio_write(4 * u64::from(IRQ), AccessSize::U32, 1);
    plic.mmio_write(0x2000 + 0x80 * ctx as u64, AccessSize::U32, 1 << IRQ);
    assert!(plic.context_pending(ctx));
    assert_eq!(plic.claim(ctx), IRQ);
    // Acknowledging at the device lowers the line.
    w(regs::INTERRUPT_ACK, 1);
    plic.complete(ctx, IRQ);
    assert!(!plic.context_pending(ctx));
}
