//! # vm-engine: runs the vm-core IR
//!
//! Engines implement [`vm_core::exec::ExecutionEngine`]: they take a [`vm_core::exec::GuestCpu`] (the
//! architecture, implemented in `vm-frontend`) and an [`vm_core::exec::ExecEnv`] (guest memory and the MMIO
//! bus), look up or decode the block at the guest PC, execute it and hand exceptions back to the CPU's
//! system semantics.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `interpreter` (default) | [`interp`]: the IR interpreter with its block cache and chaining, soft TLB and instruction fusion |
//! | `jit` | the Cranelift JIT tier (blocks start in the interpreter, hot ones are compiled) |
//! | `async` | vCPUs as async tasks that yield at block boundaries |
//!
//! ```
//! # #[cfg(feature = "interpreter")] {
//! use vm_engine::interp::Interpreter;
//! use vm_core::exec::ExecutionEngine;
//!
//! let engine = Interpreter::new();
//! assert_eq!(engine.stats().blocks, 0);
//! assert_eq!(engine.interp_stats().fused_ops, 0);
//! # }
//! ```

pub mod error;
#[cfg(feature = "interpreter")]
pub mod interp;
#[cfg(feature = "jit")]
pub mod jit;

pub use error::{Error, Result};
