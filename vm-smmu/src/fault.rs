//! DMA accesses, their translations and the faults they can take.
//!
//! A fault is a guest-visible value, not a host error: [`Smmu::translate`](crate::Smmu::translate)
//! returns it to the device model (which terminates the DMA) and, when the configuration asks for it,
//! records it in the guest's event queue.

use core::fmt;

use vm_core::GuestPhysAddr;
pub use vm_core::mem::AccessKind;

/// One DMA access as a device issues it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Read, write, instruction fetch or atomic (read and write).
    pub kind: AccessKind,
    /// Whether the access is privileged (PCIe PASID "privileged mode", AXI `AxPROT[0]`).
    pub privileged: bool,
}

impl Access {
    /// An access of `kind` with the given privilege.
    pub const fn new(kind: AccessKind, privileged: bool) -> Self {
        Self { kind, privileged }
    }

    /// An unprivileged data read.
    pub const fn read() -> Self {
        Self::new(AccessKind::Read, false)
    }

    /// An unprivileged data write.
    pub const fn write() -> Self {
        Self::new(AccessKind::Write, false)
    }

    /// The same access, made privileged.
    pub const fn privileged(self) -> Self {
        Self {
            privileged: true,
            ..self
        }
    }

    /// The `RnW` bit of an event record: reads and fetches are 1.
    pub const fn is_read(&self) -> bool {
        matches!(self.kind, AccessKind::Read | AccessKind::Fetch)
    }

    /// Whether this is an instruction fetch (`InD`).
    pub const fn is_instruction(&self) -> bool {
        matches!(self.kind, AccessKind::Fetch)
    }
}

/// What a mapping allows, for one privilege level.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Permissions {
    /// Data reads.
    pub read: bool,
    /// Data writes.
    pub write: bool,
    /// Instruction fetches.
    pub execute: bool,
}

impl Permissions {
    /// Everything allowed (bypass).
    pub const ALL: Self = Self {
        read: true,
        write: true,
        execute: true,
    };

    /// Whether an access of `kind` is allowed.
    pub const fn allows(&self, kind: AccessKind) -> bool {
        match kind {
            AccessKind::Read => self.read,
            AccessKind::Write => self.write,
            AccessKind::Fetch => self.execute,
            AccessKind::Atomic => self.read && self.write,
        }
    }

    /// What both `self` and `other` allow.
    pub const fn intersect(self, other: Self) -> Self {
        Self {
            read: self.read && other.read,
            write: self.write && other.write,
            execute: self.execute && other.execute,
        }
    }
}

/// A successful translation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The input address.
    pub iova: u64,
    /// The output (guest physical) address of `iova`.
    pub addr: GuestPhysAddr,
    /// Size of the naturally aligned region around `iova` that maps linearly with it (the page or
    /// block size; for nested translation the smaller of the two stages).
    pub size: u64,
    /// What the mapping allows at the access's privilege level (both stages combined).
    pub permissions: Permissions,
}

impl Translation {
    /// The identity translation used for bypass: `iova` maps to itself in a 4 KiB page.
    pub const fn identity(iova: u64) -> Self {
        Self {
            iova,
            addr: GuestPhysAddr(iova),
            size: 4096,
            permissions: Permissions::ALL,
        }
    }
}

/// Which structure a stage-2 fault happened while fetching (the `CLASS` field of an event).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultClass {
    /// Fetching a context descriptor (or a level-1 CD table descriptor).
    ContextDescriptor,
    /// Fetching a stage-1 translation table descriptor.
    TranslationTable,
    /// Translating the input address itself.
    Input,
}

impl FaultClass {
    /// The encoding of the event record's `CLASS` field.
    pub const fn encoding(self) -> u8 {
        match self {
            Self::ContextDescriptor => 0b00,
            Self::TranslationTable => 0b01,
            Self::Input => 0b10,
        }
    }
}

/// The stage a translation-related fault belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultStage {
    /// Stage 1 (the context descriptor's tables).
    Stage1,
    /// Stage 2 (the STE's tables), translating `ipa` for the purpose `class` gives.
    Stage2 {
        /// What the IPA was being translated for.
        class: FaultClass,
        /// The intermediate physical address being translated.
        ipa: u64,
    },
}

/// Why a transaction was terminated. Each variant names the architecture's event it records.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Terminated without an event: `STE.Config` is abort, or the SMMU is disabled with `GBPA.ABORT`.
    Aborted,
    /// `C_BAD_STREAMID`: the stream ID is outside the stream table.
    BadStreamId,
    /// `F_STE_FETCH`: reading the STE (or level-1 descriptor) at `fetch_addr` failed.
    SteFetch {
        /// Physical address of the failed read.
        fetch_addr: u64,
    },
    /// `C_BAD_STE`: the STE is invalid or holds an illegal configuration.
    BadSte,
    /// `F_STREAM_DISABLED`: a transaction without a substream ID on a stream whose `S1DSS` terminates it.
    StreamDisabled,
    /// `C_BAD_SUBSTREAMID`: the substream ID is out of range or not allowed for this stream.
    BadSubstreamId,
    /// `F_CD_FETCH`: reading the context descriptor at `fetch_addr` failed.
    CdFetch {
        /// Physical address of the failed read.
        fetch_addr: u64,
    },
    /// `C_BAD_CD`: the context descriptor is invalid or holds an illegal configuration.
    BadCd,
    /// `F_WALK_EABT`: reading a translation table descriptor at `fetch_addr` failed.
    WalkExternalAbort {
        /// The stage whose table was read.
        stage: FaultStage,
        /// The level of the descriptor.
        level: u8,
        /// Physical address of the failed read.
        fetch_addr: u64,
    },
    /// `F_TRANSLATION`: no valid mapping.
    Translation {
        /// The faulting stage.
        stage: FaultStage,
        /// The level of the faulting descriptor.
        level: u8,
    },
    /// `F_ADDR_SIZE`: an address exceeds the configured output size.
    AddressSize {
        /// The faulting stage.
        stage: FaultStage,
        /// The level of the faulting descriptor.
        level: u8,
    },
    /// `F_ACCESS`: the mapping's access flag is clear (and `AFFD` is not set).
    AccessFlag {
        /// The faulting stage.
        stage: FaultStage,
        /// The level of the faulting descriptor.
        level: u8,
    },
    /// `F_PERMISSION`: the mapping does not allow this access.
    Permission {
        /// The faulting stage.
        stage: FaultStage,
        /// The level of the leaf descriptor.
        level: u8,
    },
    /// `F_TRANSL_FORBIDDEN`: an ATS-translated transaction on a stream that does not allow them.
    TranslationForbidden,
    /// `F_BAD_ATS_TREQ`: an ATS translation request on a stream without ATS enabled.
    BadAtsRequest,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = |s: &FaultStage| match s {
            FaultStage::Stage1 => "stage 1",
            FaultStage::Stage2 { .. } => "stage 2",
        };
        match self {
            Self::Aborted => write!(f, "Transaction aborted by configuration"),
            Self::BadStreamId => write!(f, "Stream ID outside the stream table"),
            Self::SteFetch { fetch_addr } => write!(f, "STE fetch from {fetch_addr:#x} failed"),
            Self::BadSte => write!(f, "Invalid stream table entry"),
            Self::StreamDisabled => write!(f, "Stream disabled for non-substream transactions"),
            Self::BadSubstreamId => write!(f, "Substream ID not valid for this stream"),
            Self::CdFetch { fetch_addr } => write!(f, "CD fetch from {fetch_addr:#x} failed"),
            Self::BadCd => write!(f, "Invalid context descriptor"),
            Self::WalkExternalAbort {
                stage: s,
                level,
                fetch_addr,
            } => write!(
                f,
                "External abort reading the {} level-{level} descriptor at {fetch_addr:#x}",
                stage(s)
            ),
            Self::Translation { stage: s, level } => {
                write!(f, "{} translation fault at level {level}", stage(s))
            }
            Self::AddressSize { stage: s, level } => {
                write!(f, "{} address size fault at level {level}", stage(s))
            }
            Self::AccessFlag { stage: s, level } => {
                write!(f, "{} access flag fault at level {level}", stage(s))
            }
            Self::Permission { stage: s, level } => {
                write!(f, "{} permission fault at level {level}", stage(s))
            }
            Self::TranslationForbidden => write!(f, "ATS-translated transaction not allowed"),
            Self::BadAtsRequest => write!(f, "ATS translation request on a stream without ATS"),
        }
    }
}

/// A terminated transaction: what went wrong and for which access.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fault {
    /// What went wrong.
    pub kind: FaultKind,
    /// The stream (device) that made the access.
    pub stream_id: u32,
    /// The substream (PASID), if the access carried one.
    pub substream_id: Option<u32>,
    /// The input address.
    pub iova: u64,
    /// The access.
    pub access: Access,
    /// Whether the configuration asks for this fault to be recorded as an event (`CD.R` for stage-1
    /// faults, `STE.S2R` for stage-2 faults; always for configuration errors, never for
    /// [`FaultKind::Aborted`]).
    pub record: bool,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stream {:#x}", self.stream_id)?;
        if let Some(ssid) = self.substream_id {
            write!(f, " substream {ssid:#x}")?;
        }
        write!(f, ", IOVA {:#x}: {}", self.iova, self.kind)
    }
}

impl core::error::Error for Fault {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn permission_checks_per_kind() {
        let ro = Permissions {
            read: true,
            write: false,
            execute: false,
        };
        assert!(ro.allows(AccessKind::Read));
        assert!(!ro.allows(AccessKind::Write));
        assert!(!ro.allows(AccessKind::Atomic));
        assert!(!ro.allows(AccessKind::Fetch));
        assert!(Permissions::ALL.allows(AccessKind::Atomic));
        assert_eq!(Permissions::ALL.intersect(ro), ro);
    }

    #[test]
    fn access_bits() {
        assert!(Access::read().is_read());
        assert!(!Access::write().is_read());
        assert!(Access::new(AccessKind::Fetch, false).is_instruction());
        assert!(Access::write().privileged().privileged);
    }

    #[test]
    fn display_names_the_stream_and_fault() {
        let f = Fault {
            kind: FaultKind::Translation {
                stage: FaultStage::Stage1,
                level: 3,
            },
            stream_id: 0x12,
            substream_id: Some(4),
            iova: 0x1000,
            access: Access::read(),
            record: true,
        };
        assert_eq!(
            f.to_string(),
            "Stream 0x12 substream 0x4, IOVA 0x1000: stage 1 translation fault at level 3"
        );
    }
}
