//! CSR numbers and the names GNU objdump (binutils 2.40) prints for them.
//!
//! The name table was taken from objdump itself (every number 0..4096 disassembled in a
//! `csrrs a0,N,zero`), so [`Csr::name`] knows exactly the CSRs it knows, including those of
//! extensions this frontend does not implement (vector, hypervisor, AIA, debug). Unknown numbers
//! print in hex, as objdump does.

use core::fmt;

/// A CSR number (12 bits).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Csr(u16);

impl Csr {
    /// Floating-point accrued exceptions.
    pub const FFLAGS: Csr = Csr(0x001);
    /// Floating-point dynamic rounding mode.
    pub const FRM: Csr = Csr(0x002);
    /// Floating-point control and status (`frm` and `fflags`).
    pub const FCSR: Csr = Csr(0x003);
    /// Cycle counter (read-only shadow of `mcycle`).
    pub const CYCLE: Csr = Csr(0xc00);
    /// Real-time counter.
    pub const TIME: Csr = Csr(0xc01);
    /// Instructions-retired counter (read-only shadow of `minstret`).
    pub const INSTRET: Csr = Csr(0xc02);
    /// Supervisor status.
    pub const SSTATUS: Csr = Csr(0x100);
    /// Supervisor interrupt enable.
    pub const SIE: Csr = Csr(0x104);
    /// Supervisor trap vector.
    pub const STVEC: Csr = Csr(0x105);
    /// Supervisor counter enable.
    pub const SCOUNTEREN: Csr = Csr(0x106);
    /// Supervisor environment configuration.
    pub const SENVCFG: Csr = Csr(0x10a);
    /// Supervisor scratch.
    pub const SSCRATCH: Csr = Csr(0x140);
    /// Supervisor exception PC.
    pub const SEPC: Csr = Csr(0x141);
    /// Supervisor trap cause.
    pub const SCAUSE: Csr = Csr(0x142);
    /// Supervisor trap value.
    pub const STVAL: Csr = Csr(0x143);
    /// Supervisor interrupt pending.
    pub const SIP: Csr = Csr(0x144);
    /// Supervisor timer compare (Sstc).
    pub const STIMECMP: Csr = Csr(0x14d);
    /// Supervisor address translation and protection.
    pub const SATP: Csr = Csr(0x180);
    /// Machine status.
    pub const MSTATUS: Csr = Csr(0x300);
    /// ISA and extensions.
    pub const MISA: Csr = Csr(0x301);
    /// Machine exception delegation.
    pub const MEDELEG: Csr = Csr(0x302);
    /// Machine interrupt delegation.
    pub const MIDELEG: Csr = Csr(0x303);
    /// Machine interrupt enable.
    pub const MIE: Csr = Csr(0x304);
    /// Machine trap vector.
    pub const MTVEC: Csr = Csr(0x305);
    /// Machine counter enable.
    pub const MCOUNTEREN: Csr = Csr(0x306);
    /// Machine environment configuration.
    pub const MENVCFG: Csr = Csr(0x30a);
    /// Machine counter inhibit.
    pub const MCOUNTINHIBIT: Csr = Csr(0x320);
    /// Machine scratch.
    pub const MSCRATCH: Csr = Csr(0x340);
    /// Machine exception PC.
    pub const MEPC: Csr = Csr(0x341);
    /// Machine trap cause.
    pub const MCAUSE: Csr = Csr(0x342);
    /// Machine trap value.
    pub const MTVAL: Csr = Csr(0x343);
    /// Machine interrupt pending.
    pub const MIP: Csr = Csr(0x344);
    /// First PMP configuration register (`pmpcfg0`; the even ones follow on RV64).
    pub const PMPCFG0: Csr = Csr(0x3a0);
    /// First PMP address register (`pmpaddr0`..`pmpaddr63` follow).
    pub const PMPADDR0: Csr = Csr(0x3b0);
    /// Machine cycle counter.
    pub const MCYCLE: Csr = Csr(0xb00);
    /// Machine instructions-retired counter.
    pub const MINSTRET: Csr = Csr(0xb02);
    /// Vendor ID.
    pub const MVENDORID: Csr = Csr(0xf11);
    /// Architecture ID.
    pub const MARCHID: Csr = Csr(0xf12);
    /// Implementation ID.
    pub const MIMPID: Csr = Csr(0xf13);
    /// Hart ID.
    pub const MHARTID: Csr = Csr(0xf14);
    /// Pointer to the configuration data structure.
    pub const MCONFIGPTR: Csr = Csr(0xf15);

    /// The CSR with this number, if it fits in 12 bits.
    pub const fn new(num: u16) -> Option<Csr> {
        if num < 0x1000 { Some(Csr(num)) } else { None }
    }

    /// The CSR named by the twelve bits of `field` (higher bits are ignored).
    pub const fn from_field(field: u32) -> Csr {
        Csr((field & 0xfff) as u16)
    }

    /// The number, 0..=0xfff.
    pub const fn num(self) -> u16 {
        self.0
    }

    /// Whether the CSR is read-only by convention (bits 11:10 = 0b11): writing it is an illegal
    /// instruction.
    pub const fn is_read_only(self) -> bool {
        self.0 >> 10 == 0b11
    }

    /// The lowest privilege level that may access it (bits 9:8): 0 user, 1 supervisor,
    /// 2 hypervisor, 3 machine.
    pub const fn min_privilege(self) -> u8 {
        ((self.0 >> 8) & 3) as u8
    }

    /// The name objdump prints, if the CSR has one.
    pub fn name(self) -> Option<CsrName> {
        let n = self.0;
        let indexed = |base: &'static str, first: u16, lo: u16, hi: u16, high: bool| {
            (first + lo <= n && n <= first + hi).then(|| CsrName {
                base,
                index: Some((n - first) as u8),
                high,
            })
        };
        FAMILIES
            .iter()
            .find_map(|&(base, first, lo, hi, high)| indexed(base, first, lo, hi, high))
            .or_else(|| {
                SINGLES
                    .binary_search_by_key(&n, |&(num, _)| num)
                    .ok()
                    .and_then(|i| SINGLES.get(i))
                    .map(|&(_, base)| CsrName {
                        base,
                        index: None,
                        high: false,
                    })
            })
    }

    /// The CSR with this objdump name (`mstatus`, `pmpaddr12`, `mhpmcounter3h`, ...).
    pub fn from_name(name: &str) -> Option<Csr> {
        (0..0x1000u16)
            .map(Csr)
            .find(|csr| csr.name().is_some_and(|n| n.matches(name)))
    }
}

impl fmt::Display for Csr {
    /// The objdump name, or the number as `0x7c0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => name.fmt(f),
            None => write!(f, "{:#x}", self.0),
        }
    }
}

/// A CSR name: a base, an optional index and an optional `h` suffix (`pmpaddr12`,
/// `mhpmcounter3h`), so indexed families need no table of strings.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CsrName {
    base: &'static str,
    index: Option<u8>,
    high: bool,
}

impl CsrName {
    /// Whether `s` spells this name.
    pub fn matches(&self, s: &str) -> bool {
        let Some(rest) = s.strip_prefix(self.base) else {
            return false;
        };
        let rest = if self.high {
            match rest.strip_suffix('h') {
                Some(r) => r,
                None => return false,
            }
        } else {
            rest
        };
        match self.index {
            None => rest.is_empty(),
            Some(i) => {
                // No leading zeros: "pmpaddr01" is not a name.
                rest.parse::<u8>().ok() == Some(i) && (rest == "0" || !rest.starts_with('0'))
            }
        }
    }
}

impl fmt::Display for CsrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base)?;
        if let Some(i) = self.index {
            write!(f, "{i}")?;
        }
        if self.high {
            f.write_str("h")?;
        }
        Ok(())
    }
}

/// Indexed families: (base name, number of index 0, first index, last index, `h` suffix).
const FAMILIES: [(&str, u16, u16, u16, bool); 13] = [
    ("hpmcounter", 0xc00, 3, 31, false),
    ("hpmcounter", 0xc80, 3, 31, true),
    ("mhpmcounter", 0xb00, 3, 31, false),
    ("mhpmcounter", 0xb80, 3, 31, true),
    ("mhpmevent", 0x320, 3, 31, false),
    ("mhpmevent", 0x720, 3, 31, true),
    ("pmpcfg", 0x3a0, 0, 15, false),
    ("pmpaddr", 0x3b0, 0, 63, false),
    ("mstateen", 0x30c, 0, 3, false),
    ("mstateen", 0x31c, 0, 3, true),
    ("sstateen", 0x10c, 0, 3, false),
    ("hstateen", 0x60c, 0, 3, false),
    ("hstateen", 0x61c, 0, 3, true),
];

/// Every other named CSR, sorted by number.
const SINGLES: [(u16, &str); 133] = [
    (0x001, "fflags"),
    (0x002, "frm"),
    (0x003, "fcsr"),
    (0x008, "vstart"),
    (0x009, "vxsat"),
    (0x00a, "vxrm"),
    (0x00f, "vcsr"),
    (0x015, "seed"),
    (0x100, "sstatus"),
    (0x104, "sie"),
    (0x105, "stvec"),
    (0x106, "scounteren"),
    (0x10a, "senvcfg"),
    (0x114, "sieh"),
    (0x140, "sscratch"),
    (0x141, "sepc"),
    (0x142, "scause"),
    (0x143, "stval"),
    (0x144, "sip"),
    (0x14d, "stimecmp"),
    (0x150, "siselect"),
    (0x151, "sireg"),
    (0x154, "siph"),
    (0x15c, "stopei"),
    (0x15d, "stimecmph"),
    (0x180, "satp"),
    (0x200, "vsstatus"),
    (0x204, "vsie"),
    (0x205, "vstvec"),
    (0x214, "vsieh"),
    (0x240, "vsscratch"),
    (0x241, "vsepc"),
    (0x242, "vscause"),
    (0x243, "vstval"),
    (0x244, "vsip"),
    (0x24d, "vstimecmp"),
    (0x250, "vsiselect"),
    (0x251, "vsireg"),
    (0x254, "vsiph"),
    (0x25c, "vstopei"),
    (0x25d, "vstimecmph"),
    (0x280, "vsatp"),
    (0x300, "mstatus"),
    (0x301, "misa"),
    (0x302, "medeleg"),
    (0x303, "mideleg"),
    (0x304, "mie"),
    (0x305, "mtvec"),
    (0x306, "mcounteren"),
    (0x308, "mvien"),
    (0x309, "mvip"),
    (0x30a, "menvcfg"),
    (0x310, "mstatush"),
    (0x313, "midelegh"),
    (0x314, "mieh"),
    (0x318, "mvienh"),
    (0x319, "mviph"),
    (0x31a, "menvcfgh"),
    (0x320, "mcountinhibit"),
    (0x340, "mscratch"),
    (0x341, "mepc"),
    (0x342, "mcause"),
    (0x343, "mtval"),
    (0x344, "mip"),
    (0x34a, "mtinst"),
    (0x34b, "mtval2"),
    (0x350, "miselect"),
    (0x351, "mireg"),
    (0x354, "miph"),
    (0x35c, "mtopei"),
    (0x5a8, "scontext"),
    (0x600, "hstatus"),
    (0x602, "hedeleg"),
    (0x603, "hideleg"),
    (0x604, "hie"),
    (0x605, "htimedelta"),
    (0x606, "hcounteren"),
    (0x607, "hgeie"),
    (0x608, "hvien"),
    (0x609, "hvictl"),
    (0x60a, "henvcfg"),
    (0x613, "hidelegh"),
    (0x615, "htimedeltah"),
    (0x618, "hvienh"),
    (0x61a, "henvcfgh"),
    (0x643, "htval"),
    (0x644, "hip"),
    (0x645, "hvip"),
    (0x646, "hviprio1"),
    (0x647, "hviprio2"),
    (0x64a, "htinst"),
    (0x655, "hviph"),
    (0x656, "hviprio1h"),
    (0x657, "hviprio2h"),
    (0x680, "hgatp"),
    (0x6a8, "hcontext"),
    (0x747, "mseccfg"),
    (0x757, "mseccfgh"),
    (0x7a0, "tselect"),
    (0x7a1, "tdata1"),
    (0x7a2, "tdata2"),
    (0x7a3, "tdata3"),
    (0x7a4, "tinfo"),
    (0x7a5, "tcontrol"),
    (0x7a8, "mcontext"),
    (0x7aa, "mscontext"),
    (0x7b0, "dcsr"),
    (0x7b1, "dpc"),
    (0x7b2, "dscratch0"),
    (0x7b3, "dscratch1"),
    (0xb00, "mcycle"),
    (0xb02, "minstret"),
    (0xb80, "mcycleh"),
    (0xb82, "minstreth"),
    (0xc00, "cycle"),
    (0xc01, "time"),
    (0xc02, "instret"),
    (0xc20, "vl"),
    (0xc21, "vtype"),
    (0xc22, "vlenb"),
    (0xc80, "cycleh"),
    (0xc81, "timeh"),
    (0xc82, "instreth"),
    (0xda0, "scountovf"),
    (0xdb0, "stopi"),
    (0xe12, "hgeip"),
    (0xeb0, "vstopi"),
    (0xf11, "mvendorid"),
    (0xf12, "marchid"),
    (0xf13, "mimpid"),
    (0xf14, "mhartid"),
    (0xf15, "mconfigptr"),
    (0xfb0, "mtopi"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn singles_sorted_and_disjoint_from_families() {
        assert!(SINGLES.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        for &(n, name) in &SINGLES {
            let in_family = FAMILIES
                .iter()
                .any(|&(_, first, lo, hi, _)| first + lo <= n && n <= first + hi);
            assert!(!in_family, "{name} ({n:#x}) is also in a family");
        }
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(Csr::MSTATUS.to_string(), "mstatus");
        assert_eq!(Csr::SATP.to_string(), "satp");
        assert_eq!(Csr::FCSR.to_string(), "fcsr");
        assert_eq!(Csr::from_field(0x3bc).to_string(), "pmpaddr12");
        assert_eq!(Csr::from_field(0xb83).to_string(), "mhpmcounter3h");
        assert_eq!(Csr::from_field(0xc1f).to_string(), "hpmcounter31");
        assert_eq!(Csr::from_field(0x7c0).to_string(), "0x7c0");
        assert_eq!(Csr::from_field(0xc03).to_string(), "hpmcounter3");
        assert_eq!(Csr::from_field(0xc83).to_string(), "hpmcounter3h");
        assert_eq!(Csr::from_name("mepc"), Some(Csr::MEPC));
        assert_eq!(Csr::from_name("pmpaddr0"), Some(Csr::PMPADDR0));
        assert_eq!(Csr::from_name("pmpaddr63").map(Csr::num), Some(0x3ef));
        assert_eq!(Csr::from_name("pmpaddr64"), None);
        assert_eq!(Csr::from_name("pmpaddr01"), None);
        assert_eq!(Csr::from_name("mhpmevent31h").map(Csr::num), Some(0x73f));
        assert_eq!(Csr::from_name("nonsense"), None);
        assert_eq!(Csr::new(0x1000), None);
    }

    #[test]
    fn privilege_and_read_only() {
        assert!(Csr::CYCLE.is_read_only());
        assert!(Csr::MHARTID.is_read_only());
        assert!(!Csr::MSTATUS.is_read_only());
        assert_eq!(Csr::MSTATUS.min_privilege(), 3);
        assert_eq!(Csr::SSTATUS.min_privilege(), 1);
        assert_eq!(Csr::FFLAGS.min_privilege(), 0);
    }

    #[test]
    fn every_name_round_trips() {
        for n in 0..0x1000u16 {
            let csr = Csr(n);
            if let Some(name) = csr.name() {
                assert_eq!(Csr::from_name(&name.to_string()), Some(csr));
            }
        }
    }
}
