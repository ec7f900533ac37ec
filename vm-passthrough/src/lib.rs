//! # vm-passthrough: host devices for guests (VFIO), with experimental accelerator support
//!
//! This crate finds host PCI devices that can be handed to a guest through Linux VFIO, says exactly what
//! stands in the way when one cannot, and opens the ones that can. On top of that, behind features, it
//! plans GPU passthrough and probes accelerator runtimes (CUDA, ROCm/HIP, vendor NPUs) that are loaded
//! at run time, so the crate builds on hosts without any vendor SDK.
//!
//! ## What works today, and what is experimental
//!
//! Works on any Linux host, GPU or not (no features needed):
//!
//! - [`SysfsPci`]: enumerate PCI functions from sysfs (vendor, device, class, driver, IOMMU group, BARs),
//!   list IOMMU group members, and check a device for VFIO: IOMMU enabled, device in a group, bound to
//!   `vfio-pci`, group viable. Each failure is its own [`PassthroughError`] variant (`NoIommu`,
//!   `NoIommuGroup`, `NotBoundToVfio`, `GroupNotViable`, ...). The sysfs root is injectable.
//! - [`vfio`]: open `/dev/vfio/vfio` (API version and IOMMU-type checks), groups (viability) and device
//!   file descriptors (info, region info, reset), map DMA. Where VFIO is missing, the open fails with
//!   `VfioUnavailable`, `PermissionDenied`, `GroupNodeMissing` and so on; with an IOMMU, `vfio-pci` and a
//!   bound device, the same calls open the device. The tests here cover the ioctl numbers, structure
//!   layouts and every error path; the success path needs such a host and is not yet run by this
//!   crate's tests.
//!
//! Experimental (behind features, off by default):
//!
//! | feature | what it adds | on a host without the hardware |
//! |---|---|---|
//! | `gpu` | `gpu`: find GPUs (class 0x03) by vendor, their companion functions (HDMI audio, USB-C), BAR sizes, group viability; a `GpuPassthroughPlan` a VMM can act on | planning works from sysfs; the plan fails with typed errors (`NoIommu`, `NotAGpu`, ...) |
//! | `cuda` | `cuda::probe`: the CUDA driver API through `cudarc`, `libcuda` loaded at run time; lists devices (name, memory, compute capability) | `DriverUnavailable { runtime: "CUDA", .. }` naming the library |
//! | `rocm` | `rocm::probe`: the HIP runtime (`libamdhip64.so`) loaded with `libloading`; lists devices | `DriverUnavailable { runtime: "HIP", .. }` |
//! | `npu` | `npu::probe`: a table of vendor NPU runtimes (Intel NPU Level Zero, Huawei Ascend, Rockchip RKNN, Qualcomm QNN), checked by loading each library and resolving its entry point | `NoNpuRuntime` listing what was looked for |
//! | `all-accelerators` | all of the above | |
//!
//! "Experimental" means: the code paths that talk to real accelerators have been written against the
//! vendors' documented C APIs but are only exercised where that hardware and its driver are present;
//! on every other host they return the typed errors above, never panic.
//!
//! ## Example
//!
//! ```
//! use vm_passthrough::{PassthroughError, SysfsPci};
//!
//! let sysfs = SysfsPci::host();
//! match sysfs.vfio_target("0000:01:00.0".parse()?) {
//!     Ok(target) => println!("open /dev/vfio/{}", target.group),
//!     Err(PassthroughError::NoIommu { groups_dir }) => {
//!         println!("no IOMMU ({} is empty)", groups_dir.display())
//!     }
//!     Err(other) => println!("cannot pass 0000:01:00.0 through: {other}"),
//! }
//! # Ok::<(), PassthroughError>(())
//! ```

#![warn(missing_docs)]

#[cfg(not(unix))]
compile_error!(
    "vm-passthrough needs a Unix host (VFIO is Linux's; other Unix hosts build and report VfioUnavailable). \
     On other hosts, leave vm-passthrough out of the build."
);

pub mod error;
pub mod pci;
pub mod sysfs;
pub mod vfio;
mod vfio_sys;

#[cfg(any(feature = "rocm", feature = "npu"))]
mod dynlib;

#[cfg(feature = "gpu")]
pub mod gpu;

#[cfg(feature = "cuda")]
pub mod cuda;

#[cfg(feature = "rocm")]
pub mod rocm;

#[cfg(feature = "npu")]
pub mod npu;

pub use error::{GroupMember, PassthroughError, Result};
pub use pci::{Bar, BarKind, HostDevice, PciAddress};
pub use sysfs::{SysfsPci, VfioTarget};
pub use vfio::{VfioContainer, VfioDevice, VfioGroup};
