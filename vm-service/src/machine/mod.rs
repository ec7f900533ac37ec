//! Machine models: memory maps, interrupt wiring and device trees.

pub mod riscv64_virt;
#[cfg(all(
    feature = "std",
    feature = "devices",
    feature = "accel",
    target_arch = "x86_64"
))]
pub mod x86_64_microvm;
