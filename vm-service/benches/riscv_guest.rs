//! The CPU-bound guest benchmark: `guests/prebuilt/riscv64/bench.elf` on the interpreter and on
//! `qemu-system-riscv64 -M virt -bios none` (TCG), side by side from one run.
//!
//! ```text
//! cargo bench -p vm-service --bench riscv_guest
//! ```
//!
//! Each side runs `RUNS` times (default 3, `VM_BENCH_RUNS` to change) and the best wall time counts.
//! Our side's instruction count is exact (the engine counts retired instructions); QEMU's run time is
//! the wall time of the whole process, including its start-up (measured separately with a guest that
//! exits at once, and printed, so it can be subtracted by the reader). Both must print the same
//! output, or the bench fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vm_core::config::{Firmware, Machine};
use vm_service::VmConfig;
use vm_service::devices::uart::CaptureBackend;
use vm_service::vm::VmBuilder;

fn guest(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guests/prebuilt/riscv64")
        .join(format!("{name}.elf"))
}

/// One run on our interpreter: (output, instructions, wall time).
fn ours(elf: &Path) -> (Vec<u8>, u64, Duration) {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    cfg.boot.firmware = Firmware::None;
    cfg.memory_mib = 128;
    cfg.boot.kernel = Some(elf.display().to_string());
    let console = CaptureBackend::new();
    let mut vm = VmBuilder::new(cfg)
        .console(Box::new(console.clone()))
        .build()
        .expect("build the VM");
    let out = vm.run().expect("run the guest");
    assert_eq!(out.reason.exit_code(), 0, "guest failed: {:?}", out.reason);
    (console.contents(), out.insns, out.elapsed)
}

/// One run on QEMU: (output, wall time), or `None` when QEMU is not installed.
fn qemu(elf: &Path) -> Option<(Vec<u8>, Duration)> {
    let t = Instant::now();
    let out = Command::new("qemu-system-riscv64")
        .args(["-M", "virt", "-bios", "none", "-nographic", "-m", "128M"])
        .args(["-monitor", "none", "-serial", "stdio", "-kernel"])
        .arg(elf)
        .output()
        .ok()?;
    let elapsed = t.elapsed();
    assert!(out.status.success(), "QEMU run failed: {:?}", out.status);
    Some((out.stdout, elapsed))
}

fn main() {
    let runs: usize = std::env::var("VM_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let elf = guest("bench");
    let mut best_ours = Duration::MAX;
    let mut insns = 0;
    let mut output = Vec::new();
    for _ in 0..runs {
        let (o, n, t) = ours(&elf);
        best_ours = best_ours.min(t);
        insns = n;
        output = o;
    }
    println!("guest: {} ({insns} instructions)", elf.display());
    println!(
        "vm-service interpreter: {:8.3} s  {:7.1} MIPS",
        best_ours.as_secs_f64(),
        insns as f64 / best_ours.as_secs_f64() / 1e6
    );
    let mut best_qemu = Duration::MAX;
    let mut qemu_out = None;
    for _ in 0..runs {
        match qemu(&elf) {
            Some((o, t)) => {
                best_qemu = best_qemu.min(t);
                qemu_out = Some(o);
            }
            None => break,
        }
    }
    match qemu_out {
        None => println!("qemu-system-riscv64: not installed (apt-get install qemu-system-misc)"),
        Some(o) => {
            assert_eq!(
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&output),
                "QEMU and the interpreter printed different output"
            );
            let startup = qemu(&guest("isa_int")).map(|(_, t)| t);
            println!(
                "qemu-system-riscv64 (TCG): {:8.3} s  {:7.1} MIPS (same instruction count; \
                 wall time of the process)",
                best_qemu.as_secs_f64(),
                insns as f64 / best_qemu.as_secs_f64() / 1e6
            );
            if let Some(s) = startup {
                println!(
                    "  (QEMU start-up and a short guest, for reference: {:.3} s)",
                    s.as_secs_f64()
                );
            }
            println!(
                "interpreter / QEMU run time: {:.2}x",
                best_ours.as_secs_f64() / best_qemu.as_secs_f64()
            );
        }
    }
}
