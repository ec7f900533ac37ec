//! Machine models: memory maps, interrupt wiring and device trees.

pub mod riscv64_virt;
