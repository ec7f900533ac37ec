//! The SMMU instance: its state, construction and the DMA translation entry point.

use alloc::sync::Arc;

use vm_core::mem::GuestMemory;

use crate::cd::Cd;
use crate::config::SmmuConfig;
use crate::error::Result;
use crate::fault::{Access, Fault, FaultKind, FaultStage, Translation};
use crate::queue::Queue;
use crate::regs::{CR0_SMMUEN, GBPA_ABORT};
use crate::ste::{S2Config, StreamMode};
use crate::{ats, events, tlb};

/// Size of one command queue entry in bytes.
pub(crate) const CMD_BYTES: u64 = 16;

/// Counters of what the SMMU has done, for diagnostics.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SmmuStats {
    /// Calls to [`Smmu::translate`] (and ATS requests).
    pub translations: u64,
    /// Translations that ended in a fault.
    pub faults: u64,
    /// Commands consumed from the command queue.
    pub commands: u64,
    /// Faults written to the event queue.
    pub events_recorded: u64,
    /// Faults that asked to be recorded but were not: the event queue was disabled, full or not
    /// writable, or the `interrupt` feature is off.
    pub events_dropped: u64,
}

/// A stream's decoded configuration for one substream: what the configuration cache holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamConfig {
    pub mode: StreamMode,
    pub vmid: u16,
    pub eats: u8,
    /// The stage-1 context; `None` when stage 1 is bypassed.
    pub cd: Option<Cd>,
    pub s2: Option<S2Config>,
}

/// A terminated translation before it is tied to its request: the fault and whether to record it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Term {
    pub kind: FaultKind,
    pub record: bool,
}

impl From<FaultKind> for Term {
    /// Configuration errors are always recorded.
    fn from(kind: FaultKind) -> Self {
        Self { kind, record: true }
    }
}

/// Which translation stages a TLB entry covers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Regime {
    Stage1,
    Stage2,
    Nested,
}

/// What tags a TLB entry besides its address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlbTag {
    pub vmid: u16,
    /// The ASID of stage-1 regimes.
    pub asid: Option<u16>,
    pub regime: Regime,
}

/// Which TLB entries a command invalidates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TlbInvalidation {
    /// Everything (`CMD_TLBI_NSNH_ALL`).
    All,
    /// Every entry of a VMID, both stages (`CMD_TLBI_S12_VMALL`).
    Vmid(u16),
    /// Every stage-1 entry of a VMID (`CMD_TLBI_NH_ALL`).
    Stage1 { vmid: u16 },
    /// Non-global stage-1 entries of an ASID (`CMD_TLBI_NH_ASID`).
    Asid { vmid: u16, asid: u16 },
    /// Stage-1 entries overlapping `[start, start + len)` of one ASID (plus global entries), or of every
    /// ASID when `asid` is `None` (`CMD_TLBI_NH_VA`, `CMD_TLBI_NH_VAA`).
    Va {
        vmid: u16,
        asid: Option<u16>,
        start: u64,
        len: u64,
    },
    /// Stage-2 entries overlapping an IPA range, and every nested entry of the VMID
    /// (`CMD_TLBI_S2_IPA`).
    Ipa { vmid: u16, start: u64, len: u64 },
}

/// An emulated SMMUv3.
///
/// Software programs it through its registers ([`MmioDevice`](vm_core::device::MmioDevice)); device
/// models ask it to translate their DMA with [`Smmu::translate`]. Methods take `&mut self`: wrap the SMMU
/// in a lock to share it between the MMIO bus and devices.
pub struct Smmu {
    pub(crate) mem: Arc<dyn GuestMemory + Send + Sync>,
    pub(crate) config: SmmuConfig,
    pub(crate) cr0: u32,
    pub(crate) cr1: u32,
    pub(crate) cr2: u32,
    pub(crate) gbpa: u32,
    pub(crate) strtab_base: u64,
    pub(crate) strtab_cfg: u32,
    pub(crate) cmdq: Queue,
    pub(crate) events: events::EventSink,
    pub(crate) tlb: tlb::Tlb,
    pub(crate) ats: ats::AtsUnit,
    pub(crate) stats: SmmuStats,
}

impl core::fmt::Debug for Smmu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Smmu")
            .field("config", &self.config)
            .field("cr0", &self.cr0)
            .field("strtab_base", &self.strtab_base)
            .field("strtab_cfg", &self.strtab_cfg)
            .field("cmdq", &self.cmdq)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Smmu {
    /// A reset SMMU (disabled, bypassing while disabled) that reads and writes `mem`.
    pub fn new(mem: Arc<dyn GuestMemory + Send + Sync>, config: SmmuConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            mem,
            config,
            cr0: 0,
            cr1: 0,
            cr2: 0,
            gbpa: 0,
            strtab_base: 0,
            strtab_cfg: 0,
            cmdq: Queue::new(CMD_BYTES, config.cmdq_log2),
            events: events::EventSink::new(config.evtq_log2),
            tlb: tlb::Tlb::new(config.tlb_entries, config.config_cache_entries),
            ats: ats::AtsUnit::new(),
            stats: SmmuStats::default(),
        })
    }

    /// The parameters the SMMU was built with.
    pub const fn config(&self) -> &SmmuConfig {
        &self.config
    }

    /// Activity counters.
    pub const fn stats(&self) -> SmmuStats {
        self.stats
    }

    /// Whether software has enabled translation (`CR0.SMMUEN`).
    pub const fn is_enabled(&self) -> bool {
        self.cr0 & CR0_SMMUEN != 0
    }

    /// Translate a DMA access of stream `stream_id` (and substream `substream_id`, the PCIe PASID) at
    /// `iova`.
    ///
    /// On success the result gives the guest physical address and the size of the linearly mapped
    /// region around it. On failure the fault is returned and, if the configuration asks for it, recorded
    /// in the event queue (with the `interrupt` feature).
    pub fn translate(
        &mut self,
        stream_id: u32,
        substream_id: Option<u32>,
        iova: u64,
        access: Access,
    ) -> core::result::Result<Translation, Fault> {
        self.stats.translations += 1;
        match self.translate_untranslated(stream_id, substream_id, iova, access) {
            Ok(t) => Ok(t),
            Err(term) => Err(self.terminate(term, stream_id, substream_id, iova, access)),
        }
    }

    /// Turn an internal termination into a [`Fault`], recording it if asked to.
    pub(crate) fn terminate(
        &mut self,
        term: Term,
        stream_id: u32,
        substream_id: Option<u32>,
        iova: u64,
        access: Access,
    ) -> Fault {
        let fault = Fault {
            kind: term.kind,
            stream_id,
            substream_id,
            iova,
            access,
            record: term.record && term.kind != FaultKind::Aborted,
        };
        self.stats.faults += 1;
        if fault.record {
            if self.events.record(&*self.mem, self.cr0, &fault) {
                self.stats.events_recorded += 1;
            } else {
                self.stats.events_dropped += 1;
            }
        }
        fault
    }

    /// The SMMU is disabled: bypass or abort as `GBPA` says.
    pub(crate) fn disabled_access(&self, iova: u64) -> core::result::Result<Translation, Term> {
        if self.gbpa & GBPA_ABORT != 0 {
            Err(Term {
                kind: FaultKind::Aborted,
                record: false,
            })
        } else {
            Ok(Translation::identity(iova))
        }
    }

    /// Whether a translation-stage fault should be recorded under `cfg` (`CD.R` / `STE.S2R`).
    pub(crate) fn record_flag(kind: &FaultKind, cfg: &StreamConfig) -> bool {
        let stage = match kind {
            FaultKind::Translation { stage, .. }
            | FaultKind::AddressSize { stage, .. }
            | FaultKind::AccessFlag { stage, .. }
            | FaultKind::Permission { stage, .. } => stage,
            _ => return true,
        };
        match stage {
            FaultStage::Stage1 => cfg.cd.is_some_and(|cd| cd.record),
            FaultStage::Stage2 { .. } => cfg.s2.is_some_and(|s2| s2.record),
        }
    }
}
