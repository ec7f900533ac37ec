//! The crate's host-side error type.
//!
//! These are errors of the *host*: a memory map that cannot be built, a mapping the kernel refused, a loader
//! writing outside RAM. Guest faults are not errors of this kind; they are [`vm_core::mem::MemFault`]
//! values that the architecture turns into traps.

use alloc::string::String;
use core::fmt;

use vm_core::GuestPhysAddr;

/// A host `errno` value, printed with the system's description where the standard library is available.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The raw `errno` number.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The calling thread's current `errno`.
    #[cfg(feature = "std")]
    pub fn last() -> Self {
        Self(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

impl fmt::Display for Errno {
    #[cfg(feature = "std")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&std::io::Error::from_raw_os_error(self.0), f)
    }

    #[cfg(not(feature = "std"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "errno {}", self.0)
    }
}

/// Everything that can go wrong on the host side of guest memory.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A region of the memory map has size zero.
    #[error("Region `{name}` at {start} has size zero")]
    ZeroSizedRegion {
        /// The region's name.
        name: String,
        /// Where it was to start.
        start: GuestPhysAddr,
    },
    /// A region extends past the top of the 64-bit guest physical address space.
    #[error(
        "Region `{name}` at {start} with size {size:#x} extends past the end of the address space"
    )]
    RegionWraps {
        /// The region's name.
        name: String,
        /// Its start.
        start: GuestPhysAddr,
        /// Its size.
        size: u64,
    },
    /// A RAM or ROM region does not start and end on the required alignment.
    #[error("Region `{name}` at {start} with size {size:#x} is not aligned to {align} bytes")]
    MisalignedRegion {
        /// The region's name.
        name: String,
        /// Its start.
        start: GuestPhysAddr,
        /// Its size.
        size: u64,
        /// The alignment both start and size must have.
        align: u64,
    },
    /// Two regions of the memory map share addresses.
    #[error(
        "Region `{name}` at {start} (size {size:#x}) overlaps region `{other}` at {other_start} (size {other_size:#x})"
    )]
    Overlap {
        /// The region that starts later (or the second one added, when both start at the same address).
        name: String,
        /// Its start.
        start: GuestPhysAddr,
        /// Its size.
        size: u64,
        /// The region it overlaps.
        other: String,
        /// That region's start.
        other_start: GuestPhysAddr,
        /// That region's size.
        other_size: u64,
    },
    /// Host memory of size zero was requested.
    #[error("Guest RAM backing of size zero was requested")]
    ZeroSizedRam,
    /// The requested backing does not fit the host's address space.
    #[error("Guest RAM backing of {size:#x} bytes does not fit the host address space")]
    RamTooLarge {
        /// The requested size in bytes.
        size: u64,
    },
    /// `mmap` refused to map guest RAM.
    #[error("Cannot map {size:#x} bytes of guest RAM: {errno}")]
    Mmap {
        /// The requested size in bytes.
        size: u64,
        /// Why the kernel refused.
        errno: Errno,
    },
    /// The heap allocator could not provide guest RAM (builds without `std`).
    #[error("Cannot allocate {size:#x} bytes of guest RAM from the heap")]
    OutOfMemory {
        /// The requested size in bytes.
        size: u64,
    },
    /// A host-side access to one backing went past its end.
    #[error(
        "Access of {len:#x} bytes at offset {offset:#x} is outside guest RAM of {size:#x} bytes"
    )]
    OutOfBounds {
        /// Offset of the access inside the backing.
        offset: u64,
        /// Length of the access.
        len: u64,
        /// Size of the backing.
        size: u64,
    },
    /// A host-side access (image load, fill) touches an address that is not RAM or ROM.
    #[error("Range {addr} + {len:#x} is not backed by RAM or ROM at {at}")]
    NotBacked {
        /// Start of the requested range.
        addr: GuestPhysAddr,
        /// Its length.
        len: u64,
        /// The first address that is not RAM or ROM.
        at: GuestPhysAddr,
    },
    /// A host-side access range runs past the top of the guest physical address space.
    #[error("Range {addr} + {len:#x} runs past the end of the address space")]
    RangeWraps {
        /// Start of the requested range.
        addr: GuestPhysAddr,
        /// Its length.
        len: u64,
    },
    /// The host's NUMA topology could not be read.
    #[cfg(feature = "optimizations")]
    #[error("Cannot read the host NUMA topology from {path}: {errno}")]
    NumaTopology {
        /// The file that could not be read.
        path: &'static str,
        /// Why.
        errno: Errno,
    },
    /// The host's NUMA node list is not in the kernel's list format (`0-3,5`).
    #[cfg(feature = "optimizations")]
    #[error("Malformed NUMA node list `{text}`")]
    NumaNodeList {
        /// The text that did not parse.
        text: String,
    },
    /// The requested NUMA node is not online on this host.
    #[cfg(feature = "optimizations")]
    #[error("NUMA node {node} is not online; online nodes: {online}")]
    NumaNodeOffline {
        /// The requested node.
        node: u32,
        /// The host's online nodes, in the kernel's list format.
        online: String,
    },
    /// The kernel refused the memory policy.
    #[cfg(feature = "optimizations")]
    #[error(
        "Cannot bind guest RAM at host address {host:#x} (size {size:#x}) to NUMA node {node}: {errno}"
    )]
    Mbind {
        /// The requested node.
        node: u32,
        /// Host address of the memory.
        host: usize,
        /// Its size.
        size: u64,
        /// Why the kernel refused (ENOSYS: kernel without NUMA; EPERM: a seccomp filter forbids `mbind`).
        errno: Errno,
    },
    /// NUMA placement is not implemented for this host operating system.
    #[cfg(feature = "optimizations")]
    #[error("NUMA placement needs Linux (`mbind`); this host is {os}")]
    NumaUnsupported {
        /// The host operating system.
        os: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
