//! Stage-2 and nested translation: VMIDs, concatenated tables, and stage-2 faults on the structures
//! stage 1 reads.

#![cfg(feature = "mmu")]

mod common;

use common::*;
use vm_smmu::{Access, FaultClass, FaultKind, FaultStage, Permissions, Smmu};

const PAGE_ATTRS: u64 = AF | AP_EL0 | UXN | PXN | NG;

/// Stream 10: stage 2 only, VMID 9, 40-bit IPA, 4 KiB granule starting at level 1.
#[test]
fn stage2_only() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::with_start(&mut alloc, 12, 40, 1);
    t.map(
        &mem,
        &mut alloc,
        0x1234_5000,
        0x3_0000_5000,
        3,
        AF | S2AP_R | S2AP_W,
    );
    t.map(
        &mem,
        &mut alloc,
        0x1234_6000,
        0x3_0000_6000,
        3,
        AF | S2AP_R | S2_XN,
    );
    t.map(
        &mem,
        &mut alloc,
        0x80_4000_0000,
        0x7_c000_0000,
        1,
        AF | S2AP_R | S2AP_W,
    );
    write_ste(&mem, 10, with_s2(ste_bypass(), 9, &t, 1, 0, 2));
    let mut s = smmu(&mem);
    let tr = |s: &mut Smmu, iova, a| s.translate(10, None, iova, a).map_err(|f| f.kind);
    let t1 = tr(&mut s, 0x1234_5678, Access::write()).unwrap();
    assert_eq!(
        (t1.addr.raw(), t1.permissions),
        (0x3_0000_5678, Permissions::ALL)
    );
    assert_eq!(
        tr(&mut s, 0x80_4000_0010, Access::read())
            .unwrap()
            .addr
            .raw(),
        0x7_c000_0010
    );
    let stage = |ipa| FaultStage::Stage2 {
        class: FaultClass::Input,
        ipa,
    };
    assert_eq!(
        tr(&mut s, 0x1234_6008, Access::write()),
        Err(FaultKind::Permission {
            stage: stage(0x1234_6008),
            level: 3
        })
    );
    assert_eq!(
        tr(&mut s, 0x100_0000_0000, Access::read()),
        Err(FaultKind::Translation {
            stage: stage(0x100_0000_0000),
            level: 0
        })
    );
    assert_eq!(
        tr(&mut s, 0x1234_7000, Access::read()),
        Err(FaultKind::Translation {
            stage: stage(0x1234_7000),
            level: 3
        })
    );
    // A substream needs stage 1.
    assert_eq!(
        s.translate(10, Some(1), 0x1234_5000, Access::read())
            .unwrap_err()
            .kind,
        FaultKind::BadSubstreamId
    );
}

/// Stream 11: nested. Stage 1's CD and tables live at IPAs that stage 2 maps 1:1 (the first 4 MiB).
#[test]
fn nested_translation_and_stage2_faults_on_structures() {
    let mem = mem();
    let mut alloc = Alloc::new();
    let s2 = Tables::with_start(&mut alloc, 12, 40, 1);
    s2.map(&mem, &mut alloc, 0, 0, 2, AF | S2AP_R | S2AP_W);
    s2.map(
        &mem,
        &mut alloc,
        0x20_0000,
        0x20_0000,
        2,
        AF | S2AP_R | S2AP_W,
    );
    s2.map(&mem, &mut alloc, 0x9000_0000, 0x1_5000_0000, 2, AF | S2AP_R);
    let s1 = Tables::s1(&mut alloc, 12, 48);
    s1.map(&mem, &mut alloc, 0x7000_0000, 0x9000_1000, 3, PAGE_ATTRS);
    // A stage-1 table descriptor pointing at an IPA stage 2 does not map.
    w64(&mem, s1.root + 8, 0x80_0000 | 0b11); // L0 index 1
    let cd_addr = alloc.take(64);
    write_words(&mem, cd_addr, &cd(3, s1.root, 16, 0));
    write_ste(&mem, 11, with_s2(ste_s1(cd_addr, 0, 0, 0), 4, &s2, 1, 0, 2));
    // Stream 12: same, but the CD pointer is an unmapped IPA.
    write_ste(
        &mem,
        12,
        with_s2(ste_s1(0x60_0000, 0, 0, 0), 4, &s2, 1, 0, 2),
    );
    let mut s = smmu(&mem);

    let t = s.translate(11, None, 0x7000_0abc, Access::read()).unwrap();
    assert_eq!((t.addr.raw(), t.size), (0x1_5000_1abc, 4096));
    assert_eq!(
        t.permissions,
        Permissions {
            read: true,
            write: false,
            execute: false
        }
    );
    let f = s
        .translate(11, None, 0x7000_0abc, Access::write())
        .unwrap_err();
    let input = FaultStage::Stage2 {
        class: FaultClass::Input,
        ipa: 0x9000_1abc,
    };
    assert_eq!(
        f.kind,
        FaultKind::Permission {
            stage: input,
            level: 2
        }
    );

    let va = 1u64 << 39; // L0 index 1
    let f = s.translate(11, None, va, Access::read()).unwrap_err();
    let table = FaultStage::Stage2 {
        class: FaultClass::TranslationTable,
        ipa: 0x80_0000,
    };
    assert_eq!(
        f.kind,
        FaultKind::Translation {
            stage: table,
            level: 2
        }
    );

    let f = s.translate(12, None, 0, Access::read()).unwrap_err();
    let cd_stage = FaultStage::Stage2 {
        class: FaultClass::ContextDescriptor,
        ipa: 0x60_0000,
    };
    assert_eq!(
        f.kind,
        FaultKind::Translation {
            stage: cd_stage,
            level: 2
        }
    );
}
