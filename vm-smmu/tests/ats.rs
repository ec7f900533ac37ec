//! PCIe ATS: translation requests, translated transactions and ATC invalidation.

#![cfg(feature = "atsu")]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;
use vm_smmu::cmd::{Command, SyncSignal};
use vm_smmu::{
    Access, AtcInvalidation, AtsCompletion, AtsDevice, AtsRequest, AtsTranslation, Error,
    FaultKind, Permissions, Smmu, Translation, regs,
};

const SYNC: Command = Command::Sync {
    signal: SyncSignal::None,
    msi_addr: 0,
    msi_data: 0,
};

/// Stream 1: stage 1 with EATS = 1; stream 2: the same without ATS; stream 3: bypass with ATS;
/// stream 4: abort; stream 5: EATS = 0b10 (split-stage, not supported).
fn setup() -> (Arc<Mem>, Smmu, Alloc, Tables) {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::s1(&mut alloc, 12, 48);
    let c = alloc.take(64);
    write_words(&mem, c, &cd(5, t.root, 16, 0));
    write_ste(&mem, 1, with_eats(ste_s1(c, 0, 0, 0), 1));
    write_ste(&mem, 2, ste_s1(c, 0, 0, 0));
    write_ste(&mem, 3, with_eats(ste_bypass(), 1));
    write_ste(&mem, 4, ste_abort());
    write_ste(&mem, 5, with_eats(ste_s1(c, 0, 0, 0), 2));
    t.map(
        &mem,
        &mut alloc,
        0x6000,
        0x4_6000,
        3,
        AF | AP_EL0 | UXN | PXN | NG,
    );
    t.map(&mem, &mut alloc, 0x7000, 0x4_7000, 3, AF | UXN | PXN | NG);
    t.map(
        &mem,
        &mut alloc,
        0x20_0000,
        0x80_0000,
        2,
        AF | AP_EL0 | AP_RO,
    );
    let s = smmu(&mem);
    (mem, s, alloc, t)
}

const RW: Permissions = Permissions {
    read: true,
    write: true,
    execute: false,
};

#[test]
fn translation_requests() {
    let (_mem, mut s, _, _) = setup();
    assert_eq!(
        s.translate_ats(1, 0x6abc),
        AtsCompletion::Translated(AtsTranslation {
            iova: 0x6000,
            translated: GuestPhysAddr(0x4_6000),
            size: 4096,
            permissions: RW,
            global: false,
        })
    );
    assert_eq!(
        s.translate_ats(1, 0x21_2345),
        AtsCompletion::Translated(AtsTranslation {
            iova: 0x20_0000,
            translated: GuestPhysAddr(0x80_0000),
            size: 2 << 20,
            permissions: Permissions {
                read: true,
                write: false,
                execute: true
            },
            global: true,
        })
    );
    let ro = AtsRequest {
        stream_id: 1,
        substream_id: None,
        iova: 0x6000,
        privileged: false,
        no_write: true,
    };
    match s.translate_ats_request(&ro) {
        AtsCompletion::Translated(t) => assert!(!t.permissions.write),
        other => panic!("unexpected {other:?}"),
    }
    // A privileged-only page: no access unprivileged, read/write privileged.
    assert_eq!(s.translate_ats(1, 0x7000), AtsCompletion::NoAccess);
    let privileged = AtsRequest {
        iova: 0x7000,
        privileged: true,
        no_write: false,
        ..ro
    };
    match s.translate_ats_request(&privileged) {
        AtsCompletion::Translated(t) => assert_eq!(t.permissions, RW),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.translate_ats(1, 0x9000), AtsCompletion::NoAccess);
    assert_eq!(s.ats_stats().requests, 6);
}

#[test]
fn requests_refused_by_configuration() {
    let (_mem, mut s, _, _) = setup();
    assert_eq!(
        s.translate_ats(2, 0x6000),
        AtsCompletion::UnsupportedRequest
    );
    assert_eq!(
        s.translate_ats(4, 0x6000),
        AtsCompletion::UnsupportedRequest
    );
    assert_eq!(s.translate_ats(5, 0x6000), AtsCompletion::CompleterAbort);
    assert_eq!(s.translate_ats(9, 0x6000), AtsCompletion::CompleterAbort);
    match s.translate_ats(3, 0x1234_5678) {
        AtsCompletion::Translated(t) => {
            assert_eq!(
                (t.iova, t.translated.raw(), t.size),
                (0x1234_5000, 0x1234_5000, 4096)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    s.write(regs::CR0, AccessSize::U32, 0);
    assert_eq!(
        s.translate_ats(1, 0x6000),
        AtsCompletion::UnsupportedRequest
    );
}

#[test]
#[cfg(feature = "interrupt")]
fn ats_events() {
    let (mem, mut s, _, _) = setup();
    s.translate_ats(1, 0x9000); // translation fault: answered, not recorded
    s.translate_ats(2, 0x6abc); // ATS disabled
    s.translate_ats(9, 0x6abc); // invalid STE
    s.translated_access(2, 0x4_6000, Access::write())
        .unwrap_err();
    let ev = events(&mut s, &mem);
    let bytes = |d: [u64; 4]| {
        let mut b = [0u8; 32];
        for (i, w) in d.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    };
    assert_eq!(
        ev,
        vec![
            bytes([0x0000_0002_0000_0005, 1 << 35, 0x6000, 0]),
            bytes([0x0000_0009_0000_0004, 0, 0, 0]),
            bytes([0x0000_0002_0000_0007, 0, 0x4_6000, 0]),
        ]
    );
}

#[test]
fn translated_transactions() {
    let (_mem, mut s, _, _) = setup();
    assert_eq!(
        s.translated_access(1, 0x4_6010, Access::write()),
        Ok(Translation::identity(0x4_6010))
    );
    assert_eq!(
        s.translated_access(3, 0x10, Access::read()),
        Ok(Translation::identity(0x10))
    );
    let f = s
        .translated_access(2, 0x4_6010, Access::read())
        .unwrap_err();
    assert_eq!(f.kind, FaultKind::TranslationForbidden);
    assert_eq!(
        s.translated_access(4, 0, Access::read()).unwrap_err().kind,
        FaultKind::Aborted
    );
}

#[derive(Default)]
struct Atc {
    seen: Mutex<Vec<AtcInvalidation>>,
    fail: bool,
}

impl AtsDevice for Atc {
    fn invalidate(&self, request: &AtcInvalidation) -> vm_smmu::Result<()> {
        self.seen.lock().unwrap().push(*request);
        if self.fail {
            Err(Error::AtcInvalidationFailed {
                stream_id: request.stream_id,
            })
        } else {
            Ok(())
        }
    }
}

#[test]
fn atc_invalidation_reaches_the_device() {
    let (mem, mut s, _, _) = setup();
    let atc = Arc::new(Atc::default());
    s.register_ats_device(1, atc.clone()).unwrap();
    submit(
        &mut s,
        &mem,
        &[
            Command::AtcInv {
                sid: 1,
                ssid: None,
                global: false,
                size: 2,
                addr: 0x1_5000,
            },
            Command::AtcInv {
                sid: 1,
                ssid: Some(7),
                global: true,
                size: 52,
                addr: 0,
            },
            Command::AtcInv {
                sid: 2,
                ssid: None,
                global: false,
                size: 0,
                addr: 0,
            },
            SYNC,
        ],
    );
    assert_eq!(s.read(regs::CMDQ_CONS, AccessSize::U32), 4);
    let seen = atc.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            AtcInvalidation {
                stream_id: 1,
                substream_id: None,
                global: false,
                start: 0x1_4000,
                len: 0x4000
            },
            AtcInvalidation {
                stream_id: 1,
                substream_id: Some(7),
                global: true,
                start: 0,
                len: u64::MAX
            },
        ]
    );
    assert!(seen[1].is_everything());
    assert_eq!(s.ats_stats().invalidations, 2);
    assert!(s.unregister_ats_device(1).is_some());
    assert!(s.unregister_ats_device(1).is_none());
}

#[test]
fn failed_invalidation_fails_the_next_sync() {
    let (mem, mut s, _, _) = setup();
    s.register_ats_device(
        1,
        Arc::new(Atc {
            fail: true,
            ..Atc::default()
        }),
    )
    .unwrap();
    let inv = Command::AtcInv {
        sid: 1,
        ssid: None,
        global: false,
        size: 0,
        addr: 0x6000,
    };
    submit(&mut s, &mem, &[inv, SYNC, SYNC]);
    assert_eq!(
        s.read(regs::CMDQ_CONS, AccessSize::U32),
        1 | (u64::from(regs::CERROR_ATC_INV_SYNC) << 24)
    );
    assert_eq!(
        s.read(regs::GERROR, AccessSize::U32),
        u64::from(regs::GERROR_CMDQ_ERR)
    );
    // Acknowledging retries the CMD_SYNC, which now completes.
    s.write(
        regs::GERRORN,
        AccessSize::U32,
        u64::from(regs::GERROR_CMDQ_ERR),
    );
    assert_eq!(s.read(regs::CMDQ_CONS, AccessSize::U32) & 0xfffff, 3);
    assert_eq!(s.ats_stats().failed_invalidations, 1);
}

#[test]
fn registration_checks_the_stream_id() {
    let (_mem, mut s, _, _) = setup();
    assert_eq!(
        s.register_ats_device(1 << 16, Arc::new(Atc::default())),
        Err(Error::StreamIdOutOfRange {
            stream_id: 1 << 16,
            sid_bits: 16
        })
    );
}
