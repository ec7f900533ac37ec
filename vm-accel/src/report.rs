//! What `vm accel-info` shows: the host, its CPU, which accelerator `--accel` would get (or why none),
//! how that accelerator is implemented (hardware VMX/SVM, or PVM), its capabilities, and the CPU a
//! guest vCPU sees (the accelerator's CPUID, decoded). As a table ([`fmt::Display`]) or as JSON
//! ([`AccelReport::to_json`]).

use std::fmt;

use serde::Serialize;
use vm_core::config::AccelKind;

use crate::accel::AccelInfo;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use crate::cpu::CpuFeatures;
use crate::probe::probe;

/// The report of [`AccelReport::gather`].
#[derive(Clone, Debug, Serialize)]
pub struct AccelReport {
    /// The host operating system.
    pub host_os: &'static str,
    /// The host architecture.
    pub host_arch: &'static str,
    /// The accelerator asked for (`auto`, `kvm`, ...).
    pub requested: &'static str,
    /// The host CPU (x86 hosts).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    pub host_cpu: CpuFeatures,
    /// The accelerator that opened, if one did.
    pub accel: Option<AccelInfo>,
    /// Whether guest ring-0 code runs on the hardware (`false` under PVM, where it is emulated);
    /// `None` when no accelerator opened or the implementation is unknown.
    pub ring0_native: Option<bool>,
    /// Why no accelerator opened.
    pub unavailable: Option<String>,
    /// The CPU a guest vCPU sees: the accelerator's CPUID leaves, decoded (x86 hosts).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    pub guest_cpu: Option<CpuFeatures>,
}

impl AccelReport {
    /// Probe accelerator `kind` and describe the host and the accelerator.
    pub fn gather(kind: AccelKind) -> Self {
        let opened = probe(kind);
        let (accel, unavailable) = match &opened {
            Ok(a) => (Some(a.info()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ring0_native = accel.as_ref().and_then(|info| match info.flavor {
            "intel-vmx" | "amd-svm" => Some(true),
            "pvm" => Some(false),
            _ => None,
        });
        Self {
            host_os: std::env::consts::OS,
            host_arch: std::env::consts::ARCH,
            requested: kind.name(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            host_cpu: CpuFeatures::detect(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            guest_cpu: opened.as_ref().ok().and_then(|a| {
                let entries = a.guest_cpuid();
                (!entries.is_empty()).then(|| CpuFeatures::from_entries(&entries))
            }),
            accel,
            ring0_native,
            unavailable,
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data (strings, numbers, booleans, vectors) cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for AccelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<28} {} {}", "host", self.host_os, self.host_arch)?;
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            writeln!(f, "\nhost CPU")?;
            write!(f, "{}", self.host_cpu)?;
        }
        writeln!(f, "\naccelerator (--accel {})", self.requested)?;
        match (&self.accel, &self.unavailable) {
            (Some(info), _) => {
                write!(f, "{info}")?;
                let ring0 = match self.ring0_native {
                    Some(true) => "native (hardware-assisted)",
                    Some(false) => "emulated (PVM: guest ring 3 runs natively, ring 0 is emulated)",
                    None => "unknown",
                };
                writeln!(f, "{:<28} {ring0}", "guest ring 0")?;
            }
            (None, Some(why)) => writeln!(f, "{:<28} none: {why}", "available")?,
            (None, None) => writeln!(f, "{:<28} none", "available")?,
        }
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if let Some(guest) = &self.guest_cpu {
            writeln!(f, "\nguest CPU (the accelerator's CPUID)")?;
            write!(f, "{guest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_accelerator_report_says_why() {
        let r = AccelReport::gather(AccelKind::Hvf);
        assert!(r.accel.is_none() && r.ring0_native.is_none());
        let why = r.unavailable.clone().unwrap_or_default();
        assert!(
            why.contains("hvf") && why.contains(std::env::consts::OS),
            "{why}"
        );
        let text = r.to_string();
        assert!(text.contains("accelerator (--accel hvf)\n"), "{text}");
        assert!(
            text.contains(&format!("available                    none: {why}\n")),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["requested"], "hvf");
        assert_eq!(json["accel"], serde_json::Value::Null);
        assert_eq!(json["unavailable"], why.as_str());
        assert_eq!(json["host_os"], std::env::consts::OS);
    }

    #[test]
    fn kvm_report_matches_the_accelerator() {
        let r = AccelReport::gather(AccelKind::Kvm);
        println!("{r}\n{}", r.to_json());
        match probe(AccelKind::Kvm) {
            Ok(kvm) => {
                let info = kvm.info();
                assert_eq!(r.accel.as_ref().map(|i| i.flavor), Some(info.flavor));
                assert_eq!(
                    r.ring0_native,
                    match info.flavor {
                        "pvm" => Some(false),
                        "intel-vmx" | "amd-svm" => Some(true),
                        _ => None,
                    }
                );
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                {
                    let guest = r.guest_cpu.as_ref().unwrap();
                    assert_eq!(
                        guest.vendor, r.host_cpu.vendor,
                        "KVM passes the vendor through"
                    );
                    assert!(guest.system.long_mode);
                }
                let text = r.to_string();
                assert!(text.contains(&format!("flavor                       {}\n", info.flavor)));
                assert!(text.contains("guest ring 0"), "{text}");
            }
            Err(e) => assert_eq!(r.unavailable, Some(e.to_string())),
        }
    }
}
