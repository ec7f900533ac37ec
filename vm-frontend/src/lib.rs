//! Guest architectures for the vm workspace: per architecture, a decoder from instruction bytes to a
//! typed instruction enum, its disassembler, and (later) the lowering into the vm-core IR.
//!
//! Features: `riscv64` (the RISC-V 64 decoder, RV64GC).
#![no_std]

extern crate alloc;

#[cfg(feature = "riscv64")]
pub mod riscv64;
