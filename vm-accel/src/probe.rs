//! Choosing an accelerator: [`probe`] turns a configured [`AccelKind`] into an open [`Accelerator`], or
//! into an error that says exactly why not.
//!
//! `auto` resolves to the host's native accelerator ([`native_accel`]): KVM on Linux, Hypervisor.framework
//! on macOS, the Windows Hypervisor Platform on Windows. Only the KVM back end exists so far (on x86-64
//! Linux hosts); HVF, VZ and WHPX report [`Error::NotAvailable`] naming the host OS.

use std::env::consts::OS;

use vm_core::config::AccelKind;

use crate::accel::Accelerator;
use crate::error::{Error, Result};

/// The accelerator `auto` means on this host's OS, if the OS has one.
pub const fn native_accel() -> Option<AccelKind> {
    if cfg!(target_os = "linux") {
        Some(AccelKind::Kvm)
    } else if cfg!(target_os = "macos") {
        Some(AccelKind::Hvf)
    } else if cfg!(target_os = "windows") {
        Some(AccelKind::Whpx)
    } else {
        None
    }
}

/// Open the accelerator `kind` asks for. `auto` picks [`native_accel`]; `none` is
/// [`Error::NotRequested`]. A missing device, a permission problem or an API version mismatch each
/// come back as their own [`Error`] variant.
pub fn probe(kind: AccelKind) -> Result<Box<dyn Accelerator>> {
    match kind {
        AccelKind::None => Err(Error::NotRequested),
        AccelKind::Auto => match native_accel() {
            Some(native) => probe(native),
            None => Err(Error::NotAvailable {
                accel: "auto",
                host_os: OS,
                reason: "this operating system has no hardware accelerator that vm-accel knows",
            }),
        },
        AccelKind::Kvm => open_kvm(),
        AccelKind::Hvf => Err(unavailable(
            "hvf",
            "macos",
            "vm-accel has no Hypervisor.framework back end yet",
            "Hypervisor.framework exists only on macOS",
        )),
        AccelKind::Vz => Err(unavailable(
            "vz",
            "macos",
            "vm-accel has no Virtualization.framework back end yet",
            "Virtualization.framework exists only on macOS",
        )),
        AccelKind::Whpx => Err(unavailable(
            "whpx",
            "windows",
            "vm-accel has no Windows Hypervisor Platform back end yet",
            "the Windows Hypervisor Platform exists only on Windows",
        )),
    }
}

/// The error for an accelerator without a back end in vm-accel: `at_home` explains it on the
/// accelerator's own OS (`home_os`), `elsewhere` on every other OS.
fn unavailable(
    accel: &'static str,
    home_os: &'static str,
    at_home: &'static str,
    elsewhere: &'static str,
) -> Error {
    let reason = if OS == home_os { at_home } else { elsewhere };
    Error::NotAvailable {
        accel,
        host_os: OS,
        reason,
    }
}

#[cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]
fn open_kvm() -> Result<Box<dyn Accelerator>> {
    Ok(Box::new(crate::kvm::KvmAccelerator::open()?))
}

#[cfg(all(
    feature = "acceleration",
    not(all(target_os = "linux", target_arch = "x86_64"))
))]
fn open_kvm() -> Result<Box<dyn Accelerator>> {
    let reason = if cfg!(target_os = "linux") {
        "vm-accel's KVM back end supports x86-64 hosts only so far"
    } else {
        "KVM exists only on Linux"
    };
    Err(Error::NotAvailable {
        accel: "kvm",
        host_os: OS,
        reason,
    })
}

#[cfg(not(feature = "acceleration"))]
fn open_kvm() -> Result<Box<dyn Accelerator>> {
    Err(Error::FeatureDisabled {
        accel: "kvm",
        feature: "acceleration",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_not_a_request() {
        assert_eq!(probe(AccelKind::None).err(), Some(Error::NotRequested));
    }

    #[test]
    fn foreign_accelerators_name_the_host_os() {
        for (kind, name) in [
            (AccelKind::Hvf, "hvf"),
            (AccelKind::Vz, "vz"),
            (AccelKind::Whpx, "whpx"),
        ] {
            let Err(err) = probe(kind) else {
                panic!("{name} cannot open on this build")
            };
            let Error::NotAvailable { accel, host_os, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!((*accel, *host_os), (name, OS));
            let text = err.to_string();
            assert!(text.contains(OS) && text.contains(name), "{text}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn foreign_accelerators_explain_they_belong_elsewhere() {
        let Err(err) = probe(AccelKind::Hvf) else {
            panic!("hvf opened on Linux")
        };
        assert_eq!(
            err.to_string(),
            "Accelerator `hvf` is not available on this linux host: Hypervisor.framework exists \
             only on macOS"
        );
        assert_eq!(native_accel(), Some(AccelKind::Kvm));
    }

    #[cfg(not(feature = "acceleration"))]
    #[test]
    fn kvm_needs_the_feature() {
        assert_eq!(
            probe(AccelKind::Kvm).err(),
            Some(Error::FeatureDisabled {
                accel: "kvm",
                feature: "acceleration"
            })
        );
        assert_eq!(probe(AccelKind::Auto).err(), probe(AccelKind::Kvm).err());
    }

    #[cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn auto_and_kvm_agree() {
        match (probe(AccelKind::Auto), probe(AccelKind::Kvm)) {
            (Ok(a), Ok(k)) => assert_eq!((a.kind(), k.kind()), (AccelKind::Kvm, AccelKind::Kvm)),
            (Err(a), Err(k)) => {
                assert_eq!(a, k);
                println!("KVM not usable here, both say: {a}");
            }
            (a, k) => panic!("auto and kvm disagree: {:?} vs {:?}", a.err(), k.err()),
        }
    }
}
