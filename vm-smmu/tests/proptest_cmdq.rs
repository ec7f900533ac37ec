//! Property tests: whatever the guest puts in its queues, structures and registers, the SMMU never
//! panics, and the command queue either drains or stops with an error it reports.

#![cfg(feature = "mmu")]

mod common;

use common::*;
use proptest::prelude::*;
use vm_core::device::MmioDevice;
use vm_core::mem::{AccessKind, AccessSize};
use vm_smmu::cmd::Command;
use vm_smmu::{Access, regs};

fn size_of(n: u8) -> AccessSize {
    match n % 4 {
        0 => AccessSize::U8,
        1 => AccessSize::U16,
        2 => AccessSize::U32,
        _ => AccessSize::U64,
    }
}

/// Commands biased towards real opcodes so that decoding gets past the opcode check.
fn command() -> impl Strategy<Value = [u64; 2]> {
    let opcodes = prop::sample::select(vec![
        0x01u64, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x11, 0x12, 0x13, 0x20, 0x28, 0x2a, 0x30,
        0x40, 0x41, 0x44, 0x46, 0x00, 0xff,
    ]);
    (opcodes, any::<u64>(), any::<u64>(), any::<bool>()).prop_map(|(op, w0, w1, raw)| {
        if raw {
            [w0, w1]
        } else {
            [(w0 & !0xff) | op, w1]
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_command_queues_never_panic(
        cmds in prop::collection::vec(command(), 1..300),
        prod in any::<u32>(),
        cons in any::<u32>(),
        log2 in 0u64..12,
    ) {
        let mem = mem();
        let mut s = smmu(&mem);
        s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
        s.write(regs::CMDQ_BASE, AccessSize::U64, CMDQ | log2);
        s.write(regs::CMDQ_CONS, AccessSize::U32, u64::from(cons));
        for (i, c) in cmds.iter().enumerate() {
            write_words(&mem, CMDQ + 16 * i as u64, c);
        }
        let cr0 = regs::CR0_SMMUEN | regs::CR0_CMDQEN | regs::CR0_EVTQEN;
        s.write(regs::CR0, AccessSize::U32, u64::from(cr0));
        s.write(regs::CMDQ_PROD, AccessSize::U32, u64::from(prod));
        let gerror = s.read(regs::GERROR, AccessSize::U32) ^ s.read(regs::GERRORN, AccessSize::U32);
        let prod = s.read(regs::CMDQ_PROD, AccessSize::U32);
        let cons = s.read(regs::CMDQ_CONS, AccessSize::U32);
        let mask = (2u64 << log2) - 1;
        if gerror & u64::from(regs::GERROR_CMDQ_ERR) == 0 {
            prop_assert_eq!(prod & mask, cons & mask, "no error, so the queue drained");
        } else {
            let err = (cons >> 24) & 0x7f;
            prop_assert!(err == u64::from(regs::CERROR_ILL) || err == u64::from(regs::CERROR_ATC_INV_SYNC));
        }
    }

    #[test]
    fn decoded_commands_reencode_exactly(w0 in any::<u64>(), w1 in any::<u64>()) {
        if let Ok(c) = Command::decode([w0, w1]) {
            prop_assert_eq!(Command::decode(c.encode()), Ok(c));
            prop_assert_eq!(c.opcode() as u64, w0 & 0xff);
        }
    }

    #[test]
    fn random_register_traffic_never_panics(
        ops in prop::collection::vec((0u64..0x2_0100, any::<u64>(), any::<u8>(), any::<bool>()), 1..200),
        sids in prop::collection::vec((0u32..80, any::<u64>(), any::<bool>()), 1..20),
    ) {
        let mem = mem();
        let mut s = smmu(&mem);
        for (offset, value, size, write) in ops {
            if write {
                s.write(offset & !3, size_of(size), value);
            } else {
                s.read(offset, size_of(size));
            }
        }
        for (sid, iova, ssid) in sids {
            let _ = s.translate(sid, ssid.then_some(1), iova, Access::read());
        }
    }

    #[test]
    fn random_configuration_structures_never_panic(
        ste in prop::array::uniform8(any::<u64>()),
        cds in prop::array::uniform8(any::<u64>()),
        tables in prop::collection::vec(any::<u64>(), 64),
        iovas in prop::collection::vec((any::<u64>(), any::<u8>(), any::<bool>()), 1..16),
    ) {
        let mem = mem();
        // Keep pointers inside guest memory often enough to reach the walk.
        // Valid STEs and CDs whose other fields are random, with tables in one small region.
        let mut ste = ste;
        ste[0] = (ste[0] & !0x000f_ffff_ffff_ffc0) | 0x2_0000 | 1;
        ste[3] = 0x3_0000;
        let mut cds = cds;
        cds[0] = (cds[0] | (1 << 31) | (1 << 41) | (1 << 46)) & !((1 << 15) | (1 << 44));
        cds[1] = 0x3_0000;
        write_ste(&mem, 0, ste);
        write_words(&mem, 0x2_0000, &cds);
        for (i, t) in tables.iter().enumerate() {
            // Descriptors with random attributes pointing back into the same region.
            let desc = (t & 0xfff0_0000_0000_0fff) | 0x3_0000 | (t & 0x1000);
            write_words(&mem, 0x3_0000 + 8 * i as u64, &[desc]);
        }
        let mut s = smmu(&mem);
        for (iova, kind, ssid) in iovas {
            let kind = match kind % 4 {
                0 => AccessKind::Read,
                1 => AccessKind::Write,
                2 => AccessKind::Fetch,
                _ => AccessKind::Atomic,
            };
            let access = Access::new(kind, ssid);
            let _ = s.translate(0, ssid.then_some(u32::from(kind == AccessKind::Read)), iova, access);
            #[cfg(feature = "atsu")]
            let _ = s.translate_ats(0, iova);
        }
    }
}
