//! The crate's one error type, [`PassthroughError`], and its [`Result`] alias.
//!
//! Every variant says what is missing or wrong and carries what a user needs to fix it: the path that
//! could not be read, the driver a device is bound to, the group members that block viability, the
//! library names that were searched for.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::pci::PciAddress;

/// `Result` with [`PassthroughError`].
pub type Result<T, E = PassthroughError> = std::result::Result<T, E>;

/// One member of an IOMMU group and the host driver it is bound to (`None`: no driver).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// The member's PCI address.
    pub address: PciAddress,
    /// The driver the member is bound to, if any.
    pub driver: Option<String>,
}

impl fmt::Display for GroupMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.driver {
            Some(driver) => write!(f, "{} (bound to {driver})", self.address),
            None => write!(f, "{} (no driver)", self.address),
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a passthrough operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassthroughError {
    /// A string is not a PCI address of the form `DDDD:BB:DD.F` (or `BB:DD.F`).
    #[error("Invalid PCI address {input:?}: {reason}")]
    InvalidPciAddress {
        /// The text that was parsed.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A sysfs file or directory could not be read.
    #[error("Cannot read {}", path.display())]
    Io {
        /// The path that was read.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// A sysfs file holds something this crate cannot parse.
    #[error("Unexpected content in {}: {content:?} is not {expected}", path.display())]
    Parse {
        /// The file that was read.
        path: PathBuf,
        /// The offending text (trimmed).
        content: String,
        /// What was expected there.
        expected: &'static str,
    },

    /// No PCI device with this address exists under the sysfs root.
    #[error("No PCI device {address} under {}", devices_dir.display())]
    DeviceNotFound {
        /// The address looked for.
        address: PciAddress,
        /// The sysfs directory that was searched.
        devices_dir: PathBuf,
    },

    /// The host has no IOMMU enabled, so no device can be passed through.
    #[error(
        "No IOMMU: {} is missing or empty; enable VT-d or AMD-Vi in the firmware and boot with \
         intel_iommu=on or amd_iommu=on",
        groups_dir.display()
    )]
    NoIommu {
        /// The directory that lists IOMMU groups.
        groups_dir: PathBuf,
    },

    /// The device is not in any IOMMU group (the IOMMU does not cover it).
    #[error("Device {address} has no IOMMU group")]
    NoIommuGroup {
        /// The device.
        address: PciAddress,
    },

    /// The device is not bound to `vfio-pci`, so VFIO cannot hand it to a guest.
    #[error(
        "Device {address} is {} instead of vfio-pci; bind it with driver_override or `driverctl set-override {address} vfio-pci`",
        match driver { Some(d) => format!("bound to {d}"), None => "bound to no driver".to_owned() }
    )]
    NotBoundToVfio {
        /// The device.
        address: PciAddress,
        /// The driver it is bound to now.
        driver: Option<String>,
    },

    /// Some member of the IOMMU group is bound to a host driver, so the group cannot be handed over.
    #[error(
        "IOMMU group {group} is not viable: {} must be bound to vfio-pci or pci-stub (or unbound)",
        if blockers.is_empty() { "some member".to_owned() } else { join(blockers) }
    )]
    GroupNotViable {
        /// The group number.
        group: u32,
        /// The members that block it (empty when the kernel said so without details).
        blockers: Vec<GroupMember>,
    },

    /// The VFIO container device node does not exist.
    #[error("VFIO is not available: {} does not exist; load the vfio-pci module", path.display())]
    VfioUnavailable {
        /// The path that was opened.
        path: PathBuf,
    },

    /// A VFIO group's device node does not exist although the group does.
    #[error(
        "VFIO group {group} has no device node {}; bind the group's devices to vfio-pci",
        path.display()
    )]
    GroupNodeMissing {
        /// The group number.
        group: u32,
        /// The path that was opened.
        path: PathBuf,
    },

    /// The process may not open a device node.
    #[error(
        "Permission denied opening {}; run as root or give this user access to it (udev rule or group)",
        path.display()
    )]
    PermissionDenied {
        /// The path that was opened.
        path: PathBuf,
    },

    /// The kernel's VFIO API version is not the one this crate speaks.
    #[error("VFIO API version {found} is not supported (expected {expected})")]
    VfioApiVersion {
        /// What the kernel reported.
        found: i32,
        /// What this crate speaks.
        expected: i32,
    },

    /// The kernel offers no IOMMU backend this crate can use.
    #[error("The VFIO container supports neither the Type1v2 nor the Type1 IOMMU")]
    NoIommuBackend,

    /// A VFIO ioctl failed.
    #[error("VFIO ioctl {op} on {} failed", path.display())]
    Ioctl {
        /// The ioctl's name.
        op: &'static str,
        /// The device node it was issued on.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// A VFIO ioctl on a device file descriptor failed.
    #[error("VFIO ioctl {op} on device {address} failed")]
    DeviceIoctl {
        /// The ioctl's name.
        op: &'static str,
        /// The device.
        address: PciAddress,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// A value given to a VFIO operation is out of range.
    #[error("Invalid argument to {op}: {reason}")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// The device is not a GPU (PCI base class 0x03).
    #[error("Device {address} is not a GPU (PCI class {class:#08x})")]
    NotAGpu {
        /// The device.
        address: PciAddress,
        /// Its 24-bit class code.
        class: u32,
    },

    /// An accelerator runtime's library could not be loaded.
    #[error("{runtime} runtime is not available: {detail}")]
    DriverUnavailable {
        /// Which runtime (`"CUDA"`, `"HIP"`).
        runtime: &'static str,
        /// What was looked for and why it failed.
        detail: String,
    },

    /// An accelerator runtime loaded, but a call into it failed.
    #[error("{runtime} call {call} failed: {detail}")]
    RuntimeCall {
        /// Which runtime.
        runtime: &'static str,
        /// The function that failed.
        call: &'static str,
        /// The runtime's error code or message.
        detail: String,
    },

    /// An accelerator runtime loaded and works, but it sees no device.
    #[error("{runtime} runtime is installed but reports no device")]
    NoDevices {
        /// Which runtime.
        runtime: &'static str,
    },

    /// None of the known NPU runtimes could be loaded.
    #[error("No NPU runtime found; looked for: {}", searched.join("; "))]
    NoNpuRuntime {
        /// One line per runtime: its name, the libraries tried and why each failed.
        searched: Vec<String>,
    },
}

impl PassthroughError {
    /// An [`Io`](Self::Io) error for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// The error for a failed `open` of a device node: a missing node, a permission problem, or other.
    pub(crate) fn open_node(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => Self::PermissionDenied { path },
            _ => Self::Io { path, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_node_maps_permission_errors() {
        let e =
            PassthroughError::open_node("/dev/vfio/7", io::Error::from_raw_os_error(libc::EACCES));
        assert!(
            matches!(&e, PassthroughError::PermissionDenied { path } if path.to_str() == Some("/dev/vfio/7"))
        );
        let e =
            PassthroughError::open_node("/dev/vfio/7", io::Error::from_raw_os_error(libc::EPERM));
        assert!(matches!(e, PassthroughError::PermissionDenied { .. }));
        let e =
            PassthroughError::open_node("/dev/vfio/7", io::Error::from_raw_os_error(libc::EBUSY));
        assert!(matches!(e, PassthroughError::Io { .. }));
    }

    #[test]
    fn messages_name_what_is_missing() {
        let addr: PciAddress = "0000:01:00.0".parse().unwrap();
        let e = PassthroughError::NotBoundToVfio {
            address: addr,
            driver: Some("nvidia".into()),
        };
        assert_eq!(
            e.to_string(),
            "Device 0000:01:00.0 is bound to nvidia instead of vfio-pci; bind it with driver_override or \
             `driverctl set-override 0000:01:00.0 vfio-pci`"
        );
        let e = PassthroughError::GroupNotViable {
            group: 12,
            blockers: vec![
                GroupMember {
                    address: "0000:01:00.1".parse().unwrap(),
                    driver: Some("snd_hda_intel".into()),
                },
                GroupMember {
                    address: "0000:01:00.2".parse().unwrap(),
                    driver: Some("xhci_hcd".into()),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "IOMMU group 12 is not viable: 0000:01:00.1 (bound to snd_hda_intel), 0000:01:00.2 (bound to \
             xhci_hcd) must be bound to vfio-pci or pci-stub (or unbound)"
        );
    }
}
