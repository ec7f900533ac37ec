use alloc::boxed::Box;
use alloc::vec;

use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;

use super::*;
use crate::virtio::driver::Driver;
use crate::virtio::rng::{EntropySource, Rng};
use crate::virtio::testing::{DATA, RAM, ram};
use crate::virtio::{device_type, interrupt_status, status as st};

/// Entropy that counts up, so results are exact.
struct Counter(u8);

impl EntropySource for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> crate::Result<()> {
        for b in buf {
            *b = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

fn driver() -> Driver<Rng> {
    Driver::new(Rng::new(Box::new(Counter(1))), ram())
}

const ALL: u64 = u64::MAX;

#[test]
fn identification_registers() {
    let mut d = driver();
    assert_eq!(d.rd(regs::MAGIC), MAGIC_VALUE);
    assert_eq!(d.rd(regs::VERSION), 2);
    assert_eq!(d.rd(regs::DEVICE_ID), device_type::RNG);
    assert_eq!(d.rd(regs::VENDOR_ID), VENDOR_ID);
    assert_eq!(d.device_features(), features::TRANSPORT);
    d.wr(regs::QUEUE_SEL, 0);
    assert_eq!(d.rd(regs::QUEUE_NUM_MAX), 64);
    d.wr(regs::QUEUE_SEL, 1);
    assert_eq!(d.rd(regs::QUEUE_NUM_MAX), 0, "no second queue");
    for r in [
        regs::SHM_LEN_LOW,
        regs::SHM_LEN_HIGH,
        regs::SHM_BASE_LOW,
        regs::SHM_BASE_HIGH,
    ] {
        assert_eq!(d.rd(r), u32::MAX, "shared memory is absent");
    }
    // Registers only answer 32-bit accesses.
    assert_eq!(d.mmio.read(regs::MAGIC, AccessSize::U8), 0);
    assert_eq!(d.mmio.read(regs::MAGIC, AccessSize::U64), 0);
    assert_eq!(d.mmio.read(regs::MAGIC + 2, AccessSize::U32), 0);
}

#[test]
fn full_initialisation_activates_and_serves() {
    let mut d = driver();
    let s = d.init(ALL, RAM, 8);
    assert_eq!(
        s,
        st::ACKNOWLEDGE | st::DRIVER | st::FEATURES_OK | st::DRIVER_OK
    );
    assert!(d.mmio.is_active());
    let head = d.submit(0, &[(DATA, 4, true)]);
    assert_eq!(d.take_used(0), vec![(u32::from(head), 4)]);
    let mut b = [0u8; 4];
    d.mem().read(vm_core::GuestPhysAddr(DATA), &mut b).unwrap();
    assert_eq!(b, [1, 2, 3, 4]);
    assert!(d.line.is_high());
    assert_eq!(d.ack(), interrupt_status::USED_BUFFER);
    assert!(!d.line.is_high());
    assert_eq!(d.rd(regs::INTERRUPT_STATUS), 0);
}

#[test]
fn features_ok_needs_version_1_and_only_offered_bits() {
    for (features, ok) in [
        (0, false),
        (features::RING_EVENT_IDX, false),
        (features::VERSION_1 | (1 << 40), false),
        (features::VERSION_1, true),
        (features::TRANSPORT, true),
    ] {
        let mut d = driver();
        d.wr(regs::STATUS, u32::from(st::ACKNOWLEDGE | st::DRIVER));
        d.write_features(features);
        d.wr(
            regs::STATUS,
            u32::from(st::ACKNOWLEDGE | st::DRIVER | st::FEATURES_OK),
        );
        assert_eq!(d.status() & st::FEATURES_OK != 0, ok, "{features:#x}");
        // DRIVER_OK without FEATURES_OK does not activate.
        d.wr(
            regs::STATUS,
            u32::from(st::ACKNOWLEDGE | st::DRIVER | st::FEATURES_OK | st::DRIVER_OK),
        );
        assert_eq!(d.mmio.is_active(), ok);
    }
}

#[test]
fn features_are_frozen_after_features_ok() {
    let mut d = driver();
    d.init(features::VERSION_1, RAM, 8);
    d.write_features(features::TRANSPORT);
    // Event index was not negotiated: flags, not avail_event, control notifications.
    d.submit(0, &[(DATA, 1, true)]);
    assert_eq!(d.take_used(0).len(), 1);
    let mem = d.mem.clone();
    assert_eq!(d.rings[0].avail_event(&*mem), 0, "avail_event untouched");
    // With event index the device would have published avail_event = 1 instead.
    let mut e = driver();
    e.init(features::TRANSPORT, RAM, 8);
    e.submit(0, &[(DATA, 1, true)]);
    let mem_e = e.mem.clone();
    assert_eq!(e.rings[0].avail_event(&*mem_e), 1);
}

#[test]
fn status_bits_cannot_be_cleared_except_by_reset() {
    let mut d = driver();
    d.init(ALL, RAM, 8);
    d.wr(regs::STATUS, u32::from(st::ACKNOWLEDGE));
    assert_eq!(
        d.status(),
        st::ACKNOWLEDGE | st::DRIVER | st::FEATURES_OK | st::DRIVER_OK
    );
    d.wr(regs::STATUS, 0);
    assert_eq!(d.status(), 0);
    assert!(!d.mmio.is_active());
    d.wr(regs::QUEUE_SEL, 0);
    assert_eq!(d.rd(regs::QUEUE_READY), 0, "reset disables queues");
    // Notifications after a reset do nothing.
    d.rings[0].push(&*d.mem.clone(), 0);
    d.notify(0);
    assert_eq!(d.rings[0].used_idx(&*d.mem.clone()), 0);
}

#[test]
fn queue_registers_are_locked_once_ready() {
    let mut d = driver();
    d.wr(regs::STATUS, u32::from(st::ACKNOWLEDGE | st::DRIVER));
    d.setup_queue(0, RAM, 8);
    d.wr(regs::QUEUE_NUM, 16);
    d.wr(regs::QUEUE_DESC_LOW, 0x1234);
    d.wr(regs::QUEUE_READY, 0);
    d.wr(regs::QUEUE_READY, 1);
    // Still the original (valid) ring: the writes while ready were ignored.
    assert_eq!(d.rd(regs::QUEUE_READY), 1);
    assert!(!d.needs_reset());
}

#[test]
fn a_bad_queue_configuration_needs_reset() {
    let mut d = driver();
    d.wr(regs::STATUS, u32::from(st::ACKNOWLEDGE | st::DRIVER));
    d.wr(regs::QUEUE_SEL, 0);
    d.wr(regs::QUEUE_NUM, 6); // not a power of two
    d.wr(regs::QUEUE_READY, 1);
    assert_eq!(d.rd(regs::QUEUE_READY), 0);
    assert!(d.needs_reset());
    assert!(matches!(
        d.mmio.last_error(),
        Some(VirtioError::Queue { queue: 0, .. })
    ));
    // No interrupt before DRIVER_OK.
    assert!(!d.line.is_high());
    d.wr(regs::STATUS, 0);
    assert!(!d.needs_reset());
}

#[test]
fn device_errors_set_needs_reset_and_interrupt() {
    let mut d = driver();
    d.init(ALL, RAM, 8);
    let gen0 = d.rd(regs::CONFIG_GENERATION);
    // A readable buffer in an entropy request is the wrong direction.
    d.submit(0, &[(DATA, 4, false)]);
    assert!(d.needs_reset());
    assert!(d.line.is_high());
    assert_eq!(d.ack(), interrupt_status::CONFIG_CHANGE);
    assert_ne!(d.rd(regs::CONFIG_GENERATION), gen0);
    assert!(matches!(
        d.mmio.last_error(),
        Some(VirtioError::WrongDirection { queue: 0, .. })
    ));
    // Further notifications are ignored until the driver resets.
    d.submit(0, &[(DATA, 4, true)]);
    assert!(d.take_used(0).is_empty());
    // After a reset and a fresh initialisation it works again.
    assert_eq!(d.init(ALL, RAM, 8) & st::DRIVER_OK, st::DRIVER_OK);
    let head = d.submit(0, &[(DATA, 2, true)]);
    assert_eq!(d.take_used(0), vec![(u32::from(head), 2)]);
}

#[test]
fn notifications_before_driver_ok_and_for_unknown_queues_are_ignored() {
    let mut d = driver();
    d.wr(regs::STATUS, u32::from(st::ACKNOWLEDGE | st::DRIVER));
    d.setup_queue(0, RAM, 8);
    let mem = d.mem.clone();
    let head = d.rings[0].add_chain(&*mem, &[(DATA, 4, true)]);
    d.rings[0].push(&*mem, head);
    d.notify(0);
    assert_eq!(d.rings[0].used_idx(&*mem), 0);
    d.init(ALL, RAM, 8);
    d.notify(7);
    d.notify(u32::MAX);
    assert!(!d.needs_reset());
}

#[test]
fn interrupt_ack_clears_only_acknowledged_bits() {
    let mut d = driver();
    d.init(ALL, RAM, 8);
    d.submit(0, &[(DATA, 1, false)]); // needs reset: config change
    d.mmio.interrupt.signal_used();
    assert_eq!(d.rd(regs::INTERRUPT_STATUS), 3);
    d.wr(regs::INTERRUPT_ACK, interrupt_status::USED_BUFFER);
    assert_eq!(
        d.rd(regs::INTERRUPT_STATUS),
        interrupt_status::CONFIG_CHANGE
    );
    assert!(d.line.is_high());
    d.wr(regs::INTERRUPT_ACK, interrupt_status::CONFIG_CHANGE);
    assert!(!d.line.is_high());
}

#[test]
fn configuration_space_takes_any_size() {
    use crate::virtio::blk::{Block, BlockConfig, MemStorage};
    let blk = Block::new(
        Box::new(MemStorage::new(vec![0; 512 * 100])),
        BlockConfig::default(),
    );
    let mut m = VirtioMmio::new(
        blk,
        ram(),
        alloc::sync::Arc::new(crate::virtio::driver::Level::default()),
    );
    assert_eq!(m.read(regs::CONFIG, AccessSize::U64), 100);
    assert_eq!(m.read(regs::CONFIG, AccessSize::U8), 100);
    assert_eq!(m.read(regs::CONFIG + 20, AccessSize::U32), 512);
    assert_eq!(m.read(regs::CONFIG + 0xe00, AccessSize::U32), 0);
}
