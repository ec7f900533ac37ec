//! Vendor-neutral GPU passthrough planning on top of VFIO (feature `gpu`, experimental).
//!
//! A GPU is a PCI function of base class 0x03 (display controller). Discrete GPUs come with companion
//! functions in the same slot (HDMI/DP audio at `.1`, on some NVIDIA boards a USB-C controller and its
//! UCSI function at `.2`/`.3`); a guest needs all of them, and they share the GPU's IOMMU group more often
//! than not. [`GpuPassthroughPlan::new`] gathers the GPU, its companions, their IOMMU groups and BARs from
//! sysfs, checks everything VFIO will check, and returns a plan a VMM can act on: which groups to open,
//! which functions to assign, how much guest MMIO space to reserve, and vendor-specific notes. What stands
//! in the way is reported as a typed [`PassthroughError`].
//!
//! Planning reads sysfs only, so it works (and is tested) on hosts without a GPU; acting on a plan needs
//! the hardware.
//!
//! ```
//! use vm_passthrough::{SysfsPci, gpu::{self, GpuPassthroughPlan}};
//!
//! let sysfs = SysfsPci::host();
//! for found in gpu::find_gpus(&sysfs).unwrap_or_default() {
//!     match GpuPassthroughPlan::new(&sysfs, found.device.address) {
//!         Ok(plan) => println!("{} {}: open {:?}, assign {:?}", found.vendor, found.device.address, plan.group_nodes(), plan.assign),
//!         Err(why) => println!("{} {}: {why}", found.vendor, found.device.address),
//!     }
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{PassthroughError, Result};
use crate::pci::{Bar, BarKind, HostDevice, PciAddress, ROM_INDEX, vendor};
use crate::sysfs::SysfsPci;
use crate::vfio::VFIO_DEV_DIR;

/// PCI base class of display controllers.
pub const DISPLAY_CLASS: u8 = 0x03;

/// Who made a GPU.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GpuVendor {
    /// NVIDIA (0x10de).
    Nvidia,
    /// AMD / ATI (0x1002).
    Amd,
    /// Intel (0x8086).
    Intel,
    /// Anyone else (the vendor ID).
    Other(u16),
}

impl GpuVendor {
    /// The vendor of a PCI vendor ID.
    pub const fn from_id(id: u16) -> Self {
        match id {
            vendor::NVIDIA => Self::Nvidia,
            vendor::AMD => Self::Amd,
            vendor::INTEL => Self::Intel,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for GpuVendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nvidia => f.write_str("NVIDIA"),
            Self::Amd => f.write_str("AMD"),
            Self::Intel => f.write_str("Intel"),
            Self::Other(id) => write!(f, "vendor {id:#06x}"),
        }
    }
}

/// What a companion function of a GPU is, from its class code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CompanionKind {
    /// Audio (class 0x0401 or 0x0403: HDMI/DisplayPort audio).
    Audio,
    /// USB controller (class 0x0c03: the USB-C port of some boards).
    Usb,
    /// Other serial bus controller (class 0x0c80: NVIDIA's USB-C UCSI function).
    SerialBus,
    /// Another display function in the same slot.
    Display,
    /// Anything else.
    Other,
}

impl CompanionKind {
    fn of(device: &HostDevice) -> Self {
        match (device.base_class(), device.subclass()) {
            (0x04, 0x01 | 0x03) => Self::Audio,
            (0x0c, 0x03) => Self::Usb,
            (0x0c, 0x80) => Self::SerialBus,
            (DISPLAY_CLASS, _) => Self::Display,
            _ => Self::Other,
        }
    }
}

/// A function in the same slot as a GPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Companion {
    /// The function.
    pub device: HostDevice,
    /// What it is.
    pub kind: CompanionKind,
}

/// A GPU found in sysfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gpu {
    /// The GPU function.
    pub device: HostDevice,
    /// Its vendor.
    pub vendor: GpuVendor,
    /// The other functions of its slot, by address.
    pub companions: Vec<Companion>,
    /// Its populated BARs and ROM.
    pub bars: Vec<Bar>,
    /// Whether it is the host's boot display (`boot_vga`).
    pub boot_vga: bool,
}

impl Gpu {
    fn from_device(sysfs: &SysfsPci, device: HostDevice, all: &[HostDevice]) -> Result<Self> {
        let companions = all
            .iter()
            .filter(|d| d.address != device.address && d.address.same_slot(&device.address))
            .map(|d| Companion {
                device: d.clone(),
                kind: CompanionKind::of(d),
            })
            .collect();
        Ok(Self {
            vendor: GpuVendor::from_id(device.vendor_id),
            bars: sysfs.bars(device.address)?,
            boot_vga: sysfs.is_boot_vga(device.address)?,
            companions,
            device,
        })
    }
}

/// Every GPU on the host, by address.
pub fn find_gpus(sysfs: &SysfsPci) -> Result<Vec<Gpu>> {
    let all = sysfs.devices()?;
    all.iter()
        .filter(|d| d.base_class() == DISPLAY_CLASS)
        .map(|d| Gpu::from_device(sysfs, d.clone(), &all))
        .collect()
}

/// The GPU at `address`; [`NotAGpu`](PassthroughError::NotAGpu) if the function is not a display controller.
pub fn gpu(sysfs: &SysfsPci, address: PciAddress) -> Result<Gpu> {
    let device = sysfs.device(address)?;
    if device.base_class() != DISPLAY_CLASS {
        return Err(PassthroughError::NotAGpu {
            address,
            class: device.class,
        });
    }
    let all = sysfs.devices()?;
    Gpu::from_device(sysfs, device, &all)
}

/// Guest physical address space the assigned functions' BARs need.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MmioNeeds {
    /// Bytes of 32-bit memory BARs (must sit below 4 GiB in the guest).
    pub mem32: u64,
    /// Bytes of 64-bit memory BARs (may sit above 4 GiB).
    pub mem64: u64,
    /// Bytes of I/O port BARs.
    pub io: u64,
    /// Bytes of expansion ROMs.
    pub rom: u64,
    /// The largest single BAR (BARs are naturally aligned, so windows must fit it aligned).
    pub largest_bar: u64,
}

impl MmioNeeds {
    fn add(&mut self, bar: &Bar) {
        let slot = match (bar.index, bar.kind) {
            (ROM_INDEX, _) => &mut self.rom,
            (_, BarKind::Io) => &mut self.io,
            (_, BarKind::Mem32) => &mut self.mem32,
            (_, BarKind::Mem64) => &mut self.mem64,
        };
        *slot = slot.saturating_add(bar.size);
        if bar.index != ROM_INDEX {
            self.largest_bar = self.largest_bar.max(bar.size);
        }
    }
}

/// Something a VMM should know before acting on a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanNote {
    /// The GPU drives the host's boot console; the host loses its display when it is assigned.
    BootVga,
    /// A BAR of at least 4 GiB: the guest needs a 64-bit MMIO window above 4 GiB (and firmware that
    /// places it there).
    LargeBar {
        /// The BAR's function.
        address: PciAddress,
        /// The BAR index.
        index: u8,
        /// Its size in bytes.
        size: u64,
    },
    /// An Intel integrated GPU at `00:02.0`: it needs the IGD OpRegion and stolen memory passed to the
    /// guest ("legacy mode"), which generic VFIO does not provide.
    IntelIntegrated,
    /// The GPU has no companion functions; with a discrete card this usually means the audio function is
    /// disabled or in another slot.
    NoCompanions,
}

/// What a VMM needs to pass one GPU through with VFIO, from [`GpuPassthroughPlan::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuPassthroughPlan {
    /// The GPU and its companions.
    pub gpu: Gpu,
    /// The functions to assign to the guest: the GPU first, then its companions by address.
    pub assign: Vec<PciAddress>,
    /// The IOMMU groups to open (`/dev/vfio/<n>`), sorted.
    pub groups: Vec<u32>,
    /// Every PCI member of those groups (all bound to VFIO-compatible drivers or none).
    pub group_members: Vec<HostDevice>,
    /// Guest address space the assigned functions need.
    pub mmio: MmioNeeds,
    /// Things to know before acting on the plan.
    pub notes: Vec<PlanNote>,
}

impl GpuPassthroughPlan {
    /// Plan passing through the GPU at `address` and its companions.
    ///
    /// Checks, in order: the host has an IOMMU ([`NoIommu`](PassthroughError::NoIommu)); the function
    /// exists and is a GPU ([`DeviceNotFound`](PassthroughError::DeviceNotFound),
    /// [`NotAGpu`](PassthroughError::NotAGpu)); the GPU and each companion are in an IOMMU group
    /// ([`NoIommuGroup`](PassthroughError::NoIommuGroup)) and bound to `vfio-pci`
    /// ([`NotBoundToVfio`](PassthroughError::NotBoundToVfio)); every group is viable
    /// ([`GroupNotViable`](PassthroughError::GroupNotViable)).
    pub fn new(sysfs: &SysfsPci, address: PciAddress) -> Result<Self> {
        sysfs.require_iommu()?;
        let gpu = gpu(sysfs, address)?;
        let functions =
            std::iter::once(&gpu.device).chain(gpu.companions.iter().map(|c| &c.device));
        let mut groups = Vec::new();
        for device in functions.clone() {
            let group = device.iommu_group.ok_or(PassthroughError::NoIommuGroup {
                address: device.address,
            })?;
            if !device.is_bound_to_vfio() {
                return Err(PassthroughError::NotBoundToVfio {
                    address: device.address,
                    driver: device.driver.clone(),
                });
            }
            groups.push(group);
        }
        groups.sort_unstable();
        groups.dedup();
        let mut group_members = Vec::new();
        for &group in &groups {
            group_members.extend(sysfs.check_group_viable(group)?);
        }

        let mut mmio = MmioNeeds::default();
        let mut notes = Vec::new();
        if gpu.boot_vga {
            notes.push(PlanNote::BootVga);
        }
        if gpu.vendor == GpuVendor::Intel
            && address.bus == 0
            && address.device == 2
            && address.function == 0
        {
            notes.push(PlanNote::IntelIntegrated);
        }
        if gpu.companions.is_empty() {
            notes.push(PlanNote::NoCompanions);
        }
        for device in functions.clone() {
            let bars = if device.address == gpu.device.address {
                gpu.bars.clone()
            } else {
                sysfs.bars(device.address)?
            };
            for bar in &bars {
                mmio.add(bar);
                if bar.index != ROM_INDEX && bar.size >= 1 << 32 {
                    notes.push(PlanNote::LargeBar {
                        address: device.address,
                        index: bar.index,
                        size: bar.size,
                    });
                }
            }
        }
        let assign = functions.map(|d| d.address).collect();
        Ok(Self {
            gpu,
            assign,
            groups,
            group_members,
            mmio,
            notes,
        })
    }

    /// The VFIO group nodes to open, under `/dev/vfio`.
    pub fn group_nodes(&self) -> Vec<PathBuf> {
        self.groups
            .iter()
            .map(|g| Path::new(VFIO_DEV_DIR).join(g.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_from_ids() {
        assert_eq!(GpuVendor::from_id(0x10de), GpuVendor::Nvidia);
        assert_eq!(GpuVendor::from_id(0x1002), GpuVendor::Amd);
        assert_eq!(GpuVendor::from_id(0x8086), GpuVendor::Intel);
        assert_eq!(GpuVendor::from_id(0x1af4), GpuVendor::Other(0x1af4));
        assert_eq!(GpuVendor::Other(0x1af4).to_string(), "vendor 0x1af4");
    }

    #[test]
    fn mmio_needs_sum_by_kind() {
        let mut needs = MmioNeeds::default();
        let bar = |index, size, kind| Bar {
            index,
            start: 0,
            size,
            kind,
            prefetchable: false,
        };
        for b in [
            bar(0, 16 << 20, BarKind::Mem32),
            bar(1, 8 << 30, BarKind::Mem64),
            bar(3, 32 << 20, BarKind::Mem64),
            bar(5, 128, BarKind::Io),
            bar(6, 512 << 10, BarKind::Mem32),
            bar(0, 16 << 10, BarKind::Mem32),
        ] {
            needs.add(&b);
        }
        assert_eq!(
            needs,
            MmioNeeds {
                mem32: (16 << 20) + (16 << 10),
                mem64: (8 << 30) + (32 << 20),
                io: 128,
                rom: 512 << 10,
                largest_bar: 8 << 30,
            }
        );
    }
}
