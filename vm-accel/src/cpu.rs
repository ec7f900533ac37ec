//! Host CPU feature detection (x86 and x86-64 hosts), on the `raw-cpuid` crate.
//!
//! [`CpuFeatures::detect`] reads the CPUID leaves once and keeps what an accelerator or a JIT needs to
//! know: vendor, brand, family/model/stepping, the SIMD extensions, the virtualisation bits (VMX, SVM,
//! the "running under a hypervisor" bit and the hypervisor's signature) and a few system features.
//! Flag names follow Linux's `/proc/cpuinfo`, so the two can be compared directly.

use std::fmt;

use raw_cpuid::{CpuId, CpuIdReader, CpuIdResult, Hypervisor};
use serde::Serialize;

use crate::accel::CpuidEntry;

/// Defines a set of boolean CPU flags, each with its Linux `/proc/cpuinfo` name.
macro_rules! flag_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident = $linux:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: bool,)*
        }

        impl $name {
            /// Every flag of the set with its Linux `/proc/cpuinfo` name, present or not.
            pub fn flags(&self) -> Vec<(&'static str, bool)> {
                vec![$(($linux, self.$field)),*]
            }

            /// The Linux names of the flags that are present.
            pub fn present(&self) -> Vec<&'static str> {
                self.flags().into_iter().filter(|&(_, on)| on).map(|(name, _)| name).collect()
            }
        }
    };
}

flag_set! {
    /// SIMD instruction-set extensions.
    SimdFeatures {
        /// MMX.
        mmx = "mmx",
        /// SSE.
        sse = "sse",
        /// SSE2.
        sse2 = "sse2",
        /// SSE3 (Linux calls it `pni`).
        sse3 = "pni",
        /// Supplemental SSE3.
        ssse3 = "ssse3",
        /// SSE4.1.
        sse4_1 = "sse4_1",
        /// SSE4.2.
        sse4_2 = "sse4_2",
        /// AMD SSE4a.
        sse4a = "sse4a",
        /// AVX.
        avx = "avx",
        /// AVX2.
        avx2 = "avx2",
        /// Fused multiply-add (FMA3).
        fma = "fma",
        /// Half-precision conversions.
        f16c = "f16c",
        /// AVX-512 Foundation.
        avx512f = "avx512f",
        /// AVX-512 doubleword and quadword.
        avx512dq = "avx512dq",
        /// AVX-512 conflict detection.
        avx512cd = "avx512cd",
        /// AVX-512 byte and word.
        avx512bw = "avx512bw",
        /// AVX-512 vector length extensions.
        avx512vl = "avx512vl",
        /// AVX-512 integer fused multiply-add.
        avx512ifma = "avx512ifma",
        /// AVX-512 vector byte manipulation.
        avx512vbmi = "avx512vbmi",
        /// AVX-512 vector byte manipulation 2.
        avx512_vbmi2 = "avx512_vbmi2",
        /// AVX-512 vector neural-network instructions.
        avx512_vnni = "avx512_vnni",
        /// AVX-512 bit algorithms.
        avx512_bitalg = "avx512_bitalg",
        /// AVX-512 population count.
        avx512_vpopcntdq = "avx512_vpopcntdq",
        /// AVX-512 bfloat16.
        avx512_bf16 = "avx512_bf16",
        /// AVX-512 half precision.
        avx512_fp16 = "avx512_fp16",
        /// AVX (VEX-encoded) neural-network instructions.
        avx_vnni = "avx_vnni",
    }
}

flag_set! {
    /// Hardware virtualisation.
    VirtFeatures {
        /// Intel VT-x.
        vmx = "vmx",
        /// AMD-V.
        svm = "svm",
        /// This CPU is itself virtual: the code runs under a hypervisor.
        hypervisor = "hypervisor",
    }
}

flag_set! {
    /// System and scalar features that guests and JITs care about.
    SystemFeatures {
        /// 64-bit long mode.
        long_mode = "lm",
        /// No-execute pages.
        nx = "nx",
        /// 1 GiB pages.
        pdpe1gb = "pdpe1gb",
        /// `cmpxchg16b`.
        cx16 = "cx16",
        /// `popcnt`.
        popcnt = "popcnt",
        /// `movbe`.
        movbe = "movbe",
        /// Bit manipulation 1.
        bmi1 = "bmi1",
        /// Bit manipulation 2.
        bmi2 = "bmi2",
        /// Multi-precision add-carry.
        adx = "adx",
        /// AES-NI.
        aes = "aes",
        /// Carry-less multiplication.
        pclmulqdq = "pclmulqdq",
        /// SHA extensions.
        sha_ni = "sha_ni",
        /// `rdrand`.
        rdrand = "rdrand",
        /// `rdseed`.
        rdseed = "rdseed",
        /// `rdtscp`.
        rdtscp = "rdtscp",
        /// `xsave` family.
        xsave = "xsave",
        /// `rdfsbase` and friends.
        fsgsbase = "fsgsbase",
        /// Supervisor-mode execution prevention.
        smep = "smep",
        /// Supervisor-mode access prevention.
        smap = "smap",
        /// Process-context identifiers.
        pcid = "pcid",
        /// `invpcid`.
        invpcid = "invpcid",
    }
}

/// The most capable SIMD level the CPU reports, from SSE to AVX-512 Foundation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SimdLevel {
    /// No SSE.
    None,
    /// SSE.
    Sse,
    /// SSE2.
    Sse2,
    /// SSE3.
    Sse3,
    /// SSSE3.
    Ssse3,
    /// SSE4.1.
    Sse41,
    /// SSE4.2.
    Sse42,
    /// AVX.
    Avx,
    /// AVX2.
    Avx2,
    /// AVX-512 Foundation.
    Avx512,
}

impl SimdFeatures {
    /// The highest level whose flag is set.
    pub fn level(&self) -> SimdLevel {
        [
            (self.avx512f, SimdLevel::Avx512),
            (self.avx2, SimdLevel::Avx2),
            (self.avx, SimdLevel::Avx),
            (self.sse4_2, SimdLevel::Sse42),
            (self.sse4_1, SimdLevel::Sse41),
            (self.ssse3, SimdLevel::Ssse3),
            (self.sse3, SimdLevel::Sse3),
            (self.sse2, SimdLevel::Sse2),
            (self.sse, SimdLevel::Sse),
        ]
        .into_iter()
        .find_map(|(on, level)| on.then_some(level))
        .unwrap_or(SimdLevel::None)
    }
}

/// What the host CPU reports through CPUID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CpuFeatures {
    /// Vendor string (`GenuineIntel`, `AuthenticAMD`).
    pub vendor: String,
    /// Brand string (`AMD EPYC 9654 96-Core Processor`), trimmed; empty when the CPU has none.
    pub brand: String,
    /// Family, with the extended family folded in as the vendors document.
    pub family: u8,
    /// Model, with the extended model folded in as the vendors document.
    pub model: u8,
    /// Stepping.
    pub stepping: u8,
    /// SIMD extensions.
    pub simd: SimdFeatures,
    /// Hardware virtualisation bits.
    pub virt: VirtFeatures,
    /// The hypervisor's name when `virt.hypervisor` is set (`KVM`, `VMware`, or its raw signature).
    pub hypervisor_vendor: Option<String>,
    /// System and scalar features.
    pub system: SystemFeatures,
}

impl CpuFeatures {
    /// Read the host CPU's features.
    pub fn detect() -> Self {
        Self::from_cpuid(CpuId::new())
    }

    /// Decode the CPUID leaves an accelerator exposes to guests (see
    /// [`Accelerator::guest_cpuid`](crate::Accelerator::guest_cpuid)): what a guest vCPU will see.
    pub fn from_entries(entries: &[CpuidEntry]) -> Self {
        Self::from_cpuid(CpuId::with_cpuid_reader(EntryReader(entries.to_vec())))
    }

    fn from_cpuid<R: CpuIdReader>(cpuid: CpuId<R>) -> Self {
        let fi = cpuid.get_feature_info();
        let ef = cpuid.get_extended_feature_info();
        let ext = cpuid.get_extended_processor_and_feature_identifiers();
        let f = |get: fn(&raw_cpuid::FeatureInfo) -> bool| fi.as_ref().is_some_and(get);
        let e = |get: fn(&raw_cpuid::ExtendedFeatures) -> bool| ef.as_ref().is_some_and(get);
        let x = |get: fn(&raw_cpuid::ExtendedProcessorFeatureIdentifiers) -> bool| {
            ext.as_ref().is_some_and(get)
        };
        let simd = SimdFeatures {
            mmx: f(|i| i.has_mmx()),
            sse: f(|i| i.has_sse()),
            sse2: f(|i| i.has_sse2()),
            sse3: f(|i| i.has_sse3()),
            ssse3: f(|i| i.has_ssse3()),
            sse4_1: f(|i| i.has_sse41()),
            sse4_2: f(|i| i.has_sse42()),
            sse4a: x(|i| i.has_sse4a()),
            avx: f(|i| i.has_avx()),
            avx2: e(|i| i.has_avx2()),
            fma: f(|i| i.has_fma()),
            f16c: f(|i| i.has_f16c()),
            avx512f: e(|i| i.has_avx512f()),
            avx512dq: e(|i| i.has_avx512dq()),
            avx512cd: e(|i| i.has_avx512cd()),
            avx512bw: e(|i| i.has_avx512bw()),
            avx512vl: e(|i| i.has_avx512vl()),
            avx512ifma: e(|i| i.has_avx512_ifma()),
            avx512vbmi: e(|i| i.has_avx512vbmi()),
            avx512_vbmi2: e(|i| i.has_avx512vbmi2()),
            avx512_vnni: e(|i| i.has_avx512vnni()),
            avx512_bitalg: e(|i| i.has_avx512bitalg()),
            avx512_vpopcntdq: e(|i| i.has_avx512vpopcntdq()),
            avx512_bf16: e(|i| i.has_avx512_bf16()),
            avx512_fp16: e(|i| i.has_avx512_fp16()),
            avx_vnni: e(|i| i.has_avx_vnni()),
        };
        let virt = VirtFeatures {
            vmx: f(|i| i.has_vmx()),
            svm: x(|i| i.has_svm()),
            hypervisor: f(|i| i.has_hypervisor()),
        };
        let system = SystemFeatures {
            long_mode: x(|i| i.has_64bit_mode()),
            nx: x(|i| i.has_execute_disable()),
            pdpe1gb: x(|i| i.has_1gib_pages()),
            cx16: f(|i| i.has_cmpxchg16b()),
            popcnt: f(|i| i.has_popcnt()),
            movbe: f(|i| i.has_movbe()),
            bmi1: e(|i| i.has_bmi1()),
            bmi2: e(|i| i.has_bmi2()),
            adx: e(|i| i.has_adx()),
            aes: f(|i| i.has_aesni()),
            pclmulqdq: f(|i| i.has_pclmulqdq()),
            sha_ni: e(|i| i.has_sha()),
            rdrand: f(|i| i.has_rdrand()),
            rdseed: e(|i| i.has_rdseed()),
            rdtscp: x(|i| i.has_rdtscp()),
            xsave: f(|i| i.has_xsave()),
            fsgsbase: e(|i| i.has_fsgsbase()),
            smep: e(|i| i.has_smep()),
            smap: e(|i| i.has_smap()),
            pcid: f(|i| i.has_pcid()),
            invpcid: e(|i| i.has_invpcid()),
        };
        let hypervisor_vendor = cpuid
            .get_hypervisor_info()
            .map(|h| hypervisor_name(h.identify()));
        Self {
            vendor: cpuid
                .get_vendor_info()
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default(),
            brand: cpuid
                .get_processor_brand_string()
                .map(|b| b.as_str().trim().to_owned())
                .unwrap_or_default(),
            family: fi.as_ref().map_or(0, |i| i.family_id()),
            model: fi.as_ref().map_or(0, |i| i.model_id()),
            stepping: fi.as_ref().map_or(0, |i| i.stepping_id()),
            simd,
            virt,
            hypervisor_vendor,
            system,
        }
    }

    /// Every flag with its Linux `/proc/cpuinfo` name, present or not.
    pub fn flags(&self) -> Vec<(&'static str, bool)> {
        let mut all = self.simd.flags();
        all.extend(self.virt.flags());
        all.extend(self.system.flags());
        all
    }

    /// Whether the CPU has hardware virtualisation (VMX or SVM) visible to this code.
    pub fn hardware_virtualisation(&self) -> bool {
        self.virt.vmx || self.virt.svm
    }
}

impl fmt::Display for CpuFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        writeln!(f, "{:<16} {}", "vendor", self.vendor)?;
        writeln!(f, "{:<16} {}", "brand", self.brand)?;
        writeln!(
            f,
            "{:<16} family {:#x}, model {:#x}, stepping {}",
            "version", self.family, self.model, self.stepping
        )?;
        writeln!(f, "{:<16} {:?}", "simd level", self.simd.level())?;
        writeln!(f, "{:<16} {}", "simd", self.simd.present().join(" "))?;
        writeln!(f, "{:<16} {}", "vmx", yes_no(self.virt.vmx))?;
        writeln!(f, "{:<16} {}", "svm", yes_no(self.virt.svm))?;
        match &self.hypervisor_vendor {
            Some(name) if self.virt.hypervisor => writeln!(f, "{:<16} yes ({name})", "hypervisor")?,
            _ => writeln!(f, "{:<16} {}", "hypervisor", yes_no(self.virt.hypervisor))?,
        }
        writeln!(f, "{:<16} {}", "system", self.system.present().join(" "))
    }
}

/// Answers `cpuid` from a table of entries (missing leaves read as zeros, as on a CPU past its
/// maximum leaf with no data).
#[derive(Clone)]
struct EntryReader(Vec<CpuidEntry>);

impl CpuIdReader for EntryReader {
    fn cpuid2(&self, eax: u32, ecx: u32) -> CpuIdResult {
        CpuidEntry::lookup(&self.0, eax, ecx).map_or(
            CpuIdResult {
                eax: 0,
                ebx: 0,
                ecx: 0,
                edx: 0,
            },
            |e| CpuIdResult {
                eax: e.eax,
                ebx: e.ebx,
                ecx: e.ecx,
                edx: e.edx,
            },
        )
    }
}

/// A readable name for the hypervisor signature in CPUID leaf 0x4000_0000.
fn hypervisor_name(h: Hypervisor) -> String {
    match h {
        Hypervisor::Unknown(ebx, ecx, edx) => {
            let bytes: Vec<u8> = [ebx, ecx, edx]
                .iter()
                .flat_map(|r| r.to_le_bytes())
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            text.trim_end_matches('\0').trim().to_owned()
        }
        known => format!("{known:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_level_is_the_highest_flag() {
        let mut s = SimdFeatures {
            sse: true,
            sse2: true,
            ..Default::default()
        };
        assert_eq!(s.level(), SimdLevel::Sse2);
        s.avx2 = true;
        assert_eq!(s.level(), SimdLevel::Avx2);
        assert_eq!(SimdFeatures::default().level(), SimdLevel::None);
        assert!(SimdLevel::Avx512 > SimdLevel::Sse42);
    }

    #[test]
    fn unknown_hypervisor_signature_is_decoded() {
        let sig = b"TCGTCGTCGTCG";
        let word = |i: usize| u32::from_le_bytes([sig[i], sig[i + 1], sig[i + 2], sig[i + 3]]);
        assert_eq!(
            hypervisor_name(Hypervisor::Unknown(word(0), word(4), word(8))),
            "TCGTCGTCGTCG"
        );
        assert_eq!(hypervisor_name(Hypervisor::KVM), "KVM");
    }

    #[test]
    fn entries_decode_like_the_cpu() {
        let entry = |function, index, eax, ebx, ecx, edx| CpuidEntry {
            function,
            index,
            index_significant: function == 7,
            eax,
            ebx,
            ecx,
            edx,
        };
        // "GenuineIntel", family 6 model 0x55 stepping 7, SSE2 + AVX, leaf 7: AVX2 and AVX-512F.
        let entries = [
            entry(0, 0, 0xd, 0x756e_6547, 0x6c65_746e, 0x4965_6e69),
            entry(1, 0, 0x0005_0657, 0, 1 << 28, 1 << 26 | 1 << 25),
            entry(7, 0, 0, 1 << 5 | 1 << 16, 0, 0),
            entry(7, 1, 0, 0, 0, 0),
        ];
        let c = CpuFeatures::from_entries(&entries);
        assert_eq!(c.vendor, "GenuineIntel");
        assert_eq!((c.family, c.model, c.stepping), (6, 0x55, 7));
        assert_eq!(c.simd.present(), ["sse", "sse2", "avx", "avx2", "avx512f"]);
        assert_eq!(c.simd.level(), SimdLevel::Avx512);
        assert!(
            !c.virt.vmx && !c.system.long_mode,
            "leaves 0x8000_0000+ are absent"
        );
    }

    #[test]
    fn display_lists_present_flags() {
        let mut c = CpuFeatures::detect();
        c.simd = SimdFeatures {
            sse: true,
            sse2: true,
            ..Default::default()
        };
        c.virt = VirtFeatures {
            hypervisor: true,
            ..Default::default()
        };
        c.hypervisor_vendor = Some("KVM".into());
        let text = c.to_string();
        assert!(text.contains("simd level       Sse2\n"), "{text}");
        assert!(text.contains("simd             sse sse2\n"), "{text}");
        assert!(text.contains("hypervisor       yes (KVM)\n"), "{text}");
        assert!(text.contains("vmx              no\n"), "{text}");
    }
}
