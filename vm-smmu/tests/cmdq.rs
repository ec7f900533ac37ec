//! The command queue as a driver uses it: batches, wrap-around, errors and recovery.

#![cfg(feature = "mmu")]

mod common;

use common::*;
use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;
use vm_smmu::cmd::{Command, SyncSignal};
use vm_smmu::{Smmu, regs};

fn reg(s: &mut Smmu, off: u64) -> u32 {
    s.read(off, AccessSize::U32) as u32
}

const SYNC: Command = Command::Sync {
    signal: SyncSignal::None,
    msi_addr: 0,
    msi_data: 0,
};

#[test]
fn commands_are_consumed_up_to_prod() {
    let mem = mem();
    let mut s = smmu(&mem);
    submit(
        &mut s,
        &mem,
        &[
            Command::CfgiSte { sid: 1, leaf: true },
            Command::TlbiNsnhAll,
            SYNC,
        ],
    );
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 3);
    assert_eq!(reg(&mut s, regs::CMDQ_PROD), 3);
    assert_eq!(s.stats().commands, 3);
    assert_eq!(reg(&mut s, regs::GERROR), 0);
}

#[test]
fn queue_wraps_around() {
    let mem = mem();
    let mut s = smmu(&mem);
    for _ in 0..3 {
        submit(&mut s, &mem, &[SYNC; 100]);
    }
    // 300 commands in a 256-entry queue: index 44 with the wrap bit set.
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 256 | 44);
    assert_eq!(s.stats().commands, 300);
}

#[test]
fn illegal_command_stops_the_queue_until_acknowledged() {
    let mem = mem();
    let mut s = smmu(&mem);
    // TLBI_EL2_ALL needs IDR0.HYP, which this SMMU does not have.
    submit_raw(
        &mut s,
        &mem,
        &[SYNC.encode(), [0x20, 0], SYNC.encode(), SYNC.encode()],
    );
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 1 | (regs::CERROR_ILL << 24));
    assert_eq!(reg(&mut s, regs::GERROR), regs::GERROR_CMDQ_ERR);
    assert_eq!(s.stats().commands, 1);
    // More commands do not run while the error is active.
    submit(&mut s, &mem, &[SYNC]);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS) & 0xfffff, 1);
    // Linux-style recovery: overwrite the bad command with CMD_SYNC, then acknowledge.
    write_words(&mem, CMDQ + 16, &SYNC.encode());
    s.write(
        regs::GERRORN,
        AccessSize::U32,
        u64::from(regs::GERROR_CMDQ_ERR),
    );
    assert_eq!(reg(&mut s, regs::CMDQ_CONS) & 0xfffff, 5);
    assert_eq!(s.stats().commands, 5);
    assert_eq!(reg(&mut s, regs::GERROR) ^ reg(&mut s, regs::GERRORN), 0);
}

#[test]
fn reserved_fields_are_illegal() {
    let mem = mem();
    let mut s = smmu(&mem);
    // CMD_SYNC with the reserved completion signal 0b11.
    submit_raw(&mut s, &mem, &[[0x46 | (3 << 12), 0]]);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), regs::CERROR_ILL << 24);
    s.write(
        regs::GERRORN,
        AccessSize::U32,
        u64::from(regs::GERROR_CMDQ_ERR),
    );
    // The same bad command is read again and stops the queue again.
    assert_eq!(
        reg(&mut s, regs::GERROR) ^ reg(&mut s, regs::GERRORN),
        regs::GERROR_CMDQ_ERR
    );
}

#[test]
fn unreadable_queue_reports_cerror_abt() {
    let mem = mem();
    let mut s = smmu(&mem);
    s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
    s.write(regs::CMDQ_BASE, AccessSize::U64, MEM_SIZE | 4);
    s.write(
        regs::CR0,
        AccessSize::U32,
        u64::from(regs::CR0_SMMUEN | regs::CR0_CMDQEN),
    );
    s.write(regs::CMDQ_PROD, AccessSize::U32, 1);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), regs::CERROR_ABT << 24);
    assert_eq!(reg(&mut s, regs::GERROR), regs::GERROR_CMDQ_ERR);
}

#[test]
fn disabled_queue_waits_for_cmdqen() {
    let mem = mem();
    let mut s = smmu(&mem);
    s.write(regs::CR0, AccessSize::U32, u64::from(regs::CR0_SMMUEN));
    submit(&mut s, &mem, &[SYNC, SYNC]);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 0);
    // CONS and BASE are writable while the queue is disabled.
    s.write(regs::CMDQ_CONS, AccessSize::U32, 1);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 1);
    s.write(
        regs::CR0,
        AccessSize::U32,
        u64::from(regs::CR0_SMMUEN | regs::CR0_CMDQEN),
    );
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 2);
    assert_eq!(s.stats().commands, 1);
    s.write(regs::CMDQ_CONS, AccessSize::U32, 0);
    s.write(regs::CMDQ_BASE, AccessSize::U64, 0x9000 | 4);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 2);
    assert_eq!(s.read(regs::CMDQ_BASE, AccessSize::U64), CMDQ | CMDQ_LOG2);
}

#[test]
fn configuration_invalidations_are_legal() {
    let mem = mem();
    let mut s = smmu(&mem);
    submit(
        &mut s,
        &mem,
        &[
            Command::CfgiSteRange { sid: 0, range: 31 },
            Command::CfgiSteRange {
                sid: 0x13,
                range: 3,
            },
            Command::CfgiCd {
                sid: 1,
                ssid: 2,
                leaf: false,
            },
            Command::CfgiCdAll { sid: 1 },
            Command::PrefetchConfig { sid: 1, ssid: None },
            Command::PrefetchAddr {
                sid: 1,
                ssid: Some(2),
                size: 3,
                addr: 0x1000,
            },
            Command::TlbiNhAll { vmid: 0 },
            Command::TlbiNhAsid { vmid: 0, asid: 3 },
            Command::TlbiNhVa {
                vmid: 0,
                asid: 3,
                addr: 0x1000,
                leaf: true,
                range: None,
            },
            Command::TlbiNhVaa {
                vmid: 0,
                addr: 0x1000,
                leaf: false,
                range: None,
            },
            Command::TlbiS12Vmall { vmid: 2 },
            Command::TlbiS2Ipa {
                vmid: 2,
                addr: 0x4000,
                leaf: true,
                range: None,
            },
            SYNC,
        ],
    );
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 13);
    assert_eq!(reg(&mut s, regs::GERROR), 0);
}

#[test]
#[cfg(feature = "interrupt")]
fn sync_completion_msi() {
    let mem = mem();
    let mut s = smmu(&mem);
    let sync = Command::Sync {
        signal: SyncSignal::Irq,
        msi_addr: 0x3000,
        msi_data: 0x5a5a_0001,
    };
    submit(&mut s, &mem, &[Command::TlbiNsnhAll, sync]);
    assert_eq!(r32(&mem, 0x3000), 0x5a5a_0001);
    // A completion MSI to nowhere is a global error, not a command error.
    let bad = Command::Sync {
        signal: SyncSignal::Irq,
        msi_addr: MEM_SIZE,
        msi_data: 1,
    };
    submit(&mut s, &mem, &[bad]);
    assert_eq!(reg(&mut s, regs::GERROR), regs::GERROR_MSI_CMDQ_ABT_ERR);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 3);
}

#[test]
#[cfg(not(feature = "interrupt"))]
fn sync_completion_msi_needs_msi_support() {
    let mem = mem();
    let mut s = smmu(&mem);
    let sync = Command::Sync {
        signal: SyncSignal::Irq,
        msi_addr: 0x3000,
        msi_data: 7,
    };
    submit(&mut s, &mem, &[sync]);
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), 1);
    assert_eq!(r32(&mem, 0x3000), 0, "IDR0.MSI is 0: no completion write");
}

#[test]
#[cfg(not(feature = "atsu"))]
fn atc_invalidation_is_illegal_without_ats() {
    let mem = mem();
    let mut s = smmu(&mem);
    submit(
        &mut s,
        &mem,
        &[Command::AtcInv {
            sid: 1,
            ssid: None,
            global: false,
            size: 0,
            addr: 0,
        }],
    );
    assert_eq!(reg(&mut s, regs::CMDQ_CONS), regs::CERROR_ILL << 24);
}
