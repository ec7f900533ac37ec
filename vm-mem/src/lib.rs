//! # vm-mem: guest physical memory and the MMU
//!
//! This crate owns the memory a guest sees:
//!
//! - [`GuestRam`]: a block of host memory backing guest RAM or ROM (anonymous `mmap` with `std`, a
//!   page-aligned heap allocation without it), shared by all vCPU threads;
//! - [`PhysMemory`]: the guest physical address space of one VM: RAM, ROM and reserved MMIO windows,
//!   with holes between them, built and checked by [`PhysMemoryBuilder`]. It implements
//!   [`vm_core::mem::GuestMemory`]: bounds-checked little-endian accesses, host slices for the engines'
//!   fast paths, and `compare_exchange` on host atomics, so guest LR/SC and AMOs are atomic across vCPU
//!   threads. Accesses to MMIO windows return [`MemFault::Unmapped`](vm_core::mem::MemFault::Unmapped)
//!   here; the machine routes them to its device bus.
//! - host-side loaders: [`PhysMemory::load_image`] (also into ROM), [`PhysMemory::fill`],
//!   [`PhysMemory::zero`];
//! - [`mmu`]: the MMU: the RISC-V Sv39/Sv48/Sv57 page-table walker ([`mmu::riscv`]) with `A`/`D`
//!   updates and every permission check, and [`mmu::Tlb`], a TLB tagged by ASID with the four
//!   `sfence.vma` flush forms, hit/miss counters and host addresses for RAM pages;
//! - `numa` (feature `optimizations`): binding guest RAM to a host NUMA node.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` (default) | RAM backed by anonymous `mmap` (`libc`); OS error descriptions in [`Error`] |
//! | `optimizations` (default) | `numa`: NUMA-aware placement of guest RAM (`mbind`); implies `std` |
//! | `async`, `tlb` | deprecated aliases of `optimizations` (the build prints a warning) |
//!
//! Without `std` the crate is `#![no_std]` and needs only `alloc`; it builds for `x86_64-unknown-none`.
//!
//! ## Example
//!
//! ```
//! use vm_core::GuestPhysAddr;
//! use vm_core::mem::{AccessKind, AccessSize, GuestMemory, MemFault};
//! use vm_mem::PhysMemory;
//!
//! let mem = PhysMemory::builder()
//!     .rom("boot-rom", GuestPhysAddr(0x1000), 0x1000)
//!     .mmio("uart", GuestPhysAddr(0x1000_0000), 0x100)
//!     .ram("ram", GuestPhysAddr(0x8000_0000), 1 << 20)
//!     .build()?;
//!
//! // The loader may fill ROM; the guest may read it but not write it.
//! mem.load_image(GuestPhysAddr(0x1000), &[0x97, 0x02, 0x00, 0x00])?;
//! assert_eq!(mem.read_u32(GuestPhysAddr(0x1000))?, 0x297);
//! assert_eq!(
//!     mem.write_u8(GuestPhysAddr(0x1000), 0),
//!     Err(MemFault::Denied { addr: GuestPhysAddr(0x1000), kind: AccessKind::Write })
//! );
//!
//! // RAM: little-endian, atomics on host atomics; MMIO belongs to the device bus.
//! mem.write_u64(GuestPhysAddr(0x8000_0000), 41)?;
//! assert_eq!(mem.compare_exchange(GuestPhysAddr(0x8000_0000), AccessSize::U64, 41, 42)?, Ok(41));
//! assert_eq!(mem.read_u64(GuestPhysAddr(0x8000_0000))?, 42);
//! assert!(matches!(mem.read_u8(GuestPhysAddr(0x1000_0000)), Err(MemFault::Unmapped { .. })));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

#[cfg(all(feature = "std", not(unix)))]
compile_error!(
    "vm-mem: feature `std` backs guest RAM with `mmap` and needs a Unix host; \
     build with `--no-default-features` for heap-backed RAM"
);

mod builder;
mod error;
pub mod mmu;
#[cfg(feature = "optimizations")]
pub mod numa;
mod phys;
mod ram;
mod region;

pub use builder::{PhysMemoryBuilder, REGION_ALIGN};
pub use error::{Errno, Error, Result};
pub use phys::PhysMemory;
pub use ram::GuestRam;
pub use region::{Region, RegionKind};
