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
            Machine::X86_64Microvm => {
                return Err(Error::Unsupported(
                    "The x86_64-microvm machine is not available yet (issue 5)".into(),
                ));
            }
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
        Ok(Vm { machine })
    }
}

/// A virtual machine, built and ready to run.
#[derive(Debug)]
pub struct Vm {
    machine: Riscv64Virt,
}

impl Vm {
    /// Run until the guest stops the machine or [`stop_handle`](Self::stop_handle) is set.
    pub fn run(&mut self) -> Result<RunOutcome> {
        self.machine.run()
    }

    /// Run for at most about `max_insns` guest instructions.
    pub fn run_for(&mut self, max_insns: u64) -> Result<RunOutcome> {
        self.machine.run_for(max_insns)
    }

    /// A flag that stops [`run`](Self::run) soon after it is set, from any thread.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.machine.stop_handle()
    }

    /// The `riscv64-virt` machine inside (memory, harts, devices).
    pub fn riscv64_virt(&self) -> &Riscv64Virt {
        &self.machine
    }
}
