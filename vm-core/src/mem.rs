//! Guest memory access: the trait vm-mem implements and engines, loaders and devices use.
//!
//! Everything here speaks *guest physical* addresses. Translation from virtual addresses belongs to the
//! architecture (`vm-frontend`) and the page-table walkers (`vm-mem`).
//!
//! ```
//! use vm_core::mem::{GuestMemory, MemFault, AccessSize};
//! use vm_core::GuestPhysAddr;
//! use core::cell::RefCell;
//!
//! /// A toy memory: one region at address 0.
//! struct Flat(RefCell<Vec<u8>>);
//!
//! impl GuestMemory for Flat {
//!     fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
//!         let mem = self.0.borrow();
//!         let start = addr.raw() as usize;
//!         let src = mem.get(start..start + buf.len()).ok_or(MemFault::Unmapped { addr })?;
//!         buf.copy_from_slice(src);
//!         Ok(())
//!     }
//!     fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
//!         let mut mem = self.0.borrow_mut();
//!         let start = addr.raw() as usize;
//!         let dst = mem.get_mut(start..start + buf.len()).ok_or(MemFault::Unmapped { addr })?;
//!         dst.copy_from_slice(buf);
//!         Ok(())
//!     }
//! }
//!
//! let m = Flat(RefCell::new(vec![0; 64]));
//! m.write_u32(GuestPhysAddr(8), 0xdead_beef).unwrap();
//! assert_eq!(m.read_sized(GuestPhysAddr(8), AccessSize::U16).unwrap(), 0xbeef);
//! assert!(m.read_u64(GuestPhysAddr(60)).is_err());
//! ```

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::addr::GuestPhysAddr;

/// The width of one memory or device access.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum AccessSize {
    /// 1 byte.
    U8 = 1,
    /// 2 bytes.
    U16 = 2,
    /// 4 bytes.
    U32 = 4,
    /// 8 bytes.
    U64 = 8,
}

impl AccessSize {
    /// Size in bytes.
    #[inline]
    pub const fn bytes(self) -> usize {
        self as usize
    }

    /// Size in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        (self as u32) * 8
    }

    /// The size with this many bytes, if it is 1, 2, 4 or 8.
    pub const fn from_bytes(n: usize) -> Option<Self> {
        match n {
            1 => Some(Self::U8),
            2 => Some(Self::U16),
            4 => Some(Self::U32),
            8 => Some(Self::U64),
            _ => None,
        }
    }

    /// A mask of the low `bits()` bits.
    #[inline]
    pub const fn mask(self) -> u64 {
        match self {
            Self::U64 => u64::MAX,
            s => (1u64 << s.bits()) - 1,
        }
    }
}

impl fmt::Display for AccessSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-byte", self.bytes())
    }
}

/// Why an access was made; the MMU reports faults per kind (load, store/AMO, instruction fetch).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessKind {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Fetch,
    /// An atomic read-modify-write (reported as a store fault by most architectures).
    Atomic,
}

/// Why a guest physical access failed. These are *guest* faults: the architecture turns them into traps.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemFault {
    /// Nothing is mapped at the address.
    #[error("Nothing is mapped at guest physical address {addr}")]
    Unmapped {
        /// The first address that is not backed.
        addr: GuestPhysAddr,
    },
    /// The region does not allow this kind of access (a write to ROM, say).
    #[error("{kind:?} access to {addr} is not allowed by its region")]
    Denied {
        /// The address.
        addr: GuestPhysAddr,
        /// The kind of access.
        kind: AccessKind,
    },
    /// The access is not aligned where alignment is required (atomics).
    #[error("Misaligned {size} access at {addr}")]
    Misaligned {
        /// The address.
        addr: GuestPhysAddr,
        /// The access size.
        size: AccessSize,
    },
    /// A device answered the access with a bus error.
    #[error("Device bus error at {addr}")]
    BusError {
        /// The address.
        addr: GuestPhysAddr,
    },
}

impl MemFault {
    /// The faulting address.
    pub const fn addr(&self) -> GuestPhysAddr {
        match *self {
            Self::Unmapped { addr }
            | Self::Denied { addr, .. }
            | Self::Misaligned { addr, .. }
            | Self::BusError { addr } => addr,
        }
    }
}

/// A contiguous piece of guest RAM backed by host memory, for engines' fast paths.
///
/// `host` points at the byte backing `gpa`; the next `len` bytes are valid for as long as the memory
/// object that returned this lives (guest RAM is never unmapped while a VM runs).
#[derive(Copy, Clone, Debug)]
pub struct HostSlice {
    /// Guest physical address of the first byte.
    pub gpa: GuestPhysAddr,
    /// Host address of the first byte.
    pub host: *mut u8,
    /// Number of bytes.
    pub len: u64,
    /// Whether the guest may write through this slice (false for ROM).
    pub writable: bool,
}

/// Guest physical memory, shared by every vCPU and device of a VM.
///
/// Methods take `&self`: guest RAM is shared memory that several vCPU threads and devices access at once,
/// as real RAM is. Accesses are little-endian. Implementations must never panic on a bad address: they
/// return a [`MemFault`].
pub trait GuestMemory {
    /// Read `buf.len()` bytes at `addr`.
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault>;

    /// Write `buf` at `addr`.
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault>;

    /// The host-backed RAM around `addr`, if `addr` is RAM (engines cache this for their fast path).
    fn host_slice(&self, addr: GuestPhysAddr) -> Option<HostSlice> {
        let _ = addr;
        None
    }

    /// Read a naturally sized little-endian value, zero-extended to 64 bits.
    fn read_sized(&self, addr: GuestPhysAddr, size: AccessSize) -> Result<u64, MemFault> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b[..size.bytes()])?;
        Ok(u64::from_le_bytes(b))
    }

    /// Write the low `size` bytes of `value`, little-endian.
    fn write_sized(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        value: u64,
    ) -> Result<(), MemFault> {
        self.write(addr, &value.to_le_bytes()[..size.bytes()])
    }

    /// Atomically replace the `size`-byte value at `addr` with `new` if it equals `current`.
    ///
    /// Returns `Ok(old)` on success and `Err(actual)` inside `Ok` when the comparison failed. `addr` must be
    /// aligned to `size`. The default implementation is *not* atomic with respect to other threads; memory
    /// shared between vCPU threads overrides it with host atomics.
    fn compare_exchange(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemFault> {
        if !addr.is_aligned(size.bytes() as u64) {
            return Err(MemFault::Misaligned { addr, size });
        }
        let old = self.read_sized(addr, size)?;
        if old == current & size.mask() {
            self.write_sized(addr, size, new)?;
            Ok(Ok(old))
        } else {
            Ok(Err(old))
        }
    }

    /// Read a `u8`.
    fn read_u8(&self, addr: GuestPhysAddr) -> Result<u8, MemFault> {
        Ok(self.read_sized(addr, AccessSize::U8)? as u8)
    }
    /// Read a little-endian `u16`.
    fn read_u16(&self, addr: GuestPhysAddr) -> Result<u16, MemFault> {
        Ok(self.read_sized(addr, AccessSize::U16)? as u16)
    }
    /// Read a little-endian `u32`.
    fn read_u32(&self, addr: GuestPhysAddr) -> Result<u32, MemFault> {
        Ok(self.read_sized(addr, AccessSize::U32)? as u32)
    }
    /// Read a little-endian `u64`.
    fn read_u64(&self, addr: GuestPhysAddr) -> Result<u64, MemFault> {
        self.read_sized(addr, AccessSize::U64)
    }
    /// Write a `u8`.
    fn write_u8(&self, addr: GuestPhysAddr, v: u8) -> Result<(), MemFault> {
        self.write_sized(addr, AccessSize::U8, v.into())
    }
    /// Write a little-endian `u16`.
    fn write_u16(&self, addr: GuestPhysAddr, v: u16) -> Result<(), MemFault> {
        self.write_sized(addr, AccessSize::U16, v.into())
    }
    /// Write a little-endian `u32`.
    fn write_u32(&self, addr: GuestPhysAddr, v: u32) -> Result<(), MemFault> {
        self.write_sized(addr, AccessSize::U32, v.into())
    }
    /// Write a little-endian `u64`.
    fn write_u64(&self, addr: GuestPhysAddr, v: u64) -> Result<(), MemFault> {
        self.write_sized(addr, AccessSize::U64, v)
    }
}

impl<M: GuestMemory + ?Sized> GuestMemory for &M {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        (**self).read(addr, buf)
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        (**self).write(addr, buf)
    }
    fn host_slice(&self, addr: GuestPhysAddr) -> Option<HostSlice> {
        (**self).host_slice(addr)
    }
    fn compare_exchange(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemFault> {
        (**self).compare_exchange(addr, size, current, new)
    }
}

impl<M: GuestMemory + ?Sized> GuestMemory for alloc::sync::Arc<M> {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        (**self).read(addr, buf)
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        (**self).write(addr, buf)
    }
    fn host_slice(&self, addr: GuestPhysAddr) -> Option<HostSlice> {
        (**self).host_slice(addr)
    }
    fn compare_exchange(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemFault> {
        (**self).compare_exchange(addr, size, current, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;

    struct Flat(RefCell<[u8; 32]>);

    impl GuestMemory for Flat {
        fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
            let m = self.0.borrow();
            let s = addr.raw() as usize;
            buf.copy_from_slice(m.get(s..s + buf.len()).ok_or(MemFault::Unmapped { addr })?);
            Ok(())
        }
        fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
            let mut m = self.0.borrow_mut();
            let s = addr.raw() as usize;
            m.get_mut(s..s + buf.len())
                .ok_or(MemFault::Unmapped { addr })?
                .copy_from_slice(buf);
            Ok(())
        }
    }

    #[test]
    fn little_endian_sized_access() {
        let m = Flat(RefCell::new([0; 32]));
        m.write_u64(GuestPhysAddr(0), 0x0807_0605_0403_0201)
            .unwrap();
        assert_eq!(m.read_u8(GuestPhysAddr(0)).unwrap(), 1);
        assert_eq!(m.read_u16(GuestPhysAddr(1)).unwrap(), 0x0302);
        assert_eq!(m.read_u32(GuestPhysAddr(4)).unwrap(), 0x0807_0605);
        assert_eq!(
            m.read_u64(GuestPhysAddr(30)),
            Err(MemFault::Unmapped {
                addr: GuestPhysAddr(30)
            })
        );
    }

    #[test]
    fn default_compare_exchange() {
        let m = Flat(RefCell::new([0; 32]));
        m.write_u32(GuestPhysAddr(8), 5).unwrap();
        assert_eq!(
            m.compare_exchange(GuestPhysAddr(8), AccessSize::U32, 5, 7),
            Ok(Ok(5))
        );
        assert_eq!(
            m.compare_exchange(GuestPhysAddr(8), AccessSize::U32, 5, 9),
            Ok(Err(7))
        );
        assert_eq!(m.read_u32(GuestPhysAddr(8)).unwrap(), 7);
        assert!(matches!(
            m.compare_exchange(GuestPhysAddr(9), AccessSize::U32, 0, 0),
            Err(MemFault::Misaligned { .. })
        ));
    }

    #[test]
    fn size_masks() {
        assert_eq!(AccessSize::U8.mask(), 0xff);
        assert_eq!(AccessSize::U32.mask(), 0xffff_ffff);
        assert_eq!(AccessSize::U64.mask(), u64::MAX);
        assert_eq!(AccessSize::from_bytes(3), None);
    }
}
