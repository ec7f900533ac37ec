//! Loading guest images into guest physical memory: ELF executables (by their program headers) and raw
//! binaries (at a fixed address).
//!
//! ELF files are parsed with the `object` crate; only `PT_LOAD` segments are copied, at their physical
//! addresses (`p_paddr`), and the bytes between a segment's file size and memory size are zeroed. Every
//! write is bounds-checked by vm-mem: a segment outside RAM/ROM is an [`Error::Image`] naming the file and
//! the segment, and nothing of that segment is written. The symbols `tohost` and `fromhost`, when the ELF
//! defines them, are returned for the HTIF exit protocol (see [`crate::machine::riscv64_virt`]).

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSymbol};
use vm_core::GuestPhysAddr;
use vm_mem::PhysMemory;

use crate::error::{Error, Result};

/// The ELF machine number of RISC-V (`EM_RISCV`).
pub const EM_RISCV: u16 = elf::EM_RISCV;

/// What was loaded, and where.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// Where execution starts (the ELF entry point, or the load address of a raw binary).
    pub entry: u64,
    /// Lowest guest physical address written.
    pub start: u64,
    /// One past the highest guest physical address written (including zeroed `.bss`).
    pub end: u64,
    /// Address of the ELF symbol `tohost`, if defined.
    pub tohost: Option<u64>,
    /// Address of the ELF symbol `fromhost`, if defined.
    pub fromhost: Option<u64>,
}

/// Whether `bytes` start like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(&elf::ELFMAG)
}

/// Load `bytes`: an ELF64 file for `machine` (by its program headers), or else a raw binary at
/// `raw_base`. `what` names the image in errors (a path, or "embedded demo").
pub fn load(
    mem: &PhysMemory,
    what: &str,
    bytes: &[u8],
    machine: u16,
    raw_base: u64,
) -> Result<LoadedImage> {
    if is_elf(bytes) {
        load_elf(mem, what, bytes, machine)
    } else {
        load_raw(mem, what, bytes, raw_base)
    }
}

/// Load a raw binary at `base`; it starts at `base`.
pub fn load_raw(mem: &PhysMemory, what: &str, bytes: &[u8], base: u64) -> Result<LoadedImage> {
    if bytes.is_empty() {
        return Err(image_err(what, "The file is empty"));
    }
    mem.load_image(GuestPhysAddr(base), bytes).map_err(|e| {
        image_err(
            what,
            format!(
                "{} bytes do not fit in guest memory at {base:#x}: {e}",
                bytes.len()
            ),
        )
    })?;
    Ok(LoadedImage {
        entry: base,
        start: base,
        end: base + bytes.len() as u64,
        tohost: None,
        fromhost: None,
    })
}

/// Load an ELF64 little-endian executable for `machine` by its `PT_LOAD` program headers.
pub fn load_elf(mem: &PhysMemory, what: &str, bytes: &[u8], machine: u16) -> Result<LoadedImage> {
    let file = ElfFile64::<Endianness>::parse(bytes)
        .map_err(|e| image_err(what, format!("Not a valid ELF64 file: {e}")))?;
    let endian = file.endian();
    let header = file.elf_header();
    if header.e_machine(endian) != machine {
        return Err(image_err(
            what,
            format!(
                "ELF machine {} is not the guest's ({machine})",
                header.e_machine(endian)
            ),
        ));
    }
    if !file.is_little_endian() {
        return Err(image_err(what, "Big-endian ELF files are not supported"));
    }
    let mut start = u64::MAX;
    let mut end = 0u64;
    for (i, ph) in file.elf_program_headers().iter().enumerate() {
        if ph.p_type(endian) != elf::PT_LOAD || ph.p_memsz(endian) == 0 {
            continue;
        }
        let paddr = ph.p_paddr(endian);
        let memsz = ph.p_memsz(endian);
        let data = ph
            .data(endian, bytes)
            .map_err(|_| image_err(what, format!("Segment {i} lies outside the file")))?;
        let filesz = data.len() as u64;
        if filesz > memsz {
            return Err(image_err(
                what,
                format!("Segment {i} has a file size above its memory size"),
            ));
        }
        let seg_end = paddr
            .checked_add(memsz)
            .ok_or_else(|| image_err(what, format!("Segment {i} wraps the address space")))?;
        let place = |e: vm_mem::Error| {
            image_err(
                what,
                format!("Segment {i} ({paddr:#x}..{seg_end:#x}) is not in guest memory: {e}"),
            )
        };
        mem.load_image(GuestPhysAddr(paddr), data).map_err(place)?;
        if memsz > filesz {
            mem.zero(GuestPhysAddr(paddr + filesz), memsz - filesz)
                .map_err(place)?;
        }
        start = start.min(paddr);
        end = end.max(seg_end);
    }
    if start == u64::MAX {
        return Err(image_err(what, "The ELF file has no loadable segment"));
    }
    let symbol = |name: &str| {
        file.symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
    };
    Ok(LoadedImage {
        entry: header.e_entry(endian),
        start,
        end,
        tohost: symbol("tohost"),
        fromhost: symbol("fromhost"),
    })
}

fn image_err(what: &str, reason: impl Into<String>) -> Error {
    Error::Image {
        what: what.to_string(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> PhysMemory {
        PhysMemory::builder()
            .ram("ram", GuestPhysAddr(0x8000_0000), 0x10_0000)
            .build()
            .unwrap()
    }

    /// A minimal ELF64 RISC-V executable: one PT_LOAD segment of `code` at `addr` with `bss` extra
    /// zeroed bytes, entry at `addr`.
    fn elf(code: &[u8], addr: u64, bss: u64, machine: u16) -> Vec<u8> {
        let mut f = vec![0u8; 64 + 56];
        f[..4].copy_from_slice(&elf::ELFMAG);
        f[4] = elf::ELFCLASS64;
        f[5] = elf::ELFDATA2LSB;
        f[6] = elf::EV_CURRENT;
        f[16..18].copy_from_slice(&elf::ET_EXEC.to_le_bytes());
        f[18..20].copy_from_slice(&machine.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&addr.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = &mut f[64..];
        ph[0..4].copy_from_slice(&elf::PT_LOAD.to_le_bytes());
        ph[4..8].copy_from_slice(&(elf::PF_R | elf::PF_X).to_le_bytes());
        ph[8..16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        ph[16..24].copy_from_slice(&addr.to_le_bytes());
        ph[24..32].copy_from_slice(&addr.to_le_bytes());
        ph[32..40].copy_from_slice(&(code.len() as u64).to_le_bytes());
        ph[40..48].copy_from_slice(&(code.len() as u64).wrapping_add(bss).to_le_bytes());
        f.extend_from_slice(code);
        f
    }

    #[test]
    fn elf_segments_load_at_their_physical_addresses() {
        let m = mem();
        m.fill(GuestPhysAddr(0x8000_1000), 0x20, 0xee).unwrap();
        let img = load(
            &m,
            "t",
            &elf(&[1, 2, 3, 4], 0x8000_1000, 8, EM_RISCV),
            EM_RISCV,
            0,
        )
        .unwrap();
        assert_eq!(
            img,
            LoadedImage {
                entry: 0x8000_1000,
                start: 0x8000_1000,
                end: 0x8000_100c,
                tohost: None,
                fromhost: None
            }
        );
        let mut buf = [0u8; 13];
        vm_core::mem::GuestMemory::read(&m, GuestPhysAddr(0x8000_1000), &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0xee]);
    }

    #[test]
    fn bad_images_are_typed_errors() {
        let m = mem();
        let wrong_arch = load(&m, "k.elf", &elf(&[0; 4], 0x8000_0000, 0, 62), EM_RISCV, 0);
        assert_eq!(
            wrong_arch.unwrap_err().to_string(),
            "Cannot load k.elf: ELF machine 62 is not the guest's (243)"
        );
        let outside = load(&m, "k.elf", &elf(&[0; 4], 0x1000, 0, EM_RISCV), EM_RISCV, 0);
        assert!(
            outside.unwrap_err().to_string().starts_with(
                "Cannot load k.elf: Segment 0 (0x1000..0x1004) is not in guest memory"
            ),
        );
        let mut truncated = elf(&[0; 4], 0x8000_0000, 0, EM_RISCV);
        truncated.truncate(100);
        assert!(load(&m, "k.elf", &truncated, EM_RISCV, 0).is_err());
        let huge_bss = elf(&[0; 4], 0x8000_0000, u64::MAX - 2, EM_RISCV);
        assert!(load(&m, "k.elf", &huge_bss, EM_RISCV, 0).is_err());
        assert_eq!(
            load(&m, "x.bin", &[], EM_RISCV, 0x8000_0000)
                .unwrap_err()
                .to_string(),
            "Cannot load x.bin: The file is empty"
        );
    }

    #[test]
    fn raw_binaries_load_at_the_base() {
        let m = mem();
        let img = load(&m, "x.bin", &[0x13, 0, 0, 0], EM_RISCV, 0x8000_0000).unwrap();
        assert_eq!(
            (img.entry, img.start, img.end),
            (0x8000_0000, 0x8000_0000, 0x8000_0004)
        );
        assert!(load(&m, "x.bin", &[0; 8], EM_RISCV, 0x800f_fffc).is_err());
    }
}
