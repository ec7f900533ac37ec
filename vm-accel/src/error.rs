//! The crate's error type: every failure names what was attempted and why it failed.

use std::io;

use vm_core::GuestPhysAddr;

/// Result alias used throughout vm-accel.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Which kind of read a vCPU is waiting for the caller to complete.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PendingRead {
    /// An MMIO load from `addr` of `size` bytes.
    Mmio {
        /// Guest physical address of the load.
        addr: GuestPhysAddr,
        /// Bytes expected by [`complete_mmio_read`](crate::AccelVcpu::complete_mmio_read).
        size: usize,
    },
    /// A port `in` (or `ins`) from `port` of `size` bytes in all.
    Pio {
        /// The port.
        port: u16,
        /// Bytes expected by [`complete_pio_in`](crate::AccelVcpu::complete_pio_in).
        size: usize,
    },
}

/// Everything that can go wrong while probing, configuring or running an accelerator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No accelerator was asked for (`accel = none`): the caller should use an execution engine.
    #[error("No hardware accelerator was requested (accel = none)")]
    NotRequested,
    /// The accelerator does not exist on this host, or this build has no back end for it here.
    #[error("Accelerator `{accel}` is not available on this {host_os} host: {reason}")]
    NotAvailable {
        /// The accelerator's name (`kvm`, `hvf`, `vz`, `whpx`, `auto`).
        accel: &'static str,
        /// The host operating system (`std::env::consts::OS`).
        host_os: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// The accelerator's back end is behind a Cargo feature that this build leaves out.
    #[error(
        "Accelerator `{accel}` needs vm-accel's `{feature}` feature, which this build leaves out"
    )]
    FeatureDisabled {
        /// The accelerator's name.
        accel: &'static str,
        /// The missing feature.
        feature: &'static str,
    },
    /// The accelerator's device node does not exist or has no driver behind it.
    #[error(
        "{path} is missing or has no driver ({}): load the kvm module, or enable virtualisation in \
         the firmware or the cloud instance type",
        os_error(*errno)
    )]
    DeviceMissing {
        /// The device node.
        path: &'static str,
        /// The `open` errno (`ENOENT`, `ENXIO` or `ENODEV`).
        errno: i32,
    },
    /// The device node exists but this process may not open it.
    #[error(
        "Permission denied opening {path}: add the user to the group that owns it (usually `kvm`) \
         or grant read/write access"
    )]
    PermissionDenied {
        /// The device node.
        path: &'static str,
    },
    /// The device node could not be opened for another reason.
    #[error("Cannot open {path}: {}", os_error(*errno))]
    Open {
        /// The device node.
        path: &'static str,
        /// The `open` errno.
        errno: i32,
    },
    /// The kernel speaks another KVM API version than the one this crate was written for.
    #[error("KVM API version {found} is not supported (this crate needs version {expected})")]
    ApiVersion {
        /// What `KVM_GET_API_VERSION` returned.
        found: i32,
        /// The version we need.
        expected: i32,
    },
    /// A capability this operation needs is missing.
    #[error("The accelerator lacks {cap}, which {needed_for} needs")]
    MissingCapability {
        /// The capability, as the kernel names it (`KVM_CAP_READONLY_MEM`).
        cap: &'static str,
        /// What needed it.
        needed_for: &'static str,
    },
    /// An ioctl on the accelerator failed.
    #[error("{ioctl} failed: {}", os_error(*errno))]
    Ioctl {
        /// The ioctl, as the kernel names it (`KVM_CREATE_VM`).
        ioctl: &'static str,
        /// The errno it returned.
        errno: i32,
    },
    /// A memory region's address, size or host pointer is not page-aligned.
    #[error("Memory region {what} {value:#x} is not a multiple of the {align:#x}-byte page size")]
    Misaligned {
        /// Which field (`guest address`, `size`, `host address`).
        what: &'static str,
        /// Its value.
        value: u64,
        /// The required alignment.
        align: u64,
    },
    /// A memory region has no bytes, or its end does not fit in 64 bits.
    #[error("Memory region at {guest_addr} with size {size:#x} is empty or ends past 2^64")]
    BadRegionSize {
        /// Its guest physical address.
        guest_addr: GuestPhysAddr,
        /// Its size.
        size: u64,
    },
    /// A memory region overlaps one already mapped.
    #[error(
        "Memory region {guest_addr}+{size:#x} overlaps the region already mapped at \
         {existing_addr}+{existing_size:#x} (slot {existing_slot})"
    )]
    RegionOverlap {
        /// The new region's guest physical address.
        guest_addr: GuestPhysAddr,
        /// The new region's size.
        size: u64,
        /// The existing region's slot.
        existing_slot: u32,
        /// The existing region's guest physical address.
        existing_addr: GuestPhysAddr,
        /// The existing region's size.
        existing_size: u64,
    },
    /// Every memory slot is in use.
    #[error("All {max} memory slots are in use")]
    NoFreeSlot {
        /// How many slots the accelerator has.
        max: u32,
    },
    /// No region is mapped in this slot.
    #[error("No memory region is mapped in slot {slot}")]
    UnknownSlot {
        /// The slot.
        slot: u32,
    },
    /// A vCPU id is out of range.
    #[error("vCPU id {id} is out of range (the accelerator allows ids below {max})")]
    VcpuId {
        /// The id asked for.
        id: u32,
        /// One past the largest id.
        max: u32,
    },
    /// A vCPU with this id exists already.
    #[error("vCPU {id} exists already")]
    DuplicateVcpu {
        /// The id.
        id: u32,
    },
    /// The interrupt controller must be created before the first vCPU.
    #[error(
        "The interrupt controller must be set up before the first vCPU is created ({vcpus} exist)"
    )]
    IrqchipAfterVcpus {
        /// vCPUs created so far.
        vcpus: usize,
    },
    /// The interrupt controller was set up already.
    #[error("The interrupt controller is set up already")]
    IrqchipExists,
    /// An interrupt was raised but the VM has no in-kernel interrupt controller.
    #[error(
        "Interrupt line {irq} needs the in-kernel interrupt controller; call setup_irqchip first"
    )]
    NoIrqchip {
        /// The line.
        irq: u32,
    },
    /// `run` was called while a read exit still waits for its data.
    #[error("The vCPU still waits for the data of {pending:?}; complete it before running again")]
    ReadNotCompleted {
        /// The read that is not completed.
        pending: PendingRead,
    },
    /// A completion was offered but the vCPU waits for no read of that kind.
    #[error("No {kind} read is waiting to be completed (pending: {pending:?})")]
    NoPendingRead {
        /// `MMIO` or `port I/O`.
        kind: &'static str,
        /// What is pending instead, if anything.
        pending: Option<PendingRead>,
    },
    /// The completion data has the wrong length.
    #[error("The pending read wants {expected} bytes, but {got} were supplied")]
    ReadSizeMismatch {
        /// Bytes the guest's access wants.
        expected: usize,
        /// Bytes supplied.
        got: usize,
    },
    /// The signal handler that interrupts running vCPUs could not be installed.
    #[error("Cannot install the vCPU kick signal handler (signal {signal}): {}", os_error(*errno))]
    KickSignal {
        /// The signal number.
        signal: i32,
        /// The errno `sigaction` returned.
        errno: i32,
    },
    /// Guest memory cannot be mapped into the VM or set up for booting.
    #[error("Guest memory: {reason}")]
    GuestMemory {
        /// What went wrong, with the addresses involved.
        reason: String,
    },
    /// A kernel image cannot be booted.
    #[error("Cannot boot {what}: {reason}")]
    Boot {
        /// The image (`bzImage`, `initrd`, `command line`).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The kernel described an exit whose data lies outside the shared `kvm_run` page(s).
    #[error(
        "{what} of the exit lies outside the {run_size}-byte kvm_run mapping (offset {offset:#x}, {len} bytes)"
    )]
    ExitLayout {
        /// Which data.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// The mapping's size.
        run_size: usize,
    },
}

impl Error {
    /// An [`Error::Ioctl`] from the errno kvm-ioctls reports.
    #[cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]
    pub(crate) fn ioctl(ioctl: &'static str, e: vmm_sys_util::errno::Error) -> Self {
        Self::Ioctl {
            ioctl,
            errno: e.errno(),
        }
    }

    /// Whether the error means "this host has no usable accelerator" (absent, forbidden, not built in)
    /// rather than a failure of an accelerator that exists. Tests skip on these.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::NotAvailable { .. }
                | Self::FeatureDisabled { .. }
                | Self::DeviceMissing { .. }
                | Self::PermissionDenied { .. }
        )
    }
}

/// The operating system's text for `errno`, with the number.
fn os_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_ioctl_and_errno() {
        let e = Error::Ioctl {
            ioctl: "KVM_CREATE_VM",
            errno: libc::ENOMEM,
        };
        let text = e.to_string();
        assert!(text.starts_with("KVM_CREATE_VM failed: "), "{text}");
        assert!(
            text.contains(&format!("os error {}", libc::ENOMEM)),
            "{text}"
        );
    }

    #[test]
    fn unavailable_classification() {
        assert!(Error::PermissionDenied { path: "/dev/kvm" }.is_unavailable());
        assert!(
            Error::DeviceMissing {
                path: "/dev/kvm",
                errno: libc::ENOENT
            }
            .is_unavailable()
        );
        assert!(
            !Error::ApiVersion {
                found: 11,
                expected: 12
            }
            .is_unavailable()
        );
        assert!(
            !Error::Ioctl {
                ioctl: "KVM_RUN",
                errno: libc::EFAULT
            }
            .is_unavailable()
        );
    }
}
