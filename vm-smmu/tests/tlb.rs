//! The TLB and configuration cache: hits, misses, and invalidation by the SMMU's commands.

#![cfg(feature = "mmu")]

mod common;

use std::sync::Arc;

use common::*;
use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;
use vm_smmu::cmd::{Command, SyncSignal};
use vm_smmu::{Access, FaultKind, Smmu, regs};

const SYNC: Command = Command::Sync {
    signal: SyncSignal::None,
    msi_addr: 0,
    msi_data: 0,
};
const ATTRS: u64 = AF | AP_EL0 | NG;

/// Streams 1 and 2: stage 1 with ASIDs 5 and 6 sharing one table tree; stream 3: bypass.
fn setup() -> (Arc<Mem>, Smmu, Alloc, Tables) {
    let mem = mem();
    let mut alloc = Alloc::new();
    let t = Tables::s1(&mut alloc, 12, 48);
    let cds = alloc.take(128);
    write_words(&mem, cds, &cd(5, t.root, 16, 0));
    write_words(&mem, cds + 64, &cd(6, t.root, 16, 0));
    write_ste(&mem, 1, ste_s1(cds, 0, 0, 0));
    write_ste(&mem, 2, ste_s1(cds + 64, 0, 0, 0));
    write_ste(&mem, 3, ste_bypass());
    for page in 0..8u64 {
        t.map(
            &mem,
            &mut alloc,
            0x10_0000 + (page << 12),
            0x80_0000 + (page << 12),
            3,
            ATTRS,
        );
    }
    let s = smmu(&mem);
    (mem, s, alloc, t)
}

fn pa(s: &mut Smmu, sid: u32, iova: u64) -> u64 {
    s.translate(sid, None, iova, Access::read())
        .unwrap()
        .addr
        .raw()
}

/// Point the leaf of `iova` somewhere else, behind the SMMU's back.
fn remap(mem: &Mem, t: &Tables, iova: u64, new_pa: u64) {
    w64(mem, t.slot(mem, iova, 3), new_pa | 0b11 | ATTRS);
}

#[cfg(feature = "tlb")]
mod cached {
    use super::*;
    use vm_smmu::cmd::TlbiRange;

    #[test]
    fn hits_and_misses() {
        let (mem, mut s, mut alloc, t) = setup();
        t.map(&mem, &mut alloc, 0x4000_0000, 0x1_0000_0000, 2, ATTRS);
        assert_eq!(pa(&mut s, 1, 0x10_0010), 0x80_0010);
        assert_eq!(pa(&mut s, 1, 0x10_0ff0), 0x80_0ff0);
        assert_eq!(pa(&mut s, 1, 0x10_1000), 0x80_1000);
        assert_eq!(pa(&mut s, 1, 0x4000_0000), 0x1_0000_0000);
        assert_eq!(pa(&mut s, 1, 0x401f_fff0), 0x1_001f_fff0);
        let st = s.tlb_stats();
        assert_eq!((st.hits, st.misses, st.entries), (2, 3, 3));
        assert_eq!(
            (st.config_hits, st.config_misses, st.config_entries),
            (4, 1, 1)
        );
        // Another ASID does not share non-global entries.
        assert_eq!(pa(&mut s, 2, 0x10_0010), 0x80_0010);
        assert_eq!(s.tlb_stats().misses, 4);
    }

    #[test]
    fn stale_until_tlbi_nh_va() {
        let (mem, mut s, _, t) = setup();
        assert_eq!(pa(&mut s, 1, 0x10_0000), 0x80_0000);
        remap(&mem, &t, 0x10_0000, 0x90_0000);
        assert_eq!(
            pa(&mut s, 1, 0x10_0000),
            0x80_0000,
            "the TLB still holds the old entry"
        );
        let tlbi = Command::TlbiNhVa {
            vmid: 0,
            asid: 6,
            addr: 0x10_0000,
            leaf: true,
            range: None,
        };
        submit(&mut s, &mem, &[tlbi, SYNC]);
        assert_eq!(pa(&mut s, 1, 0x10_0000), 0x80_0000, "wrong ASID");
        let tlbi = Command::TlbiNhVa {
            vmid: 0,
            asid: 5,
            addr: 0x10_0000,
            leaf: true,
            range: None,
        };
        submit(&mut s, &mem, &[tlbi, SYNC]);
        assert_eq!(pa(&mut s, 1, 0x10_0000), 0x90_0000);
        assert_eq!(s.tlb_stats().invalidated, 1);
    }

    #[test]
    fn range_invalidation() {
        let (mem, mut s, _, t) = setup();
        for page in 0..4u64 {
            pa(&mut s, 1, 0x10_0000 + (page << 12));
            remap(&mem, &t, 0x10_0000 + (page << 12), 0xa0_0000 + (page << 12));
        }
        // Two 4 KiB pages from 0x10_1000: NUM = 1, SCALE = 0.
        let range = TlbiRange {
            tg: 1,
            scale: 0,
            num: 1,
            ttl: 3,
        };
        let tlbi = Command::TlbiNhVaa {
            vmid: 0,
            addr: 0x10_1000,
            leaf: true,
            range: Some(range),
        };
        submit(&mut s, &mem, &[tlbi, SYNC]);
        let got: Vec<u64> = (0..4u64)
            .map(|p| pa(&mut s, 1, 0x10_0000 + (p << 12)))
            .collect();
        assert_eq!(got, [0x80_0000, 0xa0_1000, 0xa0_2000, 0x80_3000]);
    }

    #[test]
    fn asid_and_vmid_scoped_invalidation() {
        let (mem, mut s, _, t) = setup();
        pa(&mut s, 1, 0x10_0000);
        pa(&mut s, 2, 0x10_0000);
        remap(&mem, &t, 0x10_0000, 0xb0_0000);
        submit(
            &mut s,
            &mem,
            &[Command::TlbiNhAsid { vmid: 0, asid: 6 }, SYNC],
        );
        assert_eq!(pa(&mut s, 1, 0x10_0000), 0x80_0000);
        assert_eq!(pa(&mut s, 2, 0x10_0000), 0xb0_0000);
        remap(&mem, &t, 0x10_0000, 0xc0_0000);
        submit(
            &mut s,
            &mem,
            &[
                Command::TlbiS12Vmall { vmid: 1 },
                Command::TlbiNhAll { vmid: 1 },
            ],
        );
        assert_eq!(
            pa(&mut s, 1, 0x10_0000),
            0x80_0000,
            "streams 1 and 2 use VMID 0"
        );
        submit(&mut s, &mem, &[Command::TlbiNhAll { vmid: 0 }]);
        assert_eq!(pa(&mut s, 1, 0x10_0000), 0xc0_0000);
        assert_eq!(pa(&mut s, 2, 0x10_0000), 0xc0_0000);
        remap(&mem, &t, 0x10_0000, 0xd0_0000);
        submit(&mut s, &mem, &[Command::TlbiNsnhAll]);
        assert_eq!(pa(&mut s, 2, 0x10_0000), 0xd0_0000);
    }

    #[test]
    fn global_entries_survive_asid_invalidation() {
        let (mem, mut s, mut alloc, t) = setup();
        t.map(&mem, &mut alloc, 0x20_0000, 0x60_0000, 3, AF | AP_EL0);
        assert_eq!(pa(&mut s, 1, 0x20_0000), 0x60_0000);
        // Stream 2 (another ASID) hits the global entry.
        assert_eq!(pa(&mut s, 2, 0x20_0000), 0x60_0000);
        assert_eq!(s.tlb_stats().hits, 1);
        w64(
            &mem,
            t.slot(&mem, 0x20_0000, 3),
            0x70_0000 | 0b11 | AF | AP_EL0,
        );
        submit(&mut s, &mem, &[Command::TlbiNhAsid { vmid: 0, asid: 5 }]);
        assert_eq!(pa(&mut s, 1, 0x20_0000), 0x60_0000);
        submit(
            &mut s,
            &mem,
            &[Command::TlbiNhVaa {
                vmid: 0,
                addr: 0x20_0000,
                leaf: true,
                range: None,
            }],
        );
        assert_eq!(pa(&mut s, 1, 0x20_0000), 0x70_0000);
    }

    #[test]
    fn stage2_ipa_invalidation() {
        let mem = mem();
        let mut alloc = Alloc::new();
        let t = Tables::with_start(&mut alloc, 12, 40, 1);
        t.map(&mem, &mut alloc, 0x5000, 0x15000, 3, AF | S2AP_R | S2AP_W);
        write_ste(&mem, 9, with_s2(ste_bypass(), 7, &t, 1, 0, 2));
        let mut s = smmu(&mem);
        assert_eq!(pa(&mut s, 9, 0x5000), 0x15000);
        w64(
            &mem,
            t.slot(&mem, 0x5000, 3),
            0x25000 | 0b11 | AF | S2AP_R | S2AP_W,
        );
        submit(&mut s, &mem, &[Command::TlbiNhAll { vmid: 7 }]);
        assert_eq!(
            pa(&mut s, 9, 0x5000),
            0x15000,
            "stage-1 invalidation keeps stage-2 entries"
        );
        let inv = Command::TlbiS2Ipa {
            vmid: 7,
            addr: 0x5000,
            leaf: true,
            range: None,
        };
        submit(&mut s, &mem, &[inv]);
        assert_eq!(pa(&mut s, 9, 0x5000), 0x25000);
    }

    #[test]
    fn configuration_cache_and_cfgi() {
        let (mem, mut s, _, _) = setup();
        assert_eq!(pa(&mut s, 3, 0x1234), 0x1234);
        write_ste(&mem, 3, ste_abort());
        assert_eq!(
            pa(&mut s, 3, 0x1234),
            0x1234,
            "the cached STE is still used"
        );
        submit(&mut s, &mem, &[Command::CfgiSte { sid: 2, leaf: true }]);
        assert_eq!(pa(&mut s, 3, 0x1234), 0x1234);
        submit(
            &mut s,
            &mem,
            &[Command::CfgiSte { sid: 3, leaf: true }, SYNC],
        );
        let f = s.translate(3, None, 0x1234, Access::read()).unwrap_err();
        assert_eq!(f.kind, FaultKind::Aborted);
        // CFGI_ALL.
        write_ste(&mem, 3, ste_bypass());
        submit(&mut s, &mem, &[Command::CfgiSteRange { sid: 0, range: 31 }]);
        assert_eq!(pa(&mut s, 3, 0x1234), 0x1234);
        // A range covering streams 2..=3.
        write_ste(&mem, 3, ste_abort());
        submit(&mut s, &mem, &[Command::CfgiSteRange { sid: 2, range: 0 }]);
        assert!(s.translate(3, None, 0x1234, Access::read()).is_err());
    }

    #[test]
    fn prefetch_config_fills_the_cache() {
        let (mem, mut s, _, _) = setup();
        submit(
            &mut s,
            &mem,
            &[Command::PrefetchConfig { sid: 3, ssid: None }],
        );
        assert_eq!(s.tlb_stats().config_entries, 1);
        pa(&mut s, 3, 0);
        assert_eq!(s.tlb_stats().config_hits, 1);
        // A broken configuration is not cached and does not stop the queue.
        submit(
            &mut s,
            &mem,
            &[Command::PrefetchConfig {
                sid: 40,
                ssid: None,
            }],
        );
        assert_eq!(s.tlb_stats().config_entries, 1);
        assert_eq!(s.read(regs::GERROR, AccessSize::U32), 0);
    }

    #[test]
    fn disabling_the_smmu_empties_the_caches() {
        let (_mem, mut s, _, _) = setup();
        pa(&mut s, 1, 0x10_0000);
        assert_eq!(s.tlb_stats().entries, 1);
        s.write(regs::CR0, AccessSize::U32, 0);
        assert_eq!(
            (s.tlb_stats().entries, s.tlb_stats().config_entries),
            (0, 0)
        );
    }

    #[test]
    fn capacity_is_bounded() {
        let mem = mem();
        let mut alloc = Alloc::new();
        let t = Tables::s1(&mut alloc, 12, 48);
        let c = alloc.take(64);
        write_words(&mem, c, &cd(5, t.root, 16, 0));
        write_ste(&mem, 1, ste_s1(c, 0, 0, 0));
        for page in 0..8u64 {
            t.map(&mem, &mut alloc, page << 12, page << 12, 3, ATTRS);
        }
        let cfg = vm_smmu::SmmuConfig {
            tlb_entries: 4,
            ..Default::default()
        };
        let mut s = Smmu::new(mem.clone(), cfg).unwrap();
        s.write(regs::STRTAB_BASE, AccessSize::U64, STRTAB);
        s.write(regs::STRTAB_BASE_CFG, AccessSize::U32, STRTAB_LOG2);
        s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
        for page in 0..8u64 {
            assert_eq!(pa(&mut s, 1, page << 12), page << 12);
        }
        assert_eq!(s.tlb_stats().entries, 4);
    }
}

#[cfg(not(feature = "tlb"))]
#[test]
fn without_tlb_every_translation_walks() {
    let (mem, mut s, _, t) = setup();
    assert_eq!(pa(&mut s, 1, 0x10_0000), 0x80_0000);
    remap(&mem, &t, 0x10_0000, 0x90_0000);
    assert_eq!(pa(&mut s, 1, 0x10_0000), 0x90_0000);
    write_ste(&mem, 3, ste_abort());
    assert_eq!(
        s.translate(3, None, 0, Access::read()).unwrap_err().kind,
        FaultKind::Aborted
    );
    // Invalidation commands are still legal.
    submit(
        &mut s,
        &mem,
        &[
            Command::TlbiNsnhAll,
            Command::CfgiSteRange { sid: 0, range: 31 },
            SYNC,
        ],
    );
    assert_eq!(s.read(regs::CMDQ_CONS, AccessSize::U32), 3);
}
