//! CSR semantics: access checks, WARL rules, views, `FS` tracking and Sstc. Expected values from
//! the privileged specification 20211203 (and Sstc, 20240411).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use vm_core::exec::Exception;

use crate::riscv64::cpu::{IRQ_SEI, Privilege, Riscv64Cpu};
use crate::riscv64::helpers::{self, CSR_OP_RC, CSR_OP_RS, CSR_OP_RW, csr_info};

/// `csrrw`/`csrrs`/`csrrc` through the helper; `raw` is a made-up instruction word carrying the
/// CSR number so illegal-instruction values can be checked.
fn csr(cpu: &mut Riscv64Cpu, op: u64, num: u16, src: u64) -> Result<u64, Exception> {
    let write = op == CSR_OP_RW || src != 0;
    let raw = (u64::from(num) << 20) | 0x73;
    cpu.run_helper(helpers::CSR, [csr_info(num, op, true, write), src, raw])
}

fn read(cpu: &mut Riscv64Cpu, num: u16) -> Result<u64, Exception> {
    csr(cpu, CSR_OP_RS, num, 0)
}

fn illegal(num: u16) -> Result<u64, Exception> {
    Err(Exception::illegal((u64::from(num) << 20) | 0x73))
}

#[test]
fn privilege_read_only_and_unknown_checks() {
    let mut cpu = Riscv64Cpu::new(7);
    assert_eq!(read(&mut cpu, 0xf14), Ok(7));
    // Writes to read-only CSRs are illegal even in M-mode; csrrs with x0 is a pure read.
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0xf14, 0), illegal(0xf14));
    assert_eq!(csr(&mut cpu, CSR_OP_RS, 0xf14, 1), illegal(0xf14));
    // CSRs this hart does not have: hypervisor, debug, odd pmpcfg, RV32 halves, vector, unknown.
    for num in [
        0x600, 0x7b0, 0x7a0, 0x3a1, 0xc80, 0x008, 0x7c0, 0x310, 0xb01, 0xda0,
    ] {
        assert_eq!(read(&mut cpu, num), illegal(num), "{num:#x}");
        assert_eq!(cpu.read_csr(num), None, "{num:#x}");
    }
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(read(&mut cpu, 0x300), illegal(0x300));
    assert_eq!(read(&mut cpu, 0xf14), illegal(0xf14));
    assert_eq!(read(&mut cpu, 0x100), Ok(0x2_0000_0000));
    cpu.set_privilege(Privilege::User);
    assert_eq!(read(&mut cpu, 0x100), illegal(0x100));
    assert_eq!(read(&mut cpu, 0x140), illegal(0x140));
}

#[test]
fn counter_enables() {
    let mut cpu = Riscv64Cpu::new(0);
    let now = Arc::new(AtomicU64::new(1234));
    let t = Arc::clone(&now);
    cpu.set_time_source(Arc::new(move || t.load(Ordering::Relaxed)));
    cpu.add_retired(10);
    assert_eq!(read(&mut cpu, 0xc00), Ok(10));
    assert_eq!(read(&mut cpu, 0xc01), Ok(1234));
    assert_eq!(read(&mut cpu, 0xc02), Ok(10));
    assert_eq!(read(&mut cpu, 0xc03), Ok(0));
    cpu.set_privilege(Privilege::Supervisor);
    for num in 0xc00..=0xc02 {
        assert_eq!(read(&mut cpu, num), illegal(num));
    }
    assert!(cpu.write_csr(0x306, 0b010)); // mcounteren.TM
    assert_eq!(read(&mut cpu, 0xc01), Ok(1234));
    assert_eq!(read(&mut cpu, 0xc00), illegal(0xc00));
    // U-mode needs scounteren too.
    cpu.set_privilege(Privilege::User);
    assert_eq!(read(&mut cpu, 0xc01), illegal(0xc01));
    assert!(cpu.write_csr(0x106, 0b111));
    assert_eq!(read(&mut cpu, 0xc01), Ok(1234));
    assert_eq!(read(&mut cpu, 0xc02), illegal(0xc02));
    // The M-mode counters are writable; the views are not.
    cpu.set_privilege(Privilege::Machine);
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0xb02, 100), Ok(10));
    assert_eq!(read(&mut cpu, 0xc02), Ok(100));
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0xc02, 5), illegal(0xc02));
    // mcountinhibit stops counting; bit 1 (TM) is read-only zero.
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x320, 0b111), Ok(0));
    assert_eq!(read(&mut cpu, 0x320), Ok(0b101));
    cpu.add_retired(3);
    assert_eq!(
        (cpu.read_csr(0xb00), cpu.read_csr(0xb02)),
        (Some(10), Some(100))
    );
    cpu.write_csr(0x320, 0b001);
    cpu.add_retired(3);
    assert_eq!(
        (cpu.read_csr(0xb00), cpu.read_csr(0xb02)),
        (Some(10), Some(103))
    );
}

#[test]
fn floating_point_csrs() {
    let mut cpu = Riscv64Cpu::new(0);
    // FS = Off: every FP CSR access is illegal.
    assert_eq!(read(&mut cpu, 0x003), illegal(0x003));
    assert_eq!(csr(&mut cpu, CSR_OP_RS, 0x300, 1 << 13), Ok(0xa_0000_0000));
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x003, 0xfff), Ok(0));
    assert_eq!(read(&mut cpu, 0x001), Ok(0x1f));
    assert_eq!(read(&mut cpu, 0x002), Ok(7));
    assert_eq!(read(&mut cpu, 0x003), Ok(0xff));
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x002, 0b011), Ok(7));
    assert_eq!(csr(&mut cpu, CSR_OP_RC, 0x001, 0b10001), Ok(0x1f));
    assert_eq!(read(&mut cpu, 0x003), Ok((3 << 5) | 0b01110));
    // The slots hold them.
    assert_eq!((cpu.slots[65], cpu.slots[66]), (0b01110, 3));
    // Writing FP state made FS Dirty (and SD).
    assert_eq!(read(&mut cpu, 0x300), Ok(0x8000_000a_0000_6000));
    assert_eq!(read(&mut cpu, 0x100), Ok(0x8000_0002_0000_6000));
}

#[test]
fn fs_dirty_tracking() {
    let mut cpu = Riscv64Cpu::new(0);
    // Set FS = Clean (2).
    cpu.write_csr(0x300, 0xa_0000_4000);
    assert_eq!(cpu.read_csr(0x300), Some(0xa_0000_4000));
    cpu.set_freg(3, 0xffff_ffff_3f80_0000);
    assert_eq!(cpu.read_csr(0x300), Some(0x8000_000a_0000_6000));
    // The helper latches Dirty: restoring the value does not make it Clean again.
    assert_eq!(read(&mut cpu, 0x100), Ok(0x8000_0002_0000_6000));
    cpu.set_freg(3, 0);
    assert_eq!(cpu.read_csr(0x100), Some(0x8000_0002_0000_6000));
    // Software saves and sets Clean; a change of fflags makes it Dirty again.
    assert_eq!(
        csr(&mut cpu, CSR_OP_RC, 0x100, 1 << 13),
        Ok(0x8000_0002_0000_6000)
    );
    assert_eq!(cpu.read_csr(0x100), Some(0x2_0000_4000));
    cpu.slots[65] = 1;
    assert_eq!(cpu.read_csr(0x100), Some(0x8000_0002_0000_6000));
    // Initial behaves as Clean.
    cpu.write_csr(0x100, 1 << 13);
    assert_eq!(cpu.read_csr(0x100), Some(0x2_0000_2000));
    assert!(cpu.lower_ctx().fp_enabled);
    cpu.write_csr(0x100, 0);
    assert!(!cpu.lower_ctx().fp_enabled);
}

#[test]
fn mstatus_warl() {
    let mut cpu = Riscv64Cpu::new(0);
    // Every writable field, plus read-only ones that must stay: UBE, VS, XS, UXL/SXL, SBE/MBE, SD.
    assert!(cpu.write_csr(0x300, !(3 << 11)));
    assert_eq!(cpu.read_csr(0x300), Some(0x8000_000a_007e_61aa));
    // MPP = 2 is reserved: the old MPP (0) stays.
    cpu.write_csr(0x300, 2 << 11);
    assert_eq!(cpu.read_csr(0x300), Some(0xa_0000_0000));
    cpu.write_csr(0x300, 1 << 11);
    assert_eq!(cpu.read_csr(0x300), Some(0xa_0000_0800));
    cpu.write_csr(0x300, 2 << 11);
    assert_eq!(cpu.read_csr(0x300), Some(0xa_0000_0800));
    // sstatus writes only its fields.
    cpu.write_csr(0x300, 0);
    cpu.write_csr(0x100, u64::MAX);
    assert_eq!(cpu.read_csr(0x300), Some(0x8000_000a_000c_6122));
    assert_eq!(cpu.read_csr(0x100), Some(0x8000_0002_000c_6122));
    // misa ignores writes.
    assert!(cpu.write_csr(0x301, 0));
    assert_eq!(cpu.read_csr(0x301), Some(0x8000_0000_0014_112d));
}

#[test]
fn trap_setup_csrs() {
    let mut cpu = Riscv64Cpu::new(0);
    cpu.write_csr(0x302, u64::MAX);
    assert_eq!(cpu.read_csr(0x302), Some(0xb3ff));
    cpu.write_csr(0x303, u64::MAX);
    assert_eq!(cpu.read_csr(0x303), Some(0x222));
    cpu.write_csr(0x304, u64::MAX);
    assert_eq!(cpu.read_csr(0x304), Some(0xaaa));
    // sie is mie restricted to delegated interrupts.
    assert_eq!(cpu.read_csr(0x104), Some(0x222));
    cpu.write_csr(0x303, 0x020);
    cpu.write_csr(0x104, 0);
    assert_eq!(cpu.read_csr(0x304), Some(0xa8a));
    assert_eq!(cpu.read_csr(0x104), Some(0));
    // xtvec: modes 0 and 1 stored, 2 and 3 reserved (write ignored).
    cpu.write_csr(0x305, 0x8000_0101);
    cpu.write_csr(0x305, 0x8000_0202);
    assert_eq!(cpu.read_csr(0x305), Some(0x8000_0101));
    cpu.write_csr(0x105, 0xffff_ffff_8000_0000);
    cpu.write_csr(0x105, 0x3);
    assert_eq!(cpu.read_csr(0x105), Some(0xffff_ffff_8000_0000));
    // xepc bit 0 is always zero (IALIGN = 16).
    cpu.write_csr(0x341, 0x8000_0003);
    cpu.write_csr(0x141, 0xffff);
    assert_eq!(
        (cpu.read_csr(0x341), cpu.read_csr(0x141)),
        (Some(0x8000_0002), Some(0xfffe))
    );
    // Counter enables keep 32 bits; envcfg keeps FIOM (and STCE in menvcfg).
    cpu.write_csr(0x306, u64::MAX);
    cpu.write_csr(0x30a, u64::MAX);
    cpu.write_csr(0x10a, u64::MAX);
    assert_eq!(cpu.read_csr(0x306), Some(0xffff_ffff));
    assert_eq!(cpu.read_csr(0x30a), Some(0x8000_0000_0000_0001));
    assert_eq!(cpu.read_csr(0x10a), Some(1));
}

#[test]
fn mip_and_sip() {
    let mut cpu = Riscv64Cpu::new(0);
    let irqs = cpu.irqs();
    // M-mode writes SSIP, STIP, SEIP; MSIP/MTIP/MEIP belong to hardware.
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x344, u64::MAX), Ok(0));
    assert_eq!(cpu.read_csr(0x344), Some(0x222));
    irqs.set(3, true);
    irqs.set(11, true);
    assert_eq!(cpu.read_csr(0x344), Some(0xa2a));
    // SEIP reads as software bit OR wire; csrrc works on the software bit only.
    irqs.set(IRQ_SEI, true);
    assert_eq!(csr(&mut cpu, CSR_OP_RC, 0x344, 0x200), Ok(0xa2a));
    assert_eq!(cpu.csr.mip, 0x022);
    assert_eq!(cpu.read_csr(0x344), Some(0xa2a));
    assert_eq!(csr(&mut cpu, CSR_OP_RS, 0x344, 0x2), Ok(0xa2a));
    assert_eq!(cpu.csr.mip, 0x022);
    irqs.set(IRQ_SEI, false);
    assert_eq!(cpu.read_csr(0x344), Some(0x82a));
    // sip shows delegated bits only; S writes SSIP only.
    assert_eq!(cpu.read_csr(0x144), Some(0));
    cpu.write_csr(0x303, 0x222);
    assert_eq!(cpu.read_csr(0x144), Some(0x022));
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x144, 0x220), Ok(0x022));
    assert_eq!(cpu.read_csr(0x344), Some(0x828));
}

#[test]
fn satp_and_tvm() {
    let mut cpu = Riscv64Cpu::new(0);
    let sv39 = (8 << 60) | (0xabcd << 44) | 0x8_0123;
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x180, sv39), Ok(0));
    assert_eq!(cpu.read_csr(0x180), Some(sv39));
    // Unsupported modes leave satp unchanged.
    for mode in [1, 7, 11, 15] {
        assert!(cpu.write_csr(0x180, mode << 60));
        assert_eq!(cpu.read_csr(0x180), Some(sv39));
    }
    cpu.write_csr(0x180, 10 << 60);
    assert_eq!(cpu.read_csr(0x180), Some(10 << 60));
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(read(&mut cpu, 0x180), Ok(10 << 60));
    cpu.csr.mstatus |= 1 << 20; // TVM
    assert_eq!(read(&mut cpu, 0x180), illegal(0x180));
    cpu.set_privilege(Privilege::Machine);
    assert_eq!(read(&mut cpu, 0x180), Ok(10 << 60));
}

#[test]
fn sstc() {
    let mut cpu = Riscv64Cpu::new(0);
    let now = Arc::new(AtomicU64::new(500));
    let t = Arc::clone(&now);
    cpu.set_time_source(Arc::new(move || t.load(Ordering::Relaxed)));
    // stimecmp resets to all ones; M-mode may always access it.
    assert_eq!(read(&mut cpu, 0x14d), Ok(u64::MAX));
    assert_eq!(csr(&mut cpu, CSR_OP_RW, 0x14d, 600), Ok(u64::MAX));
    // Without STCE, STIP is the software bit.
    assert_eq!(cpu.read_csr(0x344), Some(0));
    cpu.write_csr(0x344, 0x20);
    assert_eq!(cpu.read_csr(0x344), Some(0x20));
    // With STCE, STIP = time >= stimecmp, and software cannot write it.
    cpu.write_csr(0x30a, 1 << 63);
    assert_eq!(cpu.read_csr(0x344), Some(0));
    cpu.write_csr(0x344, 0x20);
    assert_eq!(cpu.read_csr(0x344), Some(0));
    now.store(600, Ordering::Relaxed);
    assert_eq!(cpu.read_csr(0x344), Some(0x20));
    assert_eq!(cpu.sstc_deadline(), None);
    cpu.write_csr(0x304, 0x20);
    assert_eq!(cpu.sstc_deadline(), Some(600));
    cpu.write_csr(0x14d, 601);
    assert_eq!(cpu.read_csr(0x344), Some(0));
    // S-mode access needs STCE and mcounteren.TM.
    cpu.set_privilege(Privilege::Supervisor);
    assert_eq!(read(&mut cpu, 0x14d), illegal(0x14d));
    cpu.write_csr(0x306, 0b010);
    assert_eq!(read(&mut cpu, 0x14d), Ok(601));
    cpu.write_csr(0x30a, 0);
    assert_eq!(read(&mut cpu, 0x14d), illegal(0x14d));
}

#[test]
fn pmp_registers() {
    let mut cpu = Riscv64Cpu::new(0);
    // Reserved bits 6:5 read zero; the W-without-R encoding leaves a byte unchanged.
    assert!(cpu.write_csr(0x3a0, 0x0000_0000_0002_7f1f));
    assert_eq!(cpu.read_csr(0x3a0), Some(0x1f1f));
    assert!(cpu.write_csr(0x3b0, u64::MAX));
    assert_eq!(cpu.read_csr(0x3b0), Some((1 << 54) - 1));
    assert!(cpu.write_csr(0x3ef, 0x1234));
    assert_eq!(cpu.read_csr(0x3ef), Some(0x1234));
    // Locked entries (entry 1, TOR) ignore writes, and lock pmpaddr0 below them.
    cpu.write_csr(0x3a0, 0x0000_0000_0000_8f00);
    cpu.write_csr(0x3a0, 0);
    assert_eq!(cpu.read_csr(0x3a0), Some(0x8f00));
    cpu.write_csr(0x3b0, 5);
    cpu.write_csr(0x3b1, 6);
    assert_eq!(
        (cpu.read_csr(0x3b0), cpu.read_csr(0x3b1)),
        (Some((1 << 54) - 1), Some(0))
    );
    assert!(cpu.write_csr(0x3ae, 0x1f));
    assert_eq!(cpu.read_csr(0x3ae), Some(0x1f));
}
