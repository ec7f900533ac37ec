//! # vm-core: the shared vocabulary of the vm workspace
//!
//! Every other crate of the workspace depends on this one and on nothing of each other's internals
//! through it. It holds:
//!
//! - [`GuestArch`] and [`VmConfig`]: what to run, validated with typed errors;
//! - guest address newtypes ([`GuestPhysAddr`], [`GuestVirtAddr`]);
//! - [`ir`]: the typed, register-based intermediate representation that frontends (decoders) produce and
//!   engines (interpreter, JIT) consume;
//! - the traits that join the layers: [`mem::GuestMemory`], [`device::MmioDevice`],
//!   [`device::PioDevice`], [`device::Bus`], [`device::InterruptLine`], [`exec::Decoder`],
//!   [`exec::GuestCpu`], [`exec::ExecutionEngine`] and [`exec::Vcpu`].
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` (default) | `std::error::Error` for the errors, `VmConfig` JSON, logging |
//! | `async` | [`asynch`]: async guest memory, async device I/O, the async event bus (tokio) |
//! | `riscv64`, `arm64`, `x86_64` | [`regs`]: that architecture's register-slot layout and register names |
//!
//! Without `std` the crate is `#![no_std]` and needs only `alloc`.
//!
//! ```
//! use vm_core::{GuestArch, config::{VmConfig, Machine}};
//!
//! let cfg = VmConfig::new(Machine::Riscv64Virt);
//! assert_eq!(cfg.guest_arch, GuestArch::Riscv64);
//! cfg.validate()?;
//! # Ok::<(), vm_core::config::ConfigError>(())
//! ```

#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod addr;
pub mod arch;
#[cfg(feature = "async")]
pub mod asynch;
pub mod config;
pub mod device;
pub mod exec;
pub mod ir;
pub mod mem;
pub mod regs;

pub use addr::{GuestPhysAddr, GuestPhysRange, GuestVirtAddr};
pub use arch::GuestArch;
pub use config::VmConfig;

/// Any error of this crate, for callers that do not care which part failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A configuration problem.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A guest memory access failed.
    #[error(transparent)]
    Memory(#[from] mem::MemFault),
    /// A device bus access failed.
    #[error(transparent)]
    Bus(#[from] device::BusError),
    /// A frontend produced a malformed IR block.
    #[error(transparent)]
    Ir(#[from] ir::IrError),
    /// An architecture name was not recognised.
    #[error(transparent)]
    Arch(#[from] arch::UnknownArch),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
