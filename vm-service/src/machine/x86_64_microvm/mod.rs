//! The `x86_64-microvm` machine: a Firecracker-style x86-64 PC without firmware, run by a hardware
//! accelerator (KVM).
//!
//! | what | where | interrupt |
//! |---|---|---|
//! | RAM | `0` to `min(size, 3 GiB)`, the rest from 4 GiB | |
//! | 16550 UART (console, `ttyS0`) | ports `0x3f8`-`0x3ff` | IRQ 4 |
//! | exit port | port `0xf4`: a byte written ends the VM with that status | |
//! | i8042 | ports `0x60`-`0x64`: command `0xfe` resets (ends) the VM | |
//! | virtio-mmio slot *n* (0-7) | `0xd000_0000 + n × 0x1000`, announced with `virtio_mmio.device=` | IRQ 5 + *n* |
//! | PIC, PIT, I/O APIC, local APICs | in the kernel (KVM's irqchip), where available | |
//!
//! # Boot
//!
//! No firmware runs: the VMM loads the kernel and enters it in 64-bit long mode, as the Linux x86
//! 64-bit boot protocol describes (vm-accel's `x86_boot`): identity-mapped page tables for the first
//! 4 GiB, a GDT with `__BOOT_CS` = 0x10 and `__BOOT_DS` = 0x18, `rsi` = the zero page (`boot_params`,
//! with the e820 map, the command line and the initrd), interrupts off. The kernel is either
//!
//! - an ELF file (`EM_X86_64`): its `PT_LOAD` segments are loaded at their physical addresses and the
//!   vCPU starts at `e_entry` (the project's bare-metal programs in `guests/x86_64`, or a `vmlinux`);
//! - a bzImage: loaded at 1 MiB by rust-vmm's linux-loader and entered at its 64-bit entry point
//!   (`+ 0x200`) with the setup header in the zero page.
//!
//! An Intel MP table describes the vCPUs to the kernel. Each vCPU gets the CPUID that KVM supports
//! (`KVM_GET_SUPPORTED_CPUID`, with its own APIC id); application processors wait for their start-up
//! IPI in the kernel's local APIC.
//!
//! # Running
//!
//! One host thread per vCPU runs it and serves its exits (port and MMIO accesses) on the shared
//! buses; the calling thread waits. The run ends at the first of: a byte on the exit port, an i8042
//! reset, a power or crash event, a triple fault, an accelerator failure, every vCPU halting for good,
//! or [`X86_64Microvm::stop_handle`]. Ending kicks every vCPU out of the guest; the vCPUs are kept, so
//! a stopped machine can be run again.

mod io;
mod vcpu;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vm_accel::x86_boot::linux::{self, LoadedKernel, VirtioMmioSlot};
use vm_accel::x86_boot::{self, mptable};
use vm_accel::{AccelInfo, AccelVcpu, AccelVm, Accelerator};
use vm_core::GuestPhysAddr;
use vm_core::config::{AccelKind, Firmware, Machine, VIRTIO_SLOTS, VmConfig};
use vm_core::device::InterruptLine;
use vm_device::bus::{MmioBus, PioBus};
use vm_device::uart::{CharBackend, Uart16550};
use vm_mem::PhysMemory;

pub use self::io::X86StopReason;
use self::io::{ExitPort, I8042, Io, RunControl};
use crate::error::{Error, Result};
use crate::loader;
use crate::machine::riscv64_virt::Image;

/// Base port of the console UART (COM1).
pub const UART_PORT: u16 = 0x3f8;
/// Ports the UART decodes.
pub const UART_PORTS: u32 = 8;
/// The UART's interrupt (ISA IRQ 4).
pub const UART_IRQ: u32 = 4;
/// The exit port.
pub const EXIT_PORT: u16 = 0xf4;
/// First port of the i8042 (data at 0x60, command/status at 0x64).
pub const I8042_PORT: u16 = 0x60;
/// First virtio-mmio slot.
pub const VIRTIO_BASE: u64 = 0xd000_0000;
/// Distance between virtio-mmio slots.
pub const VIRTIO_STRIDE: u64 = 0x1000;
/// Interrupt of virtio-mmio slot 0 (slot n uses `VIRTIO_IRQ0 + n`).
pub const VIRTIO_IRQ0: u32 = 5;
/// How often the waiting thread looks at [`X86_64Microvm::stop_handle`].
const STOP_POLL: Duration = Duration::from_millis(10);

/// The virtio-mmio slot `n` as the command line announces it.
pub const fn virtio_slot(n: usize) -> VirtioMmioSlot {
    VirtioMmioSlot {
        base: VIRTIO_BASE + n as u64 * VIRTIO_STRIDE,
        size: VIRTIO_STRIDE,
        irq: VIRTIO_IRQ0 + n as u32,
    }
}

/// How the kernel image was recognised.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KernelFormat {
    /// An ELF executable, loaded by its program headers.
    Elf,
    /// A Linux bzImage, loaded by the boot protocol.
    BzImage,
}

/// The outcome of [`X86_64Microvm::run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X86RunOutcome {
    /// Why it ended.
    pub reason: X86StopReason,
    /// Host time spent running.
    pub elapsed: Duration,
}

/// An interrupt line for machines without an in-kernel interrupt controller: nothing to raise.
struct NoIrq;

impl InterruptLine for NoIrq {
    fn set_level(&self, _high: bool) {}
}

/// An `x86_64-microvm` machine, built and ready to run. Field order is drop order: the vCPUs go
/// before the VM, and the VM (which also keeps the memory alive) before the memory.
pub struct X86_64Microvm {
    vcpus: Vec<Box<dyn AccelVcpu>>,
    _vm: Box<dyn AccelVm>,
    io: Arc<Io>,
    ctl: Arc<RunControl>,
    uart: Arc<Mutex<Uart16550>>,
    mem: Arc<PhysMemory>,
    stop: Arc<AtomicBool>,
    info: AccelInfo,
    irqchip: bool,
    format: KernelFormat,
    entry: u64,
    cmdline: String,
}

impl core::fmt::Debug for X86_64Microvm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("X86_64Microvm")
            .field("accel", &self.info.accel)
            .field("flavor", &self.info.flavor)
            .field("vcpus", &self.vcpus.len())
            .field("format", &self.format)
            .field("entry", &format_args!("{:#x}", self.entry))
            .finish_non_exhaustive()
    }
}

/// An accelerator error, with what was being done.
fn accel_error(doing: &str, e: vm_accel::Error) -> Error {
    Error::Unsupported(format!("{doing}: {e}"))
}

/// Open the accelerator `cfg` asks for; `auto` says why none could be used.
fn open_accel(kind: AccelKind) -> Result<Box<dyn Accelerator>> {
    vm_accel::probe(kind).map_err(|e| match kind {
        AccelKind::Auto => Error::Unsupported(format!(
            "x86_64-microvm needs a hardware accelerator and --accel auto found none: {e}"
        )),
        _ => accel_error("Cannot open the accelerator", e),
    })
}

impl X86_64Microvm {
    /// Build the machine for `cfg` on the accelerator it names, loading `kernel` (ELF or bzImage) and
    /// `initrd`, with the UART's output going to `console`.
    pub fn new(
        cfg: &VmConfig,
        kernel: Image,
        initrd: Option<Image>,
        console: Box<dyn CharBackend>,
    ) -> Result<Self> {
        cfg.validate()?;
        if cfg.machine != Machine::X86_64Microvm {
            return Err(Error::Usage(format!(
                "X86_64Microvm cannot build machine {}",
                cfg.machine
            )));
        }
        if let Firmware::File(path) = &cfg.boot.firmware {
            return Err(Error::Unsupported(format!(
                "x86_64-microvm boots kernels directly without firmware; drop --bios {path}"
            )));
        }
        if !cfg.devices.is_empty() {
            return Err(Error::Unsupported(format!(
                "x86_64-microvm has no VirtIO device models yet ({} configured); its virtio-mmio \
                 slots wait for the VirtIO issue",
                cfg.devices.len()
            )));
        }
        let accel = open_accel(cfg.accel)?;
        let info = accel.info();
        let ram_size = cfg.memory_bytes();

        let mut builder = PhysMemory::builder();
        for (i, (start, size)) in x86_boot::ram_ranges(ram_size).into_iter().enumerate() {
            let name = if i == 0 { "ram-low" } else { "ram-high" };
            builder = builder.ram(name, GuestPhysAddr(start), size);
        }
        let mem = Arc::new(
            builder
                .mmio(
                    "virtio-mmio",
                    GuestPhysAddr(VIRTIO_BASE),
                    VIRTIO_SLOTS as u64 * VIRTIO_STRIDE,
                )
                .build()?,
        );

        let mut vm = accel
            .create_vm()
            .map_err(|e| accel_error("Cannot create the VM", e))?;
        let irqchip = match vm.setup_irqchip() {
            Ok(()) => true,
            Err(e) if cfg.vcpus > 1 => {
                return Err(accel_error(
                    "--smp above 1 needs the in-kernel interrupt controller",
                    e,
                ));
            }
            Err(e) => {
                log::warn!(
                    "x86_64-microvm: no in-kernel interrupt controller ({e}); interrupts off"
                );
                false
            }
        };
        vm_accel::map_phys_memory(vm.as_mut(), &mem)
            .map_err(|e| accel_error("Cannot map guest memory", e))?;

        let image_err = |what: &str, e: vm_accel::Error| Error::Image {
            what: what.into(),
            reason: e.to_string(),
        };
        let (format, loaded) = if loader::is_elf(&kernel.bytes) {
            let k = loader::load_elf(&mem, &kernel.name, &kernel.bytes, object::elf::EM_X86_64)?;
            let loaded = LoadedKernel {
                entry: k.entry,
                start: k.start,
                end: k.end,
                setup_header: None,
            };
            (KernelFormat::Elf, loaded)
        } else if linux::is_bzimage(&kernel.bytes) {
            let k =
                linux::load_bzimage(&mem, &kernel.bytes).map_err(|e| image_err(&kernel.name, e))?;
            (KernelFormat::BzImage, k)
        } else {
            return Err(Error::Image {
                what: kernel.name,
                reason: "Neither an ELF file nor a Linux bzImage".into(),
            });
        };
        let initrd_at = match &initrd {
            Some(img) => {
                let addr = linux::load_initrd(&mem, &loaded, ram_size, &img.bytes)
                    .map_err(|e| image_err(&img.name, e))?;
                Some((addr, img.bytes.len() as u64))
            }
            None => None,
        };
        let slots: Vec<VirtioMmioSlot> = (0..cfg.devices.len()).map(virtio_slot).collect();
        let cmdline = linux::kernel_cmdline(&cfg.boot.cmdline, &slots)
            .map_err(|e| image_err("the command line", e))?;
        linux::write_boot_params(&mem, &loaded, ram_size, &cmdline, initrd_at)
            .map_err(|e| image_err(&kernel.name, e))?;
        mptable::write_mptable(&mem, x86_boot::EBDA_START as u32, cfg.vcpus)
            .map_err(|e| image_err("the MP table", e))?;
        x86_boot::write_boot_tables(&mem).map_err(|e| image_err("the boot page tables", e))?;

        let ctl = Arc::new(RunControl::default());
        let irq: Arc<dyn InterruptLine> = if irqchip {
            vm.interrupt_line(UART_IRQ)
                .map_err(|e| accel_error("Cannot wire the UART's interrupt", e))?
        } else {
            Arc::new(NoIrq)
        };
        let uart = Arc::new(Mutex::new(Uart16550::new(console, irq)));
        let mut pio = PioBus::new();
        pio.insert(UART_PORT, UART_PORTS, uart.clone())?;
        pio.insert(EXIT_PORT, 1, Arc::new(Mutex::new(ExitPort(ctl.clone()))))?;
        pio.insert(I8042_PORT, 5, Arc::new(Mutex::new(I8042(ctl.clone()))))?;
        let io = Arc::new(Io::new(pio, MmioBus::new()));

        let mut vcpus = Vec::with_capacity(cfg.vcpus as usize);
        for id in 0..cfg.vcpus {
            let mut vcpu = vm
                .create_vcpu(id)
                .map_err(|e| accel_error("Cannot create a vCPU", e))?;
            if irqchip {
                vcpu.setup_lapic_virtual_wire()
                    .map_err(|e| accel_error("Cannot set up the local APIC", e))?;
            }
            vcpu.reset_fpu()
                .map_err(|e| accel_error("Cannot reset the FPU", e))?;
            if id == 0 {
                let sregs = vcpu
                    .get_sregs()
                    .map_err(|e| accel_error("Cannot read the boot vCPU", e))?;
                vcpu.set_sregs(&x86_boot::long_mode_sregs(&sregs))
                    .map_err(|e| accel_error("Cannot enter long mode", e))?;
                vcpu.set_regs(&x86_boot::boot_regs(loaded.entry))
                    .map_err(|e| accel_error("Cannot set the entry point", e))?;
            }
            vcpus.push(vcpu);
        }
        Ok(Self {
            vcpus,
            _vm: vm,
            io,
            ctl,
            uart,
            mem,
            stop: Arc::new(AtomicBool::new(false)),
            info,
            irqchip,
            format,
            entry: loaded.entry,
            cmdline,
        })
    }

    /// Guest memory.
    pub fn memory(&self) -> &PhysMemory {
        &self.mem
    }

    /// The console UART (feed it input with `vm_device::uart::spawn_stdin_reader`).
    pub fn uart(&self) -> &Arc<Mutex<Uart16550>> {
        &self.uart
    }

    /// A flag that ends [`run`](Self::run) within about 10 ms of being set, from any thread.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// The accelerator running the machine, and what it supports.
    pub fn accel_info(&self) -> &AccelInfo {
        &self.info
    }

    /// Whether the PIC, I/O APIC, local APICs (and PIT) run in the kernel.
    pub fn has_irqchip(&self) -> bool {
        self.irqchip
    }

    /// How the kernel was loaded, and its entry point.
    pub fn kernel(&self) -> (KernelFormat, u64) {
        (self.format, self.entry)
    }

    /// The command line the kernel gets (the configured one plus the virtio-mmio slots).
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// The general registers of vCPU `id` while the machine is not running (after a run returned).
    pub fn vcpu_regs(&self, id: u32) -> Result<vm_accel::X86Regs> {
        let vcpu = self.vcpus.iter().find(|v| v.id() == id).ok_or_else(|| {
            Error::Usage(format!(
                "No vCPU {id} (the machine has {})",
                self.vcpus.len()
            ))
        })?;
        vcpu.get_regs()
            .map_err(|e| accel_error("Cannot read the vCPU's registers", e))
    }

    /// Port and MMIO accesses no device answered so far.
    pub fn unclaimed_io(&self) -> u64 {
        self.io.unclaimed()
    }

    /// Run until the guest ends the machine or [`stop_handle`](Self::stop_handle) is set.
    pub fn run(&mut self) -> Result<X86RunOutcome> {
        self.run_with_timeout(None)
    }

    /// Run as [`run`](Self::run), but stop (with [`X86StopReason::Stopped`]) after `timeout`.
    pub fn run_with_timeout(&mut self, timeout: Option<Duration>) -> Result<X86RunOutcome> {
        let start = Instant::now();
        if self.stop.load(Ordering::Acquire) {
            return Ok(X86RunOutcome {
                reason: X86StopReason::Stopped,
                elapsed: Duration::ZERO,
            });
        }
        let mut vcpus = std::mem::take(&mut self.vcpus);
        for v in &mut vcpus {
            v.clear_kick();
        }
        self.ctl.take();
        self.ctl
            .set_kickers(vcpus.iter().map(|v| v.kicker()).collect());
        let mut threads = Vec::with_capacity(vcpus.len());
        for v in vcpus {
            let (io, ctl) = (self.io.clone(), self.ctl.clone());
            let name = format!("vcpu{}", v.id());
            let thread = std::thread::Builder::new().name(name).spawn(move || {
                let v = vcpu::run_vcpu(v, &io, &ctl);
                ctl.notify();
                v
            });
            match thread {
                Ok(t) => threads.push(t),
                Err(e) => {
                    self.ctl.stop(X86StopReason::Stopped);
                    self.join(threads)?;
                    return Err(Error::Io {
                        action: "spawn",
                        path: "a vCPU thread".into(),
                        source: e,
                    });
                }
            }
        }
        loop {
            self.ctl.wait(STOP_POLL);
            if self.ctl.stopping() {
                break;
            }
            let timed_out = timeout.is_some_and(|t| start.elapsed() >= t);
            if self.stop.load(Ordering::Acquire) || timed_out {
                self.ctl.stop(X86StopReason::Stopped);
            } else if threads.iter().all(|t| t.is_finished()) {
                self.ctl.stop(X86StopReason::Halted);
            }
        }
        self.join(threads)?;
        let reason = self.ctl.take().unwrap_or(X86StopReason::Stopped);
        Ok(X86RunOutcome {
            reason,
            elapsed: start.elapsed(),
        })
    }

    /// Join the vCPU threads and keep their vCPUs for the next run.
    fn join(&mut self, threads: Vec<std::thread::JoinHandle<Box<dyn AccelVcpu>>>) -> Result<()> {
        self.ctl.kick_all();
        let mut lost = 0;
        for t in threads {
            match t.join() {
                Ok(v) => self.vcpus.push(v),
                Err(_) => lost += 1,
            }
        }
        self.ctl.set_kickers(Vec::new());
        if lost > 0 {
            return Err(Error::Unsupported(format!(
                "{lost} vCPU thread(s) panicked; the machine cannot run again"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtio_slots_follow_the_map() {
        assert_eq!(
            virtio_slot(3),
            VirtioMmioSlot {
                base: 0xd000_3000,
                size: 0x1000,
                irq: 8
            }
        );
    }
}
