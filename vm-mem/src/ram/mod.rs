//! [`GuestRam`]: one contiguous block of host memory that backs guest RAM or ROM.
//!
//! With `std` the block is an anonymous private `mmap` (`MAP_NORESERVE`); without it, a zeroed,
//! page-aligned heap allocation. Either way it starts zeroed, its host address never changes, and it is
//! released when the `GuestRam` is dropped.
//!
//! The memory is shared: every vCPU thread and device of a VM reads and writes it at once, as real RAM is
//! shared. The host therefore never forms Rust references (`&[u8]`/`&mut [u8]`) into it; every access is
//! a raw-pointer copy (`copy_nonoverlapping`, `read_unaligned`/`write_unaligned`) or a host atomic. Two
//! guest CPUs racing on the same bytes is the guest's data race, not the host's: the bytes are plain
//! integers with no validity invariant, so any interleaving yields some byte values and nothing more.

mod atomic;
#[cfg(not(feature = "std"))]
mod heap;
#[cfg(feature = "std")]
mod mmap;

use core::ptr;

#[cfg(not(feature = "std"))]
use heap::Backing;
#[cfg(feature = "std")]
use mmap::Backing;
use vm_core::mem::AccessSize;

use crate::error::{Error, Result};

/// A contiguous, zero-initialised block of host memory backing guest RAM or ROM.
///
/// The block is page-aligned on the host. [`as_ptr`](Self::as_ptr) stays valid until the `GuestRam` is
/// dropped; code that caches it (an engine's fast path) must keep the memory object alive.
#[derive(Debug)]
pub struct GuestRam {
    backing: Backing,
    size: u64,
}

// SAFETY: `GuestRam` owns its block exclusively (the raw pointer is not shared with any other owner) and
// frees it only in `Drop`, so moving it to another thread is sound.
unsafe impl Send for GuestRam {}

// SAFETY: every access through `&GuestRam` goes through raw pointers (never Rust references into the
// block) or host atomics, and the bytes have no validity invariant, so concurrent use from several threads
// cannot violate memory safety; ordering between guest CPUs is the guest's business, as on hardware.
unsafe impl Sync for GuestRam {}

impl GuestRam {
    /// Allocates `size` bytes of zeroed guest memory.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroSizedRam`] for `size == 0`, [`Error::RamTooLarge`] when `size` does not fit the host,
    /// [`Error::Mmap`] (with the kernel's errno) or [`Error::OutOfMemory`] when the host has no room.
    pub fn new(size: u64) -> Result<Self> {
        if size == 0 {
            return Err(Error::ZeroSizedRam);
        }
        let len = usize::try_from(size)
            .ok()
            .filter(|&l| l <= isize::MAX as usize)
            .ok_or(Error::RamTooLarge { size })?;
        Ok(Self {
            backing: Backing::new(len, size)?,
            size,
        })
    }

    /// The host address of the first byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.backing.ptr().as_ptr()
    }

    /// Size in bytes (never zero).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// A host pointer to `offset`, if `[offset, offset + len)` lies inside the block.
    fn span(&self, offset: u64, len: u64) -> Option<*mut u8> {
        let end = offset.checked_add(len)?;
        if end > self.size {
            return None;
        }
        let offset = usize::try_from(offset).ok()?;
        // SAFETY: `offset + len <= size` and `size` bytes starting at `as_ptr()` belong to one allocation,
        // so the resulting pointer stays inside it (or one past its end when `len == 0`).
        Some(unsafe { self.as_ptr().add(offset) })
    }

    fn out_of_bounds(&self, offset: u64, len: u64) -> Error {
        Error::OutOfBounds {
            offset,
            len,
            size: self.size,
        }
    }

    /// Copies `buf.len()` bytes starting at `offset` into `buf`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the range is not inside the block; nothing is copied then.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let len = buf.len() as u64;
        let src = self
            .span(offset, len)
            .ok_or_else(|| self.out_of_bounds(offset, len))?;
        // SAFETY: `span` checked that `src..src + len` lies inside the block; `buf` is a distinct Rust
        // allocation (the block is never exposed as a Rust slice), so the ranges do not overlap.
        unsafe { ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `buf` into the block starting at `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the range is not inside the block; nothing is written then.
    pub fn write(&self, offset: u64, buf: &[u8]) -> Result<()> {
        let len = buf.len() as u64;
        let dst = self
            .span(offset, len)
            .ok_or_else(|| self.out_of_bounds(offset, len))?;
        // SAFETY: `span` checked that `dst..dst + len` lies inside the block, which is writable; `buf`
        // cannot point into the block (it is never exposed as a Rust slice), so the ranges do not overlap.
        unsafe { ptr::copy_nonoverlapping(buf.as_ptr(), dst, buf.len()) };
        Ok(())
    }

    /// Sets `len` bytes starting at `offset` to `byte`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the range is not inside the block; nothing is written then.
    pub fn fill(&self, offset: u64, len: u64, byte: u8) -> Result<()> {
        let dst = self
            .span(offset, len)
            .ok_or_else(|| self.out_of_bounds(offset, len))?;
        // `span` succeeded, so `len <= size`, which fits `usize` (checked in `new`).
        let count = usize::try_from(len).map_err(|_| self.out_of_bounds(offset, len))?;
        // SAFETY: `span` checked that `dst..dst + len` lies inside the writable block.
        unsafe { ptr::write_bytes(dst, byte, count) };
        Ok(())
    }

    /// Loads a little-endian value of `size` bytes at `offset`, or `None` when out of bounds.
    #[inline]
    pub(crate) fn load_le(&self, offset: u64, size: AccessSize) -> Option<u64> {
        let p = self.span(offset, size.bytes() as u64)?;
        // One typed load per size, so a naturally aligned access is a single host load (single-copy
        // atomic, as guest architectures require of aligned accesses).
        let v = match size {
            // SAFETY: `span` checked that 1 byte at `p` lies inside the block.
            AccessSize::U8 => u64::from(unsafe { p.read() }),
            AccessSize::U16 => {
                // SAFETY: `span` checked that 2 bytes at `p` lie inside the block; no alignment needed.
                u64::from(u16::from_le(unsafe { p.cast::<u16>().read_unaligned() }))
            }
            AccessSize::U32 => {
                // SAFETY: `span` checked that 4 bytes at `p` lie inside the block; no alignment needed.
                u64::from(u32::from_le(unsafe { p.cast::<u32>().read_unaligned() }))
            }
            AccessSize::U64 => {
                // SAFETY: `span` checked that 8 bytes at `p` lie inside the block; no alignment needed.
                u64::from_le(unsafe { p.cast::<u64>().read_unaligned() })
            }
        };
        Some(v)
    }

    /// Stores the low `size` bytes of `value` little-endian at `offset`; `false` when out of bounds.
    #[inline]
    pub(crate) fn store_le(&self, offset: u64, size: AccessSize, value: u64) -> bool {
        let Some(p) = self.span(offset, size.bytes() as u64) else {
            return false;
        };
        // The truncating casts keep the low bytes; one typed store per size, as in `load_le`.
        match size {
            // SAFETY: `span` checked that 1 byte at `p` lies inside the writable block.
            AccessSize::U8 => unsafe { p.write(value as u8) },
            AccessSize::U16 => {
                // SAFETY: `span` checked that 2 bytes at `p` lie inside the writable block.
                unsafe { p.cast::<u16>().write_unaligned((value as u16).to_le()) }
            }
            AccessSize::U32 => {
                // SAFETY: `span` checked that 4 bytes at `p` lie inside the writable block.
                unsafe { p.cast::<u32>().write_unaligned((value as u32).to_le()) }
            }
            AccessSize::U64 => {
                // SAFETY: `span` checked that 8 bytes at `p` lie inside the writable block.
                unsafe { p.cast::<u64>().write_unaligned(value.to_le()) }
            }
        }
        true
    }

    /// Atomic little-endian compare-and-exchange of `size` bytes at `offset` (see
    /// [`atomic::compare_exchange`] for the result). `None` when the range is out of bounds or its host
    /// address is not aligned to `size`.
    #[inline]
    pub(crate) fn compare_exchange_le(
        &self,
        offset: u64,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> Option<Result<u64, u64>> {
        let p = self.span(offset, size.bytes() as u64)?;
        if !(p as usize).is_multiple_of(size.bytes()) {
            return None;
        }
        // SAFETY: `size` bytes at `p` lie inside the block (checked by `span`), `p` is aligned to `size`
        // (checked just above), and the block outlives this call because `self` is borrowed.
        Some(unsafe { atomic::compare_exchange(p, size, current, new) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_size_and_too_large_are_rejected() {
        assert_eq!(GuestRam::new(0).unwrap_err(), Error::ZeroSizedRam);
        assert_eq!(
            GuestRam::new(u64::MAX).unwrap_err(),
            Error::RamTooLarge { size: u64::MAX }
        );
    }

    #[test]
    fn starts_zeroed_and_page_aligned() {
        let ram = GuestRam::new(8192).unwrap();
        assert_eq!(ram.size(), 8192);
        assert_eq!(ram.as_ptr() as usize % 4096, 0);
        let mut buf = [0xaa_u8; 16];
        ram.read(8176, &mut buf).unwrap();
        assert_eq!(buf, [0; 16]);
    }

    #[test]
    fn bounds_are_exact() {
        let ram = GuestRam::new(64).unwrap();
        ram.write(60, &[1, 2, 3, 4]).unwrap();
        assert_eq!(
            ram.write(61, &[1, 2, 3, 4]),
            Err(Error::OutOfBounds {
                offset: 61,
                len: 4,
                size: 64
            })
        );
        assert_eq!(
            ram.fill(u64::MAX, 2, 0),
            Err(Error::OutOfBounds {
                offset: u64::MAX,
                len: 2,
                size: 64
            })
        );
        let mut b = [0u8; 4];
        ram.read(60, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(ram.load_le(60, AccessSize::U32), Some(0x0403_0201));
        assert_eq!(ram.load_le(61, AccessSize::U32), None);
        assert!(!ram.store_le(57, AccessSize::U64, 0));
    }

    #[test]
    fn sized_little_endian_round_trip() {
        let ram = GuestRam::new(64).unwrap();
        assert!(ram.store_le(3, AccessSize::U64, 0x1122_3344_5566_7788));
        let mut b = [0u8; 8];
        ram.read(3, &mut b).unwrap();
        assert_eq!(b, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
        assert_eq!(ram.load_le(5, AccessSize::U16), Some(0x5566));
        assert!(ram.store_le(0, AccessSize::U16, 0xffff_abcd));
        assert_eq!(ram.load_le(0, AccessSize::U32), Some(0x8800_abcd));
        ram.fill(0, 64, 0x5a).unwrap();
        assert_eq!(
            ram.load_le(56, AccessSize::U64),
            Some(0x5a5a_5a5a_5a5a_5a5a)
        );
    }

    #[test]
    fn compare_exchange_checks_host_alignment() {
        let ram = GuestRam::new(64).unwrap();
        assert_eq!(
            ram.compare_exchange_le(8, AccessSize::U64, 0, 7),
            Some(Ok(0))
        );
        assert_eq!(
            ram.compare_exchange_le(8, AccessSize::U64, 0, 9),
            Some(Err(7))
        );
        assert_eq!(ram.compare_exchange_le(4, AccessSize::U64, 0, 9), None);
        assert_eq!(ram.compare_exchange_le(64, AccessSize::U8, 0, 9), None);
    }
}
