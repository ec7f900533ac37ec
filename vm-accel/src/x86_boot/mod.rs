//! Booting x86-64 guests straight into 64-bit long mode, as Firecracker and Cloud Hypervisor do: the
//! VMM, not firmware, builds what a kernel's 64-bit entry point expects.
//!
//! - [`write_boot_tables`] writes identity-mapped page tables (the first [`IDENTITY_MAP_SIZE`] bytes
//!   with 2 MiB pages, user-accessible so that a bare-metal guest can drop to ring 3 without building
//!   its own) and a GDT with the Linux boot protocol's flat `__BOOT_CS` (0x10) and `__BOOT_DS` (0x18);
//! - [`long_mode_sregs`] and [`boot_regs`] give the boot vCPU's registers: long mode with paging on,
//!   `rip` = the entry point, `rsi` = the zero page (`boot_params`), interrupts off;
//! - [`linux`] loads a bzImage (through rust-vmm's `linux-loader`) and writes `boot_params` with the
//!   e820 map, the command line and the initrd (the Linux x86 64-bit boot protocol,
//!   Documentation/arch/x86/boot.rst);
//! - [`mptable`] writes an Intel MultiProcessor table, which tells a kernel about every vCPU, the I/O
//!   APIC and the legacy interrupt routing.
//!
//! Low memory layout (guest physical addresses):
//!
//! | what | address |
//! |---|---|
//! | GDT | [`GDT_ADDR`] |
//! | zero page (`boot_params`) | [`ZERO_PAGE_ADDR`] |
//! | boot stack top | [`BOOT_STACK_TOP`] |
//! | PML4, PDPT, 4 page directories | [`PML4_ADDR`] .. `0xf000` |
//! | kernel command line | [`CMDLINE_ADDR`] |
//! | MP table | [`EBDA_START`] |
//! | kernel | [`HIMEM_START`] (1 MiB) |
//!
//! RAM is `[0, min(size, MMIO_HOLE_START))`, and the rest from 4 GiB up ([`ram_ranges`]); the hole
//! below 4 GiB holds device windows, the I/O APIC and the local APIC.

pub mod linux;
pub mod mptable;

use vm_core::GuestPhysAddr;
use vm_mem::PhysMemory;

use crate::error::{Error, Result};
use crate::x86::{
    CR0_ET, CR0_MP, CR0_NE, CR0_PE, CR0_PG, CR0_WP, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, EFER_LMA,
    EFER_LME, RFLAGS_FIXED, X86DescriptorTable, X86Regs, X86Segment, X86Sregs,
};

/// Guest physical address of the boot GDT.
pub const GDT_ADDR: u64 = 0x500;
/// Guest physical address of the zero page (`struct boot_params`).
pub const ZERO_PAGE_ADDR: u64 = 0x7000;
/// Initial stack pointer of the boot vCPU.
pub const BOOT_STACK_TOP: u64 = 0x8ff0;
/// Page-map level 4.
pub const PML4_ADDR: u64 = 0x9000;
/// The page-directory-pointer table for the first 512 GiB.
pub const PDPT_ADDR: u64 = 0xa000;
/// The first of the page directories (one per GiB of the identity map).
pub const PD_ADDR: u64 = 0xb000;
/// Bytes identity-mapped by the boot page tables.
pub const IDENTITY_MAP_SIZE: u64 = 4 << 30;
/// Kernel command line.
pub const CMDLINE_ADDR: u64 = 0x2_0000;
/// Start of the extended BIOS data area: RAM below it is usable, the MP table lives here.
pub const EBDA_START: u64 = 0x9_fc00;
/// Where kernels are loaded (1 MiB).
pub const HIMEM_START: u64 = 0x10_0000;
/// Start of the hole below 4 GiB that holds device windows and the APICs.
pub const MMIO_HOLE_START: u64 = 0xc000_0000;
/// End of the hole: RAM continues here.
pub const MMIO_HOLE_END: u64 = 1 << 32;
/// Code segment selector of the boot GDT (the Linux boot protocol's `__BOOT_CS`).
pub const BOOT_CS: u16 = 0x10;
/// Data segment selector of the boot GDT (`__BOOT_DS`).
pub const BOOT_DS: u16 = 0x18;

/// Page-table entry bits.
const PTE_PRESENT: u64 = 1 << 0;
const PTE_WRITABLE: u64 = 1 << 1;
const PTE_USER: u64 = 1 << 2;
const PTE_HUGE: u64 = 1 << 7;

/// The boot GDT: null, null, 64-bit code (`__BOOT_CS`), flat data (`__BOOT_DS`).
const BOOT_GDT: [u64; 4] = [0, 0, 0x00af_9b00_0000_ffff, 0x00cf_9300_0000_ffff];

/// The RAM ranges `(start, size)` of a guest with `ram_size` bytes: below the MMIO hole, then above
/// 4 GiB.
pub fn ram_ranges(ram_size: u64) -> Vec<(u64, u64)> {
    let low = ram_size.min(MMIO_HOLE_START);
    let mut ranges = vec![(0, low)];
    if ram_size > low {
        ranges.push((MMIO_HOLE_END, ram_size - low));
    }
    ranges
}

/// Write the boot GDT and the identity-mapped page tables into `mem` (which must have RAM at 0).
pub fn write_boot_tables(mem: &PhysMemory) -> Result<()> {
    let gdt: Vec<u8> = BOOT_GDT.iter().flat_map(|d| d.to_le_bytes()).collect();
    write(mem, GDT_ADDR, &gdt, "the boot GDT")?;

    let table = PTE_PRESENT | PTE_WRITABLE | PTE_USER;
    write(
        mem,
        PML4_ADDR,
        &(PDPT_ADDR | table).to_le_bytes(),
        "the PML4",
    )?;
    let directories = IDENTITY_MAP_SIZE >> 30;
    let pdpt: Vec<u8> = (0..directories)
        .flat_map(|i| ((PD_ADDR + i * 0x1000) | table).to_le_bytes())
        .collect();
    write(mem, PDPT_ADDR, &pdpt, "the PDPT")?;
    let pds: Vec<u8> = (0..directories * 512)
        .flat_map(|i| ((i << 21) | table | PTE_HUGE).to_le_bytes())
        .collect();
    write(mem, PD_ADDR, &pds, "the page directories")
}

/// The boot vCPU's segment and control registers: 64-bit long mode at ring 0 on the boot GDT and page
/// tables, SSE enabled (`CR4.OSFXSR`, `CR4.OSXMMEXCPT`), no IDT (an exception shuts the VM down).
/// `base` supplies what is kept (task register, LDT, APIC base).
pub fn long_mode_sregs(base: &X86Sregs) -> X86Sregs {
    let mut s = *base;
    s.cs = X86Segment::flat64_code(BOOT_CS, 0);
    let data = X86Segment::flat_data(BOOT_DS, 0);
    (s.ds, s.es, s.fs, s.gs, s.ss) = (data, data, data, data, data);
    s.gdt = X86DescriptorTable {
        base: GDT_ADDR,
        limit: (BOOT_GDT.len() * 8 - 1) as u16,
    };
    s.idt = X86DescriptorTable { base: 0, limit: 0 };
    s.cr3 = PML4_ADDR;
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    s.efer = EFER_LME | EFER_LMA;
    s
}

/// The boot vCPU's general registers: `rip` = `entry`, `rsi` = the zero page, the boot stack.
pub fn boot_regs(entry: u64) -> X86Regs {
    X86Regs {
        rip: entry,
        rsp: BOOT_STACK_TOP,
        rbp: BOOT_STACK_TOP,
        rsi: ZERO_PAGE_ADDR,
        rflags: RFLAGS_FIXED,
        ..Default::default()
    }
}

/// Copy `bytes` to `addr`, naming `what` if it does not fit in RAM.
pub(crate) fn write(mem: &PhysMemory, addr: u64, bytes: &[u8], what: &str) -> Result<()> {
    mem.load_image(GuestPhysAddr(addr), bytes)
        .map_err(|e| Error::GuestMemory {
            reason: format!(
                "Cannot write {what} ({} bytes at {addr:#x}): {e}",
                bytes.len()
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x86::X86Sregs;

    fn ram(size: u64) -> PhysMemory {
        PhysMemory::builder()
            .ram("ram", GuestPhysAddr(0), size)
            .build()
            .unwrap()
    }

    fn read_u64(mem: &PhysMemory, addr: u64) -> u64 {
        let mut b = [0u8; 8];
        vm_core::mem::GuestMemory::read(mem, GuestPhysAddr(addr), &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    #[test]
    fn ram_splits_around_the_hole() {
        assert_eq!(ram_ranges(128 << 20), vec![(0, 128 << 20)]);
        assert_eq!(ram_ranges(MMIO_HOLE_START), vec![(0, MMIO_HOLE_START)]);
        assert_eq!(
            ram_ranges(4 << 30),
            vec![(0, MMIO_HOLE_START), (1 << 32, 1 << 30)]
        );
    }

    #[test]
    fn page_tables_identity_map_four_gib_for_ring_3() {
        let mem = ram(2 << 20);
        write_boot_tables(&mem).unwrap();
        assert_eq!(read_u64(&mem, PML4_ADDR), PDPT_ADDR | 7);
        assert_eq!(read_u64(&mem, PML4_ADDR + 8), 0, "one PML4 entry");
        for gib in 0..4 {
            assert_eq!(
                read_u64(&mem, PDPT_ADDR + gib * 8),
                (PD_ADDR + gib * 0x1000) | 7
            );
        }
        assert_eq!(read_u64(&mem, PDPT_ADDR + 32), 0);
        // The 2 MiB page that maps 3 GiB + 6 MiB, present, writable, user, huge.
        let index = (3 << 30 | 6 << 20) >> 21;
        assert_eq!(
            read_u64(&mem, PD_ADDR + index * 8),
            (3 << 30 | 6 << 20) | 0x87
        );
        assert_eq!(read_u64(&mem, GDT_ADDR + 16), 0x00af_9b00_0000_ffff);
        assert_eq!(read_u64(&mem, GDT_ADDR + 24), 0x00cf_9300_0000_ffff);
    }

    #[test]
    fn tables_need_low_ram() {
        let mem = PhysMemory::builder()
            .ram("high", GuestPhysAddr(1 << 32), 1 << 20)
            .build()
            .unwrap();
        let err = write_boot_tables(&mem).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Guest memory: Cannot write the boot GDT (32 bytes at 0x500)"),
            "{err}"
        );
    }

    #[test]
    fn boot_registers_follow_the_64_bit_protocol() {
        let s = long_mode_sregs(&X86Sregs::default());
        assert_eq!(
            (s.cs.selector, s.ds.selector, s.ss.selector),
            (0x10, 0x18, 0x18)
        );
        assert!(s.cs.l && s.cs.present && s.cs.dpl == 0);
        assert_eq!(
            (s.cr3, s.cr0, s.cr4, s.efer),
            (0x9000, 0x8001_0033, 0x620, 0x500)
        );
        assert_eq!((s.gdt.base, s.gdt.limit), (0x500, 31));
        let r = boot_regs(0x10_0200);
        assert_eq!(
            (r.rip, r.rsi, r.rsp, r.rflags),
            (0x10_0200, 0x7000, 0x8ff0, 2)
        );
    }
}
