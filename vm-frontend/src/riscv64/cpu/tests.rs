//! Trap entry, interrupts, `xRET`, the system helpers and the context key. Expected values from the
//! privileged specification 20211203.

use vm_core::exec::{Exception, FaultKind};
use vm_core::ir::TrapCause;

use super::*;
use crate::riscv64::helpers;

const MIE: u64 = 1 << 3;
const SIE: u64 = 1 << 1;
const MPIE: u64 = 1 << 7;
const SPIE: u64 = 1 << 5;
const SPP: u64 = 1 << 8;
const MPRV: u64 = 1 << 17;
const XLEN: u64 = 0xa_0000_0000;

fn mem_exc(kind: AccessKind, fault: FaultKind, vaddr: u64) -> Exception {
    Exception::Memory { kind, fault, vaddr }
}

#[test]
fn reset_state() {
    let cpu = Riscv64Cpu::new(3);
    assert_eq!(cpu.pc(), 0x1000);
    assert_eq!(cpu.privilege(), Privilege::Machine);
    assert_eq!(cpu.read_csr(0x300), Some(XLEN));
    assert_eq!(cpu.read_csr(0xf14), Some(3));
    assert_eq!(cpu.read_csr(0x180), Some(0));
    // M-mode, FP off, frm valid (0).
    assert_eq!(cpu.context_key(), 0b1011);
    let dbg = alloc::format!("{cpu:?}");
    assert!(
        dbg.starts_with("Riscv64Cpu { hart_id: 3, privilege: Machine, pc: 0x1000"),
        "{dbg}"
    );
}

#[test]
fn exception_causes_and_tvals() {
    use AccessKind::{Atomic, Fetch, Read, Write};
    use FaultKind::{Access, Misaligned, Page};
    let m = Privilege::Machine;
    let cases = [
        (mem_exc(Fetch, Misaligned, 0x11), 0, 0x11),
        (mem_exc(Fetch, Access, 0x12), 1, 0x12),
        (mem_exc(Read, Misaligned, 0x13), 4, 0x13),
        (mem_exc(Read, Access, 0x14), 5, 0x14),
        (mem_exc(Write, Misaligned, 0x15), 6, 0x15),
        (mem_exc(Atomic, Misaligned, 0x15), 6, 0x15),
        (mem_exc(Write, Access, 0x16), 7, 0x16),
        (mem_exc(Atomic, Access, 0x16), 7, 0x16),
        (mem_exc(Fetch, Page, 0x17), 12, 0x17),
        (mem_exc(Read, Page, 0x18), 13, 0x18),
        (mem_exc(Write, Page, 0x19), 15, 0x19),
        (mem_exc(Atomic, Page, 0x19), 15, 0x19),
        (Exception::illegal(0x3020_0073), 2, 0x3020_0073),
        (
            Exception::Trap {
                cause: TrapCause::Breakpoint,
                tval: 7,
            },
            3,
            0,
        ),
        (
            Exception::Trap {
                cause: TrapCause::Arch(4),
                tval: 0x8001,
            },
            4,
            0x8001,
        ),
    ];
    for (exc, cause, tval) in cases {
        assert_eq!(exception_cause(exc, m), (cause, tval), "{exc:?}");
    }
    let ecall = Exception::Trap {
        cause: TrapCause::SystemCall,
        tval: 0,
    };
    assert_eq!(exception_cause(ecall, Privilege::User), (8, 0));
    assert_eq!(exception_cause(ecall, Privilege::Supervisor), (9, 0));
    assert_eq!(exception_cause(ecall, Privilege::Machine), (11, 0));
}

#[test]
fn trap_to_m_mode() {
    let mut cpu = Riscv64Cpu::new(0);
    cpu.write_csr(0x305, 0x8000_0001); // vectored, but exceptions go to BASE
    cpu.write_csr(0x300, MIE | (1 << 11));
    cpu.set_privilege(Privilege::Supervisor);
    cpu.raise(
        mem_exc(AccessKind::Read, FaultKind::Page, 0xdead),
        0x4000_0002,
    );
    assert_eq!(cpu.privilege(), Privilege::Machine);
    assert_eq!(cpu.pc(), 0x8000_0000);
    assert_eq!(cpu.read_csr(0x341), Some(0x4000_0002));
    assert_eq!(cpu.read_csr(0x342), Some(13));
    assert_eq!(cpu.read_csr(0x343), Some(0xdead));
    // MPIE = old MIE, MIE = 0, MPP = S.
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | MPIE | (1 << 11)));
    // From M-mode with everything delegated: still M, MPP = M.
    cpu.write_csr(0x302, u64::MAX);
    cpu.raise(Exception::illegal(0x1234), 0x8000_0010);
    assert_eq!(cpu.privilege(), Privilege::Machine);
    assert_eq!(
        (cpu.read_csr(0x342), cpu.read_csr(0x343)),
        (Some(2), Some(0x1234))
    );
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | (3 << 11)));
}

#[test]
fn trap_delegated_to_s_mode() {
    let mut cpu = Riscv64Cpu::new(0);
    cpu.write_csr(0x302, 1 << 8 | 1 << 12);
    cpu.write_csr(0x105, 0xffff_ffff_8000_2001);
    cpu.write_csr(0x305, 0x8000_0000);
    cpu.write_csr(0x300, SIE | MIE);
    cpu.set_privilege(Privilege::User);
    let ecall = Exception::Trap {
        cause: TrapCause::SystemCall,
        tval: 0,
    };
    cpu.raise(ecall, 0x1_0000);
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    assert_eq!(cpu.pc(), 0xffff_ffff_8000_2000);
    assert_eq!(
        (
            cpu.read_csr(0x141),
            cpu.read_csr(0x142),
            cpu.read_csr(0x143)
        ),
        (Some(0x1_0000), Some(8), Some(0))
    );
    // SPIE = old SIE, SIE = 0, SPP = U; M fields untouched.
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | MIE | SPIE));
    // A fetch page fault in S-mode: delegated, SPP = S.
    cpu.raise(mem_exc(AccessKind::Fetch, FaultKind::Page, 0x5000), 0x5000);
    assert_eq!(cpu.read_csr(0x142), Some(12));
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | MIE | SPP));
    // An ecall from S (cause 9) is not delegated: M-mode.
    cpu.raise(ecall, 0xffff_ffff_8000_2000);
    assert_eq!(cpu.privilege(), Privilege::Machine);
    assert_eq!((cpu.pc(), cpu.read_csr(0x342)), (0x8000_0000, Some(9)));
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | MPIE | SPP | (1 << 11)));
}

#[test]
fn mret_and_sret() {
    let mut cpu = Riscv64Cpu::new(0);
    let raw = 0x3020_0073;
    cpu.write_csr(0x341, 0x8020_0000);
    cpu.write_csr(0x300, MPIE | (1 << 11) | MPRV);
    assert_eq!(cpu.run_helper(helpers::MRET, [0, 0, raw]), Ok(0x8020_0000));
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    // MIE = MPIE (1), MPIE = 1, MPP = U, MPRV cleared.
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | MIE | MPIE));
    // mret below M-mode is illegal.
    assert_eq!(
        cpu.run_helper(helpers::MRET, [0, 0, raw]),
        Err(Exception::illegal(raw))
    );
    // mret to M keeps MPRV.
    cpu.set_privilege(Privilege::Machine);
    cpu.write_csr(0x300, (3 << 11) | MPRV);
    assert_eq!(cpu.run_helper(helpers::MRET, [0, 0, raw]), Ok(0x8020_0000));
    assert_eq!(cpu.privilege(), Privilege::Machine);
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | MPIE | MPRV));

    let sret = 0x1020_0073;
    cpu.write_csr(0x141, 0x40_0000);
    cpu.write_csr(0x300, SPIE | SPP | MPRV);
    assert_eq!(cpu.run_helper(helpers::SRET, [0, 0, sret]), Ok(0x40_0000));
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | SIE | SPIE));
    // SPP = U now: back to U-mode, SIE = SPIE (1).
    assert_eq!(cpu.run_helper(helpers::SRET, [0, 0, sret]), Ok(0x40_0000));
    assert_eq!(cpu.privilege(), Privilege::User);
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | SIE | SPIE));
    assert_eq!(
        cpu.run_helper(helpers::SRET, [0, 0, sret]),
        Err(Exception::illegal(sret))
    );
    // TSR makes sret illegal in S-mode but not in M-mode.
    cpu.write_csr(0x300, 1 << 22);
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(
        cpu.run_helper(helpers::SRET, [0, 0, sret]),
        Err(Exception::illegal(sret))
    );
    cpu.set_privilege(Privilege::Machine);
    assert_eq!(cpu.run_helper(helpers::SRET, [0, 0, sret]), Ok(0x40_0000));
    assert_eq!(cpu.privilege(), Privilege::User);
}

#[test]
fn sfence_wfi_and_unknown_helpers() {
    let mut cpu = Riscv64Cpu::new(0);
    let sfence = 0x1200_0073 | helpers::SFENCE_ALL_ADDR | helpers::SFENCE_ALL_ASID;
    let wfi = 0x1050_0073;
    let ok = |cpu: &mut Riscv64Cpu, id, raw| cpu.run_helper(id, [0, 0, raw]);
    assert_eq!(ok(&mut cpu, helpers::SFENCE_VMA, sfence), Ok(0));
    assert_eq!(ok(&mut cpu, helpers::WFI, wfi), Ok(0));
    cpu.write_csr(0x300, (1 << 20) | (1 << 21)); // TVM, TW: M-mode is not affected
    assert_eq!(ok(&mut cpu, helpers::SFENCE_VMA, sfence), Ok(0));
    assert_eq!(ok(&mut cpu, helpers::WFI, wfi), Ok(0));
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(
        ok(&mut cpu, helpers::SFENCE_VMA, sfence),
        Err(Exception::illegal(0x1200_0073))
    );
    assert_eq!(
        ok(&mut cpu, helpers::WFI, wfi),
        Err(Exception::illegal(wfi))
    );
    cpu.write_csr(0x300, 0);
    assert_eq!(ok(&mut cpu, helpers::SFENCE_VMA, sfence), Ok(0));
    assert_eq!(ok(&mut cpu, helpers::WFI, wfi), Ok(0));
    cpu.set_privilege(Privilege::User);
    assert_eq!(
        ok(&mut cpu, helpers::SFENCE_VMA, sfence),
        Err(Exception::illegal(0x1200_0073))
    );
    assert_eq!(
        ok(&mut cpu, helpers::WFI, wfi),
        Err(Exception::illegal(wfi))
    );
    assert_eq!(ok(&mut cpu, HelperId(99), 5), Err(Exception::illegal(5)));
}

#[test]
fn interrupt_priority_and_masking() {
    let mut cpu = Riscv64Cpu::new(0);
    let irqs = cpu.irqs();
    cpu.write_csr(0x305, 0x8000_0000);
    cpu.write_csr(0x304, 0xaaa);
    cpu.set_pc(0x8000_1000);
    // Everything pending, M-mode with MIE = 0: nothing is taken, but wfi would wake.
    irqs.set_bits(u64::MAX);
    cpu.write_csr(0x344, 0x222);
    assert!(!cpu.take_interrupt());
    assert!(cpu.wake_pending());
    // MIE = 1: MEI first, then MSI, MTI, SEI, SSI, STI.
    let order = [
        (11, IRQ_MEI),
        (3, IRQ_MSI),
        (7, IRQ_MTI),
        (9, IRQ_SEI),
        (1, IRQ_SSI),
        (5, IRQ_STI),
    ];
    for (code, irq) in order {
        cpu.write_csr(0x300, MIE);
        assert!(cpu.take_interrupt());
        assert_eq!(cpu.read_csr(0x342), Some(INTERRUPT_BIT | code));
        assert_eq!(
            (cpu.read_csr(0x341), cpu.pc()),
            (Some(0x8000_1000), 0x8000_0000)
        );
        assert_eq!(cpu.read_csr(0x300), Some(XLEN | MPIE | (3 << 11)));
        assert_eq!(cpu.read_csr(0x343), Some(0));
        irqs.set(irq, false);
        cpu.write_csr(0x344, cpu.read_csr(0x344).unwrap_or(0) & !(1 << irq));
        cpu.set_pc(0x8000_1000);
    }
    cpu.write_csr(0x300, MIE);
    assert!(!cpu.take_interrupt());
    assert!(!cpu.wake_pending());
    // Masked in mie: not pending for wfi either.
    irqs.set(IRQ_MTI, true);
    cpu.write_csr(0x304, 0x888 & !0x80);
    assert!(!cpu.take_interrupt() && !cpu.wake_pending());
}

#[test]
fn interrupts_below_m_mode_and_delegation() {
    let mut cpu = Riscv64Cpu::new(0);
    let irqs = cpu.irqs();
    cpu.write_csr(0x305, 0x8000_0001); // vectored
    cpu.write_csr(0x105, 0x8020_0001); // vectored
    cpu.write_csr(0x304, 0xaaa);
    cpu.write_csr(0x303, 0x222);
    // S-mode takes M interrupts whatever MIE says.
    cpu.set_privilege(Privilege::Supervisor);
    cpu.set_pc(0x8040_0000);
    irqs.set(IRQ_MTI, true);
    assert!(cpu.take_interrupt());
    assert_eq!(cpu.privilege(), Privilege::Machine);
    assert_eq!(cpu.pc(), 0x8000_0000 + 4 * 7);
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | (1 << 11)));
    irqs.set(IRQ_MTI, false);
    // A delegated interrupt is never taken in M-mode, even with MIE.
    cpu.write_csr(0x300, MIE | SIE);
    irqs.set(IRQ_SEI, true);
    assert!(!cpu.take_interrupt());
    assert!(cpu.wake_pending());
    // In S-mode it needs SIE.
    cpu.write_csr(0x300, 0);
    cpu.set_privilege(Privilege::Supervisor);
    assert!(!cpu.take_interrupt());
    cpu.write_csr(0x300, SIE);
    cpu.set_pc(0x8040_0000);
    assert!(cpu.take_interrupt());
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    assert_eq!(cpu.pc(), 0x8020_0000 + 4 * 9);
    assert_eq!(cpu.read_csr(0x142), Some(INTERRUPT_BIT | 9));
    assert_eq!(cpu.read_csr(0x141), Some(0x8040_0000));
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | SPIE | SPP));
    // In U-mode it is taken whatever SIE says; M-level ones outrank S-level ones.
    cpu.set_privilege(Privilege::User);
    cpu.write_csr(0x300, 0);
    cpu.write_csr(0x344, 0x2); // SSIP (software)
    irqs.set(IRQ_SEI, false);
    assert!(cpu.take_interrupt());
    assert_eq!(cpu.read_csr(0x142), Some(INTERRUPT_BIT | 1));
    assert_eq!(cpu.read_csr(0x300), Some(XLEN));
    cpu.set_privilege(Privilege::User);
    irqs.set(IRQ_MSI, true);
    assert!(cpu.take_interrupt());
    assert_eq!(cpu.read_csr(0x342), Some(INTERRUPT_BIT | 3));
    assert_eq!(cpu.privilege(), Privilege::Machine);
}

#[test]
fn sstc_timer_interrupt() {
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicU64, Ordering};
    let mut cpu = Riscv64Cpu::new(0);
    let now = Arc::new(AtomicU64::new(0));
    let t = Arc::clone(&now);
    cpu.set_time_source(Arc::new(move || t.load(Ordering::Relaxed)));
    cpu.write_csr(0x30a, 1 << 63);
    cpu.write_csr(0x303, 0x20);
    cpu.write_csr(0x304, 0x20);
    cpu.write_csr(0x14d, 100);
    cpu.write_csr(0x105, 0x8020_0000);
    cpu.set_privilege(Privilege::User);
    assert!(!cpu.take_interrupt());
    now.store(100, Ordering::Relaxed);
    assert!(cpu.wake_pending());
    // Seen within SSTC_POLL_INTERVAL boundaries.
    let mut taken = None;
    for i in 0..=trap::SSTC_POLL_INTERVAL {
        if cpu.take_interrupt() {
            taken = Some(i);
            break;
        }
    }
    assert!(taken.is_some());
    assert_eq!(cpu.read_csr(0x142), Some(INTERRUPT_BIT | 5));
    assert_eq!(cpu.pc(), 0x8020_0000);
    // Writing stimecmp re-arms at once.
    cpu.write_csr(0x14d, 200);
    cpu.set_privilege(Privilege::User);
    assert!(!cpu.take_interrupt() && !cpu.wake_pending());
}

#[test]
fn context_key_changes() {
    let mut cpu = Riscv64Cpu::new(0);
    let base = cpu.context_key();
    let mut seen = alloc::vec![base];
    let mut expect_new = |cpu: &Riscv64Cpu| {
        let k = cpu.context_key();
        assert!(!seen.contains(&k), "{k:#x} seen before");
        seen.push(k);
        k
    };
    // satp alone does not change M-mode's key: nothing is translated.
    cpu.write_csr(0x180, (8 << 60) | 0x8_0000);
    assert_eq!(cpu.context_key(), base);
    // FS on, frm invalid, privilege.
    cpu.write_csr(0x300, 1 << 13);
    expect_new(&cpu);
    cpu.slots[66] = 5;
    expect_new(&cpu);
    cpu.set_privilege(Privilege::Supervisor);
    let s = expect_new(&cpu);
    // The satp write above changed the root: the address-space parity (bit 10) is set.
    assert_eq!(s, 0x400 | 0x100 | 0x10 | 0b0101);
    cpu.write_csr(0x300, (1 << 13) | (1 << 18));
    expect_new(&cpu);
    cpu.write_csr(0x300, (1 << 13) | (1 << 18) | (1 << 19));
    expect_new(&cpu);
    // The mode is in the key; the same root in Sv48 keeps the parity.
    cpu.write_csr(0x180, (9 << 60) | 0x8_0000);
    let k = expect_new(&cpu);
    // Another root, or another ASID, flips the parity: the key changes at every address-space
    // switch (engines flush their untagged TLBs), yet takes only two values, so blocks are shared
    // by every address space.
    cpu.write_csr(0x180, (9 << 60) | 0x8_0001);
    assert_eq!(expect_new(&cpu), k ^ 0x400);
    cpu.write_csr(0x180, (9 << 60) | (5 << 44) | 0x8_0001);
    assert_eq!(cpu.context_key(), k);
    cpu.write_csr(0x180, (9 << 60) | (5 << 44) | 0x8_0001);
    assert_eq!(cpu.context_key(), k);
    cpu.write_csr(0x180, (9 << 60) | (6 << 44) | 0x8_1234);
    assert_eq!(cpu.context_key(), k ^ 0x400);
    cpu.write_csr(0x180, (9 << 60) | (5 << 44) | 0x8_0001);
    cpu.set_privilege(Privilege::User);
    expect_new(&cpu);
    // M-mode with MPRV and MPP = S translates loads and stores.
    cpu.set_privilege(Privilege::Machine);
    cpu.write_csr(0x300, (1 << 13) | MPRV | (1 << 11));
    expect_new(&cpu);
    cpu.write_csr(0x300, (1 << 13) | MPRV);
    expect_new(&cpu);
    // MPP = M: nothing translated again; the same key as M-mode with FP on and frm invalid.
    cpu.write_csr(0x300, (1 << 13) | MPRV | (3 << 11));
    assert_eq!(cpu.context_key(), 0b0111);
}

#[test]
fn translation_regimes() {
    let mut cpu = Riscv64Cpu::new(0);
    cpu.write_csr(0x180, (8 << 60) | 0x8_0000);
    assert_eq!(cpu.regime(AccessKind::Read), None);
    cpu.write_csr(0x300, MPRV | (1 << 11) | (1 << 18));
    let s = Some(WalkRegime {
        satp: (8 << 60) | 0x8_0000,
        user: false,
        sum: true,
        mxr: false,
    });
    assert_eq!(cpu.regime(AccessKind::Write), s);
    assert_eq!(cpu.regime(AccessKind::Fetch), None);
    cpu.write_csr(0x300, MPRV);
    assert_eq!(cpu.regime(AccessKind::Read).map(|r| r.user), Some(true));
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(cpu.regime(AccessKind::Fetch).map(|r| r.user), Some(false));
    cpu.write_csr(0x180, 0);
    assert_eq!(cpu.regime(AccessKind::Fetch), None);
}
