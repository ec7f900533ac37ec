//! Guest RAM backed by a zeroed heap allocation (builds without `std`).
//!
//! Page alignment keeps the host address of every guest byte congruent to its guest address modulo the
//! page size, so naturally aligned guest atomics are naturally aligned host atomics, as with `mmap`.

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use core::ptr::NonNull;

use crate::error::{Error, Result};

/// Alignment of the allocation: one 4 KiB page.
const ALIGN: usize = 4096;

/// One zeroed heap block, freed on drop.
#[derive(Debug)]
pub(super) struct Backing {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Backing {
    /// Allocates `len` zeroed bytes (`len > 0`; `requested` is the caller's size, for errors).
    pub(super) fn new(len: usize, requested: u64) -> Result<Self> {
        let layout = Layout::from_size_align(len, ALIGN)
            .map_err(|_| Error::RamTooLarge { size: requested })?;
        // SAFETY: `layout` has a non-zero size (checked by the caller) and a valid power-of-two alignment.
        let ptr = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or(Error::OutOfMemory { size: requested })?;
        Ok(Self { ptr, layout })
    }

    /// The first byte of the allocation (page-aligned).
    pub(super) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        // SAFETY: `ptr` was returned by `alloc_zeroed` with exactly this `layout` and is freed only here;
        // the owning `GuestRam` is being dropped, so no host slice handed out by it may be used any more.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}
