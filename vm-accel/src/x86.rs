//! x86-64 vCPU register state in our own types, so that no back end's binding types leak into the API.
//!
//! [`X86Regs`] holds the general-purpose registers, `rip` and `rflags`; [`X86Sregs`] the segment
//! registers with their hidden (descriptor-cache) parts, the descriptor tables, the control registers,
//! `EFER` and the APIC base. The constructors set up the two states a loader usually wants: real mode
//! with flat segments, and 64-bit long mode with flat segments and the given page-table root.

use serde::Serialize;

/// `CR0.PE`: protection enable.
pub const CR0_PE: u64 = 1 << 0;
/// `CR0.MP`: monitor coprocessor (`wait`/`fwait` honour `CR0.TS`).
pub const CR0_MP: u64 = 1 << 1;
/// `CR0.ET`: extension type (always 1 on modern CPUs).
pub const CR0_ET: u64 = 1 << 4;
/// `CR0.NE`: native FPU error reporting.
pub const CR0_NE: u64 = 1 << 5;
/// `CR0.WP`: write protection also applies to ring 0.
pub const CR0_WP: u64 = 1 << 16;
/// `CR0.PG`: paging.
pub const CR0_PG: u64 = 1 << 31;
/// `CR4.PAE`: physical address extension (required by long mode).
pub const CR4_PAE: u64 = 1 << 5;
/// `CR4.OSFXSR`: the OS supports `fxsave`/`fxrstor` (enables SSE instructions).
pub const CR4_OSFXSR: u64 = 1 << 9;
/// `CR4.OSXMMEXCPT`: the OS handles unmasked SSE exceptions (`#XM`).
pub const CR4_OSXMMEXCPT: u64 = 1 << 10;
/// `EFER.LME`: long mode enable.
pub const EFER_LME: u64 = 1 << 8;
/// `EFER.LMA`: long mode active.
pub const EFER_LMA: u64 = 1 << 10;
/// `RFLAGS` bit 1, which always reads as 1.
pub const RFLAGS_FIXED: u64 = 1 << 1;

/// General-purpose registers, instruction pointer and flags of an x86-64 vCPU.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[expect(
    missing_docs,
    reason = "the fields are the architectural registers of the same name"
)]
pub struct X86Regs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// A segment register: the visible selector and the hidden descriptor-cache fields.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct X86Segment {
    /// Base address.
    pub base: u64,
    /// Limit in bytes (already scaled when `granularity` is set).
    pub limit: u32,
    /// Selector.
    pub selector: u16,
    /// Descriptor type (4 bits: for code 0xb = execute/read, accessed; for data 0x3 = read/write, accessed).
    pub seg_type: u8,
    /// Present bit.
    pub present: bool,
    /// Descriptor privilege level (0 to 3).
    pub dpl: u8,
    /// Default operation size (`D/B`): 32-bit when set.
    pub db: bool,
    /// Code or data segment (`S`) rather than a system segment.
    pub s: bool,
    /// 64-bit code segment (`L`).
    pub l: bool,
    /// Granularity: limit counted in 4 KiB units.
    pub granularity: bool,
    /// Available for software (`AVL`).
    pub avl: bool,
    /// The segment is unusable (a null selector was loaded).
    pub unusable: bool,
}

impl X86Segment {
    /// A real-mode segment for `selector`: base `selector * 16`, 64 KiB limit, present, DPL 0.
    /// `code` picks an execute/read code type (0xb) rather than a read/write data type (0x3).
    pub const fn real_mode(selector: u16, code: bool) -> Self {
        Self {
            base: (selector as u64) << 4,
            limit: 0xffff,
            selector,
            seg_type: if code { 0xb } else { 0x3 },
            present: true,
            dpl: 0,
            db: false,
            s: true,
            l: false,
            granularity: false,
            avl: false,
            unusable: false,
        }
    }

    /// A flat 64-bit code segment (base 0, 4 GiB limit, `L` set) at ring `dpl`.
    pub const fn flat64_code(selector: u16, dpl: u8) -> Self {
        Self {
            base: 0,
            limit: 0xffff_ffff,
            selector,
            seg_type: 0xb,
            present: true,
            dpl,
            db: false,
            s: true,
            l: true,
            granularity: true,
            avl: false,
            unusable: false,
        }
    }

    /// A flat read/write data segment (base 0, 4 GiB limit) at ring `dpl`.
    pub const fn flat_data(selector: u16, dpl: u8) -> Self {
        Self {
            base: 0,
            limit: 0xffff_ffff,
            selector,
            seg_type: 0x3,
            present: true,
            dpl,
            db: true,
            s: true,
            l: false,
            granularity: true,
            avl: false,
            unusable: false,
        }
    }
}

/// The base and limit of the GDT or IDT.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct X86DescriptorTable {
    /// Linear base address.
    pub base: u64,
    /// Limit (size in bytes minus one).
    pub limit: u16,
}

/// Segment, descriptor-table and control registers of an x86-64 vCPU.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[expect(
    missing_docs,
    reason = "the fields are the architectural registers of the same name"
)]
pub struct X86Sregs {
    pub cs: X86Segment,
    pub ds: X86Segment,
    pub es: X86Segment,
    pub fs: X86Segment,
    pub gs: X86Segment,
    pub ss: X86Segment,
    /// Task register.
    pub tr: X86Segment,
    /// Local descriptor table register.
    pub ldt: X86Segment,
    pub gdt: X86DescriptorTable,
    pub idt: X86DescriptorTable,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    /// Task priority (`CR8`, the APIC TPR's upper nibble).
    pub cr8: u64,
    /// Extended feature enable register (MSR `0xc000_0080`).
    pub efer: u64,
    /// Local APIC base MSR (`0x1b`).
    pub apic_base: u64,
}

impl X86Sregs {
    /// Switch `self` to real mode with every data segment and `cs` at selector 0 (base 0).
    /// Control registers other than `CR0.PE`/`CR0.PG` and the descriptor tables are kept.
    pub fn set_real_mode_flat(&mut self) {
        self.cs = X86Segment::real_mode(0, true);
        let data = X86Segment::real_mode(0, false);
        (self.ds, self.es, self.fs, self.gs, self.ss) = (data, data, data, data, data);
        self.cr0 &= !(CR0_PE | CR0_PG);
        self.efer &= !(EFER_LME | EFER_LMA);
    }

    /// Switch `self` to 64-bit long mode at ring 0 with flat segments (code selector 0x8, data 0x10)
    /// and the 4-level page-table root `cr3`. The guest's page tables must identity-map what it runs.
    pub fn set_long_mode_flat(&mut self, cr3: u64) {
        self.cs = X86Segment::flat64_code(0x8, 0);
        let data = X86Segment::flat_data(0x10, 0);
        (self.ds, self.es, self.fs, self.gs, self.ss) = (data, data, data, data, data);
        self.cr3 = cr3;
        self.cr4 |= CR4_PAE;
        self.cr0 |= CR0_PE | CR0_ET | CR0_NE | CR0_PG;
        self.efer |= EFER_LME | EFER_LMA;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_mode_segment_base_follows_selector() {
        let s = X86Segment::real_mode(0x1234, false);
        assert_eq!(s.base, 0x12340);
        assert_eq!(s.limit, 0xffff);
        assert_eq!(s.seg_type, 3);
    }

    #[test]
    fn mode_switches_set_the_architectural_bits() {
        let mut s = X86Sregs::default();
        s.set_long_mode_flat(0x9000);
        assert_eq!(s.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
        assert_eq!(s.efer, EFER_LME | EFER_LMA);
        assert_eq!(s.cr4 & CR4_PAE, CR4_PAE);
        assert!(s.cs.l && !s.cs.db);
        assert_eq!((s.cs.selector, s.ss.selector, s.cr3), (0x8, 0x10, 0x9000));
        s.set_real_mode_flat();
        assert_eq!(s.cr0 & (CR0_PE | CR0_PG), 0);
        assert_eq!(s.efer, 0);
        assert_eq!(s.cs, X86Segment::real_mode(0, true));
    }
}
