//! Faults reported to the guest: event records written byte-exact, overflow, GERROR and interrupts.

#![cfg(all(feature = "mmu", feature = "interrupt"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use vm_core::device::{InterruptLine, MmioDevice};
use vm_core::mem::{AccessKind, AccessSize};
use vm_smmu::{Access, EventRecord, Smmu, regs};

fn bytes(d: [u64; 4]) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, w) in d.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// Stream 1: stage 1 with a 48-bit 4 KiB table; stream 2: four CDs (substreams), CD 1 valid.
fn setup() -> (Arc<Mem>, Smmu, Alloc, Tables) {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::s1(&mut alloc, 12, 48);
    let cd_addr = alloc.take(256);
    write_words(&mem, cd_addr, &cd(5, t.root, 16, 0));
    write_words(&mem, cd_addr + 64, &cd(6, t.root, 16, 0));
    write_ste(&mem, 1, ste_s1(cd_addr, 0, 0, 0));
    write_ste(&mem, 2, ste_s1(cd_addr, 0, 2, 0));
    let s = smmu(&mem);
    (mem, s, alloc, t)
}

#[test]
fn stage1_translation_fault_record() {
    let (mem, mut s, _, _) = setup();
    s.translate(1, None, 0x7000_0000_1234, Access::write())
        .unwrap_err();
    s.translate(
        1,
        None,
        0x7000_0000_1234,
        Access::new(AccessKind::Fetch, true),
    )
    .unwrap_err();
    let ev = events(&mut s, &mem);
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[0],
        bytes([0x0000_0001_0000_0010, 2 << 40, 0x7000_0000_1234, 0])
    );
    // RnW, InD and PnU set.
    let flags = (1 << 33) | (1 << 34) | (1 << 35) | (2 << 40);
    assert_eq!(
        ev[1],
        bytes([0x0000_0001_0000_0010, flags, 0x7000_0000_1234, 0])
    );
    assert_eq!(s.stats().events_recorded, 2);
}

#[test]
fn permission_fault_with_substream() {
    let (mem, mut s, mut alloc, t) = setup();
    t.map(
        &mem,
        &mut alloc,
        0x4000,
        0x9000,
        3,
        AF | AP_EL0 | AP_RO | NG,
    );
    s.translate(2, Some(1), 0x4010, Access::write().privileged())
        .unwrap_err();
    let ev = events(&mut s, &mem);
    let w0 = 0x13 | (1 << 11) | (1 << 12) | (2 << 32);
    assert_eq!(ev, vec![bytes([w0, (1 << 33) | (2 << 40), 0x4010, 0])]);
}

#[test]
fn configuration_error_records() {
    let (mem, mut s, _, _) = setup();
    write_ste(&mem, 3, ste_abort());
    s.translate(4, None, 0x1000, Access::read()).unwrap_err(); // invalid STE
    s.translate(3, None, 0x1000, Access::read()).unwrap_err(); // abort: no event
    s.translate(70, Some(9), 0x1000, Access::read())
        .unwrap_err(); // beyond the stream table
    s.translate(2, None, 0x1000, Access::read()).unwrap_err(); // S1DSS terminate
    s.translate(2, Some(4), 0x1000, Access::read()).unwrap_err(); // beyond S1CDMax
    s.translate(2, Some(2), 0x1000, Access::read()).unwrap_err(); // CD 2 is invalid
    write_ste(&mem, 5, ste_s1(MEM_SIZE + 0x40, 0, 0, 0));
    s.translate(5, None, 0x1000, Access::read()).unwrap_err(); // CD fetch abort
    let ev = events(&mut s, &mem);
    let expected = [
        bytes([0x0000_0004_0000_0004, 0, 0, 0]),
        bytes([0x0000_0046_0000_9802, 0, 0, 0]),
        bytes([0x0000_0002_0000_0006, 0, 0, 0]),
        bytes([0x0000_0002_0000_4808, 0, 0, 0]),
        bytes([0x0000_0002_0000_280a, 0, 0, 0]),
        bytes([0x0000_0005_0000_0009, 0, 0, MEM_SIZE + 0x40]),
    ];
    assert_eq!(ev, expected);
}

#[test]
fn ste_fetch_record() {
    let mem = mem();
    let mut s = smmu(&mem);
    s.write(regs::CR0, AccessSize::U32, 0);
    s.write(regs::STRTAB_BASE, AccessSize::U64, MEM_SIZE);
    let cr0 = regs::CR0_SMMUEN | regs::CR0_EVTQEN;
    s.write(regs::CR0, AccessSize::U32, u64::from(cr0));
    s.translate(3, None, 0, Access::read()).unwrap_err();
    let ev = events(&mut s, &mem);
    assert_eq!(
        ev,
        vec![bytes([0x0000_0003_0000_0003, 0, 0, MEM_SIZE + 3 * 64])]
    );
}

#[test]
fn stage2_fault_records_carry_the_ipa_and_class() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let s2 = Tables::with_start(&mut alloc, 12, 40, 1);
    s2.map(&mem, &mut alloc, 0, 0, 2, AF | S2AP_R | S2AP_W);
    s2.map(
        &mem,
        &mut alloc,
        0x20_0000,
        0x20_0000,
        2,
        AF | S2AP_R | S2AP_W,
    );
    let s1 = Tables::s1(&mut alloc, 12, 48);
    s1.map(&mem, &mut alloc, 0x5000, 0x8123_4000, 3, AF | AP_EL0);
    w64(&mem, s1.root + 8, 0x80_0000 | 0b11);
    let cd_addr = alloc.take(64);
    write_words(&mem, cd_addr, &cd(3, s1.root, 16, 0));
    write_ste(&mem, 11, with_s2(ste_s1(cd_addr, 0, 0, 0), 4, &s2, 1, 0, 2));
    let mut s = smmu(&mem);
    s.translate(11, None, 0x5678, Access::read()).unwrap_err();
    s.translate(11, None, 1 << 39, Access::write()).unwrap_err();
    let ev = events(&mut s, &mem);
    let s2_in = (1 << 35) | (1 << 39) | (2 << 40);
    let s2_tt = (1 << 39) | (1 << 40);
    assert_eq!(
        ev,
        vec![
            bytes([0x0000_000b_0000_0010, s2_in, 0x5678, 0x8123_4000]),
            bytes([0x0000_000b_0000_0010, s2_tt, 1 << 39, 0x80_0000]),
        ]
    );
}

#[test]
fn record_flags_suppress_translation_faults_only() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::s1(&mut alloc, 12, 48);
    let cd_addr = alloc.take(64);
    let mut c = cd(5, t.root, 16, 0);
    c[0] &= !(1 << 45); // R = 0
    write_words(&mem, cd_addr, &c);
    write_ste(&mem, 1, ste_s1(cd_addr, 0, 0, 0));
    let mut s = smmu(&mem);
    let f = s.translate(1, None, 0x1000, Access::read()).unwrap_err();
    assert!(!f.record);
    s.translate(1, Some(3), 0x1000, Access::read()).unwrap_err();
    let ev = events(&mut s, &mem);
    assert_eq!(ev, vec![bytes([0x0000_0001_0000_3808, 0, 0, 0])]);
    assert_eq!(s.stats().events_recorded, 1);
    assert_eq!(s.stats().events_dropped, 0);
}

#[test]
fn overflow_sets_ovflg_once() {
    let (mem, mut s, _, _) = setup();
    for _ in 0..34 {
        s.translate(4, None, 0, Access::read()).unwrap_err();
    }
    let prod = s.read(regs::EVTQ_PROD, AccessSize::U32) as u32;
    assert_eq!(prod, regs::Q_OVERFLOW_FLAG | 32);
    assert_eq!(s.stats().events_recorded, 32);
    assert_eq!(s.stats().events_dropped, 2);
    let ev = events(&mut s, &mem);
    assert_eq!(ev.len(), 32);
    // The helper consumed everything; acknowledge the overflow as Linux does.
    let cons = s.read(regs::EVTQ_CONS, AccessSize::U32) | u64::from(regs::Q_OVERFLOW_FLAG);
    s.write(regs::EVTQ_CONS, AccessSize::U32, cons);
    s.translate(4, None, 0, Access::read()).unwrap_err();
    assert_eq!(events(&mut s, &mem).len(), 1);
    assert_eq!(
        s.read(regs::EVTQ_PROD, AccessSize::U32) as u32,
        regs::Q_OVERFLOW_FLAG | 33
    );
}

#[test]
fn disabled_event_queue_drops_events() {
    let (mem, mut s, _, _) = setup();
    s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
    s.translate(4, None, 0, Access::read()).unwrap_err();
    assert_eq!(s.stats().events_dropped, 1);
    assert!(events(&mut s, &mem).is_empty());
}

struct Counter(AtomicU32);
impl InterruptLine for Counter {
    fn set_level(&self, high: bool) {
        if high {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn wired_and_msi_interrupts() {
    let (mem, mut s, _, _) = setup();
    let evt = Arc::new(Counter(AtomicU32::new(0)));
    let gerr = Arc::new(Counter(AtomicU32::new(0)));
    s.set_event_irq(Some(evt.clone()));
    s.set_gerror_irq(Some(gerr.clone()));
    s.translate(4, None, 0, Access::read()).unwrap_err();
    assert_eq!(
        evt.0.load(Ordering::SeqCst),
        0,
        "interrupts not enabled yet"
    );
    let en = regs::IRQ_CTRL_EVTQ_IRQEN | regs::IRQ_CTRL_GERROR_IRQEN;
    s.write(regs::IRQ_CTRL, AccessSize::U32, u64::from(en));
    assert_eq!(s.read(regs::IRQ_CTRLACK, AccessSize::U32), u64::from(en));
    s.translate(4, None, 0, Access::read()).unwrap_err();
    assert_eq!(evt.0.load(Ordering::SeqCst), 1);
    // A command error raises the GERROR interrupt once.
    submit_raw(&mut s, &mem, &[[0xff, 0]]);
    assert_eq!(gerr.0.load(Ordering::SeqCst), 1);
    // Switch the event queue to MSI: the configuration is writable only with the interrupt disabled.
    s.write(regs::EVTQ_IRQ_CFG0, AccessSize::U64, 0x3000);
    assert_eq!(s.read(regs::EVTQ_IRQ_CFG0, AccessSize::U64), 0);
    s.write(
        regs::IRQ_CTRL,
        AccessSize::U32,
        u64::from(regs::IRQ_CTRL_GERROR_IRQEN),
    );
    s.write(regs::EVTQ_IRQ_CFG0, AccessSize::U64, 0x3000);
    s.write(regs::EVTQ_IRQ_CFG1, AccessSize::U32, 0x42);
    s.write(regs::IRQ_CTRL, AccessSize::U32, u64::from(en));
    s.translate(4, None, 0, Access::read()).unwrap_err();
    assert_eq!(r32(&mem, 0x3000), 0x42);
    assert_eq!(
        evt.0.load(Ordering::SeqCst),
        1,
        "MSI replaces the wired interrupt"
    );
    let stats = s.interrupt_stats();
    assert_eq!((stats.event_irqs, stats.gerror_irqs), (2, 1));
}

#[test]
fn event_write_abort_is_a_global_error() {
    let (_mem, mut s, _, _) = setup();
    s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
    s.write(regs::EVTQ_BASE, AccessSize::U64, MEM_SIZE | 2);
    let cr0 = regs::CR0_SMMUEN | regs::CR0_EVTQEN;
    s.write(regs::CR0, AccessSize::U32, u64::from(cr0));
    s.translate(4, None, 0, Access::read()).unwrap_err();
    assert_eq!(
        s.read(regs::GERROR, AccessSize::U32),
        u64::from(regs::GERROR_EVTQ_ABT_ERR)
    );
    assert_eq!(s.read(regs::EVTQ_PROD, AccessSize::U32), 0);
}

#[test]
fn fault_event_matches_the_record_type() {
    let (_mem, mut s, _, _) = setup();
    let f = s
        .translate(1, None, 0x7000_0000_1234, Access::read())
        .unwrap_err();
    let e = f.event().unwrap();
    assert_eq!(
        e,
        EventRecord {
            read: true,
            class: 2,
            input_addr: 0x7000_0000_1234,
            ..EventRecord::new(0x10, 1)
        }
    );
}
