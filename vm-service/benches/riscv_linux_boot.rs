//! Linux boot-to-init time: OpenSBI + Debian's riscv64 kernel + the busybox initramfs, on the
//! `riscv64-virt` interpreter and on `qemu-system-riscv64 -M virt` (TCG) with the same files, side by
//! side from one run.
//!
//! ```text
//! bash scripts/riscv-linux-images.sh
//! cargo bench -p vm-service --bench riscv_linux_boot
//! ```
//!
//! The time is from the start of the run (machine built, images loaded; QEMU: process spawned) to the
//! moment the console shows `/init`'s line. `VM_BENCH_SMP` (default `1,4`) picks the hart counts.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vm_core::config::{Firmware, Machine};
use vm_service::VmConfig;
use vm_service::devices::DeviceError;
use vm_service::devices::uart::CharBackend;
use vm_service::vm::VmBuilder;

const LINE: &str = "vm-init: reached /init";
const APPEND: &str = "console=ttyS0 earlycon=sbi panic=-1";

fn image(name: &str) -> String {
    let dir = std::env::var_os("VM_RISCV_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../images/riscv64"))
        });
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/riscv-linux-images.sh`",
        p.display()
    );
    p.display().to_string()
}

/// A console that notes when `/init`'s line appears.
struct Watch {
    buf: Vec<u8>,
    start: Instant,
    seen: Arc<Mutex<Option<Duration>>>,
}

impl CharBackend for Watch {
    fn write(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.buf.extend_from_slice(bytes);
        let mut seen = self.seen.lock().unwrap();
        if seen.is_none() && String::from_utf8_lossy(&self.buf).contains(LINE) {
            *seen = Some(self.start.elapsed());
        }
        if self.buf.len() > 1 << 20 {
            self.buf.drain(..1 << 19);
        }
        Ok(())
    }
}

fn ours(smp: u32) -> (Duration, u64) {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    cfg.memory_mib = 512;
    cfg.vcpus = smp;
    cfg.boot.firmware = Firmware::File(image("fw_dynamic.bin"));
    cfg.boot.kernel = Some(image("Image"));
    cfg.boot.initrd = Some(image("initramfs.cpio.gz"));
    cfg.boot.cmdline = APPEND.into();
    let seen = Arc::new(Mutex::new(None));
    let start = Instant::now();
    let mut vm = VmBuilder::new(cfg)
        .console(Box::new(Watch {
            buf: Vec::new(),
            start,
            seen: seen.clone(),
        }))
        .build()
        .expect("build the VM");
    let out = vm.run().expect("run");
    let t = seen.lock().unwrap().expect("the guest never reached /init");
    (t, out.insns)
}

fn qemu(smp: u32) -> Option<Duration> {
    let start = Instant::now();
    let mut child = Command::new("qemu-system-riscv64")
        .args(["-M", "virt", "-m", "512M", "-nographic", "-no-reboot"])
        .args(["-smp", &smp.to_string()])
        .args(["-bios", &image("fw_dynamic.bin")])
        .args(["-kernel", &image("Image")])
        .args(["-initrd", &image("initramfs.cpio.gz")])
        .args(["-append", APPEND])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut t = None;
    for line in BufReader::new(stdout).split(b'\n') {
        let Ok(line) = line else { break };
        if t.is_none() && String::from_utf8_lossy(&line).contains(LINE) {
            t = Some(start.elapsed());
        }
    }
    let _ = child.wait();
    t
}

fn main() {
    let smps: Vec<u32> = std::env::var("VM_BENCH_SMP")
        .unwrap_or_else(|_| "1,4".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "Linux boot to /init (OpenSBI + {} + busybox initramfs)",
        image("Image")
    );
    println!("| harts | vm-service interpreter | guest instructions | qemu-system-riscv64 TCG |");
    println!("|---|---|---|---|");
    for smp in smps {
        let (t, insns) = ours(smp);
        let q = qemu(smp).map_or("not installed".into(), |q| {
            format!("{:.2} s", q.as_secs_f64())
        });
        println!(
            "| {smp} | {:.2} s | {:.2} G | {q} |",
            t.as_secs_f64(),
            insns as f64 / 1e9
        );
    }
}
