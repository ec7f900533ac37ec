//! The accelerator-neutral API: [`Accelerator`] creates [`AccelVm`]s, which map guest memory and create
//! [`AccelVcpu`]s, which run until a typed [`VcpuExit`].
//!
//! A vCPU exit that needs data from a device ([`VcpuExit::MmioRead`], [`VcpuExit::PioIn`]) is completed
//! by the caller with [`AccelVcpu::complete_mmio_read`] or [`AccelVcpu::complete_pio_in`] before the next
//! [`AccelVcpu::run`]; running again without doing so is an error rather than a silent stale value.
//!
//! A vCPU runs on one thread; other threads stop it through its [`VcpuKicker`]: the kick makes the
//! current (or the next) [`AccelVcpu::run`] return [`VcpuExit::Interrupted`] promptly, even when the guest
//! never exits on its own (a compute loop, or an application processor waiting for its start-up IPI).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use vm_core::GuestPhysAddr;
use vm_core::config::AccelKind;
use vm_core::device::InterruptLine;

use crate::error::Result;
use crate::x86::{X86Regs, X86Sregs};

/// A host accelerator (an open `/dev/kvm`, for instance) that creates VMs.
pub trait Accelerator: Send + Sync {
    /// Which accelerator this is.
    fn kind(&self) -> AccelKind;

    /// What the accelerator supports, for reports such as `vm accel-info`.
    fn info(&self) -> AccelInfo;

    /// Create an empty VM: no memory, no vCPUs.
    fn create_vm(&self) -> Result<Box<dyn AccelVm>>;

    /// The CPUID leaves this accelerator can expose to x86 guests (KVM: `KVM_GET_SUPPORTED_CPUID`), which
    /// every vCPU gets; empty where the accelerator has no CPUID model.
    fn guest_cpuid(&self) -> Vec<CpuidEntry>;
}

/// One CPUID leaf (or sub-leaf) as an accelerator exposes it to guests.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct CpuidEntry {
    /// The leaf (`eax` input).
    pub function: u32,
    /// The sub-leaf (`ecx` input), meaningful when `index_significant` is set.
    pub index: u32,
    /// Whether the leaf has sub-leaves, so that `index` must match too.
    pub index_significant: bool,
    /// Output `eax`.
    pub eax: u32,
    /// Output `ebx`.
    pub ebx: u32,
    /// Output `ecx`.
    pub ecx: u32,
    /// Output `edx`.
    pub edx: u32,
}

impl CpuidEntry {
    /// The entry answering `cpuid` with `eax = function`, `ecx = index` among `entries`, if any.
    pub fn lookup(entries: &[Self], function: u32, index: u32) -> Option<&Self> {
        entries
            .iter()
            .find(|e| e.function == function && (!e.index_significant || e.index == index))
    }
}

/// A guest memory region to map into a VM: `size` bytes of host memory at `host_addr` appear at guest
/// physical address `guest_addr`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// Guest physical address of the first byte (page-aligned).
    pub guest_addr: GuestPhysAddr,
    /// Host virtual address of the first byte (page-aligned).
    pub host_addr: *mut u8,
    /// Length in bytes (a non-zero multiple of the page size).
    pub size: u64,
    /// Guest writes do not reach the memory; they exit as [`VcpuExit::MmioWrite`] instead (ROM).
    pub read_only: bool,
}

/// The slot a mapped [`MemoryRegion`] occupies; hand it to [`AccelVm::unmap_memory`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemorySlot(pub u32);

/// A VM created by an [`Accelerator`].
pub trait AccelVm: Send {
    /// Map `region` into the guest physical address space.
    ///
    /// # Safety
    ///
    /// `region.host_addr .. + region.size` must be memory of this process that stays mapped, readable
    /// and (unless `read_only`) writable until the region is unmapped or the VM is dropped. The guest
    /// reads and writes it concurrently with the host; the caller must not hold Rust references to it
    /// that assume exclusive access while vCPUs run.
    unsafe fn map_memory(&mut self, region: MemoryRegion) -> Result<MemorySlot>;

    /// Remove the region in `slot` from the guest; its host memory may be released afterwards.
    fn unmap_memory(&mut self, slot: MemorySlot) -> Result<MemoryRegion>;

    /// Create the in-kernel interrupt controllers (on x86 KVM: PIC, IOAPIC, local APICs, and the PIT
    /// where the kernel has it). Must be called before the first vCPU is created. With them, `hlt` and
    /// the controllers' ports are handled in the kernel and no longer exit.
    fn setup_irqchip(&mut self) -> Result<()>;

    /// Whether [`setup_irqchip`](Self::setup_irqchip) succeeded on this VM.
    fn has_irqchip(&self) -> bool;

    /// Drive interrupt line (GSI) `irq` of the in-kernel controller high or low.
    fn set_irq_line(&self, irq: u32, high: bool) -> Result<()>;

    /// An [`InterruptLine`] for GSI `irq` that device models can hold; it drives
    /// [`set_irq_line`](Self::set_irq_line) and logs failures (a device cannot handle them).
    fn interrupt_line(&self, irq: u32) -> Result<Arc<dyn InterruptLine>>;

    /// Create vCPU `id` with the host's supported CPUID (the APIC id set to `id`) and its reset state.
    fn create_vcpu(&mut self, id: u32) -> Result<Box<dyn AccelVcpu>>;

    /// Keep `owner` alive for as long as this VM or any of its vCPUs exists. Memory that the guest
    /// can reach (see [`map_memory`](Self::map_memory)) is handed over this way, so that it cannot be
    /// freed while a vCPU thread may still run the guest.
    fn retain(&mut self, owner: Arc<dyn Any + Send + Sync>);
}

/// Stops a running vCPU from another thread; see [`AccelVcpu::kicker`].
pub trait VcpuKicker: Send + Sync {
    /// Make the vCPU's current [`AccelVcpu::run`] return [`VcpuExit::Interrupted`] promptly, or, if it
    /// is not running, its next one at once. The kick stays in force until
    /// [`AccelVcpu::clear_kick`]; a kick of a vCPU that no longer exists does nothing.
    fn kick(&self);
}

/// One virtual CPU. Run it on one thread; it may be moved between threads between runs.
pub trait AccelVcpu: Send {
    /// The vCPU's id (its APIC id on x86).
    fn id(&self) -> u32;

    /// Read the general-purpose registers, `rip` and `rflags`.
    fn get_regs(&self) -> Result<X86Regs>;

    /// Write the general-purpose registers, `rip` and `rflags`.
    fn set_regs(&mut self, regs: &X86Regs) -> Result<()>;

    /// Read the segment, descriptor-table and control registers.
    fn get_sregs(&self) -> Result<X86Sregs>;

    /// Write the segment, descriptor-table and control registers (pending interrupts are kept).
    fn set_sregs(&mut self, sregs: &X86Sregs) -> Result<()>;

    /// Run the guest until it exits to us. The returned exit borrows the vCPU's shared exit page.
    fn run(&mut self) -> Result<VcpuExit<'_>>;

    /// Supply the data of the last [`VcpuExit::MmioRead`] (little-endian, exactly `size` bytes).
    fn complete_mmio_read(&mut self, data: &[u8]) -> Result<()>;

    /// Supply the data of the last [`VcpuExit::PioIn`] (exactly `size * count` bytes).
    fn complete_pio_in(&mut self, data: &[u8]) -> Result<()>;

    /// A handle that other threads use to stop this vCPU's [`run`](Self::run) (it outlives the vCPU
    /// harmlessly).
    fn kicker(&self) -> Arc<dyn VcpuKicker>;

    /// Withdraw a kick, so that the next [`run`](Self::run) enters the guest again.
    fn clear_kick(&mut self);

    /// Put the local APIC's LINT0 pin in ExtINT mode and LINT1 in NMI mode (the "virtual wire"
    /// set-up a PC BIOS leaves behind, which kernels expect when they take over the legacy PIC). Needs
    /// the in-kernel interrupt controller ([`AccelVm::setup_irqchip`]).
    fn setup_lapic_virtual_wire(&mut self) -> Result<()>;

    /// Load the x87 and SSE control state a PC has after `fninit`: FPU control word `0x37f`, `MXCSR`
    /// `0x1f80` (all exceptions masked, round to nearest).
    fn reset_fpu(&mut self) -> Result<()>;
}

/// Why [`AccelVcpu::run`] returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VcpuExit<'a> {
    /// The guest loaded `size` bytes from `addr`, where no RAM is mapped. Complete it with
    /// [`AccelVcpu::complete_mmio_read`].
    MmioRead {
        /// Guest physical address.
        addr: GuestPhysAddr,
        /// Bytes to supply (1 to 8; a page-crossing access may arrive as fragments of any length).
        size: usize,
    },
    /// The guest stored `data` (little-endian) at `addr`, where no RAM (or read-only RAM) is mapped.
    MmioWrite {
        /// Guest physical address.
        addr: GuestPhysAddr,
        /// The bytes stored.
        data: &'a [u8],
    },
    /// The guest ran `in` (or `ins`) on `port`. Complete it with [`AccelVcpu::complete_pio_in`].
    PioIn {
        /// The port.
        port: u16,
        /// Width of each access: 1, 2 or 4 bytes.
        size: usize,
        /// Number of accesses (more than 1 for `rep ins`).
        count: u32,
    },
    /// The guest ran `out` (or `outs`) on `port`.
    PioOut {
        /// The port.
        port: u16,
        /// Width of each access: 1, 2 or 4 bytes.
        size: usize,
        /// The bytes written, `size * count` of them (more than one access for `rep outs`).
        data: &'a [u8],
    },
    /// The guest ran `hlt` (only without an in-kernel interrupt controller, which handles it).
    Hlt,
    /// The guest triple-faulted (or otherwise asked for a machine shutdown the CPU way).
    Shutdown,
    /// The guest asked for a platform event (PSCI, ACPI, firmware).
    SystemEvent {
        /// What it asked for.
        kind: SystemEventKind,
    },
    /// The accelerator could not handle something the guest did (for KVM: `KVM_EXIT_INTERNAL_ERROR`).
    InternalError {
        /// The accelerator's sub-code (KVM: 1 emulation failure, 2 exception during exception
        /// delivery, 3 event-delivery failure, 4 unexpected exit reason).
        suberror: u32,
    },
    /// The hardware refused to enter the guest: the vCPU state is invalid.
    FailEntry {
        /// The hardware's reason code (VMX exit reason or SVM exit code).
        reason: u64,
        /// The host CPU it happened on.
        cpu: u32,
    },
    /// The run was interrupted by a signal or an immediate-exit request before or while running.
    Interrupted,
    /// An exit this API does not model; `code` is the accelerator's own number (KVM: `KVM_EXIT_*`).
    Other {
        /// The accelerator's exit code.
        code: u32,
    },
}

/// A platform event requested through [`VcpuExit::SystemEvent`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SystemEventKind {
    /// Power off.
    Shutdown,
    /// Reset the machine.
    Reset,
    /// The guest crashed (it says so itself).
    Crash,
    /// A vCPU woke from a suspend state.
    Wakeup,
    /// The guest asked to suspend.
    Suspend,
    /// An event this API does not model, with the accelerator's code.
    Other(u32),
}

/// One capability of an accelerator and the value it reports (0 = absent; some report a count).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// The capability, as the accelerator names it (`KVM_CAP_IRQCHIP`).
    pub name: &'static str,
    /// The reported value.
    pub value: i64,
}

/// What an accelerator supports on this host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccelInfo {
    /// The accelerator (`kvm`).
    pub accel: &'static str,
    /// The device node or framework used.
    pub device: &'static str,
    /// How the host implements it (`intel-vmx`, `amd-svm`, `pvm`, `unknown`).
    pub flavor: &'static str,
    /// The accelerator's API version.
    pub api_version: i64,
    /// vCPUs per VM the accelerator recommends.
    pub recommended_vcpus: u64,
    /// vCPUs per VM it allows at most.
    pub max_vcpus: u64,
    /// Guest memory slots per VM.
    pub max_memory_slots: u64,
    /// CPUID leaves the accelerator can expose to guests.
    pub cpuid_entries: u64,
    /// Capabilities that matter to this workspace, present or not.
    pub capabilities: Vec<Capability>,
}

impl AccelInfo {
    /// The value of capability `name`, if it was queried.
    pub fn capability(&self, name: &str) -> Option<i64> {
        self.capabilities
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    }
}

impl fmt::Display for AccelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<28} {}", "accelerator", self.accel)?;
        writeln!(f, "{:<28} {}", "device", self.device)?;
        writeln!(f, "{:<28} {}", "flavor", self.flavor)?;
        writeln!(f, "{:<28} {}", "api version", self.api_version)?;
        writeln!(f, "{:<28} {}", "recommended vcpus", self.recommended_vcpus)?;
        writeln!(f, "{:<28} {}", "max vcpus", self.max_vcpus)?;
        writeln!(f, "{:<28} {}", "memory slots", self.max_memory_slots)?;
        writeln!(f, "{:<28} {}", "cpuid entries", self.cpuid_entries)?;
        for cap in &self.capabilities {
            let state = if cap.value > 0 { "yes" } else { "no" };
            writeln!(f, "{:<28} {state} ({})", cap.name, cap.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_renders_every_capability() {
        let info = AccelInfo {
            accel: "kvm",
            device: "/dev/kvm",
            flavor: "pvm",
            api_version: 12,
            recommended_vcpus: 2,
            max_vcpus: 1024,
            max_memory_slots: 32764,
            cpuid_entries: 75,
            capabilities: vec![
                Capability {
                    name: "KVM_CAP_IRQCHIP",
                    value: 1,
                },
                Capability {
                    name: "KVM_CAP_PIT2",
                    value: 0,
                },
            ],
        };
        let text = info.to_string();
        assert!(
            text.contains("flavor                       pvm\n"),
            "{text}"
        );
        assert!(
            text.contains("KVM_CAP_IRQCHIP              yes (1)\n"),
            "{text}"
        );
        assert!(
            text.contains("KVM_CAP_PIT2                 no (0)\n"),
            "{text}"
        );
        assert_eq!(info.capability("KVM_CAP_IRQCHIP"), Some(1));
        assert_eq!(info.capability("KVM_CAP_NOPE"), None);
    }
}
