//! [`PhysMemoryBuilder`]: declares a memory map, checks it, then allocates its RAM and ROM.

use alloc::string::String;
use alloc::vec::Vec;

use vm_core::{GuestPhysAddr, GuestPhysRange};

use crate::error::{Error, Result};
use crate::phys::PhysMemory;
use crate::ram::GuestRam;
use crate::region::{Region, RegionKind};

/// Start and size of every RAM and ROM region must be multiples of this many bytes.
///
/// Backings are page-aligned on the host, so with this rule a guest address aligned to 1, 2, 4 or 8 is
/// equally aligned on the host, which host atomics require; and no naturally aligned access of up to 8
/// bytes can straddle the end of a RAM or ROM region.
pub const REGION_ALIGN: u64 = 8;

#[derive(Debug)]
struct Pending {
    name: String,
    start: GuestPhysAddr,
    size: u64,
    kind: RegionKind,
    backing: Option<GuestRam>,
}

/// Builds a [`PhysMemory`]: add regions in any order, then [`build`](Self::build).
///
/// `build` rejects zero-sized regions, regions that run past the top of the address space, RAM/ROM
/// regions not aligned to [`REGION_ALIGN`] and overlapping regions, each with an [`Error`] naming the
/// region; only a valid map allocates host memory.
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PhysMemoryBuilder {
    pending: Vec<Pending>,
}

impl PhysMemoryBuilder {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, name: String, start: GuestPhysAddr, size: u64, kind: RegionKind) -> Self {
        self.pending.push(Pending {
            name,
            start,
            size,
            kind,
            backing: None,
        });
        self
    }

    /// Adds `size` bytes of zeroed RAM at `start`.
    pub fn ram(self, name: impl Into<String>, start: GuestPhysAddr, size: u64) -> Self {
        self.push(name.into(), start, size, RegionKind::Ram)
    }

    /// Adds RAM at `start` backed by an existing block (one already bound to a NUMA node, say); the
    /// region's size is the block's size.
    pub fn ram_with_backing(
        mut self,
        name: impl Into<String>,
        start: GuestPhysAddr,
        backing: GuestRam,
    ) -> Self {
        let size = backing.size();
        self.pending.push(Pending {
            name: name.into(),
            start,
            size,
            kind: RegionKind::Ram,
            backing: Some(backing),
        });
        self
    }

    /// Adds `size` bytes of zeroed ROM at `start`; fill it with
    /// [`PhysMemory::load_image`](crate::PhysMemory::load_image).
    pub fn rom(self, name: impl Into<String>, start: GuestPhysAddr, size: u64) -> Self {
        self.push(name.into(), start, size, RegionKind::Rom)
    }

    /// Reserves `size` bytes at `start` for memory-mapped devices.
    pub fn mmio(self, name: impl Into<String>, start: GuestPhysAddr, size: u64) -> Self {
        self.push(name.into(), start, size, RegionKind::Mmio)
    }

    /// Checks the map and allocates host memory for its RAM and ROM regions.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroSizedRegion`], [`Error::RegionWraps`], [`Error::MisalignedRegion`] or
    /// [`Error::Overlap`] for a bad map (checked in the order the regions were added, then by address);
    /// the allocation errors of [`GuestRam::new`] when the host has no room.
    pub fn build(self) -> Result<PhysMemory> {
        let mut checked = Vec::with_capacity(self.pending.len());
        for p in self.pending {
            if p.size == 0 {
                return Err(Error::ZeroSizedRegion {
                    name: p.name,
                    start: p.start,
                });
            }
            let Some(range) = GuestPhysRange::new(p.start, p.size) else {
                return Err(Error::RegionWraps {
                    name: p.name,
                    start: p.start,
                    size: p.size,
                });
            };
            if p.kind.is_memory()
                && !(p.start.is_aligned(REGION_ALIGN) && p.size.is_multiple_of(REGION_ALIGN))
            {
                return Err(Error::MisalignedRegion {
                    name: p.name,
                    start: p.start,
                    size: p.size,
                    align: REGION_ALIGN,
                });
            }
            checked.push((range, p));
        }
        // Stable sort: of two regions at the same start, the one added later is reported.
        checked.sort_by_key(|(range, _)| range.start);
        // With the ranges sorted and the earlier ones disjoint, the previous range reaches furthest, so a
        // new range overlaps an earlier one exactly when it overlaps the previous one.
        for pair in checked.windows(2) {
            if let [(prev_range, prev), (range, p)] = pair
                && range.overlaps(prev_range)
            {
                return Err(Error::Overlap {
                    name: p.name.clone(),
                    start: p.start,
                    size: p.size,
                    other: prev.name.clone(),
                    other_start: prev.start,
                    other_size: prev.size,
                });
            }
        }
        let mut regions = Vec::with_capacity(checked.len());
        for (range, p) in checked {
            let backing = match (p.kind.is_memory(), p.backing) {
                (true, Some(b)) => Some(b),
                (true, None) => Some(GuestRam::new(p.size)?),
                (false, _) => None,
            };
            regions.push(Region {
                name: p.name,
                range,
                kind: p.kind,
                backing,
            });
        }
        Ok(PhysMemory::from_sorted(regions))
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    fn gpa(a: u64) -> GuestPhysAddr {
        GuestPhysAddr(a)
    }

    #[test]
    fn zero_sized_region_is_rejected() {
        let err = PhysMemoryBuilder::new()
            .mmio("uart", gpa(0x1000), 0)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::ZeroSizedRegion {
                name: "uart".into(),
                start: gpa(0x1000)
            }
        );
    }

    #[test]
    fn wrapping_region_is_rejected_but_top_region_is_fine() {
        let err = PhysMemoryBuilder::new()
            .mmio("top", gpa(u64::MAX - 7), 9)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::RegionWraps {
                name: "top".into(),
                start: gpa(u64::MAX - 7),
                size: 9
            }
        );
        let m = PhysMemoryBuilder::new()
            .ram("top", gpa(u64::MAX - 7), 8)
            .build()
            .unwrap();
        assert_eq!(m.regions().len(), 1);
    }

    #[test]
    fn misaligned_memory_is_rejected_but_mmio_may_be_unaligned() {
        let err = PhysMemoryBuilder::new()
            .rom("rom", gpa(0x1004), 0x100)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::MisalignedRegion {
                name: "rom".into(),
                start: gpa(0x1004),
                size: 0x100,
                align: 8
            }
        );
        let err = PhysMemoryBuilder::new()
            .ram("ram", gpa(0x1000), 0x101)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::MisalignedRegion { size: 0x101, .. }));
        assert!(
            PhysMemoryBuilder::new()
                .mmio("dev", gpa(0x1003), 3)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn overlap_names_both_regions() {
        let err = PhysMemoryBuilder::new()
            .ram("high", gpa(0x8000), 0x1000)
            .ram("low", gpa(0x0), 0x1000)
            .mmio("dev", gpa(0x8ff0), 0x20)
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::Overlap {
                name: "dev".into(),
                start: gpa(0x8ff0),
                size: 0x20,
                other: "high".into(),
                other_start: gpa(0x8000),
                other_size: 0x1000,
            }
        );
        assert_eq!(
            err.to_string(),
            "Region `dev` at 0x8ff0 (size 0x20) overlaps region `high` at 0x8000 (size 0x1000)"
        );
    }

    #[test]
    fn region_inside_another_is_found() {
        let err = PhysMemoryBuilder::new()
            .ram("big", gpa(0), 0x10000)
            .mmio("late", gpa(0x9000), 0x10)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Overlap { ref name, ref other, .. } if name == "late" && other == "big")
        );
    }

    #[test]
    fn same_start_reports_the_later_addition() {
        let err = PhysMemoryBuilder::new()
            .mmio("first", gpa(0x100), 0x10)
            .mmio("second", gpa(0x100), 0x10)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Overlap { ref name, .. } if name == "second"));
    }

    #[test]
    fn adjacent_regions_are_fine_and_sorted() {
        let m = PhysMemoryBuilder::new()
            .ram("ram", gpa(0x2000), 0x1000)
            .rom("rom", gpa(0x1000), 0x1000)
            .mmio("dev", gpa(0x3000), 0x10)
            .build()
            .unwrap();
        let names: Vec<&str> = m.regions().iter().map(Region::name).collect();
        assert_eq!(names, ["rom", "ram", "dev"]);
    }

    #[test]
    fn supplied_backing_sets_the_size() {
        let ram = GuestRam::new(0x3000).unwrap();
        let host = ram.as_ptr();
        let m = PhysMemoryBuilder::new()
            .ram_with_backing("ram", gpa(0x4000), ram)
            .build()
            .unwrap();
        let r = &m.regions()[0];
        assert_eq!(
            (r.start(), r.size(), r.kind()),
            (gpa(0x4000), 0x3000, RegionKind::Ram)
        );
        assert_eq!(r.backing().map(GuestRam::as_ptr), Some(host));
    }
}
