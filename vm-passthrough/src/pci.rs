//! PCI vocabulary: [`PciAddress`], [`HostDevice`] and [`Bar`], with the parsers for the text forms the
//! kernel uses (`0000:01:00.0`, the sysfs `resource` table).
//!
//! Written by hand: the formats are a few lines each, and the PCI crates on crates.io either access
//! configuration space directly (which needs root) or pull in much more than these parsers.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::{PassthroughError, Result};

/// The driver name of the VFIO PCI bus driver.
pub const VFIO_PCI_DRIVER: &str = "vfio-pci";

/// A PCI function's address: domain (segment), bus, device (slot) and function.
///
/// Parses and prints the kernel's form `DDDD:BB:DD.F` (hexadecimal, function decimal 0 to 7); the short
/// form `BB:DD.F` means domain 0.
///
/// ```
/// use vm_passthrough::PciAddress;
///
/// let a: PciAddress = "0000:01:00.1".parse()?;
/// assert_eq!((a.domain, a.bus, a.device, a.function), (0, 1, 0, 1));
/// assert_eq!(a.to_string(), "0000:01:00.1");
/// assert!("0000:01:20.0".parse::<PciAddress>().is_err()); // device numbers stop at 0x1f
/// # Ok::<(), vm_passthrough::PassthroughError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    /// PCI domain (segment group).
    pub domain: u32,
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number, 0 to 31.
    pub device: u8,
    /// Function number, 0 to 7.
    pub function: u8,
}

impl PciAddress {
    /// An address from its parts; `None` if `device > 31` or `function > 7`.
    pub const fn new(domain: u32, bus: u8, device: u8, function: u8) -> Option<Self> {
        if device > 31 || function > 7 {
            None
        } else {
            Some(Self {
                domain,
                bus,
                device,
                function,
            })
        }
    }

    /// Whether `other` is another function of the same slot (same domain, bus and device).
    pub const fn same_slot(&self, other: &Self) -> bool {
        self.domain == other.domain && self.bus == other.bus && self.device == other.device
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

impl FromStr for PciAddress {
    type Err = PassthroughError;

    fn from_str(s: &str) -> Result<Self> {
        let err = |reason| PassthroughError::InvalidPciAddress {
            input: s.to_owned(),
            reason,
        };
        let (head, function) = s
            .rsplit_once('.')
            .ok_or_else(|| err("missing '.' before the function"))?;
        let mut parts = head.split(':').rev();
        let device = parts.next().ok_or_else(|| err("missing device"))?;
        let bus = parts.next().ok_or_else(|| err("missing bus"))?;
        let domain = parts.next();
        if parts.next().is_some() {
            return Err(err("too many ':' separated parts"));
        }
        let hex = |text: &str, max_digits: usize, what| {
            if text.is_empty()
                || text.len() > max_digits
                || !text.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(err(what));
            }
            u32::from_str_radix(text, 16).map_err(|_| err(what))
        };
        let domain = match domain {
            Some(d) => hex(d, 8, "domain must be 1 to 8 hex digits")?,
            None => 0,
        };
        let bus = hex(bus, 2, "bus must be 1 or 2 hex digits")?;
        let device = hex(device, 2, "device must be 1 or 2 hex digits")?;
        let function = match function.as_bytes() {
            [d @ b'0'..=b'7'] => d - b'0',
            _ => return Err(err("function must be a digit 0 to 7")),
        };
        let (Ok(bus), Ok(device)) = (u8::try_from(bus), u8::try_from(device)) else {
            return Err(err("bus or device out of range"));
        };
        Self::new(domain, bus, device, function).ok_or_else(|| err("device must be at most 0x1f"))
    }
}

/// A PCI vendor ID that matters to this crate.
pub mod vendor {
    /// NVIDIA Corporation.
    pub const NVIDIA: u16 = 0x10de;
    /// Advanced Micro Devices (ATI).
    pub const AMD: u16 = 0x1002;
    /// Intel Corporation.
    pub const INTEL: u16 = 0x8086;
}

/// A PCI function as the host sees it in sysfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostDevice {
    /// Where it is.
    pub address: PciAddress,
    /// Vendor ID (`vendor`).
    pub vendor_id: u16,
    /// Device ID (`device`).
    pub device_id: u16,
    /// 24-bit class code (`class`): base class, subclass, programming interface.
    pub class: u32,
    /// The host driver it is bound to (`driver` link), if any.
    pub driver: Option<String>,
    /// Its IOMMU group (`iommu_group` link), if the IOMMU covers it.
    pub iommu_group: Option<u32>,
}

impl HostDevice {
    /// The base class (bits 23:16 of the class code), e.g. `0x03` for display controllers.
    pub const fn base_class(&self) -> u8 {
        (self.class >> 16) as u8
    }

    /// The subclass (bits 15:8 of the class code), e.g. `0x03` with base class `0x04` for HD audio.
    pub const fn subclass(&self) -> u8 {
        (self.class >> 8) as u8
    }

    /// Whether the device is bound to `vfio-pci` (or a vendor variant driver such as
    /// `nvgrace-gpu-vfio-pci`, whose names end in `-vfio-pci`).
    pub fn is_bound_to_vfio(&self) -> bool {
        self.driver.as_deref().is_some_and(is_vfio_driver)
    }
}

/// Whether a driver name is `vfio-pci` or a vendor VFIO variant of it.
pub(crate) fn is_vfio_driver(name: &str) -> bool {
    name == VFIO_PCI_DRIVER || name.ends_with("-vfio-pci")
}

/// What kind of address space a BAR decodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// I/O port space.
    Io,
    /// 32-bit memory space.
    Mem32,
    /// 64-bit memory space.
    Mem64,
}

/// One populated base address register (or the expansion ROM) of a device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    /// 0 to 5 for BARs, 6 for the expansion ROM.
    pub index: u8,
    /// Host physical (or port) address it is mapped at; 0 when unassigned.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// Address space.
    pub kind: BarKind,
    /// Prefetchable memory.
    pub prefetchable: bool,
}

/// Index of the expansion ROM line in the `resource` table.
pub const ROM_INDEX: u8 = 6;

const IORESOURCE_IO: u64 = 0x100;
const IORESOURCE_MEM: u64 = 0x200;
const IORESOURCE_PREFETCH: u64 = 0x2000;
const IORESOURCE_MEM_64: u64 = 0x0010_0000;

/// Parse a sysfs `resource` table: one line per resource, `start end flags` in hex.
///
/// Lines 0 to 5 are the BARs and line 6 the expansion ROM; later lines (SR-IOV VF BARs, bridge windows)
/// are not BARs of this function and are ignored. Unused lines (all zero) are skipped. `path` only names
/// the file in errors.
pub fn parse_resource_table(path: &Path, text: &str) -> Result<Vec<Bar>> {
    let mut bars = Vec::new();
    for (index, line) in (0..=ROM_INDEX).zip(text.lines()) {
        let parse_err = || PassthroughError::Parse {
            path: path.to_owned(),
            content: line.trim().to_owned(),
            expected: "three hexadecimal numbers `start end flags` with end >= start",
        };
        let mut fields = line.split_whitespace().map(parse_hex_u64);
        let (Some(Some(start)), Some(Some(end)), Some(Some(flags)), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(parse_err());
        };
        if flags == 0 && start == 0 && end == 0 {
            continue;
        }
        let size = end
            .checked_sub(start)
            .and_then(|d| d.checked_add(1))
            .ok_or_else(parse_err)?;
        let kind = if flags & IORESOURCE_IO != 0 {
            BarKind::Io
        } else if flags & IORESOURCE_MEM != 0 {
            if flags & IORESOURCE_MEM_64 != 0 {
                BarKind::Mem64
            } else {
                BarKind::Mem32
            }
        } else {
            continue;
        };
        bars.push(Bar {
            index,
            start,
            size,
            kind,
            prefetchable: flags & IORESOURCE_PREFETCH != 0,
        });
    }
    Ok(bars)
}

/// Parse a `0x`-prefixed (or bare) hexadecimal number.
pub(crate) fn parse_hex_u64(text: &str) -> Option<u64> {
    let digits = text
        .trim()
        .strip_prefix("0x")
        .or_else(|| text.trim().strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> PciAddress {
        s.parse().unwrap()
    }

    #[test]
    fn parses_full_and_short_forms() {
        assert_eq!(
            addr("0000:01:00.0"),
            PciAddress {
                domain: 0,
                bus: 1,
                device: 0,
                function: 0
            }
        );
        assert_eq!(
            addr("10000:e3:1f.7"),
            PciAddress {
                domain: 0x10000,
                bus: 0xe3,
                device: 0x1f,
                function: 7
            }
        );
        assert_eq!(
            addr("02:00.1"),
            PciAddress {
                domain: 0,
                bus: 2,
                device: 0,
                function: 1
            }
        );
        assert_eq!(addr("0000:AB:0c.3").to_string(), "0000:ab:0c.3");
    }

    #[test]
    fn rejects_malformed_addresses_with_reasons() {
        let reason = |s: &str| match s.parse::<PciAddress>() {
            Err(PassthroughError::InvalidPciAddress { input, reason }) => {
                assert_eq!(input, s);
                reason
            }
            other => panic!("{s:?} parsed as {other:?}"),
        };
        assert_eq!(reason("0000:01:00"), "missing '.' before the function");
        assert_eq!(reason("0000:01:00.8"), "function must be a digit 0 to 7");
        assert_eq!(reason("0000:01:00.10"), "function must be a digit 0 to 7");
        assert_eq!(reason("0000:01:20.0"), "device must be at most 0x1f");
        assert_eq!(reason("0000:100:00.0"), "bus must be 1 or 2 hex digits");
        assert_eq!(reason("0:0000:01:00.0"), "too many ':' separated parts");
        assert_eq!(reason("00.0"), "missing bus");
        assert_eq!(reason("zz:00.0"), "bus must be 1 or 2 hex digits");
        assert_eq!(reason("+1:00.0"), "bus must be 1 or 2 hex digits");
        assert_eq!(reason(""), "missing '.' before the function");
    }

    #[test]
    fn same_slot_compares_all_but_function() {
        assert!(addr("0000:01:00.0").same_slot(&addr("0000:01:00.1")));
        assert!(!addr("0000:01:00.0").same_slot(&addr("0000:01:01.0")));
        assert!(!addr("0000:01:00.0").same_slot(&addr("0001:01:00.0")));
    }

    #[test]
    fn resource_table_of_a_gpu() {
        let text = "0x00000000fb000000 0x00000000fbffffff 0x0000000000040200\n\
                    0x000000c000000000 0x000000cfffffffff 0x000000000014220c\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x000000d000000000 0x000000d001ffffff 0x000000000014220c\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x000000000000e000 0x000000000000e07f 0x0000000000040101\n\
                    0x00000000fc000000 0x00000000fc07ffff 0x0000000000046200\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
        let bars = parse_resource_table(Path::new("resource"), text).unwrap();
        assert_eq!(
            bars,
            vec![
                Bar {
                    index: 0,
                    start: 0xfb00_0000,
                    size: 16 << 20,
                    kind: BarKind::Mem32,
                    prefetchable: false
                },
                Bar {
                    index: 1,
                    start: 0xc0_0000_0000,
                    size: 64 << 30,
                    kind: BarKind::Mem64,
                    prefetchable: true
                },
                Bar {
                    index: 3,
                    start: 0xd0_0000_0000,
                    size: 32 << 20,
                    kind: BarKind::Mem64,
                    prefetchable: true
                },
                Bar {
                    index: 5,
                    start: 0xe000,
                    size: 128,
                    kind: BarKind::Io,
                    prefetchable: false
                },
                Bar {
                    index: 6,
                    start: 0xfc00_0000,
                    size: 512 << 10,
                    kind: BarKind::Mem32,
                    prefetchable: true
                },
            ]
        );
    }

    #[test]
    fn resource_table_rejects_garbage() {
        for bad in [
            "0x1 0x2",
            "0x10 0x0f 0x200",
            "zz 0x1 0x200",
            "0x1 0x2 0x200 0x4",
            "1 2 3",
        ] {
            match parse_resource_table(Path::new("/x/resource"), bad) {
                Err(PassthroughError::Parse { path, content, .. }) => {
                    assert_eq!(path, Path::new("/x/resource"));
                    assert_eq!(content, bad);
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn class_code_parts_and_vfio_binding() {
        let dev = HostDevice {
            address: addr("0000:01:00.1"),
            vendor_id: vendor::NVIDIA,
            device_id: 0x10f0,
            class: 0x040300,
            driver: Some("nvgrace-gpu-vfio-pci".into()),
            iommu_group: Some(3),
        };
        assert_eq!((dev.base_class(), dev.subclass()), (0x04, 0x03));
        assert!(dev.is_bound_to_vfio());
        let dev = HostDevice {
            driver: Some("snd_hda_intel".into()),
            ..dev
        };
        assert!(!dev.is_bound_to_vfio());
        let dev = HostDevice {
            driver: None,
            ..dev
        };
        assert!(!dev.is_bound_to_vfio());
    }
}
