//! The embedding API: build a virtual machine from a [`VmConfig`], run it, read its outcome.
//!
//! ```no_run
//! use vm_service::vm::VmBuilder;
//! use vm_service::VmConfig;
//! use vm_core::config::{Firmware, Machine};
//!
//! let mut cfg = VmConfig::new(Machine::Riscv64Virt);
//! cfg.boot.firmware = Firmware::None;
//! cfg.boot.kernel = Some("guests/prebuilt/riscv64/demo.elf".into());
//! let mut vm = VmBuilder::new(cfg).build()?;
//! let outcome = vm.run()?;
//! println!("exit code {}, {} instructions", outcome.reason.exit_code(), outcome.insns);
//! # Ok::<(), vm_service::Error>(())
//! ```

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use vm_core::config::{EngineKind, Machine, VmConfig};
use vm_device::uart::{CharBackend, IoBackend};

use crate::error::{Error, Result};
use crate::machine::riscv64_virt::{Image, Riscv64Virt, RunOutcome};

/// Builds a [`Vm`]: the configuration, plus what a configuration cannot carry (images held in memory,
/// where the console goes).
pub struct VmBuilder {
    cfg: VmConfig,
    kernel: Option<Image>,
    firmware: Option<Image>,
    console: Option<Box<dyn CharBackend>>,
    stdin: bool,
}

impl core::fmt::Debug for VmBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VmBuilder")
            .field("cfg", &self.cfg)
            .field("stdin", &self.stdin)
            .finish_non_exhaustive()
    }
}

impl VmBuilder {
    /// Start from `cfg`; images named in it are read from the host's files at [`build`](Self::build).
    pub fn new(cfg: VmConfig) -> Self {
        Self {
            cfg,
            kernel: None,
            firmware: None,
            console: None,
            stdin: false,
        }
    }

    /// Use these bytes as the kernel (an ELF or a raw binary) instead of the file in the configuration.
    pub fn kernel_bytes(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.kernel = Some(Image {
            name: name.into(),
            bytes,
        });
        self
    }

    /// Use these bytes as the firmware instead of the configuration's.
    pub fn firmware_bytes(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.firmware = Some(Image {
            name: name.into(),
            bytes,
        });
        self
    }

    /// Send the console (UART0) output to `backend` (default: the process's standard output). Use a
    /// `vm_device::uart::CaptureBackend` to keep it in memory.
    pub fn console(mut self, backend: Box<dyn CharBackend>) -> Self {
        self.console = Some(backend);
        self
    }

    /// Feed the process's standard input to the console (default: off).
    pub fn console_stdin(mut self, on: bool) -> Self {
        self.stdin = on;
        self
    }

    /// Load the images and set the machine up.
    pub fn build(self) -> Result<Vm> {
        self.cfg.validate()?;
        if self.cfg.engine == EngineKind::Jit {
            return Err(Error::Unsupported(
                "The JIT engine is not wired into machines yet (issue 6); use --engine interp"
                    .into(),
            ));
        }
        match self.cfg.machine {
            Machine::Riscv64Virt => {}
            Machine::X86_64Microvm => return build_x86_64_microvm(self),
        }
        let kernel =
            match self.kernel {
                Some(k) => k,
                None => {
                    let path =
                        self.cfg.boot.kernel.as_deref().ok_or_else(|| {
                            Error::Usage("No kernel given (--kernel FILE)".into())
                        })?;
                    Image::from_file(path)?
                }
            };
        let initrd = match &self.cfg.boot.initrd {
            Some(path) => Some(Image::from_file(path)?),
            None => None,
        };
        let console = self
            .console
            .unwrap_or_else(|| Box::new(IoBackend::stdout()));
        let machine = Riscv64Virt::new(&self.cfg, self.firmware, kernel, initrd, console)?;
        if self.stdin {
            vm_device::uart::spawn_stdin_reader(machine.uart())?;
        }
        Ok(Vm {
            machine: Inner::Riscv64Virt(machine),
        })
    }
}

/// Build the `x86_64-microvm` machine (hardware accelerated).
#[cfg(all(feature = "accel", target_arch = "x86_64"))]
fn build_x86_64_microvm(b: VmBuilder) -> Result<Vm> {
    use crate::machine::x86_64_microvm::X86_64Microvm;

    if b.firmware.is_some() {
        return Err(Error::Unsupported(
            "x86_64-microvm boots kernels directly without firmware".into(),
        ));
    }
    let kernel = match b.kernel {
        Some(k) => k,
        None => {
            let path = b
                .cfg
                .boot
                .kernel
                .as_deref()
                .ok_or_else(|| Error::Usage("No kernel given (--kernel FILE)".into()))?;
            Image::from_file(path)?
        }
    };
    let initrd = match &b.cfg.boot.initrd {
        Some(path) => Some(Image::from_file(path)?),
        None => None,
    };
    let console = b.console.unwrap_or_else(|| Box::new(IoBackend::stdout()));
    let machine = X86_64Microvm::new(&b.cfg, kernel, initrd, console)?;
    if b.stdin {
        vm_device::uart::spawn_stdin_reader(machine.uart())?;
    }
    Ok(Vm {
        machine: Inner::X86_64Microvm(machine),
    })
}

/// Without vm-service's `accel` feature (or on a non-x86-64 host) there is no `x86_64-microvm`.
#[cfg(not(all(feature = "accel", target_arch = "x86_64")))]
fn build_x86_64_microvm(_: VmBuilder) -> Result<Vm> {
    Err(Error::Unsupported(if cfg!(target_arch = "x86_64") {
        "The x86_64-microvm machine needs vm-service's `accel` feature (KVM); this build leaves it out"
    } else {
        "The x86_64-microvm machine runs only on x86-64 hosts (it needs KVM for x86-64 guests)"
    }
    .into()))
}

/// The machine inside a [`Vm`].
#[derive(Debug)]
enum Inner {
    Riscv64Virt(Riscv64Virt),
    #[cfg(all(feature = "accel", target_arch = "x86_64"))]
    X86_64Microvm(crate::machine::x86_64_microvm::X86_64Microvm),
}

/// An `x86_64-microvm` outcome in the terms of [`RunOutcome`]: the exit port's status as a finisher
/// pass or failure, a reset as a reset, a stop as a stop; a guest failure (triple fault, crash,
/// accelerator failure, every vCPU halted) is an error that says what happened. Instructions are not
/// counted under an accelerator (`insns` is 0).
#[cfg(all(feature = "accel", target_arch = "x86_64"))]
fn x86_outcome(out: crate::machine::x86_64_microvm::X86RunOutcome) -> Result<RunOutcome> {
    use crate::machine::riscv64_virt::StopReason;
    use crate::machine::x86_64_microvm::X86StopReason;
    use vm_device::test_finisher::PowerEvent;

    let reason = match out.reason {
        X86StopReason::ExitPort(0) | X86StopReason::PowerOff => {
            StopReason::Finisher(PowerEvent::Pass)
        }
        X86StopReason::ExitPort(code) => {
            StopReason::Finisher(PowerEvent::Fail { code: code.into() })
        }
        X86StopReason::Reset => StopReason::Finisher(PowerEvent::Reset),
        X86StopReason::Stopped => StopReason::Stopped,
        failure => {
            return Err(Error::Unsupported(format!(
                "The guest stopped abnormally: {failure}"
            )));
        }
    };
    Ok(RunOutcome {
        reason,
        insns: 0,
        elapsed: out.elapsed,
    })
}

/// A virtual machine, built and ready to run.
#[derive(Debug)]
pub struct Vm {
    machine: Inner,
}

impl Vm {
    /// Run until the guest stops the machine or [`stop_handle`](Self::stop_handle) is set.
    ///
    /// On `x86_64-microvm` the exit port's status comes back as a finisher pass (0) or failure
    /// (the status), and a guest failure (a triple fault, say) as an error naming it.
    pub fn run(&mut self) -> Result<RunOutcome> {
        match &mut self.machine {
            Inner::Riscv64Virt(m) => m.run(),
            #[cfg(all(feature = "accel", target_arch = "x86_64"))]
            Inner::X86_64Microvm(m) => x86_outcome(m.run()?),
        }
    }

    /// Run for at most about `max_insns` guest instructions. Only emulated machines count
    /// instructions; on `x86_64-microvm` this is an error (use [`stop_handle`](Self::stop_handle)).
    pub fn run_for(&mut self, max_insns: u64) -> Result<RunOutcome> {
        match &mut self.machine {
            Inner::Riscv64Virt(m) => m.run_for(max_insns),
            #[cfg(all(feature = "accel", target_arch = "x86_64"))]
            Inner::X86_64Microvm(_) => Err(Error::Unsupported(
                "x86_64-microvm runs on a hardware accelerator, which does not count instructions; \
                 run it and set the stop handle instead"
                    .into(),
            )),
        }
    }

    /// A flag that stops [`run`](Self::run) soon after it is set, from any thread.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        match &self.machine {
            Inner::Riscv64Virt(m) => m.stop_handle(),
            #[cfg(all(feature = "accel", target_arch = "x86_64"))]
            Inner::X86_64Microvm(m) => m.stop_handle(),
        }
    }

    /// The `riscv64-virt` machine inside (memory, harts, devices), if that is the machine.
    pub fn riscv64_virt(&self) -> Option<&Riscv64Virt> {
        match &self.machine {
            Inner::Riscv64Virt(m) => Some(m),
            #[cfg(all(feature = "accel", target_arch = "x86_64"))]
            Inner::X86_64Microvm(_) => None,
        }
    }

    /// The `x86_64-microvm` machine inside (memory, UART, its own run with typed stop reasons), if
    /// that is the machine.
    #[cfg(all(feature = "accel", target_arch = "x86_64"))]
    pub fn x86_64_microvm(&mut self) -> Option<&mut crate::machine::x86_64_microvm::X86_64Microvm> {
        match &mut self.machine {
            Inner::X86_64Microvm(m) => Some(m),
            Inner::Riscv64Virt(_) => None,
        }
    }
}
