//! Boots Debian's riscv64 Linux on `riscv64-virt`: OpenSBI (`fw_dynamic.bin`) in M-mode, then the kernel
//! in S-mode, then a busybox initramfs whose `/init` prints a line and powers off.
//!
//! The files come from `scripts/riscv-linux-images.sh` (Debian packages, never committed). The tests
//! are `#[ignore]`d: they need those files and take a while; `.ci/run` fetches the files and runs them
//! in release mode:
//!
//! ```text
//! bash scripts/riscv-linux-images.sh
//! cargo test --release -p vm-service --test riscv_linux -- --ignored --nocapture
//! ```

#![cfg(all(feature = "std", feature = "devices"))]

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vm_core::config::{Firmware, Machine};
use vm_service::VmConfig;
use vm_service::devices::test_finisher::PowerEvent;
use vm_service::devices::uart::CaptureBackend;
use vm_service::machine::riscv64_virt::StopReason;
use vm_service::vm::VmBuilder;

/// The line `/init` prints.
const INIT_LINE: &str = "vm-init: reached /init";
/// Longest a boot may take before the test stops it (the interpreter boots in well under this).
const BOOT_LIMIT: Duration = Duration::from_secs(600);

fn images() -> PathBuf {
    std::env::var_os("VM_RISCV_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/riscv64"))
}

fn file(name: &str) -> String {
    let p = images().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/riscv-linux-images.sh` first",
        p.display()
    );
    p.display().to_string()
}

fn initrd() -> String {
    let gz = images().join("initramfs.cpio.gz");
    if gz.exists() {
        gz.display().to_string()
    } else {
        file("initramfs.cpio")
    }
}

fn boot(harts: u32) {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    cfg.memory_mib = 512;
    cfg.vcpus = harts;
    cfg.boot.firmware = Firmware::File(file("fw_dynamic.bin"));
    cfg.boot.kernel = Some(file("Image"));
    cfg.boot.initrd = Some(initrd());
    cfg.boot.cmdline = "console=ttyS0 earlycon=sbi panic=-1".into();
    let console = CaptureBackend::new();
    let mut vm = VmBuilder::new(cfg)
        .console(Box::new(console.clone()))
        .build()
        .expect("build the VM");
    let stop = vm.stop_handle();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(BOOT_LIMIT).is_err() {
            stop.store(true, Ordering::Release);
        }
    });
    let t = Instant::now();
    let out = vm.run().expect("run");
    let elapsed = t.elapsed();
    let _ = done.send(());
    watchdog.join().unwrap();
    let text = console.contents_lossy();
    eprintln!(
        "--smp {harts}: {:?} after {} instructions in {:.1} s",
        out.reason,
        out.insns,
        elapsed.as_secs_f64()
    );
    let line = text.lines().find(|l| l.contains(INIT_LINE));
    assert!(
        line.is_some_and(|l| l.contains(&format!("with {harts} cpus"))),
        "no `{INIT_LINE} ... with {harts} cpus` line; console:\n{text}"
    );
    assert_eq!(
        out.reason,
        StopReason::Finisher(PowerEvent::Pass),
        "console:\n{text}"
    );
}

#[test]
#[ignore = "needs the images of scripts/riscv-linux-images.sh; run in release mode"]
fn linux_reaches_init_on_one_hart() {
    boot(1);
}

#[test]
#[ignore = "needs the images of scripts/riscv-linux-images.sh; run in release mode"]
fn linux_reaches_init_on_four_harts() {
    boot(4);
}
