//! Opening devices through VFIO: [`VfioContainer`] (`/dev/vfio/vfio`), [`VfioGroup`] (`/dev/vfio/<n>`)
//! and [`VfioDevice`] (a device file descriptor), with typed errors for each thing that can be missing.
//!
//! The usual path is [`open_device`]: it checks sysfs ([`SysfsPci::vfio_target`]), opens the container
//! and checks the API version, opens the group and checks that it is viable, attaches the group to the
//! container with the best Type1 IOMMU, and asks the group for the device. Each step can also be taken
//! on its own, with the device-node paths injectable.
//!
//! The ioctls are Linux's; on other hosts `/dev/vfio/vfio` does not exist and every open reports
//! [`PassthroughError::VfioUnavailable`].

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{PassthroughError, Result};
use crate::pci::PciAddress;
use crate::sysfs::SysfsPci;
use crate::vfio_sys::{self as sys, argsz};

/// Where the VFIO container node lives on Linux.
pub const VFIO_CONTAINER_PATH: &str = "/dev/vfio/vfio";
/// The directory that holds the VFIO group nodes on Linux.
pub const VFIO_DEV_DIR: &str = "/dev/vfio";

/// The IOMMU backend a container uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IommuType {
    /// `VFIO_TYPE1v2_IOMMU` (preferred).
    Type1v2,
    /// `VFIO_TYPE1_IOMMU`.
    Type1,
}

impl IommuType {
    const fn raw(self) -> u32 {
        match self {
            Self::Type1v2 => sys::VFIO_TYPE1V2_IOMMU,
            Self::Type1 => sys::VFIO_TYPE1_IOMMU,
        }
    }
}

/// Open a VFIO device node read-write, mapping "missing" through `missing`.
fn open_node(path: &Path, missing: impl FnOnce() -> PassthroughError) -> Result<File> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing()),
        Err(e) => Err(PassthroughError::open_node(path, e)),
    }
}

/// A VFIO container: an IOMMU context that groups are attached to and DMA is mapped in.
#[derive(Debug)]
pub struct VfioContainer {
    file: File,
    path: PathBuf,
    iommu: Option<IommuType>,
}

impl VfioContainer {
    /// Open `/dev/vfio/vfio` and check the API version.
    pub fn open() -> Result<Self> {
        Self::open_at(VFIO_CONTAINER_PATH)
    }

    /// Open the container node at `path` and check the API version.
    ///
    /// Errors: [`VfioUnavailable`](PassthroughError::VfioUnavailable) if the node does not exist,
    /// [`PermissionDenied`](PassthroughError::PermissionDenied), [`Ioctl`](PassthroughError::Ioctl) if it is
    /// not a VFIO container, [`VfioApiVersion`](PassthroughError::VfioApiVersion) on a version mismatch.
    pub fn open_at(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let file = open_node(&path, || PassthroughError::VfioUnavailable {
            path: path.clone(),
        })?;
        let container = Self {
            file,
            path,
            iommu: None,
        };
        let found = container.api_version()?;
        if found != sys::VFIO_API_VERSION {
            return Err(PassthroughError::VfioApiVersion {
                found,
                expected: sys::VFIO_API_VERSION,
            });
        }
        Ok(container)
    }

    fn ioctl_error(&self, op: &'static str, source: io::Error) -> PassthroughError {
        PassthroughError::Ioctl {
            op,
            path: self.path.clone(),
            source,
        }
    }

    /// The kernel's VFIO API version (`VFIO_GET_API_VERSION`).
    pub fn api_version(&self) -> Result<i32> {
        // SAFETY: VFIO_GET_API_VERSION takes no argument.
        unsafe { sys::ioctl_with_val(self.file.as_fd(), sys::VFIO_GET_API_VERSION, 0) }
            .map_err(|e| self.ioctl_error("VFIO_GET_API_VERSION", e))
    }

    /// Whether the container supports an IOMMU type (`VFIO_CHECK_EXTENSION`).
    pub fn supports(&self, iommu: IommuType) -> Result<bool> {
        // SAFETY: VFIO_CHECK_EXTENSION takes the extension number by value.
        unsafe {
            sys::ioctl_with_val(
                self.file.as_fd(),
                sys::VFIO_CHECK_EXTENSION,
                iommu.raw().into(),
            )
        }
        .map(|r| r > 0)
        .map_err(|e| self.ioctl_error("VFIO_CHECK_EXTENSION", e))
    }

    /// The best IOMMU type the container supports: Type1v2, else Type1.
    pub fn best_iommu(&self) -> Result<IommuType> {
        for t in [IommuType::Type1v2, IommuType::Type1] {
            if self.supports(t)? {
                return Ok(t);
            }
        }
        Err(PassthroughError::NoIommuBackend)
    }

    /// The IOMMU type set on the container, once a group is attached.
    pub fn iommu(&self) -> Option<IommuType> {
        self.iommu
    }

    /// The node this container was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Map `size` bytes of this process's memory at `vaddr` for device DMA at I/O virtual address `iova`.
    ///
    /// # Safety
    ///
    /// `vaddr..vaddr + size` must be mapped memory of this process that stays mapped, and is not reused
    /// for anything the devices must not read or write, until it is unmapped with
    /// [`unmap_dma`](Self::unmap_dma) or the container is dropped: devices access it behind the
    /// compiler's back.
    pub unsafe fn map_dma(
        &self,
        iova: u64,
        vaddr: *mut u8,
        size: u64,
        writable: bool,
    ) -> Result<()> {
        if self.iommu.is_none() {
            return Err(PassthroughError::InvalidArgument {
                op: "VFIO_IOMMU_MAP_DMA",
                reason: "attach a group first: the container has no IOMMU yet".to_owned(),
            });
        }
        let mut flags = sys::VFIO_DMA_MAP_FLAG_READ;
        if writable {
            flags |= sys::VFIO_DMA_MAP_FLAG_WRITE;
        }
        let mut map = sys::VfioDmaMap {
            argsz: argsz::<sys::VfioDmaMap>(),
            flags,
            vaddr: vaddr as u64,
            iova,
            size,
        };
        // SAFETY: VFIO_IOMMU_MAP_DMA reads a `vfio_iommu_type1_dma_map`, which `map` is; the caller
        // guarantees the memory it describes stays valid while mapped.
        unsafe { sys::ioctl_with_ptr(self.file.as_fd(), sys::VFIO_IOMMU_MAP_DMA, &raw mut map) }
            .map(drop)
            .map_err(|e| self.ioctl_error("VFIO_IOMMU_MAP_DMA", e))
    }

    /// Unmap the DMA range at `iova`; returns how many bytes the kernel unmapped.
    pub fn unmap_dma(&self, iova: u64, size: u64) -> Result<u64> {
        let mut unmap = sys::VfioDmaUnmap {
            argsz: argsz::<sys::VfioDmaUnmap>(),
            flags: 0,
            iova,
            size,
        };
        // SAFETY: VFIO_IOMMU_UNMAP_DMA reads and writes a `vfio_iommu_type1_dma_unmap`, which `unmap` is
        // (flags 0: no trailing bitmap). Unmapping cannot make this process's memory unsafe.
        unsafe {
            sys::ioctl_with_ptr(self.file.as_fd(), sys::VFIO_IOMMU_UNMAP_DMA, &raw mut unmap)
        }
        .map_err(|e| self.ioctl_error("VFIO_IOMMU_UNMAP_DMA", e))?;
        Ok(unmap.size)
    }
}

/// What `VFIO_GROUP_GET_STATUS` reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    /// Every device in the group is bound to a VFIO-compatible driver (or none).
    pub viable: bool,
    /// The group is attached to a container.
    pub container_set: bool,
}

/// An open VFIO group (`/dev/vfio/<n>`).
#[derive(Debug)]
pub struct VfioGroup {
    file: File,
    id: u32,
    path: PathBuf,
}

impl VfioGroup {
    /// Open `/dev/vfio/<id>` and check that the group is viable.
    pub fn open(id: u32) -> Result<Self> {
        Self::open_at(Path::new(VFIO_DEV_DIR).join(id.to_string()), id)
    }

    /// Open the group node at `path` (group number `id`, for messages) and check that it is viable.
    ///
    /// Errors: [`GroupNodeMissing`](PassthroughError::GroupNodeMissing),
    /// [`PermissionDenied`](PassthroughError::PermissionDenied) (also when another process holds the
    /// group: the kernel answers `EBUSY`, reported as [`Io`](PassthroughError::Io)),
    /// [`Ioctl`](PassthroughError::Ioctl) if it is not a VFIO group,
    /// [`GroupNotViable`](PassthroughError::GroupNotViable).
    pub fn open_at(path: impl AsRef<Path>, id: u32) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let file = open_node(&path, || PassthroughError::GroupNodeMissing {
            group: id,
            path: path.clone(),
        })?;
        let group = Self { file, id, path };
        if !group.status()?.viable {
            return Err(PassthroughError::GroupNotViable {
                group: id,
                blockers: Vec::new(),
            });
        }
        Ok(group)
    }

    fn ioctl_error(&self, op: &'static str, source: io::Error) -> PassthroughError {
        PassthroughError::Ioctl {
            op,
            path: self.path.clone(),
            source,
        }
    }

    /// The group number.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `VFIO_GROUP_GET_STATUS`.
    pub fn status(&self) -> Result<GroupStatus> {
        let mut status = sys::VfioGroupStatus {
            argsz: argsz::<sys::VfioGroupStatus>(),
            flags: 0,
        };
        // SAFETY: VFIO_GROUP_GET_STATUS reads `argsz` and writes `flags` of a `vfio_group_status`, which
        // `status` is.
        unsafe {
            sys::ioctl_with_ptr(
                self.file.as_fd(),
                sys::VFIO_GROUP_GET_STATUS,
                &raw mut status,
            )
        }
        .map_err(|e| self.ioctl_error("VFIO_GROUP_GET_STATUS", e))?;
        Ok(GroupStatus {
            viable: status.flags & sys::VFIO_GROUP_FLAGS_VIABLE != 0,
            container_set: status.flags & sys::VFIO_GROUP_FLAGS_CONTAINER_SET != 0,
        })
    }

    /// Attach the group to `container`; the first group attached also sets the container's IOMMU type
    /// (the best one it supports).
    pub fn attach(&self, container: &mut VfioContainer) -> Result<()> {
        let mut container_fd: libc::c_int = container.file.as_raw_fd();
        // SAFETY: VFIO_GROUP_SET_CONTAINER reads an `int` file descriptor, which `container_fd` is; the
        // container's file stays open for the call because `container` is borrowed.
        unsafe {
            sys::ioctl_with_ptr(
                self.file.as_fd(),
                sys::VFIO_GROUP_SET_CONTAINER,
                &raw mut container_fd,
            )
        }
        .map_err(|e| self.ioctl_error("VFIO_GROUP_SET_CONTAINER", e))?;
        if container.iommu.is_none() {
            let iommu = container.best_iommu()?;
            // SAFETY: VFIO_SET_IOMMU takes the IOMMU type by value.
            unsafe {
                sys::ioctl_with_val(
                    container.file.as_fd(),
                    sys::VFIO_SET_IOMMU,
                    iommu.raw().into(),
                )
            }
            .map_err(|e| container.ioctl_error("VFIO_SET_IOMMU", e))?;
            container.iommu = Some(iommu);
        }
        Ok(())
    }

    /// Get a file descriptor for the device at `address` (`VFIO_GROUP_GET_DEVICE_FD`). The group must be
    /// attached to a container.
    pub fn device(&self, address: PciAddress) -> Result<VfioDevice> {
        let name =
            CString::new(address.to_string()).map_err(|_| PassthroughError::InvalidArgument {
                op: "VFIO_GROUP_GET_DEVICE_FD",
                reason: "device name contains NUL".to_owned(),
            })?;
        // SAFETY: VFIO_GROUP_GET_DEVICE_FD reads a NUL-terminated device name, which `name` is; the kernel
        // does not write through the pointer.
        let fd = unsafe {
            sys::ioctl_with_ptr(
                self.file.as_fd(),
                sys::VFIO_GROUP_GET_DEVICE_FD,
                name.as_ptr().cast_mut(),
            )
        }
        .map_err(|e| self.ioctl_error("VFIO_GROUP_GET_DEVICE_FD", e))?;
        // SAFETY: on success the ioctl returns a new file descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(VfioDevice {
            file: File::from(fd),
            address,
        })
    }
}

/// What `VFIO_DEVICE_GET_INFO` reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `VFIO_DEVICE_FLAGS_*` (bit 0: supports reset, bit 1: PCI).
    pub flags: u32,
    /// Number of regions (for PCI: BAR0 to BAR5, ROM, config space, VGA, then device-specific).
    pub num_regions: u32,
    /// Number of interrupt types (for PCI: INTx, MSI, MSI-X, error, request).
    pub num_irqs: u32,
}

/// What `VFIO_DEVICE_GET_REGION_INFO` reports for one region.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region index.
    pub index: u32,
    /// `VFIO_REGION_INFO_FLAG_*` (bit 0 read, bit 1 write, bit 2 mmap).
    pub flags: u32,
    /// Size in bytes (0: the region does not exist).
    pub size: u64,
    /// Offset of the region in the device file (for `pread`/`pwrite`/`mmap`).
    pub offset: u64,
}

/// A device opened through VFIO.
#[derive(Debug)]
pub struct VfioDevice {
    file: File,
    address: PciAddress,
}

impl VfioDevice {
    fn ioctl_error(&self, op: &'static str, source: io::Error) -> PassthroughError {
        PassthroughError::DeviceIoctl {
            op,
            address: self.address,
            source,
        }
    }

    /// The device's address.
    pub fn address(&self) -> PciAddress {
        self.address
    }

    /// The device file, for reading and writing regions at [`RegionInfo::offset`].
    pub fn file(&self) -> &File {
        &self.file
    }

    /// `VFIO_DEVICE_GET_INFO`.
    pub fn info(&self) -> Result<DeviceInfo> {
        let mut info = sys::VfioDeviceInfo {
            argsz: argsz::<sys::VfioDeviceInfo>(),
            ..Default::default()
        };
        // SAFETY: VFIO_DEVICE_GET_INFO reads `argsz` and fills a `vfio_device_info` of at most that size,
        // which `info` is.
        unsafe { sys::ioctl_with_ptr(self.file.as_fd(), sys::VFIO_DEVICE_GET_INFO, &raw mut info) }
            .map_err(|e| self.ioctl_error("VFIO_DEVICE_GET_INFO", e))?;
        Ok(DeviceInfo {
            flags: info.flags,
            num_regions: info.num_regions,
            num_irqs: info.num_irqs,
        })
    }

    /// `VFIO_DEVICE_GET_REGION_INFO` for region `index`.
    pub fn region_info(&self, index: u32) -> Result<RegionInfo> {
        let mut region = sys::VfioRegionInfo {
            argsz: argsz::<sys::VfioRegionInfo>(),
            index,
            ..Default::default()
        };
        // SAFETY: VFIO_DEVICE_GET_REGION_INFO reads `argsz` and `index` and fills a `vfio_region_info` of
        // at most `argsz` bytes, which `region` is.
        unsafe {
            sys::ioctl_with_ptr(
                self.file.as_fd(),
                sys::VFIO_DEVICE_GET_REGION_INFO,
                &raw mut region,
            )
        }
        .map_err(|e| self.ioctl_error("VFIO_DEVICE_GET_REGION_INFO", e))?;
        Ok(RegionInfo {
            index,
            flags: region.flags,
            size: region.size,
            offset: region.offset,
        })
    }

    /// Reset the device (`VFIO_DEVICE_RESET`).
    pub fn reset(&self) -> Result<()> {
        // SAFETY: VFIO_DEVICE_RESET takes no argument.
        unsafe { sys::ioctl_with_val(self.file.as_fd(), sys::VFIO_DEVICE_RESET, 0) }
            .map(drop)
            .map_err(|e| self.ioctl_error("VFIO_DEVICE_RESET", e))
    }
}

/// A device opened through VFIO together with the group and container that keep it usable.
#[derive(Debug)]
pub struct OpenedDevice {
    /// The container (map guest memory for DMA here).
    pub container: VfioContainer,
    /// The device's group.
    pub group: VfioGroup,
    /// The device.
    pub device: VfioDevice,
}

/// The whole open path for one device on this host: sysfs checks, container, group, device.
pub fn open_device(sysfs: &SysfsPci, address: PciAddress) -> Result<OpenedDevice> {
    let target = sysfs.vfio_target(address)?;
    let mut container = VfioContainer::open()?;
    let group = VfioGroup::open(target.group)?;
    group.attach(&mut container)?;
    let device = group.device(address)?;
    Ok(OpenedDevice {
        container,
        group,
        device,
    })
}

/// What a host offers for VFIO, from [`check_host`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VfioHostInfo {
    /// The kernel's VFIO API version.
    pub api_version: i32,
    /// The best IOMMU backend the container offers.
    pub iommu: IommuType,
}

/// Check that this host can do VFIO passthrough at all: an IOMMU is enabled, `/dev/vfio/vfio` opens
/// and speaks our API version, and a Type1 IOMMU backend exists.
pub fn check_host(sysfs: &SysfsPci) -> Result<VfioHostInfo> {
    sysfs.require_iommu()?;
    let container = VfioContainer::open()?;
    Ok(VfioHostInfo {
        api_version: container.api_version()?,
        iommu: container.best_iommu()?,
    })
}
