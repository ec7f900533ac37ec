//! The KVM back end (Linux, x86-64 hosts), on the rust-vmm `kvm-ioctls` crate.
//!
//! [`KvmAccelerator::open`] opens `/dev/kvm`, checks the API version and the capabilities every VM
//! needs, and reads the CPUID the kernel supports, which every vCPU gets. [`kvm_flavor`] tells a
//! hardware-assisted KVM (Intel VMX, AMD SVM) from PVM, the page-table-based software KVM used for
//! nested clouds: under PVM, guest ring-3 code runs natively but ring-0 code is emulated, slowly.

mod kick;
mod vcpu;
mod vm;

use std::path::Path;

use kvm_bindings::{
    CpuId, KVM_API_VERSION, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_MAX_CPUID_ENTRIES,
};
use kvm_ioctls::{Cap, Kvm};
use vm_core::config::AccelKind;

pub use self::kick::{KICK_SIGNAL_OFFSET, KvmKicker, kick_signal};
pub use self::vcpu::KvmVcpu;
pub use self::vm::KvmVm;
use crate::accel::{AccelInfo, AccelVm, Accelerator, Capability, CpuidEntry};
use crate::error::{Error, Result};

/// The KVM device node.
pub const KVM_PATH: &str = "/dev/kvm";

/// Capabilities listed by [`AccelInfo`], with their kernel names.
const REPORTED_CAPS: [(Cap, &str); 16] = [
    (Cap::UserMemory, "KVM_CAP_USER_MEMORY"),
    (Cap::ReadonlyMem, "KVM_CAP_READONLY_MEM"),
    (Cap::Irqchip, "KVM_CAP_IRQCHIP"),
    (Cap::Pit2, "KVM_CAP_PIT2"),
    (Cap::Irqfd, "KVM_CAP_IRQFD"),
    (Cap::Ioeventfd, "KVM_CAP_IOEVENTFD"),
    (Cap::IrqRouting, "KVM_CAP_IRQ_ROUTING"),
    (Cap::SignalMsi, "KVM_CAP_SIGNAL_MSI"),
    (Cap::ExtCpuid, "KVM_CAP_EXT_CPUID"),
    (Cap::SetTssAddr, "KVM_CAP_SET_TSS_ADDR"),
    (Cap::ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"),
    (Cap::TscDeadlineTimer, "KVM_CAP_TSC_DEADLINE_TIMER"),
    (Cap::Xsave, "KVM_CAP_XSAVE"),
    (Cap::NrVcpus, "KVM_CAP_NR_VCPUS"),
    (Cap::MaxVcpus, "KVM_CAP_MAX_VCPUS"),
    (Cap::NrMemslots, "KVM_CAP_NR_MEMSLOTS"),
];

/// How the host implements `/dev/kvm`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KvmFlavor {
    /// Intel VT-x (`kvm_intel` is loaded).
    IntelVmx,
    /// AMD-V (`kvm_amd` is loaded).
    AmdSvm,
    /// PVM (`kvm_pvm` is loaded): software virtualisation for nested clouds; guest ring-0 code is
    /// emulated, ring-3 code runs natively.
    Pvm,
    /// None of the known vendor modules is loaded (KVM built into the kernel, or another vendor).
    Unknown,
}

impl KvmFlavor {
    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::IntelVmx => "intel-vmx",
            Self::AmdSvm => "amd-svm",
            Self::Pvm => "pvm",
            Self::Unknown => "unknown",
        }
    }

    /// Whether guest ring-0 code runs on the hardware (false under PVM, where it is emulated).
    pub const fn hardware_assisted(self) -> bool {
        matches!(self, Self::IntelVmx | Self::AmdSvm)
    }
}

/// The flavour of this host's KVM, read from `/sys/module`.
pub fn kvm_flavor() -> KvmFlavor {
    kvm_flavor_in(Path::new("/sys/module"))
}

/// The flavour of KVM according to a `/sys/module`-like directory. PVM wins when its module is there,
/// because it provides `/dev/kvm` even when a hardware vendor module is also loaded.
pub fn kvm_flavor_in(sys_module: &Path) -> KvmFlavor {
    [
        ("kvm_pvm", KvmFlavor::Pvm),
        ("kvm_intel", KvmFlavor::IntelVmx),
        ("kvm_amd", KvmFlavor::AmdSvm),
    ]
    .into_iter()
    .find(|(module, _)| sys_module.join(module).is_dir())
    .map_or(KvmFlavor::Unknown, |(_, flavor)| flavor)
}

/// An open `/dev/kvm` whose API version and basic capabilities were checked.
pub struct KvmAccelerator {
    kvm: Kvm,
    cpuid: CpuId,
}

impl std::fmt::Debug for KvmAccelerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvmAccelerator")
            .field("cpuid_entries", &self.cpuid.as_slice().len())
            .finish_non_exhaustive()
    }
}

impl KvmAccelerator {
    /// Open `/dev/kvm`, check the API version (12) and `KVM_CAP_USER_MEMORY`, and fetch the CPUID the
    /// kernel supports. Each failure says exactly why: missing device, permission, version.
    pub fn open() -> Result<Self> {
        let kvm = Kvm::new().map_err(|e| open_error(e.errno()))?;
        let found = kvm.get_api_version();
        let expected = i32::try_from(KVM_API_VERSION).unwrap_or(i32::MAX);
        if found != expected {
            return Err(Error::ApiVersion { found, expected });
        }
        if !kvm.check_extension(Cap::UserMemory) {
            return Err(Error::MissingCapability {
                cap: "KVM_CAP_USER_MEMORY",
                needed_for: "mapping guest memory",
            });
        }
        let cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| Error::ioctl("KVM_GET_SUPPORTED_CPUID", e))?;
        Ok(Self { kvm, cpuid })
    }

    /// The CPUID entries the kernel supports for guests (`KVM_GET_SUPPORTED_CPUID`).
    pub fn supported_cpuid(&self) -> &CpuId {
        &self.cpuid
    }

    /// The flavour of the host's KVM.
    pub fn flavor(&self) -> KvmFlavor {
        kvm_flavor()
    }

    /// Create a KVM VM with its concrete type (what [`Accelerator::create_vm`] boxes).
    pub fn create_kvm_vm(&self) -> Result<KvmVm> {
        let vm = self
            .kvm
            .create_vm()
            .map_err(|e| Error::ioctl("KVM_CREATE_VM", e))?;
        KvmVm::new(vm, self.cpuid.clone())
    }
}

impl Accelerator for KvmAccelerator {
    fn kind(&self) -> AccelKind {
        AccelKind::Kvm
    }

    fn info(&self) -> AccelInfo {
        let caps = REPORTED_CAPS
            .iter()
            .map(|&(cap, name)| Capability {
                name,
                value: self.kvm.check_extension_int(cap).into(),
            })
            .collect();
        AccelInfo {
            accel: "kvm",
            device: KVM_PATH,
            flavor: self.flavor().name(),
            api_version: self.kvm.get_api_version().into(),
            recommended_vcpus: to_u64(self.kvm.get_nr_vcpus()),
            max_vcpus: to_u64(self.kvm.get_max_vcpus()),
            max_memory_slots: to_u64(self.kvm.get_nr_memslots()),
            cpuid_entries: to_u64(self.cpuid.as_slice().len()),
            capabilities: caps,
        }
    }

    fn create_vm(&self) -> Result<Box<dyn AccelVm>> {
        Ok(Box::new(self.create_kvm_vm()?))
    }

    fn guest_cpuid(&self) -> Vec<CpuidEntry> {
        self.cpuid
            .as_slice()
            .iter()
            .map(|e| CpuidEntry {
                function: e.function,
                index: e.index,
                index_significant: e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX != 0,
                eax: e.eax,
                ebx: e.ebx,
                ecx: e.ecx,
                edx: e.edx,
            })
            .collect()
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Turn the errno of opening `/dev/kvm` into the error that says why.
fn open_error(errno: i32) -> Error {
    match errno {
        libc::ENOENT | libc::ENXIO | libc::ENODEV => Error::DeviceMissing {
            path: KVM_PATH,
            errno,
        },
        libc::EACCES | libc::EPERM => Error::PermissionDenied { path: KVM_PATH },
        _ => Error::Open {
            path: KVM_PATH,
            errno,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn fake_sys_module(name: &str, modules: &[&str]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vm-accel-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for m in modules {
            fs::create_dir_all(dir.join(m)).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn flavor_follows_the_loaded_modules() {
        let cases: [(&str, &[&str], KvmFlavor); 5] = [
            ("intel", &["kvm", "kvm_intel"], KvmFlavor::IntelVmx),
            ("amd", &["kvm", "kvm_amd"], KvmFlavor::AmdSvm),
            ("pvm", &["kvm", "kvm_pvm"], KvmFlavor::Pvm),
            (
                "pvm-and-amd",
                &["kvm", "kvm_amd", "kvm_pvm"],
                KvmFlavor::Pvm,
            ),
            ("none", &["kvm"], KvmFlavor::Unknown),
        ];
        for (name, modules, want) in cases {
            let dir = fake_sys_module(name, modules);
            assert_eq!(kvm_flavor_in(&dir), want, "{name}");
            fs::remove_dir_all(&dir).unwrap();
        }
        assert!(KvmFlavor::AmdSvm.hardware_assisted());
        assert!(!KvmFlavor::Pvm.hardware_assisted());
    }

    #[test]
    fn open_errors_say_why() {
        assert_eq!(
            open_error(libc::ENOENT),
            Error::DeviceMissing {
                path: KVM_PATH,
                errno: libc::ENOENT
            }
        );
        assert_eq!(
            open_error(libc::EACCES),
            Error::PermissionDenied { path: KVM_PATH }
        );
        assert_eq!(
            open_error(libc::EBUSY),
            Error::Open {
                path: KVM_PATH,
                errno: libc::EBUSY
            }
        );
    }
}
