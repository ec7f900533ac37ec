//! Embedding: build a RISC-V VM from a `VmConfig`, capture its console, run it, read the outcome.
//!
//! ```text
//! cargo run -p vm-service --example embed
//! ```

use vm_core::config::{Firmware, Machine, VmConfig};
use vm_service::devices::uart::CaptureBackend;
use vm_service::vm::VmBuilder;

fn main() -> Result<(), vm_service::Error> {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    cfg.memory_mib = 64;
    cfg.boot.firmware = Firmware::None; // bare metal: the kernel starts at reset
    cfg.boot.kernel = Some(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../guests/prebuilt/riscv64/isa_int.elf"
        )
        .into(),
    );
    let console = CaptureBackend::new();
    let mut vm = VmBuilder::new(cfg)
        .console(Box::new(console.clone()))
        .build()?;
    let outcome = vm.run()?;
    println!("{}", console.contents_lossy());
    println!(
        "exit code {} after {} instructions",
        outcome.reason.exit_code(),
        outcome.insns
    );
    Ok(())
}
