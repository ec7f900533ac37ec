use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;

use super::*;

fn prio(p: &Plic, source: u32, value: u32) {
    p.mmio_write(u64::from(source) * 4, AccessSize::U32, u64::from(value));
}

fn enable(p: &Plic, ctx: usize, sources: &[u32]) {
    let mut words = [0u32; 32];
    for &s in sources {
        words[(s / 32) as usize] |= 1 << (s % 32);
    }
    for (w, v) in words.iter().enumerate() {
        let off = PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * ctx as u64 + 4 * w as u64;
        p.mmio_write(off, AccessSize::U32, u64::from(*v));
    }
}

fn claim_reg(ctx: usize) -> u64 {
    PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx as u64 + PLIC_CLAIM_OFFSET
}

fn threshold_reg(ctx: usize) -> u64 {
    PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx as u64
}

fn claim(p: &Plic, ctx: usize) -> u32 {
    p.mmio_read(claim_reg(ctx), AccessSize::U32) as u32
}

fn complete(p: &Plic, ctx: usize, source: u32) {
    p.mmio_write(claim_reg(ctx), AccessSize::U32, u64::from(source));
}

#[test]
fn geometry() {
    let p = Plic::new(2).unwrap();
    assert_eq!(p.num_contexts(), 4);
    assert_eq!(p.mmio_size(), 0x20_4000);
    assert_eq!(plic_mmio_size(512 * 2), 0x60_0000);
    assert_eq!(p.context(0, PlicMode::Machine), Some(0));
    assert_eq!(p.context(0, PlicMode::Supervisor), Some(1));
    assert_eq!(p.context(1, PlicMode::Supervisor), Some(3));
    assert_eq!(p.context(2, PlicMode::Machine), None);
    assert_eq!(PLIC_MAX_HARTS, 7936);
    assert!(matches!(
        Plic::new(0),
        Err(DeviceError::InvalidHartCount { device: "PLIC", .. })
    ));
    assert!(Plic::new(7937).is_err());
}

#[test]
fn line_numbers() {
    let p = Plic::new(1).unwrap();
    assert!(matches!(
        p.line(0),
        Err(DeviceError::InvalidInterruptSource { irq: 0, max: 1023 })
    ));
    assert!(matches!(
        p.line(1024),
        Err(DeviceError::InvalidInterruptSource { irq: 1024, .. })
    ));
    p.line(1023).unwrap().set_level(true);
    assert_eq!(
        p.mmio_read(PLIC_PENDING_BASE + 31 * 4, AccessSize::U32),
        0x8000_0000
    );
}

#[test]
fn priority_registers() {
    let p = Plic::new(1).unwrap();
    prio(&p, 1, 0xffff_ffff);
    assert_eq!(p.mmio_read(4, AccessSize::U32), 7);
    prio(&p, 1023, 3);
    assert_eq!(p.mmio_read(1023 * 4, AccessSize::U32), 3);
    prio(&p, 0, 5);
    assert_eq!(p.mmio_read(0, AccessSize::U32), 0);
    // Only aligned 32-bit accesses.
    p.mmio_write(8, AccessSize::U8, 4);
    p.mmio_write(9, AccessSize::U32, 4);
    assert_eq!(p.mmio_read(8, AccessSize::U32), 0);
    assert_eq!(p.mmio_read(4, AccessSize::U64), 0);
}

#[test]
fn pending_bits_follow_lines_and_are_read_only() {
    let p = Plic::new(1).unwrap();
    p.line(1).unwrap().set_level(true);
    p.line(33).unwrap().set_level(true);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 0b10);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE + 4, AccessSize::U32), 0b10);
    p.mmio_write(PLIC_PENDING_BASE, AccessSize::U32, 0);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 0b10);
    // A line that falls before the claim leaves its request pending.
    p.line(1).unwrap().set_level(false);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 0b10);
}

#[test]
fn enables_per_context() {
    let p = Plic::new(2).unwrap();
    let off = PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 3;
    p.mmio_write(off, AccessSize::U32, 0xffff_ffff);
    assert_eq!(p.mmio_read(off, AccessSize::U32), 0xffff_fffe);
    p.mmio_write(off + 4, AccessSize::U32, 0x8000_0001);
    assert_eq!(p.mmio_read(off + 4, AccessSize::U32), 0x8000_0001);
    assert_eq!(p.mmio_read(PLIC_ENABLE_BASE, AccessSize::U32), 0);
    // Past the last context or the last word: nothing.
    let beyond = PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 4;
    p.mmio_write(beyond, AccessSize::U32, 0xff);
    assert_eq!(p.mmio_read(beyond, AccessSize::U32), 0);

    prio(&p, 5, 1);
    prio(&p, 9, 1);
    enable(&p, 0, &[5]);
    enable(&p, 1, &[9]);
    p.line(5).unwrap().set_level(true);
    p.line(9).unwrap().set_level(true);
    assert_eq!(claim(&p, 0), 5);
    assert_eq!(claim(&p, 0), 0);
    assert_eq!(claim(&p, 1), 9);
    assert_eq!(claim(&p, 2), 0);
    assert!(!p.context_pending(2));
}

#[test]
fn claim_order_is_priority_then_lowest_id() {
    let p = Plic::new(1).unwrap();
    let sources = [(3, 2), (5, 5), (9, 5), (40, 1), (41, 0), (700, 5)];
    for (s, pr) in sources {
        prio(&p, s, pr);
        p.line(s).unwrap().set_level(true);
    }
    enable(&p, 0, &[3, 5, 9, 40, 41, 700]);
    let order: Vec<u32> = (0..6).map(|_| claim(&p, 0)).collect();
    // Priority 0 never interrupts.
    assert_eq!(order, [5, 9, 700, 3, 40, 0]);
    assert_eq!(
        p.mmio_read(PLIC_PENDING_BASE + 4, AccessSize::U32),
        1 << (41 - 32)
    );
}

#[test]
fn threshold_masks_notification_not_claims() {
    let p = Plic::new(1).unwrap();
    prio(&p, 7, 3);
    enable(&p, 1, &[7]);
    p.line(7).unwrap().set_level(true);
    assert!(p.context_pending(1));
    p.mmio_write(threshold_reg(1), AccessSize::U32, 3);
    assert_eq!(p.mmio_read(threshold_reg(1), AccessSize::U32), 3);
    assert!(!p.context_pending(1));
    p.mmio_write(threshold_reg(1), AccessSize::U32, 2);
    assert!(p.context_pending(1));
    p.mmio_write(threshold_reg(1), AccessSize::U32, 0xff);
    assert_eq!(p.mmio_read(threshold_reg(1), AccessSize::U32), 7);
    assert!(!p.context_pending(1));
    assert_eq!(claim(&p, 1), 7);
    // Other context, not enabled there.
    assert!(!p.context_pending(0));
}

#[test]
fn level_gateway_claim_complete_cycle() {
    let p = Plic::new(1).unwrap();
    let line = p.line(10).unwrap();
    prio(&p, 10, 1);
    enable(&p, 1, &[10]);
    assert!(!p.context_pending(1));
    line.set_level(true);
    assert!(p.context_pending(1));
    assert_eq!(claim(&p, 1), 10);
    // Claimed: not pending, not re-pended while the line stays high.
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 0);
    line.set_level(true);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 0);
    assert!(!p.context_pending(1));
    assert_eq!(claim(&p, 1), 0);
    // Complete with the line still high: pending again.
    complete(&p, 1, 10);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 1 << 10);
    assert!(p.context_pending(1));
    assert_eq!(claim(&p, 1), 10);
    // The device is serviced: the line falls, then the handler completes.
    line.set_level(false);
    complete(&p, 1, 10);
    assert_eq!(p.mmio_read(PLIC_PENDING_BASE, AccessSize::U32), 0);
    assert!(!p.context_pending(1));
    assert_eq!(claim(&p, 1), 0);
}

#[test]
fn completion_needs_enable_in_that_context() {
    let p = Plic::new(1).unwrap();
    let line = p.line(4).unwrap();
    prio(&p, 4, 1);
    enable(&p, 0, &[4]);
    line.set_level(true);
    assert_eq!(claim(&p, 0), 4);
    // Context 1 does not enable source 4: ignored, the source stays claimed.
    complete(&p, 1, 4);
    assert_eq!(claim(&p, 0), 0);
    complete(&p, 0, 0);
    complete(&p, 0, 5000);
    assert_eq!(claim(&p, 0), 0);
    complete(&p, 0, 4);
    assert_eq!(claim(&p, 0), 4);
}

#[test]
fn mmio_device_trait_and_unknown_offsets() {
    let mut p = Plic::new(1).unwrap();
    p.write(u64::from(2u32) * 4, AccessSize::U32, 6);
    assert_eq!(MmioDevice::read(&mut p, 8, AccessSize::U32), 6);
    assert_eq!(
        MmioDevice::read(&mut p, threshold_reg(0) + 8, AccessSize::U32),
        0
    );
    assert_eq!(
        MmioDevice::read(&mut p, threshold_reg(5), AccessSize::U32),
        0
    );
    assert_eq!(MmioDevice::read(&mut p, u64::MAX - 3, AccessSize::U32), 0);
    p.write(u64::MAX - 3, AccessSize::U32, 1);
    assert_eq!(p.claim(usize::MAX), 0);
    p.complete(usize::MAX, 1);
    assert!(!p.context_pending(usize::MAX));
}

/// Device threads toggle lines while two "harts" claim and complete: no source is ever held by two
/// contexts at once, and every source that is left high ends up claimable.
#[test]
fn concurrent_lines_and_claims() {
    extern crate std;

    const SOURCES: u32 = 8;
    let p = Plic::new(2).unwrap();
    let all: Vec<u32> = (1..=SOURCES).collect();
    for &s in &all {
        prio(&p, s, 1 + s % 7);
    }
    enable(&p, 0, &all);
    enable(&p, 2, &all);
    let held: Arc<Vec<AtomicBool>> =
        Arc::new((0..=SOURCES).map(|_| AtomicBool::new(false)).collect());
    let claims = Arc::new(AtomicU32::new(0));

    let devices: Vec<_> = all
        .iter()
        .map(|&s| {
            let line = p.line(s).unwrap();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    line.set_level(i % 2 == 0);
                }
                line.set_level(true);
            })
        })
        .collect();
    let harts: Vec<_> = [0usize, 2]
        .into_iter()
        .map(|ctx| {
            let p = p.clone();
            let held = Arc::clone(&held);
            let claims = Arc::clone(&claims);
            std::thread::spawn(move || {
                for _ in 0..5000 {
                    let s = p.claim(ctx);
                    if s == 0 {
                        continue;
                    }
                    assert!(
                        !held[s as usize].swap(true, Ordering::SeqCst),
                        "{s} claimed twice"
                    );
                    claims.fetch_add(1, Ordering::SeqCst);
                    held[s as usize].store(false, Ordering::SeqCst);
                    p.complete(ctx, s);
                }
            })
        })
        .collect();
    for t in devices.into_iter().chain(harts) {
        t.join().unwrap();
    }
    assert!(claims.load(Ordering::SeqCst) > 0);
    // Every line was left high and nothing is claimed: all eight must be claimable now.
    let mut left: Vec<u32> = core::iter::from_fn(|| Some(p.claim(0)).filter(|&s| s != 0)).collect();
    left.sort_unstable();
    assert_eq!(left, all);
}
