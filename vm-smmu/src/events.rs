//! How the SMMU reports faults and errors when the `interrupt` feature is on: fault → event record,
//! event queue, GERROR and interrupts, wired into the SMMU's register file.

use alloc::sync::Arc;

use vm_core::device::InterruptLine;
use vm_core::mem::GuestMemory;

use crate::event::*;
use crate::evtq::{EventQueue, PushOutcome};
use crate::fault::{Fault, FaultKind, FaultStage};
use crate::irq::{InterruptStats, InterruptUnit};
use crate::regs::{CR0_EVTQEN, GERROR_EVTQ_ABT_ERR, IDR0_MSI};
use crate::smmu::Smmu;

/// `IDR0` bits this unit adds: MSIs are supported.
pub(crate) const IDR0_BITS: u32 = IDR0_MSI;

impl Fault {
    /// The event record this fault is reported with, or `None` for silent aborts.
    pub fn event(&self) -> Option<EventRecord> {
        let base = EventRecord::new(0, self.stream_id);
        let with_ssid = EventRecord {
            substream_id: self.substream_id,
            ..base
        };
        let access = EventRecord {
            read: self.access.is_read(),
            privileged: self.access.privileged,
            instruction: self.access.is_instruction(),
            input_addr: self.iova,
            ..with_ssid
        };
        let stage_fields = |stage: &FaultStage| match *stage {
            FaultStage::Stage1 => (false, 2, 0),
            FaultStage::Stage2 { class, ipa } => {
                (true, class.encoding(), ipa & 0x000f_ffff_ffff_f000)
            }
        };
        let walk = |id, stage: &FaultStage| {
            let (stage2, class, ipa) = stage_fields(stage);
            EventRecord {
                id,
                stage2,
                class,
                addr2: ipa,
                ..access
            }
        };
        let fetch = |addr: u64| addr & 0x000f_ffff_ffff_fff8;
        Some(match &self.kind {
            FaultKind::Aborted => return None,
            FaultKind::BadStreamId => EventRecord {
                id: C_BAD_STREAMID,
                ..with_ssid
            },
            FaultKind::SteFetch { fetch_addr } => EventRecord {
                id: F_STE_FETCH,
                addr2: fetch(*fetch_addr),
                ..with_ssid
            },
            FaultKind::BadSte => EventRecord {
                id: C_BAD_STE,
                ..with_ssid
            },
            FaultKind::StreamDisabled => EventRecord {
                id: F_STREAM_DISABLED,
                ..base
            },
            FaultKind::BadSubstreamId => EventRecord {
                id: C_BAD_SUBSTREAMID,
                ..with_ssid
            },
            FaultKind::CdFetch { fetch_addr } => EventRecord {
                id: F_CD_FETCH,
                addr2: fetch(*fetch_addr),
                ..with_ssid
            },
            FaultKind::BadCd => EventRecord {
                id: C_BAD_CD,
                ..with_ssid
            },
            FaultKind::WalkExternalAbort {
                stage, fetch_addr, ..
            } => {
                let (stage2, class, _) = stage_fields(stage);
                EventRecord {
                    id: F_WALK_EABT,
                    stage2,
                    class,
                    addr2: fetch(*fetch_addr),
                    ..access
                }
            }
            FaultKind::Translation { stage, .. } => walk(F_TRANSLATION, stage),
            FaultKind::AddressSize { stage, .. } => walk(F_ADDR_SIZE, stage),
            FaultKind::AccessFlag { stage, .. } => walk(F_ACCESS, stage),
            FaultKind::Permission { stage, .. } => walk(F_PERMISSION, stage),
            FaultKind::TranslationForbidden => EventRecord {
                id: F_TRANSL_FORBIDDEN,
                read: self.access.is_read(),
                input_addr: self.iova,
                ..base
            },
            FaultKind::BadAtsRequest => EventRecord {
                id: F_BAD_ATS_TREQ,
                input_addr: self.iova & !0xfff,
                ..access
            },
        })
    }
}

/// The SMMU's event queue and interrupt unit.
pub(crate) struct EventSink {
    pub(crate) irq: InterruptUnit,
    pub(crate) evtq: EventQueue,
}

impl EventSink {
    pub(crate) fn new(evtq_log2: u32) -> Self {
        Self {
            irq: InterruptUnit::new(),
            evtq: EventQueue::new(evtq_log2),
        }
    }

    pub(crate) fn read32(&self, offset: u64) -> Option<u32> {
        self.irq
            .read_reg(offset)
            .or_else(|| self.evtq.read_reg(offset))
    }

    /// Write a register; returns the global errors acknowledged, `None` if the offset is not ours.
    pub(crate) fn write32(&mut self, offset: u64, value: u32, cr0: u32) -> Option<u32> {
        if let Some(acked) = self.irq.write_reg(offset, value) {
            return Some(acked);
        }
        self.evtq
            .write_reg(offset, value, cr0 & CR0_EVTQEN != 0)
            .then_some(0)
    }

    /// Record `fault` in the event queue; `true` if it was written.
    pub(crate) fn record(&mut self, mem: &dyn GuestMemory, cr0: u32, fault: &Fault) -> bool {
        let Some(record) = fault.event() else {
            return false;
        };
        match self.evtq.push(mem, cr0 & CR0_EVTQEN != 0, &record) {
            PushOutcome::Written => {
                self.irq.signal_event(mem);
                true
            }
            PushOutcome::Aborted => {
                self.irq.raise_gerror(mem, GERROR_EVTQ_ABT_ERR);
                false
            }
            PushOutcome::Overflow | PushOutcome::Disabled => false,
        }
    }

    pub(crate) fn raise_gerror(&mut self, mem: &dyn GuestMemory, bits: u32) {
        self.irq.raise_gerror(mem, bits);
    }

    pub(crate) fn gerror_active(&self, bits: u32) -> bool {
        self.irq.gerror().is_active(bits)
    }

    pub(crate) fn sync_msi(&mut self, mem: &dyn GuestMemory, addr: u64, data: u32) {
        self.irq.sync_msi(mem, addr, data);
    }
}

impl Smmu {
    /// Connect the wired event queue interrupt (used when `EVENTQ_IRQ_CFG0` holds no MSI address).
    pub fn set_event_irq(&mut self, line: Option<Arc<dyn InterruptLine>>) {
        self.events.irq.set_event_line(line);
    }

    /// Connect the wired GERROR interrupt (used when `GERROR_IRQ_CFG0` holds no MSI address).
    pub fn set_gerror_irq(&mut self, line: Option<Arc<dyn InterruptLine>>) {
        self.events.irq.set_gerror_line(line);
    }

    /// Interrupt delivery counters.
    pub fn interrupt_stats(&self) -> InterruptStats {
        self.events.irq.stats()
    }
}
