//! The running `riscv64-virt` machine: guest memory, the devices on the MMIO bus, the harts and the
//! loop that runs them.
//!
//! # Boot
//!
//! As QEMU: a reset stub in the boot ROM at `0x1000` loads `a0 = mhartid`, `a1 =` the device tree's
//! address and `a2 =` an OpenSBI `fw_dynamic_info` block, then jumps to the firmware (`--bios FILE`,
//! loaded at `0x8000_0000`, with the kernel at the next 2 MiB boundary after it) or, with `--bios
//! none`, straight to the kernel (an ELF at its own addresses, a raw binary at `0x8000_0000`). The
//! device tree sits at the top of RAM (2 MiB aligned), an initrd at `RAM + min(RAM/2, 128 MiB)`.
//!
//! # Running
//!
//! The harts run in turn on this thread, each for a slice of [`SLICE_INSNS`] instructions on its own
//! engine (deterministic interleaving; one thread per hart arrives with the SMP work). Between slices
//! the machine routes interrupt levels (CLINT `msip`/`mtimecmp`, PLIC contexts) to the harts, serves the
//! HTIF `tohost` word when the kernel ELF defines one, and acts on power events. When every hart waits
//! for an interrupt (`wfi`), the thread sleeps until the next timer deadline (at most 10 ms at a time,
//! so console input is seen), never spinning.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vm_core::GuestPhysAddr;
use vm_core::config::{Firmware, VmConfig};
use vm_core::device::MmioDevice;
use vm_core::exec::{ExecEnv, ExecutionEngine, Exit, GuestCpu, RunLimit};
use vm_core::mem::{AccessSize, GuestMemory};
use vm_device::bus::MmioBus;
use vm_device::clint::{Clint, HostClock};
use vm_device::plic::{Plic, PlicMode};
use vm_device::test_finisher::{PowerControl, PowerEvent, TestFinisher};
use vm_device::uart::{CharBackend, Uart16550};
use vm_engine::interp::Interpreter;
use vm_frontend::riscv64::cpu::{HartIrqs, Riscv64Cpu};
use vm_mem::PhysMemory;

use super::{
    CLINT_BASE, CLINT_SIZE, InitrdRange, PLIC_BASE, RAM_BASE, TEST_BASE, TEST_SIZE, TIMEBASE_HZ,
    UART0_BASE, UART0_IRQ, UART0_SIZE, device_tree,
};
use crate::error::{Error, Result};
use crate::loader::{self, EM_RISCV, LoadedImage};

mod threads;
mod virtio;

/// Instructions each hart runs before the machine looks at interrupts, HTIF and power events.
pub const SLICE_INSNS: u64 = 20_000;
/// Longest a waiting hart sleeps before looking again.
const MAX_SLEEP: Duration = Duration::from_millis(10);
/// Boot ROM base (the reset stub), as QEMU's `mrom`.
pub const MROM_BASE: u64 = 0x1000;
/// Boot ROM size.
pub const MROM_SIZE: u64 = 0xf000;
/// Where Debian's `opensbi` package puts the generic platform's `fw_dynamic.bin`, the default
/// firmware when neither `--bios FILE` nor `--bios none` is given.
pub const DEFAULT_FIRMWARE: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/// `mip` bit numbers the machine drives.
const MSIP: u32 = 3;
const MTIP: u32 = 7;
const SEIP: u32 = 9;
const MEIP: u32 = 11;

/// A guest image to load, with the name errors use.
#[derive(Clone, Debug)]
pub struct Image {
    /// Path or name, for messages.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Image {
    /// Read an image from a host file.
    pub fn from_file(path: &str) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "read",
            path: path.into(),
            source,
        })?;
        Ok(Self {
            name: path.into(),
            bytes,
        })
    }
}

/// Why a run ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The guest wrote the SiFive test finisher (pass or fail).
    Finisher(PowerEvent),
    /// The guest wrote HTIF `tohost`: 0 is pass, otherwise the failure code.
    Htif(u64),
    /// [`Riscv64Virt::stop_handle`] was set.
    Stopped,
    /// The instruction budget given to [`Riscv64Virt::run_for`] ran out.
    InsnLimit,
}

impl StopReason {
    /// The process exit status this ends with, as QEMU would (0 = pass).
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Finisher(e) => e.exit_code().unwrap_or(0),
            Self::Htif(code) => i32::try_from(code).unwrap_or(i32::MAX),
            Self::Stopped | Self::InsnLimit => 0,
        }
    }
}

/// The outcome of [`Riscv64Virt::run`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Why it ended.
    pub reason: StopReason,
    /// Guest instructions executed, all harts.
    pub insns: u64,
    /// Host time spent running.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// Guest instructions per second, in millions.
    pub fn mips(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.insns as f64 / s / 1e6
        } else {
            0.0
        }
    }
}

/// One hart: its architectural state, its engine, and whether it waits for an interrupt.
struct Hart {
    cpu: Riscv64Cpu,
    engine: Interpreter,
    waiting: bool,
}

impl Hart {
    /// Run one slice; count the retired instructions into the hart's counters.
    fn run_slice(&mut self, env: &ExecEnv<'_>, slice: u64) -> Result<Exit> {
        let before = self.engine.stats().insns;
        let exit = self
            .engine
            .run(&mut self.cpu, env, RunLimit { max_insns: slice })?;
        self.cpu.add_retired(self.engine.stats().insns - before);
        self.waiting = exit == Exit::Wait;
        Ok(exit)
    }

    /// How long hart `n`, waiting in `wfi`, may sleep: until its CLINT `mtimecmp` or its Sstc
    /// `stimecmp` deadline, at most [`MAX_SLEEP`] (so console input and stop requests are seen).
    fn sleep_for(&self, n: usize, router: &IrqRouter) -> Duration {
        let now = router.clint.mtime();
        let sstc = self.cpu.sstc_deadline().map(|t| {
            Duration::from_nanos(
                t.saturating_sub(now)
                    .saturating_mul(1_000_000_000 / u64::from(TIMEBASE_HZ)),
            )
        });
        router
            .clint
            .time_until_timer(n)
            .into_iter()
            .chain(sstc)
            .min()
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP)
    }
}

/// What the machine loop acts on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Event {
    Stop(StopReason),
    Reset,
}

/// The SiFive test finisher, also asking every hart's engine to stop at once.
struct Finisher {
    dev: TestFinisher,
    stops: Vec<Arc<AtomicBool>>,
}

impl MmioDevice for Finisher {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        self.dev.read(offset, size)
    }
    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        self.dev.write(offset, size, value);
        if self.dev.power().peek().is_some() {
            for s in &self.stops {
                s.store(true, Ordering::Release);
            }
        }
    }
}

/// Routes interrupt levels from the CLINT and the PLIC to the harts' `mip` bits. Called after every
/// guest write to the CLINT, the PLIC or the UART (so a guest sees `mip` change at once, as on
/// hardware) and between slices (for the timer, which moves with time, and for console input).
struct IrqRouter {
    clint: Arc<Clint>,
    plic: Arc<Plic>,
    /// Per hart: its lines, its PLIC machine and supervisor contexts.
    harts: Vec<(Arc<HartIrqs>, Option<usize>, Option<usize>)>,
    /// The host threads of the harts while they run one thread each: woken after a device write, so
    /// a hart sleeping in `wfi` sees an IPI or a device interrupt at once.
    threads: Mutex<Vec<std::thread::Thread>>,
}

impl IrqRouter {
    /// Route, then wake the harts' threads (after a guest's device access).
    ///
    /// A CLINT write always wakes them (a new `mtimecmp` moves a sleeping hart's deadline); other
    /// devices wake them only when some hart's interrupt lines changed, so the UART's byte-wise output
    /// does not take a lock and unpark every hart per byte.
    fn route_and_wake(&self, always: bool) {
        if !self.route() && !always {
            return;
        }
        for t in self
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            t.unpark();
        }
    }

    /// Set every hart's lines from the devices; whether any line changed.
    fn route(&self) -> bool {
        let mut changed = false;
        for (n, (irqs, m, s)) in self.harts.iter().enumerate() {
            let before = irqs.bits();
            irqs.set(MSIP, self.clint.msip_pending(n));
            irqs.set(MTIP, self.clint.timer_pending(n));
            irqs.set(MEIP, m.is_some_and(|c| self.plic.context_pending(c)));
            irqs.set(SEIP, s.is_some_and(|c| self.plic.context_pending(c)));
            changed |= irqs.bits() != before;
        }
        changed
    }
}

/// The CLINT on the bus.
struct ClintDev(Arc<IrqRouter>);

impl MmioDevice for ClintDev {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        self.0.clint.mmio_read(offset, size)
    }
    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        self.0.clint.mmio_write(offset, size, value);
        self.0.route_and_wake(true);
    }
}

/// The PLIC on the bus (a claim changes pending state too, so reads route as well).
struct PlicDev(Arc<IrqRouter>);

impl MmioDevice for PlicDev {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        let v = self.0.plic.mmio_read(offset, size);
        self.0.route_and_wake(false);
        v
    }
    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        self.0.plic.mmio_write(offset, size, value);
        self.0.route_and_wake(false);
    }
}

/// The UART on the bus: its register accesses move its interrupt line.
struct UartDev {
    uart: Arc<Mutex<Uart16550>>,
    router: Arc<IrqRouter>,
}

impl MmioDevice for UartDev {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        let v = self
            .uart
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read(offset, size);
        self.router.route_and_wake(false);
        v
    }
    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        self.uart
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(offset, size, value);
        self.router.route_and_wake(false);
    }
}

/// Spike's host-target interface: the `tohost`/`fromhost` words of the kernel ELF.
#[derive(Copy, Clone, Debug)]
struct Htif {
    tohost: u64,
    fromhost: Option<u64>,
}

/// A `riscv64-virt` machine, built and ready to run.
pub struct Riscv64Virt {
    cfg: VmConfig,
    mem: Arc<PhysMemory>,
    bus: MmioBus,
    /// Pollers of the VirtIO devices that need one; they stop when the machine is dropped.
    _workers: Vec<vm_device::virtio::worker::Worker>,
    harts: Vec<Hart>,
    router: Arc<IrqRouter>,
    uart: Arc<Mutex<Uart16550>>,
    power: PowerControl,
    htif: Option<Htif>,
    stop: Arc<AtomicBool>,
    entry: u64,
    kernel: LoadedImage,
}

impl core::fmt::Debug for Riscv64Virt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Riscv64Virt")
            .field("memory_mib", &self.cfg.memory_mib)
            .field("harts", &self.harts.len())
            .field("entry", &format_args!("{:#x}", self.entry))
            .finish_non_exhaustive()
    }
}

impl Riscv64Virt {
    /// Build the machine for `cfg`, loading `firmware` (if any) and `kernel`, with the UART's output
    /// going to `console`.
    ///
    /// With [`Firmware::Default`] and no `firmware` image given, Debian's OpenSBI
    /// ([`DEFAULT_FIRMWARE`]) is used; if it is not installed that is an [`Error::Image`] saying so.
    pub fn new(
        cfg: &VmConfig,
        firmware: Option<Image>,
        kernel: Image,
        initrd: Option<Image>,
        console: Box<dyn CharBackend>,
    ) -> Result<Self> {
        cfg.validate()?;
        let ram_size = cfg.memory_bytes();
        let mem = PhysMemory::builder()
            .rom("mrom", GuestPhysAddr(MROM_BASE), MROM_SIZE)
            .ram("ram", GuestPhysAddr(RAM_BASE), ram_size)
            .build()
            .map(Arc::new)?;
        let harts_n = cfg.vcpus as usize;
        let clint = Arc::new(Clint::new(harts_n, Arc::new(HostClock::new()))?);
        let plic = Arc::new(Plic::new(harts_n)?);
        let uart = Arc::new(Mutex::new(Uart16550::new(console, plic.line(UART0_IRQ)?)));
        let power = PowerControl::new();

        let mut harts = Vec::with_capacity(harts_n);
        let mut lines = Vec::with_capacity(harts_n);
        for h in 0..harts_n {
            let mut cpu = Riscv64Cpu::new(h as u64);
            let c = clint.clone();
            cpu.set_time_source(Arc::new(move || c.mtime()));
            lines.push((
                cpu.irqs(),
                plic.context(h, PlicMode::Machine),
                plic.context(h, PlicMode::Supervisor),
            ));
            harts.push(Hart {
                cpu,
                engine: Interpreter::new(),
                waiting: false,
            });
        }
        let router = Arc::new(IrqRouter {
            clint,
            plic,
            harts: lines,
            threads: Mutex::new(Vec::new()),
        });
        let mut bus = MmioBus::new();
        bus.insert(
            GuestPhysAddr(TEST_BASE),
            TEST_SIZE,
            Arc::new(Mutex::new(Finisher {
                dev: TestFinisher::new(power.clone()),
                stops: harts.iter().map(|h| h.engine.stop_handle()).collect(),
            })),
        )?;
        bus.insert(
            GuestPhysAddr(CLINT_BASE),
            CLINT_SIZE,
            Arc::new(Mutex::new(ClintDev(router.clone()))),
        )?;
        bus.insert(
            GuestPhysAddr(PLIC_BASE),
            router.plic.mmio_size(),
            Arc::new(Mutex::new(PlicDev(router.clone()))),
        )?;
        bus.insert(
            GuestPhysAddr(UART0_BASE),
            UART0_SIZE,
            Arc::new(Mutex::new(UartDev {
                uart: uart.clone(),
                router: router.clone(),
            })),
        )?;

        // Firmware, then the kernel after it (or the kernel alone).
        let firmware = match (&cfg.boot.firmware, firmware) {
            (_, Some(img)) => Some(img),
            (Firmware::None, None) => None,
            (Firmware::File(path), None) => Some(Image::from_file(path)?),
            (Firmware::Default, None) => {
                if !std::path::Path::new(DEFAULT_FIRMWARE).exists() {
                    return Err(Error::Image {
                        what: "the default firmware".into(),
                        reason: format!(
                            "{DEFAULT_FIRMWARE} is missing (apt-get install opensbi), or pass \
                             --bios FILE, or --bios none for a bare-metal kernel"
                        ),
                    });
                }
                Some(Image::from_file(DEFAULT_FIRMWARE)?)
            }
        };
        let kernel_name = kernel.name.clone();
        let (entry, kernel) = match firmware {
            Some(fw) => {
                let fw_img = loader::load(&mem, &fw.name, &fw.bytes, EM_RISCV, RAM_BASE)?;
                let kbase = fw_img.end.next_multiple_of(2 << 20);
                let k = loader::load(&mem, &kernel.name, &kernel.bytes, EM_RISCV, kbase)?;
                (fw_img.entry, k)
            }
            None => {
                let k = loader::load(&mem, &kernel.name, &kernel.bytes, EM_RISCV, RAM_BASE)?;
                (k.entry, k)
            }
        };
        let initrd_range = match initrd {
            Some(img) => {
                let start = RAM_BASE + (ram_size / 2).min(128 << 20);
                loader::load_raw(&mem, &img.name, &img.bytes, start)?;
                Some(InitrdRange {
                    start,
                    end: start + img.bytes.len() as u64,
                })
            }
            None => None,
        };
        let workers = virtio::attach(&cfg.devices, &mem, &router.plic, &mut bus)?;
        let dtb = device_tree(cfg, cfg.devices.len(), initrd_range)?;
        let dtb_addr = (RAM_BASE + ram_size - dtb.len() as u64) & !((2 << 20) - 1);
        if dtb_addr < kernel.end {
            return Err(Error::Image {
                what: kernel_name,
                reason: "No room for the device tree above the kernel; give the guest more memory"
                    .into(),
            });
        }
        mem.load_image(GuestPhysAddr(dtb_addr), &dtb)?;
        mem.load_image(
            GuestPhysAddr(MROM_BASE),
            &reset_stub(entry, dtb_addr, kernel.entry),
        )?;

        let mut vm = Self {
            cfg: cfg.clone(),
            mem,
            bus,
            _workers: workers,
            harts,
            router,
            uart,
            power,
            htif: kernel.tohost.map(|tohost| Htif {
                tohost,
                fromhost: kernel.fromhost,
            }),
            stop: Arc::new(AtomicBool::new(false)),
            entry,
            kernel,
        };
        vm.reset_harts();
        Ok(vm)
    }

    fn reset_harts(&mut self) {
        for h in &mut self.harts {
            h.cpu.reset(MROM_BASE);
            h.waiting = false;
        }
    }

    /// Guest physical memory.
    pub fn memory(&self) -> &PhysMemory {
        &self.mem
    }

    /// The UART (for feeding console input, e.g. with `vm_device::uart::spawn_stdin_reader`).
    pub fn uart(&self) -> &Arc<Mutex<Uart16550>> {
        &self.uart
    }

    /// Hart `n`'s architectural state.
    pub fn hart(&self, n: usize) -> Option<&Riscv64Cpu> {
        self.harts.get(n).map(|h| &h.cpu)
    }

    /// A flag that makes [`run`](Self::run) return [`StopReason::Stopped`] soon after it is set (from
    /// any thread).
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// The kernel image as loaded (entry, extent, HTIF symbols).
    pub fn kernel(&self) -> &LoadedImage {
        &self.kernel
    }

    /// Run until the guest stops the machine (or [`stop_handle`](Self::stop_handle) is set).
    pub fn run(&mut self) -> Result<RunOutcome> {
        self.run_for(u64::MAX)
    }

    /// Run for at most about `max_insns` guest instructions (all harts together; checked between
    /// slices), or until the guest stops the machine.
    pub fn run_for(&mut self, max_insns: u64) -> Result<RunOutcome> {
        let start = Instant::now();
        let before: u64 = self.insns();
        let reason = loop {
            let done = self.insns() - before;
            let event = if self.cfg.deterministic || self.harts.len() == 1 {
                self.run_in_turns(max_insns.saturating_sub(done))?
            } else {
                self.run_threads(max_insns.saturating_sub(done))?
            };
            match event {
                Event::Stop(reason) => break reason,
                Event::Reset => self.reset()?,
            }
        };
        Ok(RunOutcome {
            reason,
            insns: self.insns() - before,
            elapsed: start.elapsed(),
        })
    }

    /// What ends a run, or asks for a reset, checked between slices.
    fn poll_events(&self, done: u64, budget: u64) -> Option<Event> {
        if self.stop.swap(false, Ordering::AcqRel) {
            return Some(Event::Stop(StopReason::Stopped));
        }
        if let Some(event) = self.power.take() {
            return Some(match event {
                PowerEvent::Reset => Event::Reset,
                e => Event::Stop(StopReason::Finisher(e)),
            });
        }
        if let Some(code) = self.poll_htif() {
            return Some(Event::Stop(StopReason::Htif(code)));
        }
        (done >= budget).then_some(Event::Stop(StopReason::InsnLimit))
    }

    /// The harts take turns on this thread, [`SLICE_INSNS`] instructions each.
    fn run_in_turns(&mut self, budget: u64) -> Result<Event> {
        let before = self.insns();
        loop {
            if let Some(e) = self.poll_events(self.insns() - before, budget) {
                return Ok(e);
            }
            self.router.route();
            let slice = SLICE_INSNS.min(budget - (self.insns() - before));
            let mut all_waiting = true;
            for h in &mut self.harts {
                if h.waiting && !h.cpu.wake_pending() {
                    continue;
                }
                h.waiting = false;
                let env = ExecEnv {
                    mem: &self.mem,
                    bus: &self.bus,
                };
                if h.run_slice(&env, slice)? != Exit::Wait {
                    all_waiting = false;
                }
            }
            if all_waiting && self.power.peek().is_none() {
                self.sleep_until_interrupt();
            }
        }
    }

    /// Guest instructions executed so far, all harts.
    pub fn insns(&self) -> u64 {
        self.harts.iter().map(|h| h.engine.stats().insns).sum()
    }

    /// Reset as the finisher's reset value asks: devices and harts back to their reset state, images
    /// still in memory (as on real hardware, RAM keeps its contents).
    fn reset(&mut self) -> Result<()> {
        self.router.clint.reset();
        self.uart
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reset();
        self.reset_harts();
        Ok(())
    }

    /// Sleep until the earliest timer deadline of a waiting hart, at most [`MAX_SLEEP`].
    fn sleep_until_interrupt(&self) {
        let wait = self
            .harts
            .iter()
            .enumerate()
            .map(|(n, h)| h.sleep_for(n, &self.router))
            .min()
            .unwrap_or(MAX_SLEEP);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    /// Serve HTIF: `tohost` = 1 passes, an odd value fails with `value >> 1`; other commands (the
    /// syscall proxy, the console) are acknowledged and ignored.
    fn poll_htif(&self) -> Option<u64> {
        let htif = self.htif?;
        let value = self
            .mem
            .read_sized(GuestPhysAddr(htif.tohost), AccessSize::U64)
            .ok()?;
        if value == 0 {
            return None;
        }
        let device = value >> 56;
        let command = (value >> 48) & 0xff;
        if device == 0 && command == 0 && value & 1 == 1 {
            return Some((value & 0xffff_ffff_ffff) >> 1);
        }
        log::warn!("HTIF command {value:#x} (device {device}, command {command}) is not supported");
        let _ = self
            .mem
            .write_sized(GuestPhysAddr(htif.tohost), AccessSize::U64, 0);
        if let Some(from) = htif.fromhost {
            let _ = self.mem.write_sized(
                GuestPhysAddr(from),
                AccessSize::U64,
                (device << 56) | (command << 48),
            );
        }
        None
    }
}

/// QEMU's reset stub for RV64, with the addresses it loads after it: `auipc t0, 0; addi a2, t0,
/// 40; csrr a0, mhartid; ld a1, 32(t0); ld t0, 24(t0); jr t0`, then the start address, the device
/// tree address and a `fw_dynamic_info` block (OpenSBI's: magic, version 2, next address, next mode
/// S, options 0, boot hart any).
pub fn reset_stub(start: u64, dtb: u64, kernel_entry: u64) -> Vec<u8> {
    let words: [u32; 6] = [
        0x0000_0297,
        0x0282_8613,
        0xf140_2573,
        0x0202_b583,
        0x0182_b283,
        0x0002_8067,
    ];
    let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    for v in [
        start,
        dtb,
        0x4942_534f, // "OSBI"
        2,
        kernel_entry,
        1,
        0,
        u64::MAX,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}
