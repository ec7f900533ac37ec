//! The Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst), on rust-vmm's
//! `linux-loader`: [`load_bzimage`] copies the protected-mode kernel of a bzImage to 1 MiB and keeps
//! its setup header; [`write_boot_params`] fills the zero page (`struct boot_params`) with that header,
//! the e820 memory map, the command line and the initrd, and writes it and the command line to guest
//! memory.
//!
//! `linux-loader` writes guest memory through the `vm-memory` traits; [`GuestRamView`] presents the
//! RAM regions of a vm-mem [`PhysMemory`] through them (the same host memory, no copy).

use std::io::Cursor;

use linux_loader::cmdline::Cmdline;
use linux_loader::configurator::linux::LinuxBootConfigurator;
use linux_loader::configurator::{BootConfigurator, BootParams};
use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::loader::{KernelLoader, bzimage::BzImage, load_cmdline};
use vm_mem::PhysMemory;
use vm_mem::RegionKind;
use vm_memory::{GuestAddress, GuestMemoryMmap, GuestRegionMmap, MmapRegion};

use super::{CMDLINE_ADDR, EBDA_START, HIMEM_START, MMIO_HOLE_START, ZERO_PAGE_ADDR, ram_ranges};
use crate::error::{Error, Result};

/// The setup header's magic, "HdrS".
const HDRS_MAGIC: u32 = 0x5372_6448;
/// `boot_flag`: the boot sector signature.
const BOOT_FLAG: u16 = 0xaa55;
/// `type_of_loader`: a boot loader without an assigned id.
const LOADER_OTHER: u8 = 0xff;
/// `xloadflags` bit: the kernel has the 64-bit entry point at `load address + 0x200`.
const XLF_KERNEL_64: u16 = 1 << 0;
/// Offset of the 64-bit entry point from the load address.
const ENTRY_64_OFFSET: u64 = 0x200;
/// Oldest boot protocol with `cmdline_size`, `initrd_addr_max` and `xloadflags` fields we rely on.
const MIN_PROTOCOL: u16 = 0x20c;
/// e820 entry types.
const E820_RAM: u32 = 1;
const E820_RESERVED: u32 = 2;
/// Command-line capacity for kernels that do not state one (boot protocol below 2.06, ELF kernels).
const DEFAULT_CMDLINE_SIZE: u32 = 2048;

/// The RAM of a [`PhysMemory`] seen through the `vm-memory` traits that `linux-loader` writes with.
pub struct GuestRamView<'a> {
    mem: GuestMemoryMmap,
    _owner: std::marker::PhantomData<&'a PhysMemory>,
}

impl std::fmt::Debug for GuestRamView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestRamView").finish_non_exhaustive()
    }
}

impl<'a> GuestRamView<'a> {
    /// A view of every RAM region of `mem` (ROM and MMIO windows are left out).
    pub fn new(mem: &'a PhysMemory) -> Result<Self> {
        let mut regions = Vec::new();
        for region in mem.regions() {
            let Some(slice) = region.host_slice() else {
                continue;
            };
            if region.kind() != RegionKind::Ram {
                continue;
            }
            let bad = |e: &dyn std::fmt::Display| Error::GuestMemory {
                reason: format!("Cannot view region `{}` for the loader: {e}", region.name()),
            };
            let len = usize::try_from(slice.len).map_err(|e| bad(&e))?;
            // SAFETY: `slice` is the whole host mapping of a RAM region of `mem` (anonymous, private,
            // read/write, as vm-mem maps it); the region stays mapped while `mem` lives, which the
            // lifetime `'a` ties this view to. `build_raw` does not take ownership: it never unmaps.
            let raw = unsafe {
                MmapRegion::build_raw(
                    slice.host,
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                )
            }
            .map_err(|e| bad(&e))?;
            let region = GuestRegionMmap::new(raw, GuestAddress(slice.gpa.raw()))
                .ok_or_else(|| bad(&"the region wraps the address space"))?;
            regions.push(region);
        }
        let mem = GuestMemoryMmap::from_regions(regions).map_err(|e| Error::GuestMemory {
            reason: format!("Cannot view guest RAM for the loader: {e}"),
        })?;
        Ok(Self {
            mem,
            _owner: std::marker::PhantomData,
        })
    }
}

/// Whether `image` starts like a bzImage (the "HdrS" magic at offset 0x202).
pub fn is_bzimage(image: &[u8]) -> bool {
    image.get(0x202..0x206) == Some(b"HdrS".as_slice())
}

/// A kernel loaded into guest memory.
#[derive(Copy, Clone, Debug)]
pub struct LoadedKernel {
    /// The 64-bit entry point.
    pub entry: u64,
    /// First byte loaded.
    pub start: u64,
    /// One past the last byte loaded.
    pub end: u64,
    /// The bzImage's setup header (`None` for other kernels, such as ELF files).
    pub setup_header: Option<setup_header>,
}

impl LoadedKernel {
    /// The highest address the kernel accepts for the initrd's last byte.
    fn initrd_addr_max(&self) -> u64 {
        self.setup_header
            .map_or(MMIO_HOLE_START - 1, |h| u64::from(h.initrd_addr_max))
    }

    /// The command-line capacity, terminating NUL included.
    fn cmdline_capacity(&self) -> usize {
        let size = self
            .setup_header
            .map_or(DEFAULT_CMDLINE_SIZE, |h| h.cmdline_size);
        usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
    }
}

/// Load the bzImage `image` at 1 MiB; its 64-bit entry point is 0x200 bytes further.
pub fn load_bzimage(mem: &PhysMemory, image: &[u8]) -> Result<LoadedKernel> {
    let bad = |reason: String| Error::Boot {
        what: "bzImage",
        reason,
    };
    if !is_bzimage(image) {
        return Err(bad("No \"HdrS\" setup header at offset 0x202".into()));
    }
    let view = GuestRamView::new(mem)?;
    let loaded = BzImage::load(
        &view.mem,
        None,
        &mut Cursor::new(image),
        Some(GuestAddress(HIMEM_START)),
    )
    .map_err(|e| bad(e.to_string()))?;
    let header = loaded
        .setup_header
        .ok_or_else(|| bad("The loader returned no setup header".into()))?;
    let version = header.version;
    if version < MIN_PROTOCOL {
        return Err(bad(format!(
            "Boot protocol {}.{:02} is older than 2.12, which the 64-bit entry needs",
            version >> 8,
            version & 0xff
        )));
    }
    if header.xloadflags & XLF_KERNEL_64 == 0 {
        return Err(bad(
            "The kernel has no 64-bit entry point (XLF_KERNEL_64 is clear)".into(),
        ));
    }
    let start = loaded.kernel_load.0;
    Ok(LoadedKernel {
        entry: start + ENTRY_64_OFFSET,
        start,
        end: loaded.kernel_end,
        setup_header: Some(header),
    })
}

/// Place `initrd` at the highest page-aligned address below the kernel's `initrd_addr_max` and the
/// end of low RAM, above the kernel; returns its address.
pub fn load_initrd(
    mem: &PhysMemory,
    kernel: &LoadedKernel,
    ram_size: u64,
    initrd: &[u8],
) -> Result<u64> {
    let bad = |reason: String| Error::Boot {
        what: "initrd",
        reason,
    };
    let size = initrd.len() as u64;
    let low_end = ram_ranges(ram_size)
        .first()
        .map_or(0, |&(start, len)| start + len);
    let limit = low_end.min(kernel.initrd_addr_max().saturating_add(1));
    let addr = limit.checked_sub(size).map(|a| a & !0xfff);
    match addr {
        Some(addr) if addr >= kernel.end && size > 0 => {
            super::write(mem, addr, initrd, "the initrd")?;
            Ok(addr)
        }
        _ if size == 0 => Err(bad("The initrd is empty".into())),
        _ => Err(bad(format!(
            "{size} bytes do not fit between the kernel's end ({:#x}) and {limit:#x}; give the \
             guest more memory",
            kernel.end
        ))),
    }
}

/// The e820 map of a guest with `ram_size` bytes: RAM below the EBDA, the reserved EBDA and BIOS
/// area, RAM from 1 MiB to the MMIO hole, and RAM above 4 GiB.
pub fn e820_map(ram_size: u64) -> Vec<boot_e820_entry> {
    let entry = |addr: u64, size: u64, kind: u32| boot_e820_entry {
        addr,
        size,
        r#type: kind,
    };
    let mut map = vec![
        entry(0, EBDA_START, E820_RAM),
        entry(EBDA_START, HIMEM_START - EBDA_START, E820_RESERVED),
    ];
    for (start, len) in ram_ranges(ram_size) {
        let from = start.max(HIMEM_START);
        let end = start + len;
        if end > from {
            map.push(entry(from, end - from, E820_RAM));
        }
    }
    map
}

/// A virtio-mmio device window to announce on the kernel command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VirtioMmioSlot {
    /// Base address of the window.
    pub base: u64,
    /// Size of the window.
    pub size: u64,
    /// The interrupt (GSI) it raises.
    pub irq: u32,
}

/// The kernel command line: `user` followed by one `virtio_mmio.device=SIZE@BASE:IRQ` per slot (the
/// way a kernel without ACPI or a device tree learns about virtio-mmio devices).
pub fn kernel_cmdline(user: &str, slots: &[VirtioMmioSlot]) -> Result<String> {
    let bad = |e: linux_loader::cmdline::Error| Error::Boot {
        what: "command line",
        reason: e.to_string(),
    };
    let capacity = user.len() + 1 + slots.len() * 64;
    let mut line = if user.trim().is_empty() {
        Cmdline::new(capacity).map_err(bad)?
    } else {
        Cmdline::try_from(user, capacity).map_err(bad)?
    };
    for slot in slots {
        line.add_virtio_mmio_device(slot.size, GuestAddress(slot.base), slot.irq, None)
            .map_err(bad)?;
    }
    let text = line.as_cstring().map_err(bad)?;
    Ok(text.to_string_lossy().into_owned())
}

/// Fill and write the zero page and the command line for `kernel`: the e820 map of `ram_size` bytes,
/// `cmdline`, and the initrd at `initrd = (address, size)` if any.
pub fn write_boot_params(
    mem: &PhysMemory,
    kernel: &LoadedKernel,
    ram_size: u64,
    cmdline: &str,
    initrd: Option<(u64, u64)>,
) -> Result<()> {
    let bad = |what: &'static str, reason: String| Error::Boot { what, reason };
    let capacity = kernel.cmdline_capacity();
    let line = Cmdline::try_from(cmdline, capacity).map_err(|e| {
        bad(
            "command line",
            format!(
                "{e} ({} bytes; the kernel takes {})",
                cmdline.len(),
                capacity - 1
            ),
        )
    })?;
    let view = GuestRamView::new(mem)?;
    if !cmdline.trim().is_empty() {
        load_cmdline(&view.mem, GuestAddress(CMDLINE_ADDR), &line)
            .map_err(|e| bad("command line", e.to_string()))?;
    } else {
        super::write(mem, CMDLINE_ADDR, &[0], "the command line")?;
    }

    let mut params = boot_params::default();
    if let Some(header) = kernel.setup_header {
        params.hdr = header;
    } else {
        params.hdr.boot_flag = BOOT_FLAG;
        params.hdr.header = HDRS_MAGIC;
        params.hdr.kernel_alignment = 0x100_0000;
    }
    params.hdr.type_of_loader = LOADER_OTHER;
    params.hdr.cmd_line_ptr = CMDLINE_ADDR as u32;
    params.hdr.cmdline_size = u32::try_from(cmdline.trim().len()).unwrap_or(u32::MAX);
    if let Some((addr, size)) = initrd {
        params.hdr.ramdisk_image = u32::try_from(addr)
            .map_err(|_| bad("initrd", format!("Address {addr:#x} is above 4 GiB")))?;
        params.hdr.ramdisk_size = u32::try_from(size).map_err(|_| {
            bad(
                "initrd",
                format!("{size} bytes do not fit the 32-bit size field"),
            )
        })?;
    }
    let map = e820_map(ram_size);
    for (slot, entry) in params.e820_table.iter_mut().zip(&map) {
        *slot = *entry;
    }
    params.e820_entries = map.len() as u8;

    let zero_page = BootParams::new::<boot_params>(&params, GuestAddress(ZERO_PAGE_ADDR));
    LinuxBootConfigurator::write_bootparams::<GuestMemoryMmap>(&zero_page, &view.mem)
        .map_err(|e| bad("zero page", e.to_string()))
}

#[cfg(test)]
mod tests {
    use vm_core::GuestPhysAddr;
    use vm_core::mem::GuestMemory;

    use super::*;

    fn ram(size: u64) -> PhysMemory {
        PhysMemory::builder()
            .ram("ram", GuestPhysAddr(0), size)
            .build()
            .unwrap()
    }

    /// A minimal bzImage: one setup sector plus the boot sector, then `payload`.
    fn fake_bzimage(version: u16, xloadflags: u16, payload: &[u8]) -> Vec<u8> {
        let mut img = vec![0u8; 1024];
        img[0x1f1] = 1; // setup_sects
        img[0x1fe..0x200].copy_from_slice(&BOOT_FLAG.to_le_bytes());
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&version.to_le_bytes());
        img[0x211] = 1; // loadflags: LOADED_HIGH
        img[0x214..0x218].copy_from_slice(&0x10_0000u32.to_le_bytes()); // code32_start
        img[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // initrd_addr_max
        img[0x236..0x238].copy_from_slice(&xloadflags.to_le_bytes());
        img[0x238..0x23c].copy_from_slice(&255u32.to_le_bytes()); // cmdline_size
        img.extend_from_slice(payload);
        img
    }

    fn read(mem: &PhysMemory, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        mem.read(GuestPhysAddr(addr), &mut b).unwrap();
        b
    }

    #[test]
    fn bzimage_payload_lands_at_one_mib() {
        let mem = ram(16 << 20);
        let img = fake_bzimage(0x20f, 1, b"kernel bytes");
        let k = load_bzimage(&mem, &img).unwrap();
        assert_eq!((k.start, k.entry, k.end), (0x10_0000, 0x10_0200, 0x10_000c));
        assert_eq!(read(&mem, 0x10_0000, 12), b"kernel bytes");
    }

    #[test]
    fn bzimage_checks_protocol_and_64_bit_entry() {
        let mem = ram(16 << 20);
        let no64 = load_bzimage(&mem, &fake_bzimage(0x20f, 0, b"k")).unwrap_err();
        assert_eq!(
            no64.to_string(),
            "Cannot boot bzImage: The kernel has no 64-bit entry point (XLF_KERNEL_64 is clear)"
        );
        let old = load_bzimage(&mem, &fake_bzimage(0x206, 1, b"k")).unwrap_err();
        assert!(
            old.to_string().contains("Boot protocol 2.06 is older"),
            "{old}"
        );
        let junk = load_bzimage(&mem, b"MZ not a kernel").unwrap_err();
        assert!(junk.to_string().contains("No \"HdrS\""), "{junk}");
    }

    #[test]
    fn zero_page_carries_cmdline_initrd_and_e820() {
        let size = 64 << 20;
        let mem = ram(size);
        let k = load_bzimage(&mem, &fake_bzimage(0x20f, 1, &[0x90; 4096])).unwrap();
        let initrd = load_initrd(&mem, &k, size, &[0xab; 5000]).unwrap();
        assert_eq!(initrd, (size - 5000) & !0xfff);
        write_boot_params(
            &mem,
            &k,
            size,
            "console=ttyS0 earlyprintk=serial",
            Some((initrd, 5000)),
        )
        .unwrap();
        assert_eq!(
            read(&mem, CMDLINE_ADDR, 33),
            b"console=ttyS0 earlyprintk=serial\0"
        );
        let zp = read(&mem, ZERO_PAGE_ADDR, 4096);
        let u32_at = |o: usize| u32::from_le_bytes(zp[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(zp[o..o + 8].try_into().unwrap());
        assert_eq!(zp[0x210], 0xff, "type_of_loader");
        assert_eq!(u32_at(0x202), HDRS_MAGIC);
        assert_eq!(u32_at(0x228), CMDLINE_ADDR as u32, "cmd_line_ptr");
        assert_eq!(
            (u32_at(0x218), u32_at(0x21c)),
            (initrd as u32, 5000),
            "ramdisk"
        );
        assert_eq!(zp[0x1e8], 3, "e820_entries");
        let e820 = |i: usize| {
            (
                u64_at(0x2d0 + i * 20),
                u64_at(0x2d8 + i * 20),
                u32_at(0x2e0 + i * 20),
            )
        };
        assert_eq!(e820(0), (0, 0x9_fc00, 1));
        assert_eq!(e820(1), (0x9_fc00, 0x6_0400, 2));
        assert_eq!(e820(2), (0x10_0000, size - 0x10_0000, 1));
    }

    #[test]
    fn oversized_cmdline_and_initrd_are_refused() {
        let mem = ram(4 << 20);
        let k = load_bzimage(&mem, &fake_bzimage(0x20f, 1, &[0; 16])).unwrap();
        let long = "x".repeat(300);
        let err = write_boot_params(&mem, &k, 4 << 20, &long, None).unwrap_err();
        assert!(err.to_string().contains("the kernel takes 255"), "{err}");
        let err = load_initrd(&mem, &k, 4 << 20, &vec![0; 8 << 20]).unwrap_err();
        assert!(
            err.to_string().contains("give the guest more memory"),
            "{err}"
        );
    }

    #[test]
    fn cmdline_announces_virtio_slots() {
        let slot = |n: u64| VirtioMmioSlot {
            base: 0xd000_0000 + n * 0x1000,
            size: 0x1000,
            irq: 5 + n as u32,
        };
        assert_eq!(
            kernel_cmdline("console=ttyS0", &[slot(0), slot(1)]).unwrap(),
            "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"
        );
        assert_eq!(kernel_cmdline("", &[]).unwrap(), "");
        assert_eq!(kernel_cmdline(" quiet ", &[]).unwrap(), "quiet");
    }

    #[test]
    fn e820_map_skips_the_hole() {
        let map = e820_map(4 << 30);
        let got: Vec<_> = map.iter().map(|e| (e.addr, e.size, e.r#type)).collect();
        assert_eq!(
            got,
            vec![
                (0, 0x9_fc00, 1),
                (0x9_fc00, 0x6_0400, 2),
                (0x10_0000, MMIO_HOLE_START - 0x10_0000, 1),
                (1 << 32, 1 << 30, 1),
            ]
        );
    }
}
