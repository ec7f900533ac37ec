//! `VmConfig`: everything needed to build a virtual machine, validated before anything is built.
//!
//! ```
//! use vm_core::config::{VmConfig, Machine, EngineKind};
//!
//! let mut cfg = VmConfig::new(Machine::Riscv64Virt);
//! cfg.memory_mib = 256;
//! cfg.vcpus = 2;
//! cfg.engine = EngineKind::Interpreter;
//! cfg.boot.kernel = Some("guest.elf".into());
//! cfg.validate().unwrap();
//!
//! cfg.vcpus = 0;
//! assert!(cfg.validate().is_err());
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::arch::GuestArch;

/// Largest guest RAM we accept, in MiB (1 TiB).
pub const MAX_MEMORY_MIB: u64 = 1 << 20;
/// Largest kernel command line, in bytes (Linux's `COMMAND_LINE_SIZE` on x86 is 2048).
pub const MAX_CMDLINE_LEN: usize = 2048;
/// Number of virtio-mmio slots every machine provides.
pub const VIRTIO_SLOTS: usize = 8;

/// A machine model: a memory map, a set of built-in devices and a boot protocol.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Machine {
    /// QEMU `virt`-compatible RISC-V machine (RAM at 0x8000_0000, CLINT, PLIC, NS16550A, virtio-mmio).
    #[serde(rename = "riscv64-virt")]
    Riscv64Virt,
    /// A Firecracker-style x86-64 machine for hardware acceleration (16550 on port 0x3f8, virtio-mmio).
    #[serde(rename = "x86_64-microvm")]
    X86_64Microvm,
}

impl Machine {
    /// Every machine.
    pub const ALL: [Machine; 2] = [Machine::Riscv64Virt, Machine::X86_64Microvm];

    /// The machine's name as the `--machine` option spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Riscv64Virt => "riscv64-virt",
            Self::X86_64Microvm => "x86_64-microvm",
        }
    }

    /// The guest architecture this machine runs.
    pub const fn arch(self) -> GuestArch {
        match self {
            Self::Riscv64Virt => GuestArch::Riscv64,
            Self::X86_64Microvm => GuestArch::X86_64,
        }
    }

    /// Most vCPUs the machine's interrupt controllers can address.
    pub const fn max_vcpus(self) -> u32 {
        match self {
            Self::Riscv64Virt => 64,
            Self::X86_64Microvm => 64,
        }
    }

    /// Least guest RAM the machine can boot with, in MiB.
    pub const fn min_memory_mib(self) -> u64 {
        match self {
            Self::Riscv64Virt => 1,
            Self::X86_64Microvm => 2,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Machine {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Machine::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| ConfigError::UnknownName {
                what: "machine",
                name: s.into(),
            })
    }
}

/// Which execution engine runs emulated vCPUs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The IR interpreter (always available with vm-engine's `interpreter` feature).
    #[default]
    Interpreter,
    /// The interpreter first, then Cranelift-compiled code for hot blocks (vm-engine's `jit` feature).
    Jit,
}

impl FromStr for EngineKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interp" | "interpreter" => Ok(Self::Interpreter),
            "jit" => Ok(Self::Jit),
            _ => Err(ConfigError::UnknownName {
                what: "engine",
                name: s.into(),
            }),
        }
    }
}

/// Which hardware accelerator (if any) runs the vCPUs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccelKind {
    /// Emulate with an execution engine.
    #[default]
    None,
    /// Use the host's accelerator when one opens, and say why not otherwise.
    Auto,
    /// Linux KVM.
    Kvm,
    /// macOS Hypervisor.framework.
    Hvf,
    /// macOS Virtualization.framework.
    Vz,
    /// Windows Hypervisor Platform.
    Whpx,
}

impl AccelKind {
    /// The name as the `--accel` option spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Auto => "auto",
            Self::Kvm => "kvm",
            Self::Hvf => "hvf",
            Self::Vz => "vz",
            Self::Whpx => "whpx",
        }
    }
}

impl FromStr for AccelKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::None,
            Self::Auto,
            Self::Kvm,
            Self::Hvf,
            Self::Vz,
            Self::Whpx,
        ]
        .into_iter()
        .find(|a| a.name() == s)
        .ok_or_else(|| ConfigError::UnknownName {
            what: "accelerator",
            name: s.into(),
        })
    }
}

/// Firmware choice, as QEMU's `-bios`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    /// The machine's default (none for the machines we have today).
    #[default]
    Default,
    /// No firmware: jump straight to the kernel in the most privileged mode.
    None,
    /// Load this file as firmware.
    File(String),
}

/// What to boot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootConfig {
    /// Firmware.
    pub firmware: Firmware,
    /// Kernel or bare-metal program (ELF or raw binary).
    pub kernel: Option<String>,
    /// Initial RAM disk.
    pub initrd: Option<String>,
    /// Kernel command line.
    pub cmdline: String,
}

/// A host TCP port forwarded to a guest port by user-mode networking.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortForward {
    /// Port on the host's 127.0.0.1.
    pub host_port: u16,
    /// Port in the guest.
    pub guest_port: u16,
}

/// Back end of a network device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "backend")]
pub enum NetBackend {
    /// User-mode networking (smoltcp): DHCP, NAT to the host's loopback, port forwards.
    User {
        /// Host ports forwarded into the guest.
        #[serde(default)]
        hostfwd: Vec<PortForward>,
    },
    /// A Linux TAP interface.
    Tap {
        /// Interface name (at most 15 bytes).
        ifname: String,
    },
}

/// A device the user adds to the machine (the machine's built-in devices are not listed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum DeviceConfig {
    /// virtio-blk over a raw image file.
    Block {
        /// Path of the image file.
        path: String,
        /// Refuse guest writes.
        #[serde(default)]
        read_only: bool,
    },
    /// virtio-net.
    Net(NetBackend),
    /// virtio-console.
    Console,
    /// virtio-rng fed from the host's `getrandom`.
    Rng,
}

/// Everything needed to build a VM. Build one with [`VmConfig::new`] and adjust fields, or deserialise it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmConfig {
    /// Guest architecture; must match `machine`.
    pub guest_arch: GuestArch,
    /// Machine model.
    pub machine: Machine,
    /// Guest RAM in MiB.
    pub memory_mib: u64,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// Engine for emulated vCPUs.
    #[serde(default)]
    pub engine: EngineKind,
    /// Hardware accelerator.
    #[serde(default)]
    pub accel: AccelKind,
    /// Host NUMA node to bind guest RAM to, if any.
    #[serde(default)]
    pub numa_node: Option<u32>,
    /// What to boot.
    #[serde(default)]
    pub boot: BootConfig,
    /// Extra devices, placed in the machine's virtio-mmio slots in order.
    #[serde(default)]
    pub devices: Vec<DeviceConfig>,
    /// Emulated machines: run the vCPUs in turn on one host thread, in fixed slices, so that a run is
    /// repeatable (instead of one host thread per vCPU).
    #[serde(default)]
    pub deterministic: bool,
}

impl VmConfig {
    /// A configuration for `machine` with 128 MiB, one vCPU, the interpreter, nothing to boot.
    pub fn new(machine: Machine) -> Self {
        Self {
            guest_arch: machine.arch(),
            machine,
            memory_mib: 128,
            vcpus: 1,
            engine: EngineKind::Interpreter,
            accel: AccelKind::None,
            numa_node: None,
            boot: BootConfig::default(),
            devices: Vec::new(),
            deterministic: false,
        }
    }

    /// Guest RAM in bytes.
    pub const fn memory_bytes(&self) -> u64 {
        self.memory_mib * 1024 * 1024
    }

    /// Check every field and their combinations; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.guest_arch != self.machine.arch() {
            return Err(ConfigError::ArchMismatch {
                machine: self.machine,
                machine_arch: self.machine.arch(),
                guest_arch: self.guest_arch,
            });
        }
        let min = self.machine.min_memory_mib();
        if self.memory_mib < min || self.memory_mib > MAX_MEMORY_MIB {
            return Err(ConfigError::MemorySize {
                mib: self.memory_mib,
                min,
                max: MAX_MEMORY_MIB,
            });
        }
        let max = self.machine.max_vcpus();
        if self.vcpus == 0 || self.vcpus > max {
            return Err(ConfigError::VcpuCount {
                count: self.vcpus,
                max,
            });
        }
        match self.accel {
            AccelKind::None | AccelKind::Auto => {}
            accel => {
                if GuestArch::host() != Some(self.guest_arch) {
                    return Err(ConfigError::AccelNeedsHostArch {
                        accel,
                        guest_arch: self.guest_arch,
                    });
                }
            }
        }
        if self.accel == AccelKind::None && self.machine == Machine::X86_64Microvm {
            return Err(ConfigError::MachineNeedsAccel {
                machine: self.machine,
            });
        }
        self.validate_boot()?;
        self.validate_devices()
    }

    fn validate_boot(&self) -> Result<(), ConfigError> {
        let b = &self.boot;
        for (what, path) in [("kernel", &b.kernel), ("initrd", &b.initrd)] {
            if path.as_deref() == Some("") {
                return Err(ConfigError::EmptyPath { what });
            }
        }
        if let Firmware::File(p) = &b.firmware
            && p.is_empty()
        {
            return Err(ConfigError::EmptyPath { what: "firmware" });
        }
        if b.initrd.is_some() && b.kernel.is_none() {
            return Err(ConfigError::InitrdWithoutKernel);
        }
        if b.cmdline.len() > MAX_CMDLINE_LEN {
            return Err(ConfigError::CmdlineTooLong {
                len: b.cmdline.len(),
                max: MAX_CMDLINE_LEN,
            });
        }
        if b.cmdline.bytes().any(|c| c == 0) {
            return Err(ConfigError::CmdlineNul);
        }
        Ok(())
    }

    fn validate_devices(&self) -> Result<(), ConfigError> {
        if self.devices.len() > VIRTIO_SLOTS {
            return Err(ConfigError::TooManyDevices {
                count: self.devices.len(),
                max: VIRTIO_SLOTS,
            });
        }
        let mut host_ports: Vec<u16> = Vec::new();
        for (index, dev) in self.devices.iter().enumerate() {
            match dev {
                DeviceConfig::Block { path, .. } if path.is_empty() => {
                    return Err(ConfigError::EmptyPath { what: "disk image" });
                }
                DeviceConfig::Net(NetBackend::Tap { ifname })
                    if ifname.is_empty() || ifname.len() > 15 =>
                {
                    return Err(ConfigError::BadDevice {
                        index,
                        reason: "a TAP interface name has 1 to 15 bytes",
                    });
                }
                DeviceConfig::Net(NetBackend::User { hostfwd }) => {
                    for fwd in hostfwd {
                        if fwd.host_port == 0 || fwd.guest_port == 0 {
                            return Err(ConfigError::BadDevice {
                                index,
                                reason: "port 0 cannot be forwarded",
                            });
                        }
                        if host_ports.contains(&fwd.host_port) {
                            return Err(ConfigError::DuplicateHostPort {
                                port: fwd.host_port,
                            });
                        }
                        host_ports.push(fwd.host_port);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl VmConfig {
    /// Parse and validate a configuration from JSON.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising these plain data types cannot fail: no maps with non-string keys, no foreign types.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// A configuration problem, with what is needed to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `guest_arch` is not the machine's architecture.
    #[error("Machine {machine} runs {machine_arch} guests, but guest_arch is {guest_arch}")]
    ArchMismatch {
        /// The machine.
        machine: Machine,
        /// Its architecture.
        machine_arch: GuestArch,
        /// The configured architecture.
        guest_arch: GuestArch,
    },
    /// Guest RAM is out of range.
    #[error("Memory size {mib} MiB is out of range ({min} to {max} MiB)")]
    MemorySize {
        /// Requested size.
        mib: u64,
        /// Machine minimum.
        min: u64,
        /// Maximum.
        max: u64,
    },
    /// vCPU count is out of range.
    #[error("{count} vCPUs requested; the machine supports 1 to {max}")]
    VcpuCount {
        /// Requested count.
        count: u32,
        /// Machine maximum.
        max: u32,
    },
    /// A hardware accelerator was asked for a guest of another architecture than the host's.
    #[error("Accelerator {} cannot run {guest_arch} guests on this {} host", accel.name(), host_arch_name())]
    AccelNeedsHostArch {
        /// The accelerator.
        accel: AccelKind,
        /// The guest architecture.
        guest_arch: GuestArch,
    },
    /// The machine only runs under a hardware accelerator.
    #[error("Machine {machine} needs a hardware accelerator (--accel kvm or auto)")]
    MachineNeedsAccel {
        /// The machine.
        machine: Machine,
    },
    /// A file path is empty.
    #[error("The {what} path is empty")]
    EmptyPath {
        /// Which path.
        what: &'static str,
    },
    /// An initrd was given without a kernel.
    #[error("An initrd needs a kernel")]
    InitrdWithoutKernel,
    /// The command line is too long.
    #[error("Kernel command line has {len} bytes; at most {max} are allowed")]
    CmdlineTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The command line holds a NUL byte.
    #[error("Kernel command line contains a NUL byte")]
    CmdlineNul,
    /// More devices than virtio-mmio slots.
    #[error("{count} devices configured; the machine has {max} virtio slots")]
    TooManyDevices {
        /// Configured devices.
        count: usize,
        /// Slots.
        max: usize,
    },
    /// A device's settings are wrong.
    #[error("Device {index}: {reason}")]
    BadDevice {
        /// Position in `devices`.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two port forwards use the same host port.
    #[error("Host port {port} is forwarded twice")]
    DuplicateHostPort {
        /// The port.
        port: u16,
    },
    /// A name (machine, engine, accelerator) is not known.
    #[error("Unknown {what} `{name}`")]
    UnknownName {
        /// What kind of name.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// The JSON text could not be parsed.
    #[error("Invalid configuration JSON: {0}")]
    Json(String),
}

fn host_arch_name() -> &'static str {
    GuestArch::host().map_or("unknown", GuestArch::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> VmConfig {
        let mut c = VmConfig::new(Machine::Riscv64Virt);
        c.boot.kernel = Some("k.elf".into());
        c
    }

    #[test]
    fn defaults_validate() {
        base().validate().unwrap();
    }

    #[test]
    fn rejects_each_bad_field() {
        let mut c = base();
        c.guest_arch = GuestArch::Arm64;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::ArchMismatch { .. })
        ));

        let mut c = base();
        c.memory_mib = 0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::MemorySize { mib: 0, .. })
        ));
        c.memory_mib = MAX_MEMORY_MIB + 1;
        assert!(matches!(c.validate(), Err(ConfigError::MemorySize { .. })));

        let mut c = base();
        c.vcpus = 65;
        assert_eq!(
            c.validate(),
            Err(ConfigError::VcpuCount { count: 65, max: 64 })
        );

        let mut c = base();
        c.boot.kernel = None;
        c.boot.initrd = Some("i".into());
        assert_eq!(c.validate(), Err(ConfigError::InitrdWithoutKernel));

        let mut c = base();
        c.boot.cmdline = "x".repeat(MAX_CMDLINE_LEN + 1);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::CmdlineTooLong { .. })
        ));
        c.boot.cmdline = "a\0b".into();
        assert_eq!(c.validate(), Err(ConfigError::CmdlineNul));

        let mut c = base();
        c.devices = vec![DeviceConfig::Rng; VIRTIO_SLOTS + 1];
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TooManyDevices { .. })
        ));

        let mut c = base();
        c.devices = vec![DeviceConfig::Net(NetBackend::Tap {
            ifname: "x".repeat(16),
        })];
        assert!(matches!(
            c.validate(),
            Err(ConfigError::BadDevice { index: 0, .. })
        ));

        let mut c = base();
        let fwd = PortForward {
            host_port: 8080,
            guest_port: 80,
        };
        c.devices = vec![
            DeviceConfig::Net(NetBackend::User { hostfwd: vec![fwd] }),
            DeviceConfig::Net(NetBackend::User { hostfwd: vec![fwd] }),
        ];
        assert_eq!(
            c.validate(),
            Err(ConfigError::DuplicateHostPort { port: 8080 })
        );
    }

    #[test]
    fn accelerators_need_the_host_architecture() {
        let mut c = base();
        c.accel = AccelKind::Kvm;
        if GuestArch::host() == Some(GuestArch::Riscv64) {
            c.validate().unwrap();
        } else {
            assert!(matches!(
                c.validate(),
                Err(ConfigError::AccelNeedsHostArch { .. })
            ));
        }
        let mut x = VmConfig::new(Machine::X86_64Microvm);
        assert_eq!(
            x.validate(),
            Err(ConfigError::MachineNeedsAccel { machine: x.machine })
        );
        x.accel = AccelKind::Auto;
        x.validate().unwrap();
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "riscv64-virt".parse::<Machine>().unwrap(),
            Machine::Riscv64Virt
        );
        assert_eq!(
            "interp".parse::<EngineKind>().unwrap(),
            EngineKind::Interpreter
        );
        assert_eq!("kvm".parse::<AccelKind>().unwrap(), AccelKind::Kvm);
        assert!("qemu".parse::<Machine>().is_err());
    }

    #[cfg(feature = "std")]
    #[test]
    fn json_round_trip() {
        let mut c = base();
        c.vcpus = 4;
        c.boot.cmdline = "console=ttyS0".into();
        c.devices = vec![
            DeviceConfig::Block {
                path: "disk.img".into(),
                read_only: true,
            },
            DeviceConfig::Net(NetBackend::User {
                hostfwd: vec![PortForward {
                    host_port: 2222,
                    guest_port: 22,
                }],
            }),
            DeviceConfig::Rng,
        ];
        let text = c.to_json();
        assert!(text.contains("\"riscv64-virt\""), "{text}");
        assert_eq!(VmConfig::from_json(&text).unwrap(), c);
    }

    #[cfg(feature = "std")]
    #[test]
    fn json_errors_are_typed() {
        assert!(matches!(
            VmConfig::from_json("{"),
            Err(ConfigError::Json(_))
        ));
        let bad = r#"{"guest_arch":"riscv64","machine":"riscv64-virt","memory_mib":0,"vcpus":1}"#;
        assert!(matches!(
            VmConfig::from_json(bad),
            Err(ConfigError::MemorySize { .. })
        ));
    }
}
