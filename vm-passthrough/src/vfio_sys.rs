//! The VFIO kernel ABI this crate uses (`include/uapi/linux/vfio.h`): ioctl numbers, flags and the
//! `#[repr(C)]` argument structures, plus thin `ioctl(2)` wrappers.
//!
//! Written by hand rather than taken from `vfio-bindings`: we need about a dozen ioctls with small,
//! fixed structures, and the ABI is stable (every value below is checked against the kernel's numbers
//! in the tests). Everything here is crate-private; [`crate::vfio`] is the safe interface.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The ioctl "type" character of VFIO.
const VFIO_TYPE: u32 = b';' as u32;
/// The first VFIO ioctl number.
const VFIO_BASE: u32 = 100;

/// `_IO(VFIO_TYPE, VFIO_BASE + n)`: VFIO ioctls carry no size or direction bits.
const fn vfio_io(n: u32) -> u32 {
    (VFIO_TYPE << 8) | (VFIO_BASE + n)
}

/// The API version this crate speaks (`VFIO_API_VERSION`).
pub(crate) const VFIO_API_VERSION: i32 = 0;

pub(crate) const VFIO_GET_API_VERSION: u32 = vfio_io(0);
pub(crate) const VFIO_CHECK_EXTENSION: u32 = vfio_io(1);
pub(crate) const VFIO_SET_IOMMU: u32 = vfio_io(2);
pub(crate) const VFIO_GROUP_GET_STATUS: u32 = vfio_io(3);
pub(crate) const VFIO_GROUP_SET_CONTAINER: u32 = vfio_io(4);
pub(crate) const VFIO_GROUP_GET_DEVICE_FD: u32 = vfio_io(6);
pub(crate) const VFIO_DEVICE_GET_INFO: u32 = vfio_io(7);
pub(crate) const VFIO_DEVICE_GET_REGION_INFO: u32 = vfio_io(8);
pub(crate) const VFIO_DEVICE_RESET: u32 = vfio_io(11);
pub(crate) const VFIO_IOMMU_MAP_DMA: u32 = vfio_io(13);
pub(crate) const VFIO_IOMMU_UNMAP_DMA: u32 = vfio_io(14);

/// Extension / IOMMU type: the original Type1 IOMMU.
pub(crate) const VFIO_TYPE1_IOMMU: u32 = 1;
/// Extension / IOMMU type: Type1 with the v2 unmap semantics.
pub(crate) const VFIO_TYPE1V2_IOMMU: u32 = 3;

/// `vfio_group_status.flags`: every device in the group is bound to a VFIO-compatible driver.
pub(crate) const VFIO_GROUP_FLAGS_VIABLE: u32 = 1 << 0;
/// `vfio_group_status.flags`: the group is attached to a container.
pub(crate) const VFIO_GROUP_FLAGS_CONTAINER_SET: u32 = 1 << 1;

/// `vfio_iommu_type1_dma_map.flags`: the device may read the mapping.
pub(crate) const VFIO_DMA_MAP_FLAG_READ: u32 = 1 << 0;
/// `vfio_iommu_type1_dma_map.flags`: the device may write the mapping.
pub(crate) const VFIO_DMA_MAP_FLAG_WRITE: u32 = 1 << 1;

/// `struct vfio_group_status`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct VfioGroupStatus {
    pub(crate) argsz: u32,
    pub(crate) flags: u32,
}

/// `struct vfio_device_info`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct VfioDeviceInfo {
    pub(crate) argsz: u32,
    pub(crate) flags: u32,
    pub(crate) num_regions: u32,
    pub(crate) num_irqs: u32,
    pub(crate) cap_offset: u32,
    pub(crate) pad: u32,
}

/// `struct vfio_region_info`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct VfioRegionInfo {
    pub(crate) argsz: u32,
    pub(crate) flags: u32,
    pub(crate) index: u32,
    pub(crate) cap_offset: u32,
    pub(crate) size: u64,
    pub(crate) offset: u64,
}

/// `struct vfio_iommu_type1_dma_map`.
#[repr(C)]
#[derive(Default)]
pub(crate) struct VfioDmaMap {
    pub(crate) argsz: u32,
    pub(crate) flags: u32,
    pub(crate) vaddr: u64,
    pub(crate) iova: u64,
    pub(crate) size: u64,
}

/// `struct vfio_iommu_type1_dma_unmap` (without the trailing flexible array, which we never use).
#[repr(C)]
#[derive(Default)]
pub(crate) struct VfioDmaUnmap {
    pub(crate) argsz: u32,
    pub(crate) flags: u32,
    pub(crate) iova: u64,
    pub(crate) size: u64,
}

/// The `argsz` value for a structure: its size, which is always small.
pub(crate) const fn argsz<T>() -> u32 {
    size_of::<T>() as u32
}

/// `ioctl(fd, request, value)` for requests that take an integer argument (or none; pass 0).
///
/// # Safety
///
/// `request` must be a VFIO request that takes an integer or no argument (GET_API_VERSION,
/// CHECK_EXTENSION, SET_IOMMU, DEVICE_RESET), so the kernel never uses `value` as a pointer. The ioctl
/// type `';'` is reserved for VFIO in the kernel's ioctl-number registry, so a file that is not a VFIO
/// node answers such a request with `ENOTTY`.
pub(crate) unsafe fn ioctl_with_val(
    fd: BorrowedFd<'_>,
    request: u32,
    value: libc::c_ulong,
) -> io::Result<libc::c_int> {
    // SAFETY: the caller guarantees the request takes no pointer; `fd` is borrowed and so stays open for
    // the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, value) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `ioctl(fd, request, arg)` for requests that read and/or write `*arg`.
///
/// # Safety
///
/// `request` must be a VFIO request whose argument is a `T` (for GROUP_SET_CONTAINER a `c_int`, for
/// GROUP_GET_DEVICE_FD a NUL-terminated string of `c_char`), `arg` must be valid for reads and writes
/// of that type for the duration of the call, and `fd` must be a VFIO node (see [`ioctl_with_val`]).
pub(crate) unsafe fn ioctl_with_ptr<T>(
    fd: BorrowedFd<'_>,
    request: u32,
    arg: *mut T,
) -> io::Result<libc::c_int> {
    // SAFETY: the caller guarantees that `arg` points to what `request` expects; `fd` is borrowed and so
    // stays open for the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel() {
        // Values of the macros in include/uapi/linux/vfio.h on every Linux architecture.
        assert_eq!(VFIO_GET_API_VERSION, 0x3b64);
        assert_eq!(VFIO_CHECK_EXTENSION, 0x3b65);
        assert_eq!(VFIO_SET_IOMMU, 0x3b66);
        assert_eq!(VFIO_GROUP_GET_STATUS, 0x3b67);
        assert_eq!(VFIO_GROUP_SET_CONTAINER, 0x3b68);
        assert_eq!(VFIO_GROUP_GET_DEVICE_FD, 0x3b6a);
        assert_eq!(VFIO_DEVICE_GET_INFO, 0x3b6b);
        assert_eq!(VFIO_DEVICE_GET_REGION_INFO, 0x3b6c);
        assert_eq!(VFIO_DEVICE_RESET, 0x3b6f);
        assert_eq!(VFIO_IOMMU_MAP_DMA, 0x3b71);
        assert_eq!(VFIO_IOMMU_UNMAP_DMA, 0x3b72);
    }

    #[test]
    fn structures_have_the_kernel_layout() {
        assert_eq!(argsz::<VfioGroupStatus>(), 8);
        assert_eq!(argsz::<VfioDeviceInfo>(), 24);
        assert_eq!(argsz::<VfioRegionInfo>(), 32);
        assert_eq!(std::mem::offset_of!(VfioRegionInfo, size), 16);
        assert_eq!(argsz::<VfioDmaMap>(), 32);
        assert_eq!(std::mem::offset_of!(VfioDmaMap, vaddr), 8);
        assert_eq!(argsz::<VfioDmaUnmap>(), 24);
    }
}
