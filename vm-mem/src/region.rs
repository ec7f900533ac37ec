//! The regions of a guest physical memory map.

use alloc::string::String;

use vm_core::mem::HostSlice;
use vm_core::{GuestPhysAddr, GuestPhysRange};

use crate::ram::GuestRam;

/// What a region of the memory map is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// Read/write guest RAM, backed by host memory.
    Ram,
    /// Read-only memory backed by host memory: the guest may read and fetch from it; guest writes fail
    /// with [`MemFault::Denied`](vm_core::mem::MemFault::Denied). The host fills it through
    /// [`PhysMemory::load_image`](crate::PhysMemory::load_image).
    Rom,
    /// A window reserved for memory-mapped devices. This layer backs it with nothing: guest accesses
    /// return [`MemFault::Unmapped`](vm_core::mem::MemFault::Unmapped) and the machine sends them to
    /// its device bus.
    Mmio,
}

impl RegionKind {
    /// Whether the region is backed by host memory (RAM or ROM).
    pub const fn is_memory(self) -> bool {
        matches!(self, Self::Ram | Self::Rom)
    }
}

/// One region of a [`PhysMemory`](crate::PhysMemory) map.
#[derive(Debug)]
pub struct Region {
    pub(crate) name: String,
    pub(crate) range: GuestPhysRange,
    pub(crate) kind: RegionKind,
    /// `Some` exactly for RAM and ROM regions, of exactly `range.len` bytes.
    pub(crate) backing: Option<GuestRam>,
}

impl Region {
    /// The name given when the map was built (for diagnostics).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The guest physical addresses the region covers.
    pub fn range(&self) -> GuestPhysRange {
        self.range
    }

    /// The first guest physical address of the region.
    pub fn start(&self) -> GuestPhysAddr {
        self.range.start
    }

    /// Size in bytes (never zero).
    pub fn size(&self) -> u64 {
        self.range.len
    }

    /// What the region is.
    pub fn kind(&self) -> RegionKind {
        self.kind
    }

    /// The host memory behind a RAM or ROM region; `None` for MMIO windows.
    pub fn backing(&self) -> Option<&GuestRam> {
        self.backing.as_ref()
    }

    /// The whole region as a host slice, for RAM (writable) and ROM (read-only); `None` for MMIO.
    pub fn host_slice(&self) -> Option<HostSlice> {
        self.backing.as_ref().map(|ram| HostSlice {
            gpa: self.range.start,
            host: ram.as_ptr(),
            len: self.range.len,
            writable: self.kind == RegionKind::Ram,
        })
    }

    /// Offset of `addr` inside the region (the caller knows `addr` is inside).
    #[inline]
    pub(crate) fn offset_of(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.range.start.0)
    }

    /// Bytes from `addr` (inside the region) to the region's end.
    #[inline]
    pub(crate) fn remaining_from(&self, addr: u64) -> u64 {
        self.range.len.saturating_sub(self.offset_of(addr))
    }
}
