//! `CpuFeatures::detect` agrees with what the Linux kernel reports in `/proc/cpuinfo`.
#![cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]

use std::collections::{BTreeMap, BTreeSet};

use vm_accel::cpu::{CpuFeatures, SimdLevel};

/// The first processor's `key: value` lines, or `None` (with a printed reason) if unreadable.
fn cpuinfo(test: &str) -> Option<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string("/proc/cpuinfo") {
        Ok(text) => text,
        Err(e) => {
            println!("SKIPPED {test}: cannot read /proc/cpuinfo: {e}");
            return None;
        }
    };
    let first = text.split("\n\n").next().unwrap_or_default();
    Some(
        first
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

#[test]
fn identity_matches_proc_cpuinfo() {
    let Some(info) = cpuinfo("identity_matches_proc_cpuinfo") else {
        return;
    };
    let cpu = CpuFeatures::detect();
    println!("{cpu}");
    assert_eq!(cpu.vendor, info["vendor_id"]);
    assert_eq!(cpu.brand, info["model name"]);
    assert_eq!(cpu.family.to_string(), info["cpu family"]);
    assert_eq!(cpu.model.to_string(), info["model"]);
    assert_eq!(cpu.stepping.to_string(), info["stepping"]);
}

#[test]
fn flags_match_proc_cpuinfo() {
    let Some(info) = cpuinfo("flags_match_proc_cpuinfo") else {
        return;
    };
    let linux: BTreeSet<&str> = info["flags"].split_whitespace().collect();
    let cpu = CpuFeatures::detect();
    let disagree: Vec<_> = cpu
        .flags()
        .into_iter()
        .filter(|&(name, on)| on != linux.contains(name))
        .collect();
    assert!(
        disagree.is_empty(),
        "CPUID and /proc/cpuinfo disagree on {disagree:?}"
    );
    // Every x86-64 CPU has SSE2 and long mode.
    assert!(cpu.simd.level() >= SimdLevel::Sse2);
    assert!(cpu.system.long_mode);
    assert_eq!(cpu.simd.avx2, linux.contains("avx2"));
    assert_eq!(
        cpu.hardware_virtualisation(),
        linux.contains("vmx") || linux.contains("svm")
    );
    assert_eq!(cpu.hypervisor_vendor.is_some(), cpu.virt.hypervisor);
}
