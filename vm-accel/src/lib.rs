//! # vm-accel: hardware virtualisation for the vm workspace
//!
//! Runs guest vCPUs on the host's hypervisor instead of an execution engine. Exits (MMIO, port I/O,
//! `hlt`, shutdown) come back as typed [`VcpuExit`]s, so that the same `vm-core` buses and device models
//! serve accelerated and emulated guests alike.
//!
//! - [`probe`] turns the configured [`AccelKind`](vm_core::config::AccelKind) into an open
//!   [`Accelerator`], or an [`Error`] that says exactly why not (device missing, permission denied,
//!   API version, not built for this OS);
//! - [`Accelerator`] → [`AccelVm`] (guest memory, interrupt controller, vCPUs) → [`AccelVcpu`]
//!   (registers in our own [`X86Regs`]/[`X86Sregs`], `run`, read completion);
//! - `kvm` (Linux, x86-64): the KVM back end on rust-vmm's `kvm-ioctls`, with capability reporting
//!   ([`AccelInfo`]) and `kvm::kvm_flavor`, which tells hardware VMX/SVM from PVM (a software KVM for
//!   nested clouds, under which guest ring-0 code is emulated and therefore slow);
//! - `cpu` (x86 hosts): `cpu::CpuFeatures`, host CPU features via `raw-cpuid`, and the same decoding
//!   of the CPUID an accelerator gives guests ([`Accelerator::guest_cpuid`]);
//! - `map_phys_memory`: maps the RAM and ROM of a vm-mem `PhysMemory` into a VM, which keeps it alive
//!   ([`AccelVm::retain`]);
//! - `x86_boot` (x86-64 hosts): what a VMM writes to start a kernel in 64-bit mode without firmware
//!   (page tables, GDT, boot registers), the Linux boot protocol on rust-vmm's `linux-loader`
//!   (bzImage, zero page, e820, command line, initrd) and the MP table;
//! - `AccelReport`: the `vm accel-info` report (host CPU, accelerator, flavour, guest CPU), as a
//!   table or JSON.
//!
//! Once the in-kernel interrupt controller is set up ([`AccelVm::setup_irqchip`]), `hlt` and the
//! controllers' ports (PIC, PIT, IOAPIC, local APIC) are handled in the kernel and do not exit. Other
//! threads stop a running vCPU with its [`VcpuKicker`].
//!
//! HVF and VZ (macOS) and WHPX (Windows) have no back end yet: asking for them returns
//! [`Error::NotAvailable`] naming the host OS. SMMU-translated DMA for accelerated VMs waits for
//! vm-smmu's API.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `acceleration` (default) | `cpu` (raw-cpuid, x86 hosts), `kvm` (kvm-ioctls, kvm-bindings, vmm-sys-util; Linux x86-64 hosts), `map_phys_memory` (vm-mem), `x86_boot` (linux-loader, vm-memory; x86-64 hosts), `AccelReport` (serde_json); pulls in vm-smmu |
//! | `hardware`, `smmu` | deprecated aliases of `acceleration` (the build prints a warning naming it) |
//!
//! Without `acceleration` the API, the register types and [`probe`] remain; `probe` then answers
//! [`Error::FeatureDisabled`] for KVM.
//!
//! ## Example
//!
//! ```
//! use vm_accel::{probe, Error};
//! use vm_core::config::AccelKind;
//!
//! match probe(AccelKind::Auto) {
//!     Ok(accel) => {
//!         let info = accel.info();
//!         println!("{info}");
//!         let mut vm = accel.create_vm()?;
//!         let vcpu = vm.create_vcpu(0)?;
//!         assert_eq!(vcpu.id(), 0);
//!     }
//!     // No accelerator on this host: the message says why (missing /dev/kvm, permissions, ...).
//!     Err(e) if e.is_unavailable() => println!("running emulated: {e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), Error>(())
//! ```

#![warn(missing_docs)]

mod accel;
mod error;
#[cfg(feature = "acceleration")]
mod guest_memory;
mod probe;
#[cfg(feature = "acceleration")]
mod report;
mod x86;
#[cfg(all(feature = "acceleration", target_arch = "x86_64"))]
pub mod x86_boot;

#[cfg(all(
    feature = "acceleration",
    any(target_arch = "x86", target_arch = "x86_64")
))]
pub mod cpu;
#[cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]
pub mod kvm;

pub use accel::{
    AccelInfo, AccelVcpu, AccelVm, Accelerator, Capability, CpuidEntry, MemoryRegion, MemorySlot,
    SystemEventKind, VcpuExit, VcpuKicker,
};
pub use error::{Error, PendingRead, Result};
#[cfg(feature = "acceleration")]
pub use guest_memory::map_phys_memory;
pub use probe::{native_accel, probe};
#[cfg(feature = "acceleration")]
pub use report::AccelReport;
pub use x86::{
    CR0_ET, CR0_MP, CR0_NE, CR0_PE, CR0_PG, CR0_WP, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, EFER_LMA,
    EFER_LME, RFLAGS_FIXED, X86DescriptorTable, X86Regs, X86Segment, X86Sregs,
};
