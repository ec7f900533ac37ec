use alloc::sync::Arc;
use core::time::Duration;

use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;

use super::*;

fn clint(harts: usize) -> (Clint, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(0));
    (Clint::new(harts, clock.clone()).unwrap(), clock)
}

#[test]
fn hart_count_limits() {
    let clock: Arc<dyn ClockSource> = Arc::new(ManualClock::new(0));
    assert!(matches!(
        Clint::new(0, clock.clone()),
        Err(DeviceError::InvalidHartCount {
            device: "CLINT",
            harts: 0,
            max: 4095
        })
    ));
    assert!(matches!(
        Clint::new(4096, clock.clone()),
        Err(DeviceError::InvalidHartCount { harts: 4096, .. })
    ));
    let c = Clint::new(4095, clock).unwrap();
    let mut dev = c.clone();
    dev.write(0x4000 + 8 * 4094, AccessSize::U64, 77);
    assert_eq!(c.mtimecmp(4094), Some(77));
    assert_eq!(dev.read(0xbff8, AccessSize::U64), 0);
}

#[test]
fn msip_per_hart() {
    let (c, _) = clint(4);
    let mut dev = c.clone();
    dev.write(0x8, AccessSize::U32, 0xffff_ffff);
    assert!(c.msip_pending(2));
    assert!(!c.msip_pending(0) && !c.msip_pending(1) && !c.msip_pending(3));
    assert_eq!(dev.read(0x8, AccessSize::U32), 1);
    assert_eq!(dev.read(0x4, AccessSize::U32), 0);
    dev.write(0x8, AccessSize::U32, 2); // bit 0 clear
    assert!(!c.msip_pending(2));
    // Wrong width or alignment, or a hart that does not exist: ignored.
    dev.write(0x0, AccessSize::U8, 1);
    dev.write(0x2, AccessSize::U32, 1);
    dev.write(0x10, AccessSize::U32, 1);
    assert!(!c.msip_pending(0));
    assert!(!c.msip_pending(4));
    assert_eq!(dev.read(0x10, AccessSize::U32), 0);
}

#[test]
fn mtimecmp_reset_and_halves() {
    let (c, _) = clint(2);
    let mut dev = c.clone();
    assert_eq!(dev.read(0x4008, AccessSize::U64), u64::MAX);
    dev.write(0x4008, AccessSize::U32, 0x1122_3344);
    assert_eq!(c.mtimecmp(1), Some(0xffff_ffff_1122_3344));
    dev.write(0x400c, AccessSize::U32, 0x5566_7788);
    assert_eq!(c.mtimecmp(1), Some(0x5566_7788_1122_3344));
    assert_eq!(dev.read(0x4008, AccessSize::U32), 0x1122_3344);
    assert_eq!(dev.read(0x400c, AccessSize::U32), 0x5566_7788);
    assert_eq!(dev.read(0x4008, AccessSize::U64), 0x5566_7788_1122_3344);
    dev.write(0x4000, AccessSize::U64, 0x0102_0304_0506_0708);
    assert_eq!(c.mtimecmp(0), Some(0x0102_0304_0506_0708));
    assert_eq!(c.mtimecmp(1), Some(0x5566_7788_1122_3344));
    // Misaligned 64-bit, 16-bit and past-the-last-hart accesses are ignored.
    dev.write(0x4004, AccessSize::U64, 0);
    dev.write(0x4000, AccessSize::U16, 0);
    dev.write(0x4010, AccessSize::U64, 0);
    assert_eq!(c.mtimecmp(0), Some(0x0102_0304_0506_0708));
    assert_eq!(c.mtimecmp(2), None);
    assert_eq!(dev.read(0x4004, AccessSize::U64), 0);
    assert_eq!(dev.read(0x4010, AccessSize::U64), 0);
}

#[test]
fn mtime_follows_clock_and_offset() {
    let (c, clock) = clint(1);
    let mut dev = c.clone();
    clock.set(0x1_0000_0005);
    assert_eq!(dev.read(0xbff8, AccessSize::U64), 0x1_0000_0005);
    assert_eq!(dev.read(0xbff8, AccessSize::U32), 5);
    assert_eq!(dev.read(0xbffc, AccessSize::U32), 1);
    dev.write(0xbff8, AccessSize::U64, 1000);
    assert_eq!(c.mtime(), 1000);
    clock.advance(25);
    assert_eq!(c.mtime(), 1025);
    dev.write(0xbffc, AccessSize::U32, 2);
    assert_eq!(c.mtime(), 0x2_0000_0401);
    dev.write(0xbff8, AccessSize::U32, 7);
    assert_eq!(c.mtime(), 0x2_0000_0007);
    clock.advance(3);
    assert_eq!(dev.read(0xbff8, AccessSize::U64), 0x2_0000_000a);
    // Outside the map.
    assert_eq!(dev.read(0xc000, AccessSize::U64), 0);
    assert_eq!(dev.read(0xbffa, AccessSize::U32), 0);
}

#[test]
fn timer_pending_computation() {
    let (c, clock) = clint(2);
    let mut dev = c.clone();
    assert!(!c.timer_pending(0));
    clock.set(100);
    dev.write(0x4000, AccessSize::U64, 150);
    assert!(!c.timer_pending(0));
    assert_eq!(c.time_until_timer(0), Some(Duration::from_micros(5)));
    clock.set(149);
    assert!(!c.timer_pending(0));
    assert_eq!(c.time_until_timer(0), Some(Duration::from_nanos(100)));
    clock.set(150);
    assert!(c.timer_pending(0));
    assert_eq!(c.time_until_timer(0), Some(Duration::ZERO));
    assert!(!c.timer_pending(1));
    assert_eq!(c.time_until_timer(1), None);
    assert!(!c.timer_pending(2));
    assert_eq!(c.time_until_timer(2), None);
    // Moving mtimecmp forward clears the pending state.
    dev.write(0x4000, AccessSize::U64, 10 * CLINT_TIMEBASE_HZ + 150);
    assert!(!c.timer_pending(0));
    assert_eq!(c.time_until_timer(0), Some(Duration::from_secs(10)));
}

#[test]
fn reset_clears_state() {
    let (c, _) = clint(2);
    c.set_msip(1, true);
    c.set_mtimecmp(0, 0);
    assert!(c.timer_pending(0));
    c.reset();
    assert!(!c.msip_pending(1));
    assert_eq!(c.mtimecmp(0), Some(u64::MAX));
    assert!(!c.timer_pending(0));
}
