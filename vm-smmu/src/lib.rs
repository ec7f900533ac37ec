//! # vm-smmu: an Arm SMMUv3 (IOMMU) emulation
//!
//! The SMMU sits between DMA-capable devices and guest memory. The guest's driver programs it through
//! memory-mapped registers and in-memory structures (stream table, context descriptors, translation
//! tables, command and event queues); device models ask it to translate each DMA address. This crate is
//! pure logic: `#![no_std]` with `alloc`, reading and writing guest structures through
//! [`vm_core::mem::GuestMemory`].
//!
//! What is modelled: linear and two-level stream tables; STEs with abort, bypass, stage-1, stage-2 and
//! nested configurations; linear and two-level context descriptor tables with substreams (PASIDs);
//! AArch64 translation tables with 4, 16 and 64 KiB granules, 48-bit output addresses, access flag and
//! permission checks (read/write/execute, privileged/unprivileged, hierarchical permissions); the
//! command queue with configuration and TLB invalidation, ATC invalidation and `CMD_SYNC`; the event
//! queue with overflow handling; `GERROR`; MSI and wired interrupts. Not modelled: the PRI queue,
//! stalling faults, secure streams, EL2 (`IDR0.HYP`) regimes, hardware access/dirty flag updates and
//! AArch32 tables; the identification registers say so, so a driver does not use them.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mmu` (default) | `Smmu`: the register file (a `vm_core::device::MmioDevice`), stream table, STE/CD decoding, the stage-1/stage-2 walk, the command queue and `Smmu::translate` |
//! | `tlb` (default, needs `mmu`) | the TLB and configuration cache with their invalidation commands (`Smmu::tlb_stats`); without it every translation reads the tables |
//! | `atsu` (default, needs `mmu`) | PCIe ATS: `Smmu::translate_ats`, `CMD_ATC_INV` delivered to an `AtsDevice`, `STE.EATS` |
//! | `interrupt` (default) | `EventRecord`s, the `EventQueue`, the `InterruptUnit` (GERROR, MSI and wired interrupts); with `mmu`, faults are recorded as events |
//!
//! Register offsets ([`regs`]), queue index arithmetic ([`queue`]) and the `GERROR` pair ([`gerror`])
//! are always available.
//!
//! ## Example
//!
//! ```
//! # #[cfg(feature = "mmu")] {
//! use std::sync::{Arc, Mutex};
//! use vm_core::device::MmioDevice;
//! use vm_core::mem::{AccessSize, GuestMemory, MemFault};
//! use vm_core::GuestPhysAddr;
//! use vm_smmu::{regs, Access, FaultKind, Smmu, SmmuConfig};
//!
//! /// 64 KiB of guest RAM at address 0.
//! struct Ram(Mutex<Vec<u8>>);
//! impl GuestMemory for Ram {
//!     fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
//!         let m = self.0.lock().unwrap();
//!         let s = addr.raw() as usize;
//!         buf.copy_from_slice(m.get(s..s + buf.len()).ok_or(MemFault::Unmapped { addr })?);
//!         Ok(())
//!     }
//!     fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
//!         let mut m = self.0.lock().unwrap();
//!         let s = addr.raw() as usize;
//!         m.get_mut(s..s + buf.len()).ok_or(MemFault::Unmapped { addr })?.copy_from_slice(buf);
//!         Ok(())
//!     }
//! }
//!
//! let ram = Arc::new(Ram(Mutex::new(vec![0; 0x10000])));
//! // A linear stream table of 16 STEs at 0x1000; stream 0 bypasses (V = 1, Config = 0b100).
//! ram.write_u64(GuestPhysAddr(0x1000), 0b1001)?;
//! let mut smmu = Smmu::new(ram, SmmuConfig::default())?;
//! smmu.write(regs::STRTAB_BASE, AccessSize::U64, 0x1000);
//! smmu.write(regs::STRTAB_BASE_CFG, AccessSize::U32, 4);
//! smmu.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
//!
//! let t = smmu.translate(0, None, 0x1234, Access::read()).unwrap();
//! assert_eq!(t.addr, GuestPhysAddr(0x1234));
//! let fault = smmu.translate(16, None, 0x1234, Access::read()).unwrap_err();
//! assert_eq!(fault.kind, FaultKind::BadStreamId);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

mod error;
pub mod gerror;
pub mod queue;
pub mod regs;

pub use error::{Error, Result};

// The translation unit.
#[cfg(feature = "mmu")]
mod cd;
#[cfg(feature = "mmu")]
pub mod cmd;
#[cfg(feature = "mmu")]
mod cmdq;
#[cfg(feature = "mmu")]
mod config;
#[cfg(feature = "mmu")]
mod fault;
#[cfg(feature = "mmu")]
mod mmio;
#[cfg(feature = "mmu")]
mod perms;
#[cfg(feature = "mmu")]
mod smmu;
#[cfg(feature = "mmu")]
mod ste;
#[cfg(feature = "mmu")]
mod translate;
#[cfg(feature = "mmu")]
mod walk;

#[cfg(feature = "mmu")]
pub use config::SmmuConfig;
#[cfg(feature = "mmu")]
pub use fault::{
    Access, AccessKind, Fault, FaultClass, FaultKind, FaultStage, Permissions, Translation,
};
#[cfg(feature = "mmu")]
pub use smmu::{Smmu, SmmuStats};
#[cfg(feature = "mmu")]
pub use walk::Granule;

// The TLB and configuration cache, or their absence.
#[cfg(feature = "tlb")]
mod tlb;
#[cfg(all(feature = "mmu", not(feature = "tlb")))]
#[path = "tlb_disabled.rs"]
mod tlb;

#[cfg(feature = "tlb")]
pub use tlb::TlbStats;

// The ATS unit, or its absence.
#[cfg(feature = "atsu")]
mod ats;
#[cfg(all(feature = "mmu", not(feature = "atsu")))]
#[path = "ats_disabled.rs"]
mod ats;

#[cfg(feature = "atsu")]
pub use ats::{AtcInvalidation, AtsCompletion, AtsDevice, AtsRequest, AtsStats, AtsTranslation};

// Event queue and interrupts.
#[cfg(feature = "interrupt")]
pub mod event;
#[cfg(feature = "interrupt")]
pub mod evtq;
#[cfg(feature = "interrupt")]
pub mod irq;

#[cfg(feature = "interrupt")]
pub use event::EventRecord;
#[cfg(feature = "interrupt")]
pub use evtq::{EventQueue, PushOutcome};
#[cfg(feature = "interrupt")]
pub use irq::{InterruptStats, InterruptUnit, MsiConfig};

// How the SMMU reports faults: through the event queue, or not at all.
#[cfg(all(feature = "mmu", feature = "interrupt"))]
mod events;
#[cfg(all(feature = "mmu", not(feature = "interrupt")))]
#[path = "events_disabled.rs"]
mod events;

#[cfg(all(test, any(feature = "mmu", feature = "interrupt")))]
mod testmem;
