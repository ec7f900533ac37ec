//! The event queue and interrupt unit used on their own (the `interrupt` feature without `mmu`), as a
//! different translation front end would.

#![cfg(feature = "interrupt")]

use std::sync::Mutex;

use vm_core::GuestPhysAddr;
use vm_core::mem::{GuestMemory, MemFault};
use vm_smmu::event::{C_BAD_STREAMID, F_TRANSLATION};
use vm_smmu::{EventQueue, EventRecord, InterruptUnit, PushOutcome, regs};

struct Ram(Mutex<Vec<u8>>);

impl GuestMemory for Ram {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        let m = self.0.lock().unwrap();
        let s = addr.raw() as usize;
        buf.copy_from_slice(m.get(s..s + buf.len()).ok_or(MemFault::Unmapped { addr })?);
        Ok(())
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        let mut m = self.0.lock().unwrap();
        let s = addr.raw() as usize;
        m.get_mut(s..s + buf.len())
            .ok_or(MemFault::Unmapped { addr })?
            .copy_from_slice(buf);
        Ok(())
    }
}

#[test]
fn events_and_msis_without_the_translation_unit() {
    let ram = Ram(Mutex::new(vec![0; 0x4000]));
    let mut q = EventQueue::new(4);
    let mut irq = InterruptUnit::new();
    assert!(q.write_reg(regs::EVTQ_BASE, 0x1000 | 2, false));
    irq.write_reg(regs::EVTQ_IRQ_CFG0, 0x3000);
    irq.write_reg(regs::EVTQ_IRQ_CFG1, 0xabcd);
    irq.write_reg(regs::IRQ_CTRL, regs::IRQ_CTRL_EVTQ_IRQEN);
    let rec = EventRecord {
        input_addr: 0x4000_1000,
        read: true,
        ..EventRecord::new(F_TRANSLATION, 9)
    };
    for i in 0..5 {
        let outcome = q.push(&ram, true, &rec);
        if outcome == PushOutcome::Written {
            irq.signal_event(&ram);
        }
        assert_eq!(
            outcome,
            if i < 4 {
                PushOutcome::Written
            } else {
                PushOutcome::Overflow
            }
        );
    }
    assert_eq!(q.read_reg(regs::EVTQ_PROD), Some(regs::Q_OVERFLOW_FLAG | 4));
    assert_eq!(ram.read_u32(GuestPhysAddr(0x3000)).unwrap(), 0xabcd);
    assert_eq!(irq.stats().event_irqs, 4);
    let mut b = [0u8; 32];
    ram.read(GuestPhysAddr(0x1000 + 3 * 32), &mut b).unwrap();
    assert_eq!(
        u64::from_le_bytes(b[..8].try_into().unwrap()),
        0x0000_0009_0000_0010
    );
    assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 1 << 35);
    assert_eq!(
        u64::from_le_bytes(b[16..24].try_into().unwrap()),
        0x4000_1000
    );
    // The queue wraps once software consumes.
    q.write_reg(regs::EVTQ_CONS, 4 | regs::Q_OVERFLOW_FLAG, true);
    assert_eq!(
        q.push(&ram, true, &EventRecord::new(C_BAD_STREAMID, 1)),
        PushOutcome::Written
    );
    assert_eq!(q.read_reg(regs::EVTQ_PROD), Some(regs::Q_OVERFLOW_FLAG | 5));
    ram.read(GuestPhysAddr(0x1000), &mut b).unwrap();
    assert_eq!(
        EventRecord::from_bytes(&b),
        EventRecord::new(C_BAD_STREAMID, 1)
    );
}
