//! The Intel MultiProcessor Specification 1.4 table: how a kernel without ACPI learns the vCPUs (their
//! local APIC ids), the I/O APIC and the ISA interrupt routing. Linux reads it on x86 microVMs as on
//! Firecracker.
//!
//! Written by hand (the structures are five fixed-size records); `mptable` crates exist only inside
//! VMMs. Layout at `addr` (the EBDA): the 16-byte floating pointer ("_MP_"), then the configuration
//! table ("PCMP") with one processor entry per vCPU, one ISA bus, the I/O APIC, one I/O interrupt
//! entry per I/O APIC pin (pin n = ISA IRQ n; IRQ 0 as ExtINT through the PIC), and the two local
//! interrupt entries (ExtINT on LINT0, NMI on LINT1).

use vm_mem::PhysMemory;

use crate::error::{Error, Result};

/// The local APIC's address.
pub const LAPIC_ADDR: u32 = 0xfee0_0000;
/// The I/O APIC's address.
pub const IOAPIC_ADDR: u32 = 0xfec0_0000;
/// Pins of KVM's I/O APIC.
pub const IOAPIC_PINS: u8 = 24;
/// Most vCPUs the table describes (APIC ids are one byte; one id goes to the I/O APIC).
pub const MAX_CPUS: u32 = 254;

const ENTRY_PROCESSOR: u8 = 0;
const ENTRY_BUS: u8 = 1;
const ENTRY_IOAPIC: u8 = 2;
const ENTRY_IO_INTERRUPT: u8 = 3;
const ENTRY_LOCAL_INTERRUPT: u8 = 4;
const INT_TYPE_INT: u8 = 0;
const INT_TYPE_NMI: u8 = 1;
const INT_TYPE_EXTINT: u8 = 3;
const CPU_ENABLED: u8 = 1;
const CPU_BSP: u8 = 2;
const APIC_VERSION: u8 = 0x14;
const IOAPIC_VERSION: u8 = 0x11;
/// CPU signature (family 6) and feature flags (FPU, APIC) of the processor entries.
const CPU_SIGNATURE: u32 = 0x600;
const CPU_FEATURES: u32 = 0x201;

/// The bytes of the MP floating pointer and configuration table for `cpus` vCPUs, to be placed at
/// `addr`.
pub fn mptable_bytes(addr: u32, cpus: u32) -> Result<Vec<u8>> {
    if cpus == 0 || cpus > MAX_CPUS {
        return Err(Error::Boot {
            what: "MP table",
            reason: format!("{cpus} vCPUs requested; the table describes 1 to {MAX_CPUS}"),
        });
    }
    let ioapic_id = cpus as u8;
    let mut entries = Vec::new();
    let mut count: u16 = 0;
    for cpu in 0..cpus {
        let flags = CPU_ENABLED | if cpu == 0 { CPU_BSP } else { 0 };
        entries.extend_from_slice(&[ENTRY_PROCESSOR, cpu as u8, APIC_VERSION, flags]);
        entries.extend_from_slice(&CPU_SIGNATURE.to_le_bytes());
        entries.extend_from_slice(&CPU_FEATURES.to_le_bytes());
        entries.extend_from_slice(&[0; 8]);
        count += 1;
    }
    entries.extend_from_slice(&[ENTRY_BUS, 0]);
    entries.extend_from_slice(b"ISA   ");
    entries.extend_from_slice(&[ENTRY_IOAPIC, ioapic_id, IOAPIC_VERSION, 1]);
    entries.extend_from_slice(&IOAPIC_ADDR.to_le_bytes());
    count += 2;
    for pin in 0..IOAPIC_PINS {
        let kind = if pin == 0 {
            INT_TYPE_EXTINT
        } else {
            INT_TYPE_INT
        };
        entries.extend_from_slice(&[ENTRY_IO_INTERRUPT, kind, 0, 0, 0, pin, ioapic_id, pin]);
        count += 1;
    }
    for (kind, lint) in [(INT_TYPE_EXTINT, 0), (INT_TYPE_NMI, 1)] {
        // Source bus 0, IRQ 0, every local APIC (0xff), pin LINTn.
        entries.extend_from_slice(&[ENTRY_LOCAL_INTERRUPT, kind, 0, 0, 0, 0, 0xff, lint]);
        count += 1;
    }

    let table_addr = addr + 16;
    let mut table = Vec::with_capacity(44 + entries.len());
    table.extend_from_slice(b"PCMP");
    let length = u16::try_from(44 + entries.len()).unwrap_or(u16::MAX);
    table.extend_from_slice(&length.to_le_bytes());
    table.push(4); // specification revision 1.4
    table.push(0); // checksum, below
    table.extend_from_slice(b"VMACCEL ");
    table.extend_from_slice(b"X86 MICROVM ");
    table.extend_from_slice(&0u32.to_le_bytes()); // OEM table pointer
    table.extend_from_slice(&0u16.to_le_bytes()); // OEM table size
    table.extend_from_slice(&count.to_le_bytes());
    table.extend_from_slice(&LAPIC_ADDR.to_le_bytes());
    table.extend_from_slice(&[0; 4]); // extended table length, checksum, reserved
    table.extend_from_slice(&entries);
    table[7] = checksum(&table);

    let mut out = Vec::with_capacity(16 + table.len());
    out.extend_from_slice(b"_MP_");
    out.extend_from_slice(&table_addr.to_le_bytes());
    out.extend_from_slice(&[1, 4, 0, 0, 0, 0, 0, 0]); // length in 16-byte units, revision, checksum, features
    out[10] = checksum(&out);
    out.extend_from_slice(&table);
    Ok(out)
}

/// Write the MP table for `cpus` vCPUs at `addr`.
pub fn write_mptable(mem: &PhysMemory, addr: u32, cpus: u32) -> Result<()> {
    let bytes = mptable_bytes(addr, cpus)?;
    super::write(mem, u64::from(addr), &bytes, "the MP table")
}

/// The byte that makes `bytes` sum to zero (modulo 256) when stored in their checksum field.
fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(bytes: &[u8]) -> u8 {
        bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b))
    }

    #[test]
    fn table_layout_and_checksums() {
        let t = mptable_bytes(0x9_fc00, 2).unwrap();
        assert_eq!(&t[..4], b"_MP_");
        assert_eq!(u32::from_le_bytes(t[4..8].try_into().unwrap()), 0x9_fc10);
        assert_eq!(sum(&t[..16]), 0, "floating pointer checksum");
        let table = &t[16..];
        assert_eq!(&table[..4], b"PCMP");
        let len = u16::from_le_bytes([table[4], table[5]]) as usize;
        assert_eq!(len, table.len());
        // 2 processors (20 bytes), bus, I/O APIC, 24 I/O interrupts, 2 local interrupts (8 bytes).
        assert_eq!(len, 44 + 2 * 20 + 8 + 8 + 24 * 8 + 2 * 8);
        assert_eq!(sum(table), 0, "table checksum");
        assert_eq!(u16::from_le_bytes([table[34], table[35]]), 2 + 2 + 24 + 2);
        assert_eq!(&table[44..48], &[0, 0, 0x14, 3], "CPU 0 is the enabled BSP");
        assert_eq!(&table[64..68], &[0, 1, 0x14, 1], "CPU 1 is enabled");
        assert_eq!(&table[84..92], b"\x01\x00ISA   ");
        assert_eq!(&table[92..100], &[2, 2, 0x11, 1, 0, 0, 0xc0, 0xfe]);
        assert_eq!(&table[100..108], &[3, 3, 0, 0, 0, 0, 2, 0], "IRQ 0: ExtINT");
        assert_eq!(&table[108..116], &[3, 0, 0, 0, 0, 1, 2, 1], "IRQ 1: pin 1");
    }

    #[test]
    fn cpu_count_is_bounded() {
        assert!(mptable_bytes(0, 0).is_err());
        let err = mptable_bytes(0, 255).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot boot MP table: 255 vCPUs requested; the table describes 1 to 254"
        );
        assert!(mptable_bytes(0, 254).is_ok());
    }
}
