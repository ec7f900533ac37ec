//! # vm-service: virtual machines from the vm crates
//!
//! vm-service composes the workspace into machines a user runs: it owns the machine models (memory
//! maps, interrupt wiring, device trees), the `vm` command, and the embedding API. Its Cargo features
//! are the umbrellas of the feature contract (see `docs/feature-contract.md`):
//!
//! | feature | what it brings |
//! |---|---|
//! | `std` (default) | the `vm` command and everything that touches host files and threads |
//! | `devices` (default) | [`devices`]: the device models (UART, CLINT, PLIC, test finisher) |
//! | `performance` (default) | the Cranelift JIT tier, async control ([`handle::VmHandle`]), every decoder |
//! | `accel` | [`accel`]: hardware acceleration (KVM on Linux) |
//! | `smmu` | an emulated SMMUv3 in front of DMA-capable devices |
//! | `all-arch` | every guest architecture's decoder and register layout |
//! | `jit`, `async` | deprecated aliases of `performance` (the build says so) |
//!
//! What runs today: configurations ([`VmConfig`]) built, validated and serialised; the `riscv64-virt`
//! machine ([`machine::riscv64_virt::Riscv64Virt`]) running bare-metal RISC-V programs on the IR
//! interpreter, built from a configuration by [`vm::VmBuilder`] (features `std` and `devices`); ELF and
//! raw image loading ([`loader`]).
//!
//! ```
//! use vm_service::{VmConfig, machine::riscv64_virt};
//! use vm_core::config::Machine;
//!
//! let mut cfg = VmConfig::new(Machine::Riscv64Virt);
//! cfg.boot.cmdline = "console=ttyS0".into();
//! let dtb = riscv64_virt::device_tree(&cfg, 0, None)?;
//! assert_eq!(&dtb[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
//! # Ok::<(), vm_service::Error>(())
//! ```

#![warn(missing_docs)]

pub mod cli;
pub mod error;
#[cfg(all(feature = "performance", feature = "devices"))]
pub mod handle;
pub mod loader;
pub mod machine;
#[cfg(all(feature = "std", feature = "devices"))]
pub mod vm;

pub use error::{Error, Result};
pub use vm_core::{GuestArch, VmConfig};

/// The device models (feature `devices`).
#[cfg(feature = "devices")]
pub use vm_device as devices;

/// Hardware acceleration (feature `accel`).
#[cfg(feature = "accel")]
pub use vm_accel as accel;
