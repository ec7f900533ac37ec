//! [`PhysMemory`]: the guest physical address space of one VM, as a map of RAM, ROM and MMIO regions.

use alloc::vec::Vec;

use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory, HostSlice, MemFault};

use crate::builder::PhysMemoryBuilder;
use crate::error::{Error, Result};
use crate::ram::GuestRam;
use crate::region::{Region, RegionKind};

/// The part of an access that falls inside one region.
#[derive(Copy, Clone)]
struct Piece<'a> {
    region: &'a Region,
    /// Guest address of the piece's first byte.
    addr: u64,
    /// Offset of the piece inside the whole access.
    done: u64,
    /// Length of the piece.
    len: u64,
}

impl Piece<'_> {
    fn offset(&self) -> u64 {
        self.region.offset_of(self.addr)
    }

    /// The piece's bytes inside a buffer that holds the whole access.
    fn within<'b, T>(&self, buf: &'b [T]) -> Option<&'b [T]> {
        buf.get(usize::try_from(self.done).ok()?..usize::try_from(self.done + self.len).ok()?)
    }

    fn within_mut<'b, T>(&self, buf: &'b mut [T]) -> Option<&'b mut [T]> {
        buf.get_mut(usize::try_from(self.done).ok()?..usize::try_from(self.done + self.len).ok()?)
    }
}

/// The guest physical memory map of one VM: RAM, ROM and MMIO windows with holes between them.
///
/// Build one with [`PhysMemory::builder`]. It implements [`GuestMemory`] for the guest's view (rules
/// below) and offers host-side loaders ([`load_image`](Self::load_image), [`fill`](Self::fill)) that may
/// also write ROM. It is `Send + Sync`: share it between vCPU threads in an `Arc`.
///
/// # Access rules
///
/// - Values are little-endian. Reads may touch RAM and ROM; guest writes only RAM.
/// - A read or write may span several *adjacent* regions. It succeeds when every byte it touches is
///   accessible, and otherwise fails **before touching any byte** with the fault of the lowest
///   inaccessible byte: [`MemFault::Denied`] (kind [`AccessKind::Write`]) for a ROM byte written,
///   [`MemFault::Unmapped`] for a byte in a hole or an MMIO window. The fault names that byte's address,
///   so reading 4 bytes 2 bytes before the end of RAM faults at the end of RAM.
/// - An access that would run past the top of the 64-bit address space faults with
///   [`MemFault::Unmapped`] at the access's own address.
/// - A zero-length access touches nothing and succeeds wherever it is.
/// - `read_sized`/`write_sized` inside one region use one typed host load or store (one instruction on
///   x86-64 and AArch64 hosts), so naturally aligned accesses do not tear, as guest architectures expect.
/// - [`compare_exchange`](GuestMemory::compare_exchange) needs a naturally aligned address
///   ([`MemFault::Misaligned`] otherwise, checked first), RAM ([`MemFault::Denied`] with kind
///   [`AccessKind::Atomic`] on ROM, [`MemFault::Unmapped`] elsewhere), and is a host atomic operation, so
///   it is atomic against every other vCPU thread.
///
/// Region lookup is a binary search over the regions sorted by address (O(log n)); engines cache
/// [`host_slice`](GuestMemory::host_slice) results for their fast paths, so lookups are off the hot path.
#[derive(Debug)]
pub struct PhysMemory {
    /// Sorted by start address, pairwise disjoint.
    regions: Vec<Region>,
}

impl PhysMemory {
    /// A builder for a new memory map.
    pub fn builder() -> PhysMemoryBuilder {
        PhysMemoryBuilder::new()
    }

    /// `regions` must be sorted by start and pairwise disjoint (the builder guarantees it).
    pub(crate) fn from_sorted(regions: Vec<Region>) -> Self {
        Self { regions }
    }

    /// All regions, sorted by address.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Index of the region containing `addr`.
    #[inline]
    fn index_of(&self, addr: u64) -> Option<usize> {
        let i = self
            .regions
            .partition_point(|r| r.start().0 <= addr)
            .checked_sub(1)?;
        let r = self.regions.get(i)?;
        r.range().contains(GuestPhysAddr(addr)).then_some(i)
    }

    /// The region containing `addr`, if any.
    #[inline]
    pub fn region_at(&self, addr: GuestPhysAddr) -> Option<&Region> {
        self.index_of(addr.0).and_then(|i| self.regions.get(i))
    }

    /// Total bytes of RAM (not counting ROM).
    pub fn ram_size(&self) -> u64 {
        self.regions
            .iter()
            .filter(|r| r.kind() == RegionKind::Ram)
            .map(Region::size)
            .sum()
    }

    /// Walks `[addr, addr + len)` (`len > 0`, not wrapping) region by region in address order, calling `f`
    /// on each piece. Stops at the first byte no region covers, returning `gap(that address)`, or at the
    /// first error of `f`.
    fn walk<'a, E>(
        &'a self,
        addr: u64,
        len: u64,
        gap: impl Fn(u64) -> E,
        mut f: impl FnMut(Piece<'a>) -> core::result::Result<(), E>,
    ) -> core::result::Result<(), E> {
        let mut idx = self.index_of(addr).ok_or_else(|| gap(addr))?;
        let mut done = 0;
        loop {
            let cur = addr + done;
            let region = self.regions.get(idx).ok_or_else(|| gap(cur))?;
            let n = region.remaining_from(cur).min(len - done);
            f(Piece {
                region,
                addr: cur,
                done,
                len: n,
            })?;
            done += n;
            if done >= len {
                return Ok(());
            }
            // Regions are sorted and disjoint: the only one that can hold the next byte is the next one.
            let next = addr + done;
            idx += 1;
            match self.regions.get(idx) {
                Some(r) if r.start().0 == next => {}
                _ => return Err(gap(next)),
            }
        }
    }

    /// Applies `op` to every piece of a guest access after checking that `allowed` accepts every piece.
    fn guest_access<'a>(
        &'a self,
        addr: GuestPhysAddr,
        len: u64,
        allowed: impl Fn(&Piece<'a>) -> core::result::Result<(), MemFault>,
        mut op: impl FnMut(&Piece<'a>, &'a GuestRam) -> Option<()>,
    ) -> core::result::Result<(), MemFault> {
        if len == 0 {
            return Ok(());
        }
        if addr.checked_add(len - 1).is_none() {
            return Err(MemFault::Unmapped { addr });
        }
        let gap = |a| MemFault::Unmapped {
            addr: GuestPhysAddr(a),
        };
        let apply = |p: &Piece<'a>, op: &mut dyn FnMut(&Piece<'a>, &'a GuestRam) -> Option<()>| {
            // `allowed` accepted the piece, so it has a backing and lies inside it; the `None`s below
            // are unreachable, and mapped to a fault rather than a panic.
            let ram = p.region.backing().ok_or(gap(p.addr))?;
            op(p, ram).ok_or(gap(p.addr))
        };
        // Fast path: the whole access inside one region.
        if let Some(region) = self.region_at(addr)
            && region.remaining_from(addr.0) >= len
        {
            let p = Piece {
                region,
                addr: addr.0,
                done: 0,
                len,
            };
            allowed(&p)?;
            return apply(&p, &mut op);
        }
        self.walk(addr.0, len, gap, |p| allowed(&p))?;
        self.walk(addr.0, len, gap, |p| apply(&p, &mut op))
    }

    /// Host-side counterpart of `guest_access`: RAM and ROM are both writable, anything else is an error.
    fn host_access<'a>(
        &'a self,
        addr: GuestPhysAddr,
        len: u64,
        mut op: impl FnMut(&Piece<'a>, &'a GuestRam) -> Result<()>,
    ) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        if addr.checked_add(len - 1).is_none() {
            return Err(Error::RangeWraps { addr, len });
        }
        let gap = |a| Error::NotBacked {
            addr,
            len,
            at: GuestPhysAddr(a),
        };
        self.walk(addr.0, len, gap, |p| {
            p.region.backing().map(|_| ()).ok_or(gap(p.addr))
        })?;
        self.walk(addr.0, len, gap, |p| {
            op(&p, p.region.backing().ok_or(gap(p.addr))?)
        })
    }

    /// Copies `image` into guest memory at `addr`, RAM or ROM alike (for firmware, kernel and ELF
    /// loaders). The range may span adjacent regions.
    ///
    /// # Errors
    ///
    /// [`Error::NotBacked`] naming the first address that is a hole or an MMIO window, or
    /// [`Error::RangeWraps`]; nothing is written then.
    pub fn load_image(&self, addr: GuestPhysAddr, image: &[u8]) -> Result<()> {
        let len = image.len() as u64;
        self.host_access(addr, len, |p, ram| {
            let src = p.within(image).ok_or(Error::RangeWraps { addr, len })?;
            ram.write(p.offset(), src)
        })
    }

    /// Sets `len` bytes at `addr` to `byte`, RAM or ROM alike.
    ///
    /// # Errors
    ///
    /// As [`load_image`](Self::load_image).
    pub fn fill(&self, addr: GuestPhysAddr, len: u64, byte: u8) -> Result<()> {
        self.host_access(addr, len, |p, ram| ram.fill(p.offset(), p.len, byte))
    }

    /// Sets `len` bytes at `addr` to zero, RAM or ROM alike.
    ///
    /// # Errors
    ///
    /// As [`load_image`](Self::load_image).
    pub fn zero(&self, addr: GuestPhysAddr, len: u64) -> Result<()> {
        self.fill(addr, len, 0)
    }
}

/// Guest reads may touch RAM and ROM.
fn readable(p: &Piece<'_>) -> core::result::Result<(), MemFault> {
    match p.region.kind() {
        RegionKind::Ram | RegionKind::Rom => Ok(()),
        RegionKind::Mmio => Err(MemFault::Unmapped {
            addr: GuestPhysAddr(p.addr),
        }),
    }
}

/// Guest writes may touch RAM only.
fn writable(p: &Piece<'_>) -> core::result::Result<(), MemFault> {
    let addr = GuestPhysAddr(p.addr);
    match p.region.kind() {
        RegionKind::Ram => Ok(()),
        RegionKind::Rom => Err(MemFault::Denied {
            addr,
            kind: AccessKind::Write,
        }),
        RegionKind::Mmio => Err(MemFault::Unmapped { addr }),
    }
}

impl GuestMemory for PhysMemory {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> core::result::Result<(), MemFault> {
        let len = buf.len() as u64;
        self.guest_access(addr, len, readable, |p, ram| {
            ram.read(p.offset(), p.within_mut(buf)?).ok()
        })
    }

    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> core::result::Result<(), MemFault> {
        let len = buf.len() as u64;
        self.guest_access(addr, len, writable, |p, ram| {
            ram.write(p.offset(), p.within(buf)?).ok()
        })
    }

    #[inline]
    fn host_slice(&self, addr: GuestPhysAddr) -> Option<HostSlice> {
        self.region_at(addr)?.host_slice()
    }

    #[inline]
    fn read_sized(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
    ) -> core::result::Result<u64, MemFault> {
        if let Some(r) = self.region_at(addr)
            && let Some(ram) = r.backing()
            && let Some(v) = ram.load_le(r.offset_of(addr.0), size)
        {
            return Ok(v);
        }
        // Crossing a region boundary, or not memory: the general path finds the right fault.
        let mut b = [0u8; 8];
        self.read(addr, b.get_mut(..size.bytes()).unwrap_or_default())?;
        Ok(u64::from_le_bytes(b))
    }

    #[inline]
    fn write_sized(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        value: u64,
    ) -> core::result::Result<(), MemFault> {
        if let Some(r) = self.region_at(addr)
            && r.kind() == RegionKind::Ram
            && let Some(ram) = r.backing()
            && ram.store_le(r.offset_of(addr.0), size, value)
        {
            return Ok(());
        }
        let bytes = value.to_le_bytes();
        self.write(addr, bytes.get(..size.bytes()).unwrap_or_default())
    }

    fn compare_exchange(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> core::result::Result<core::result::Result<u64, u64>, MemFault> {
        if !addr.is_aligned(size.bytes() as u64) {
            return Err(MemFault::Misaligned { addr, size });
        }
        let region = self.region_at(addr).ok_or(MemFault::Unmapped { addr })?;
        match (region.kind(), region.backing()) {
            (RegionKind::Ram, Some(ram)) => ram
                .compare_exchange_le(region.offset_of(addr.0), size, current, new)
                // Unreachable: RAM regions are `REGION_ALIGN`-aligned and their backings page-aligned.
                .ok_or(MemFault::Misaligned { addr, size }),
            (RegionKind::Rom, _) => Err(MemFault::Denied {
                addr,
                kind: AccessKind::Atomic,
            }),
            _ => Err(MemFault::Unmapped { addr }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> PhysMemory {
        PhysMemory::builder()
            .ram("a", GuestPhysAddr(0x1000), 0x1000)
            .rom("b", GuestPhysAddr(0x2000), 0x1000)
            .ram("c", GuestPhysAddr(0x4000), 0x1000)
            .mmio("d", GuestPhysAddr(0x5000), 0x10)
            .build()
            .unwrap()
    }

    #[test]
    fn lookup_finds_exact_edges() {
        let m = map();
        let name = |a| m.region_at(GuestPhysAddr(a)).map(Region::name);
        assert_eq!(name(0xfff), None);
        assert_eq!(name(0x1000), Some("a"));
        assert_eq!(name(0x1fff), Some("a"));
        assert_eq!(name(0x2000), Some("b"));
        assert_eq!(name(0x3000), None);
        assert_eq!(name(0x500f), Some("d"));
        assert_eq!(name(0x5010), None);
        assert_eq!(name(u64::MAX), None);
        assert_eq!(m.ram_size(), 0x2000);
    }

    #[test]
    fn walk_reports_the_first_gap() {
        let m = map();
        let mut pieces = Vec::new();
        let r = m.walk(
            0x1ffe,
            0x2004,
            |a| a,
            |p| {
                pieces.push((p.addr, p.done, p.len));
                Ok(())
            },
        );
        assert_eq!(r, Err(0x3000));
        assert_eq!(pieces, [(0x1ffe, 0, 2), (0x2000, 2, 0x1000)]);
    }
}
