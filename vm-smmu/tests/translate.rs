//! DMA translation through real stream tables, context descriptors and page tables in guest memory.

#![cfg(feature = "mmu")]

mod common;

use common::*;
use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;
use vm_core::mem::{AccessKind, AccessSize};
use vm_smmu::{Access, FaultKind, FaultStage, Permissions, Smmu, SmmuConfig, Translation, regs};

const RW: Permissions = Permissions {
    read: true,
    write: true,
    execute: false,
};
const PAGE_ATTRS: u64 = AF | AP_EL0 | UXN | PXN | NG;

/// Stream 1: stage 1, one CD (ASID 5), 4 KiB granule, 48-bit VAs.
fn s1_setup() -> (std::sync::Arc<Mem>, Smmu, Alloc, Tables) {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::s1(&mut alloc, 12, 48);
    let cd_addr = alloc.take(64);
    write_words(&mem, cd_addr, &cd(5, t.root, 16, 0));
    write_ste(&mem, 1, ste_s1(cd_addr, 0, 0, 0));
    let s = smmu(&mem);
    (mem, s, alloc, t)
}

fn s1_fault(level: u8) -> FaultKind {
    FaultKind::Translation {
        stage: FaultStage::Stage1,
        level,
    }
}

#[test]
fn stage1_pages_and_blocks() {
    let (mem, mut s, mut alloc, t) = s1_setup();
    t.map(
        &mem,
        &mut alloc,
        0x1234_5678_9000,
        0x8_7654_3000,
        3,
        PAGE_ATTRS,
    );
    t.map(&mem, &mut alloc, 0x4000_0000, 0x1_2340_0000, 2, PAGE_ATTRS);
    t.map(
        &mem,
        &mut alloc,
        0x80_0000_0000,
        0x40_0000_0000,
        1,
        PAGE_ATTRS,
    );
    assert_eq!(
        s.translate(1, None, 0x1234_5678_9abc, Access::read()),
        Ok(Translation {
            iova: 0x1234_5678_9abc,
            addr: GuestPhysAddr(0x8_7654_3abc),
            size: 4096,
            permissions: RW,
        })
    );
    let t2 = s.translate(1, None, 0x4012_3456, Access::write()).unwrap();
    assert_eq!((t2.addr, t2.size), (GuestPhysAddr(0x1_2352_3456), 2 << 20));
    let t3 = s
        .translate(1, None, 0x80_1234_5678, Access::read())
        .unwrap();
    assert_eq!((t3.addr, t3.size), (GuestPhysAddr(0x40_1234_5678), 1 << 30));
}

#[test]
fn stage1_translation_faults() {
    let (mem, mut s, mut alloc, t) = s1_setup();
    t.map(
        &mem,
        &mut alloc,
        0x1234_5678_9000,
        0x8_7654_3000,
        3,
        PAGE_ATTRS,
    );
    let kind = |s: &mut Smmu, iova| s.translate(1, None, iova, Access::read()).unwrap_err().kind;
    assert_eq!(kind(&mut s, 0x7000_0000_0000), s1_fault(0));
    assert_eq!(kind(&mut s, 0x1234_5678_a000), s1_fault(3));
    assert_eq!(kind(&mut s, 0x1234_4000_0000), s1_fault(2));
    // Outside the 48-bit TTB0 region (and TTB1 disabled).
    assert_eq!(kind(&mut s, 0x1_0000_0000_0000), s1_fault(0));
    assert_eq!(kind(&mut s, 0xffff_ffff_ffff_f000), s1_fault(0));
    let f = s
        .translate(1, None, 0x7000_0000_0000, Access::write())
        .unwrap_err();
    assert_eq!(
        (f.stream_id, f.substream_id, f.iova),
        (1, None, 0x7000_0000_0000)
    );
    assert_eq!(f.access, Access::write());
    assert!(f.record);
    assert_eq!(s.stats().faults, 6);
}

#[test]
fn stage1_permissions() {
    let (mem, mut s, mut alloc, t) = s1_setup();
    t.map(
        &mem,
        &mut alloc,
        0x1000,
        0x10_1000,
        3,
        AF | AP_EL0 | AP_RO | UXN | PXN,
    );
    t.map(&mem, &mut alloc, 0x2000, 0x10_2000, 3, AF | UXN | PXN);
    t.map(
        &mem,
        &mut alloc,
        0x3000,
        0x10_3000,
        3,
        AF | AP_EL0 | AP_RO | PXN,
    );
    let perm = Err(FaultKind::Permission {
        stage: FaultStage::Stage1,
        level: 3,
    });
    let kind = |s: &mut Smmu, iova, a| s.translate(1, None, iova, a).map_err(|f| f.kind);
    // Read-only page.
    assert!(kind(&mut s, 0x1008, Access::read()).is_ok());
    assert_eq!(kind(&mut s, 0x1008, Access::write()), perm);
    assert_eq!(
        kind(&mut s, 0x1008, Access::new(AccessKind::Atomic, false)),
        perm
    );
    assert_eq!(kind(&mut s, 0x1008, Access::write().privileged()), perm);
    // Privileged-only page.
    assert_eq!(kind(&mut s, 0x2008, Access::read()), perm);
    assert_eq!(
        kind(&mut s, 0x2008, Access::write().privileged())
            .unwrap()
            .addr,
        GuestPhysAddr(0x10_2008)
    );
    // Executable at EL0 only.
    let fetch = Access::new(AccessKind::Fetch, false);
    assert!(kind(&mut s, 0x3000, fetch).is_ok());
    assert_eq!(kind(&mut s, 0x3000, fetch.privileged()), perm);
    assert_eq!(kind(&mut s, 0x1000, fetch), perm);
    let p = kind(&mut s, 0x3000, Access::read()).unwrap().permissions;
    assert_eq!(
        p,
        Permissions {
            read: true,
            write: false,
            execute: true
        }
    );
}

#[test]
fn access_flag_and_address_size_faults() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::s1(&mut alloc, 12, 48);
    let cd_addr = alloc.take(64);
    let mut c = cd(5, t.root, 16, 0);
    c[0] &= !(7 << 32); // IPS = 32 bits
    write_words(&mem, cd_addr, &c);
    write_ste(&mem, 1, ste_s1(cd_addr, 0, 0, 0));
    let mut s = smmu(&mem);
    t.map(&mem, &mut alloc, 0x1000, 0x5000, 3, AP_EL0);
    t.map(&mem, &mut alloc, 0x2000, 0x1_0000_0000, 3, AF | AP_EL0);
    t.map(&mem, &mut alloc, 0x3000, 0xffff_f000, 3, AF | AP_EL0);
    let kind = |s: &mut Smmu, iova| {
        s.translate(1, None, iova, Access::read())
            .map_err(|f| f.kind)
    };
    assert_eq!(
        kind(&mut s, 0x1000),
        Err(FaultKind::AccessFlag {
            stage: FaultStage::Stage1,
            level: 3
        })
    );
    assert_eq!(
        kind(&mut s, 0x2000),
        Err(FaultKind::AddressSize {
            stage: FaultStage::Stage1,
            level: 3
        })
    );
    assert_eq!(
        kind(&mut s, 0x3ff0).unwrap().addr,
        GuestPhysAddr(0xffff_fff0)
    );
}

#[test]
fn ttb1_upper_region_and_tbi() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t0 = Tables::s1(&mut alloc, 12, 39);
    let t1 = Tables::s1(&mut alloc, 12, 39);
    let cd_addr = alloc.take(64);
    let mut c = cd(5, t0.root, 25, 0);
    c[0] &= !(1 << 30); // enable TTB1
    c[0] |= (25 << 16) | (2 << 22) | (1 << 38); // T1SZ = 25, TG1 = 4 KiB, TBI0
    c[2] = t1.root;
    write_words(&mem, cd_addr, &c);
    write_ste(&mem, 1, ste_s1(cd_addr, 0, 0, 0));
    let mut s = smmu(&mem);
    t0.map(&mem, &mut alloc, 0x10_0000, 0x77_0000, 3, PAGE_ATTRS);
    t1.map(
        &mem,
        &mut alloc,
        0xffff_ffc0_0000_0000,
        0x66_0000,
        3,
        PAGE_ATTRS,
    );
    let addr = |s: &mut Smmu, iova| {
        s.translate(1, None, iova, Access::read())
            .map(|t| t.addr.raw())
    };
    assert_eq!(addr(&mut s, 0x10_0010), Ok(0x77_0010));
    assert_eq!(addr(&mut s, 0x5a00_0000_0010_0010), Ok(0x77_0010));
    assert_eq!(addr(&mut s, 0xffff_ffc0_0000_0abc), Ok(0x66_0abc));
    assert_eq!(
        addr(&mut s, 0x00ff_ffc0_0000_0abc).map_err(|f| f.kind),
        Err(s1_fault(0))
    );
}

#[test]
fn granules_16k_and_64k() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t16 = Tables::s1(&mut alloc, 14, 36);
    let t64 = Tables::s1(&mut alloc, 16, 42);
    let cd16 = alloc.take(64);
    let cd64 = alloc.take(64);
    write_words(&mem, cd16, &cd(1, t16.root, 28, 2));
    write_words(&mem, cd64, &cd(2, t64.root, 22, 1));
    write_ste(&mem, 1, ste_s1(cd16, 0, 0, 0));
    write_ste(&mem, 2, ste_s1(cd64, 0, 0, 0));
    let mut s = smmu(&mem);
    t16.map(&mem, &mut alloc, 0x5_0abc_c000, 0x1234_4000, 3, PAGE_ATTRS);
    t16.map(
        &mem,
        &mut alloc,
        0x2_0000_0000,
        0x8_0000_0000,
        2,
        PAGE_ATTRS,
    );
    t64.map(
        &mem,
        &mut alloc,
        0x2_3456_0000,
        0xab_cdef_0000,
        3,
        PAGE_ATTRS,
    );
    t64.map(&mem, &mut alloc, 0x2_4000_0000, 0x6000_0000, 2, PAGE_ATTRS);
    let t = s.translate(1, None, 0x5_0abc_d123, Access::read()).unwrap();
    assert_eq!((t.addr.raw(), t.size), (0x1234_5123, 16 << 10));
    let t = s.translate(1, None, 0x2_01ff_fff8, Access::read()).unwrap();
    assert_eq!((t.addr.raw(), t.size), (0x8_01ff_fff8, 32 << 20));
    let t = s.translate(2, None, 0x2_3456_789a, Access::read()).unwrap();
    assert_eq!((t.addr.raw(), t.size), (0xab_cdef_789a, 64 << 10));
    let t = s.translate(2, None, 0x2_5000_0001, Access::read()).unwrap();
    assert_eq!((t.addr.raw(), t.size), (0x7000_0001, 512 << 20));
}

#[test]
fn ste_configurations() {
    let mem = mem();
    write_ste(&mem, 2, ste_bypass());
    write_ste(&mem, 3, ste_abort());
    write_ste(&mem, 5, [1 | (0b001 << 1), 0, 0, 0, 0, 0, 0, 0]);
    let mut s = smmu(&mem);
    assert_eq!(
        s.translate(2, None, 0xdead_beef, Access::write()),
        Ok(Translation::identity(0xdead_beef))
    );
    let f = s.translate(3, None, 0x1000, Access::read()).unwrap_err();
    assert_eq!(f.kind, FaultKind::Aborted);
    assert!(!f.record);
    let kind = |s: &mut Smmu, sid| {
        s.translate(sid, None, 0x1000, Access::read())
            .unwrap_err()
            .kind
    };
    assert_eq!(kind(&mut s, 4), FaultKind::BadSte);
    assert_eq!(kind(&mut s, 5), FaultKind::BadSte);
    assert_eq!(kind(&mut s, 64), FaultKind::BadStreamId);
    assert_eq!(kind(&mut s, u32::MAX), FaultKind::BadStreamId);
    // Stage-1 STE whose CD pointer is outside guest memory.
    write_ste(&mem, 6, ste_s1(MEM_SIZE, 0, 0, 0));
    assert_eq!(
        kind(&mut s, 6),
        FaultKind::CdFetch {
            fetch_addr: MEM_SIZE
        }
    );
}

#[test]
fn disabled_smmu_follows_gbpa() {
    let mem = mem();
    let mut s = Smmu::new(mem.clone(), SmmuConfig::default()).unwrap();
    assert_eq!(
        s.translate(7, None, 0x4321, Access::read()),
        Ok(Translation::identity(0x4321))
    );
    s.write(regs::GBPA, AccessSize::U32, u64::from(regs::GBPA_ABORT));
    assert_eq!(
        s.read(regs::GBPA, AccessSize::U32),
        0,
        "GBPA changes only with UPDATE"
    );
    s.write(
        regs::GBPA,
        AccessSize::U32,
        u64::from(regs::GBPA_ABORT | regs::GBPA_UPDATE),
    );
    assert_eq!(
        s.read(regs::GBPA, AccessSize::U32),
        u64::from(regs::GBPA_ABORT)
    );
    let f = s.translate(7, None, 0x4321, Access::read()).unwrap_err();
    assert_eq!((f.kind, f.record), (FaultKind::Aborted, false));
}

#[test]
fn stream_table_fetch_fault() {
    let mem = mem();
    let mut s = Smmu::new(mem.clone(), SmmuConfig::default()).unwrap();
    s.write(regs::STRTAB_BASE, AccessSize::U64, MEM_SIZE);
    s.write(regs::STRTAB_BASE_CFG, AccessSize::U32, 6);
    s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
    let f = s.translate(3, None, 0, Access::read()).unwrap_err();
    assert_eq!(
        f.kind,
        FaultKind::SteFetch {
            fetch_addr: MEM_SIZE + 3 * 64
        }
    );
    // The stream table cannot be moved while the SMMU is enabled.
    s.write(regs::STRTAB_BASE, AccessSize::U64, 0x1000);
    assert_eq!(s.read(regs::STRTAB_BASE, AccessSize::U64), MEM_SIZE);
}

#[test]
fn two_level_stream_table() {
    let mem = mem();
    let l1 = 0x2000;
    let l2 = 0x3000;
    // SPLIT = 6: L1 entry 1 covers streams 0x40..0x7f; its L2 table holds 2 STEs (span 2).
    w64(&mem, l1 + 8, l2 | 2);
    write_words(&mem, l2 + 64, &ste_bypass());
    let mut s = Smmu::new(mem.clone(), SmmuConfig::default()).unwrap();
    s.write(regs::STRTAB_BASE, AccessSize::U64, l1);
    s.write(
        regs::STRTAB_BASE_CFG,
        AccessSize::U32,
        (1 << 16) | (6 << 6) | 16,
    );
    s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
    assert_eq!(
        s.translate(0x41, None, 0x9000, Access::read())
            .unwrap()
            .addr,
        GuestPhysAddr(0x9000)
    );
    let kind = |s: &mut Smmu, sid| s.translate(sid, None, 0, Access::read()).unwrap_err().kind;
    assert_eq!(kind(&mut s, 0x40), FaultKind::BadSte);
    assert_eq!(kind(&mut s, 0x42), FaultKind::BadStreamId);
    assert_eq!(kind(&mut s, 0x80), FaultKind::BadStreamId);
    assert_eq!(kind(&mut s, 0x1_0000), FaultKind::BadStreamId);
}

#[test]
fn substreams_with_linear_cd_table() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let table = alloc.take(4 * 64);
    let ta = Tables::s1(&mut alloc, 12, 48);
    let tb = Tables::s1(&mut alloc, 12, 48);
    let t0 = Tables::s1(&mut alloc, 12, 48);
    write_words(&mem, table, &cd(0, t0.root, 16, 0));
    write_words(&mem, table + 64, &cd(1, ta.root, 16, 0));
    write_words(&mem, table + 128, &cd(2, tb.root, 16, 0));
    ta.map(&mem, &mut alloc, 0x5000, 0xa000, 3, PAGE_ATTRS);
    tb.map(&mem, &mut alloc, 0x5000, 0xb000, 3, PAGE_ATTRS);
    t0.map(&mem, &mut alloc, 0x5000, 0xc000, 3, PAGE_ATTRS);
    // Streams 1, 2, 3: four CDs, S1DSS = terminate, bypass, use CD 0.
    for (sid, dss) in [(1u64, 0), (2, 1), (3, 2)] {
        write_ste(&mem, sid, ste_s1(table, 0, 2, dss));
    }
    let mut s = smmu(&mem);
    let tr = |s: &mut Smmu, sid, ssid| {
        s.translate(sid, ssid, 0x5010, Access::read())
            .map(|t| t.addr.raw())
            .map_err(|f| f.kind)
    };
    assert_eq!(tr(&mut s, 1, Some(1)), Ok(0xa010));
    assert_eq!(tr(&mut s, 1, Some(2)), Ok(0xb010));
    assert_eq!(tr(&mut s, 1, Some(0)), Ok(0xc010));
    assert_eq!(tr(&mut s, 1, Some(3)), Err(FaultKind::BadCd));
    assert_eq!(tr(&mut s, 1, Some(4)), Err(FaultKind::BadSubstreamId));
    assert_eq!(tr(&mut s, 1, None), Err(FaultKind::StreamDisabled));
    assert_eq!(tr(&mut s, 2, None), Ok(0x5010));
    assert_eq!(tr(&mut s, 3, None), Ok(0xc010));
    assert_eq!(tr(&mut s, 3, Some(0)), Err(FaultKind::BadSubstreamId));
    assert_eq!(tr(&mut s, 3, Some(2)), Ok(0xb010));
}

#[test]
fn substreams_with_two_level_cd_table() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let l1 = alloc.take(4096);
    let leaf = alloc.take(4096);
    let t = Tables::s1(&mut alloc, 12, 48);
    t.map(&mem, &mut alloc, 0x7000, 0x1_7000, 3, PAGE_ATTRS);
    // S1Fmt = 1: 64 CDs per leaf table. L1 entry 1 covers substreams 64..127.
    w64(&mem, l1 + 8, leaf | 1);
    write_words(&mem, leaf + 64, &cd(65, t.root, 16, 0));
    write_ste(&mem, 1, ste_s1(l1, 1, 8, 0));
    // A stream without substreams.
    write_ste(&mem, 2, ste_s1(leaf + 64, 0, 0, 0));
    let mut s = smmu(&mem);
    let tr = |s: &mut Smmu, sid, ssid| {
        s.translate(sid, ssid, 0x7004, Access::read())
            .map(|t| t.addr.raw())
            .map_err(|f| f.kind)
    };
    assert_eq!(tr(&mut s, 1, Some(65)), Ok(0x1_7004));
    assert_eq!(tr(&mut s, 1, Some(64)), Err(FaultKind::BadCd));
    assert_eq!(tr(&mut s, 1, Some(130)), Err(FaultKind::BadSubstreamId));
    assert_eq!(tr(&mut s, 1, Some(256)), Err(FaultKind::BadSubstreamId));
    assert_eq!(tr(&mut s, 2, None), Ok(0x1_7004));
    assert_eq!(tr(&mut s, 2, Some(1)), Err(FaultKind::BadSubstreamId));
}

#[test]
fn walk_external_abort() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let cd_addr = alloc.take(64);
    // TTB0 beyond guest RAM but within the 48-bit IPS.
    write_words(&mem, cd_addr, &cd(5, 0x1000_0000, 16, 0));
    write_ste(&mem, 1, ste_s1(cd_addr, 0, 0, 0));
    let mut s = smmu(&mem);
    let f = s
        .translate(1, None, 0x8000_0000_0000 - 1, Access::read())
        .unwrap_err();
    assert_eq!(
        f.kind,
        FaultKind::WalkExternalAbort {
            stage: FaultStage::Stage1,
            level: 0,
            fetch_addr: 0x1000_0000 + 0xff * 8
        }
    );
}

#[test]
fn registers_read_back_and_identify_the_smmu() {
    let mem = mem();
    let mut s = smmu(&mem);
    let idr0 = s.read(regs::IDR0, AccessSize::U32) as u32;
    assert_eq!(idr0 & 0b11, 0b11, "stage 1 and stage 2");
    assert_eq!(idr0 & regs::IDR0_ATS != 0, cfg!(feature = "atsu"));
    assert_eq!(idr0 & regs::IDR0_MSI != 0, cfg!(feature = "interrupt"));
    assert_eq!(
        s.read(regs::IDR1, AccessSize::U32),
        16 | (20 << 6) | (7 << 16) | (8 << 21)
    );
    assert_eq!(s.read(regs::IDR5, AccessSize::U32), 0b111_0101);
    assert_eq!(s.read(regs::STRTAB_BASE, AccessSize::U64), STRTAB);
    assert_eq!(s.read(regs::STRTAB_BASE + 4, AccessSize::U32), 0);
    assert_eq!(s.read(regs::STRTAB_BASE_CFG, AccessSize::U32), STRTAB_LOG2);
    assert_eq!(s.read(regs::CMDQ_BASE, AccessSize::U64), CMDQ | CMDQ_LOG2);
    // Page 1 aliases page 0; byte reads pick bytes out of a register.
    assert_eq!(s.read(regs::PAGE1 + regs::EVTQ_PROD, AccessSize::U32), 0);
    assert_eq!(s.read(regs::IDR1 + 1, AccessSize::U8), (20 << 6) >> 8);
    // Unknown, misaligned and out-of-window accesses read as zero and ignore writes.
    assert_eq!(s.read(0xf00, AccessSize::U32), 0);
    assert_eq!(s.read(regs::CR0 + 2, AccessSize::U32), 0);
    assert_eq!(s.read(regs::MMIO_SIZE, AccessSize::U64), 0);
    s.write(regs::IDR0, AccessSize::U32, 0);
    s.write(regs::CR0, AccessSize::U8, 0);
    assert!(s.is_enabled());
    assert_eq!(s.read(regs::IDR0, AccessSize::U32) as u32, idr0);
}
