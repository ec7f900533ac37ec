//! Guest and host-side accesses to a `PhysMemory` map: bounds, ROM, MMIO, region crossings, host slices.

use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory, MemFault};
use vm_mem::{Error, PhysMemory, RegionKind};

fn gpa(a: u64) -> GuestPhysAddr {
    GuestPhysAddr(a)
}

/// 0x1000..0x2000 ROM, 0x2000..0x4000 RAM (adjacent), hole, 0x5000..0x5100 MMIO, hole,
/// 0x8000..0x9000 RAM.
fn map() -> PhysMemory {
    PhysMemory::builder()
        .ram("ram-hi", gpa(0x8000), 0x1000)
        .mmio("uart", gpa(0x5000), 0x100)
        .ram("ram", gpa(0x2000), 0x2000)
        .rom("rom", gpa(0x1000), 0x1000)
        .build()
        .unwrap()
}

fn unmapped(a: u64) -> MemFault {
    MemFault::Unmapped { addr: gpa(a) }
}

#[test]
fn last_byte_is_accessible_one_past_is_not() {
    let m = map();
    m.write_u8(gpa(0x8fff), 0xab).unwrap();
    assert_eq!(m.read_u8(gpa(0x8fff)), Ok(0xab));
    assert_eq!(m.read_u8(gpa(0x9000)), Err(unmapped(0x9000)));
    assert_eq!(m.write_u8(gpa(0x9000), 1), Err(unmapped(0x9000)));
    m.write_u64(gpa(0x8ff8), 0x0102_0304_0506_0708).unwrap();
    assert_eq!(m.read_u64(gpa(0x8ff8)), Ok(0x0102_0304_0506_0708));
    // Each wider access that pokes past the end names the end, the first byte that is not backed.
    for (addr, size) in [
        (0x8fff, AccessSize::U16),
        (0x8ffe, AccessSize::U32),
        (0x8ff9, AccessSize::U64),
    ] {
        assert_eq!(
            m.read_sized(gpa(addr), size),
            Err(unmapped(0x9000)),
            "read {addr:#x}"
        );
        assert_eq!(
            m.write_sized(gpa(addr), size, 0),
            Err(unmapped(0x9000)),
            "write {addr:#x}"
        );
    }
    // The failed writes changed nothing.
    assert_eq!(m.read_u64(gpa(0x8ff8)), Ok(0x0102_0304_0506_0708));
    // Below the first region and inside holes.
    assert_eq!(m.read_u8(gpa(0xfff)), Err(unmapped(0xfff)));
    assert_eq!(m.read_u32(gpa(0x4000)), Err(unmapped(0x4000)));
    assert_eq!(m.read_u8(gpa(u64::MAX)), Err(unmapped(u64::MAX)));
}

#[test]
fn accesses_wrapping_the_address_space_fault_at_their_start() {
    let m = PhysMemory::builder()
        .ram("top", gpa(u64::MAX - 7), 8)
        .build()
        .unwrap();
    m.write_u64(gpa(u64::MAX - 7), u64::MAX).unwrap();
    assert_eq!(m.read_u8(gpa(u64::MAX)), Ok(0xff));
    assert_eq!(m.read_u16(gpa(u64::MAX)), Err(unmapped(u64::MAX)));
    assert_eq!(
        m.write(gpa(u64::MAX - 1), &[0; 4]),
        Err(unmapped(u64::MAX - 1))
    );
    assert_eq!(m.read_u64(gpa(u64::MAX - 7)), Ok(u64::MAX));
}

#[test]
fn rom_is_read_only_for_the_guest_but_loadable_by_the_host() {
    let m = map();
    m.load_image(gpa(0x1ffc), &[1, 2, 3, 4]).unwrap();
    assert_eq!(m.read_u32(gpa(0x1ffc)), Ok(0x0403_0201));
    let denied = MemFault::Denied {
        addr: gpa(0x1ffc),
        kind: AccessKind::Write,
    };
    assert_eq!(m.write_u32(gpa(0x1ffc), 0), Err(denied));
    assert_eq!(m.write(gpa(0x1ffc), &[9]), Err(denied));
    assert_eq!(m.read_u32(gpa(0x1ffc)), Ok(0x0403_0201));
    assert_eq!(
        m.compare_exchange(gpa(0x1ffc), AccessSize::U32, 0x0403_0201, 0),
        Err(MemFault::Denied {
            addr: gpa(0x1ffc),
            kind: AccessKind::Atomic
        })
    );
}

#[test]
fn mmio_windows_are_unmapped_at_this_layer() {
    let m = map();
    assert_eq!(m.read_u32(gpa(0x5000)), Err(unmapped(0x5000)));
    assert_eq!(m.write_u8(gpa(0x50ff), 1), Err(unmapped(0x50ff)));
    assert_eq!(
        m.compare_exchange(gpa(0x5008), AccessSize::U64, 0, 1),
        Err(unmapped(0x5008))
    );
    assert!(m.host_slice(gpa(0x5000)).is_none());
    let uart = m.region_at(gpa(0x5080)).unwrap();
    assert_eq!(
        (uart.name(), uart.kind(), uart.size()),
        ("uart", RegionKind::Mmio, 0x100)
    );
    assert!(uart.backing().is_none());
}

#[test]
fn accesses_span_adjacent_regions() {
    let m = map();
    // ROM 0x1000..0x2000 is followed directly by RAM: reads cross, writes stop at the ROM.
    m.load_image(gpa(0x1ffe), &[0xaa, 0xbb, 0xcc, 0xdd])
        .unwrap();
    assert_eq!(m.read_u32(gpa(0x1ffe)), Ok(0xddcc_bbaa));
    let mut buf = [0u8; 6];
    m.read(gpa(0x1ffd), &mut buf).unwrap();
    assert_eq!(buf, [0, 0xaa, 0xbb, 0xcc, 0xdd, 0]);
    assert_eq!(
        m.write_u32(gpa(0x1ffe), 0),
        Err(MemFault::Denied {
            addr: gpa(0x1ffe),
            kind: AccessKind::Write
        })
    );
    // All or nothing: the RAM half of the failed write was not written either.
    assert_eq!(m.read_u16(gpa(0x2000)), Ok(0xddcc));
    // RAM runs into a hole: the fault names the hole's first address and nothing is written.
    assert_eq!(m.write(gpa(0x3ffe), &[1, 2, 3]), Err(unmapped(0x4000)));
    assert_eq!(m.read_u16(gpa(0x3ffe)), Ok(0));
    // One access over ROM, RAM and into the hole: the ROM byte comes first and wins.
    let big = vec![7u8; 0x3000];
    assert_eq!(
        m.write(gpa(0x1fff), &big),
        Err(MemFault::Denied {
            addr: gpa(0x1fff),
            kind: AccessKind::Write
        })
    );
    let mut big = vec![0u8; 0x2002];
    assert_eq!(m.read(gpa(0x1fff), &mut big), Err(unmapped(0x4000)));
    let mut big = vec![0u8; 0x2001];
    m.read(gpa(0x1fff), &mut big).unwrap();
    assert_eq!(&big[..5], [0xbb, 0xcc, 0xdd, 0, 0]);
}

#[test]
fn zero_length_accesses_succeed_anywhere() {
    let m = map();
    assert_eq!(m.read(gpa(0x4000), &mut []), Ok(()));
    assert_eq!(m.write(gpa(0x1000), &[]), Ok(()));
    assert_eq!(m.load_image(gpa(u64::MAX), &[]), Ok(()));
}

#[test]
fn host_slices_cover_whole_memory_regions() {
    let m = map();
    let ram = m.host_slice(gpa(0x3abc)).unwrap();
    assert_eq!(
        (ram.gpa, ram.len, ram.writable),
        (gpa(0x2000), 0x2000, true)
    );
    let rom = m.host_slice(gpa(0x1000)).unwrap();
    assert_eq!(
        (rom.gpa, rom.len, rom.writable),
        (gpa(0x1000), 0x1000, false)
    );
    assert!(m.host_slice(gpa(0x4000)).is_none());
    assert_eq!(
        ram.host,
        m.region_at(gpa(0x2000))
            .unwrap()
            .backing()
            .unwrap()
            .as_ptr()
    );

    // The host pointer aliases guest memory, both ways.
    m.write_u32(gpa(0x2010), 0xcafe_f00d).unwrap();
    let word = ram.host.wrapping_add(0x10).cast::<u32>();
    // SAFETY: offset 0x10 + 4 bytes is inside the 0x2000-byte slice; `m` outlives the access.
    let seen = unsafe { word.read_unaligned() };
    assert_eq!(u32::from_le(seen), 0xcafe_f00d);
    let half = ram.host.wrapping_add(0x20).cast::<u16>();
    // SAFETY: offset 0x20 + 2 bytes is inside the writable slice; `m` outlives the access.
    unsafe { half.write_unaligned(0xbeef_u16.to_le()) };
    assert_eq!(m.read_u16(gpa(0x2020)), Ok(0xbeef));
}

#[test]
fn host_side_loads_and_fills_report_unbacked_ranges() {
    let m = map();
    m.fill(gpa(0x1000), 0x3000, 0x5a).unwrap();
    assert_eq!(m.read_u64(gpa(0x1ffc)), Ok(0x5a5a_5a5a_5a5a_5a5a));
    assert_eq!(m.read_u8(gpa(0x3fff)), Ok(0x5a));
    m.zero(gpa(0x1ff8), 0x10).unwrap();
    assert_eq!(m.read_u64(gpa(0x1ff8)), Ok(0));
    assert_eq!(m.read_u64(gpa(0x2000)), Ok(0));
    assert_eq!(m.read_u8(gpa(0x2008)), Ok(0x5a));

    assert_eq!(
        m.load_image(gpa(0x3ff0), &[1; 0x20]),
        Err(Error::NotBacked {
            addr: gpa(0x3ff0),
            len: 0x20,
            at: gpa(0x4000)
        })
    );
    assert_eq!(m.read_u8(gpa(0x3ff0)), Ok(0x5a), "nothing was written");
    assert_eq!(
        m.fill(gpa(0x5000), 1, 0),
        Err(Error::NotBacked {
            addr: gpa(0x5000),
            len: 1,
            at: gpa(0x5000)
        })
    );
    assert_eq!(
        m.fill(gpa(u64::MAX), 2, 0),
        Err(Error::RangeWraps {
            addr: gpa(u64::MAX),
            len: 2
        })
    );
    assert_eq!(
        Error::NotBacked {
            addr: gpa(0x3ff0),
            len: 0x20,
            at: gpa(0x4000)
        }
        .to_string(),
        "Range 0x3ff0 + 0x20 is not backed by RAM or ROM at 0x4000"
    );
}

#[test]
fn sized_accesses_are_little_endian_at_any_alignment() {
    let m = map();
    m.write_u64(gpa(0x2003), 0x8877_6655_4433_2211).unwrap();
    let mut raw = [0u8; 8];
    m.read(gpa(0x2003), &mut raw).unwrap();
    assert_eq!(raw, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    assert_eq!(m.read_u16(gpa(0x2004)), Ok(0x3322));
    assert_eq!(m.read_u32(gpa(0x2007)), Ok(0x8877_6655));
    assert_eq!(m.read_sized(gpa(0x2003), AccessSize::U8), Ok(0x11));
    m.write_sized(gpa(0x2003), AccessSize::U16, 0xffff_0000)
        .unwrap();
    assert_eq!(m.read_u32(gpa(0x2003)), Ok(0x4433_0000));
}

#[test]
fn memory_map_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PhysMemory>();
    assert_send_sync::<vm_mem::GuestRam>();
}
