//! Guest RAM backed by an anonymous private `mmap` (builds with `std`).
//!
//! `MAP_NORESERVE` lets a VM declare more RAM than the host has free: pages are allocated when the guest
//! first touches them, as the kernel does for any anonymous mapping. Written against `libc` directly
//! because the mapping needs no more than `mmap`/`munmap`; the crates that wrap them (memmap2, vm-memory)
//! bring file-mapping and guest-memory models of their own that this crate replaces.

use core::ptr::NonNull;

use crate::error::{Errno, Error, Result};

/// One anonymous mapping, unmapped on drop.
#[derive(Debug)]
pub(super) struct Backing {
    ptr: NonNull<u8>,
    len: usize,
}

impl Backing {
    /// Maps `len` bytes (`len > 0`; `requested` is the caller's size, for errors). The pages read as zero.
    pub(super) fn new(len: usize, requested: u64) -> Result<Self> {
        // SAFETY: an anonymous private mapping at an address the kernel chooses cannot alias any existing
        // Rust object; all arguments are valid constants and `len` is non-zero (checked by the caller).
        let ptr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::Mmap {
                size: requested,
                errno: Errno::last(),
            });
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or(Error::Mmap {
            size: requested,
            errno: Errno(libc::EINVAL),
        })?;
        Ok(Self { ptr, len })
    }

    /// The first byte of the mapping (page-aligned).
    pub(super) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping `new` created, which nothing else unmaps; the
        // `GuestRam` that owns this backing is being dropped, so no host slice handed out by it may be used
        // any more (their documented lifetime is that of the memory object).
        let rc = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap of guest RAM failed");
    }
}
