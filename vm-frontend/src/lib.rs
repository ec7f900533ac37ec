//! Guest architectures for the vm workspace: per architecture, a decoder from instruction bytes to a
//! typed instruction enum, its disassembler, the lowering into the vm-core IR, and the CPU's system
//! semantics (a [`vm_core::exec::GuestCpu`]).
//!
//! Features: `riscv64` (RV64GC + Zba/Zbb/Zbs: [`riscv64::decode`], [`riscv64::lower::decode_block`],
//! and the hart [`riscv64::cpu::Riscv64Cpu`] with M/S/U privilege and Sv39/48/57). The `x86_64` and
//! `arm64` decoders come with their issues.
#![no_std]

extern crate alloc;

#[cfg(feature = "riscv64")]
pub mod riscv64;
