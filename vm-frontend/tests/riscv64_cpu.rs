//! The RISC-V hart through its public API, as an engine and a machine use it: helpers, traps,
//! interrupts from another thread, and Sv39 translation over page tables in a vm-mem
//! `PhysMemory`. Expected values follow the privileged specification 20211203.
#![cfg(feature = "riscv64")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vm_core::GuestPhysAddr;
use vm_core::device::{Bus, BusError};
use vm_core::exec::{Exception, ExecEnv, FaultKind, GuestCpu};
use vm_core::ir::TrapCause;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};
use vm_frontend::riscv64::cpu::{
    HartIrqs, INTERRUPT_BIT, IRQ_MEI, IRQ_MTI, IRQ_SEI, Privilege, Riscv64Cpu,
};
use vm_frontend::riscv64::helpers::{self, CSR_OP_RC, CSR_OP_RS, CSR_OP_RW, csr_info};
use vm_mem::PhysMemory;

const RAM: u64 = 0x8000_0000;
const XLEN: u64 = 0xa_0000_0000;
const SV39: u64 = 8 << 60;
const V: u64 = 1;
const R: u64 = 2;
const W: u64 = 4;
const X: u64 = 8;
const U: u64 = 16;
const A: u64 = 64;
const D: u64 = 128;

/// A bus with no devices.
struct NoDevices;

impl Bus for NoDevices {
    fn read(&self, addr: GuestPhysAddr, _size: AccessSize) -> Result<u64, BusError> {
        Err(BusError::NoDevice { addr: addr.raw() })
    }
    fn write(&self, addr: GuestPhysAddr, _size: AccessSize, _v: u64) -> Result<(), BusError> {
        Err(BusError::NoDevice { addr: addr.raw() })
    }
}

fn memory() -> PhysMemory {
    PhysMemory::builder()
        .ram("ram", GuestPhysAddr(RAM), 0x20_0000)
        .build()
        .expect("memory map")
}

const fn pte(pa: u64, flags: u64) -> u64 {
    ((pa >> 12) << 10) | flags
}

fn set(mem: &PhysMemory, addr: u64, value: u64) {
    mem.write_sized(GuestPhysAddr(addr), AccessSize::U64, value)
        .expect("page table in RAM");
}

fn get(mem: &PhysMemory, addr: u64) -> u64 {
    mem.read_sized(GuestPhysAddr(addr), AccessSize::U64)
        .expect("page table in RAM")
}

/// Sv39 tables with the root at RAM:
/// - VA 0xffff_ffff_c000_0000 (1 GiB, kernel, RWX, A D) -> PA 0x8000_0000;
/// - VA 0x0040_0000 (2 MiB, user RWX, A clear) -> PA 0x8020_0000 (level-1 table at RAM + 0x1000);
/// - VA 0x0060_0000 (4 KiB, user read-only) -> PA 0x8003_0000 (level-0 table at RAM + 0x2000);
/// - VA 0x0060_1000 (4 KiB, supervisor RW) -> PA 0x8003_1000.
///
/// Returns the addresses of the 2 MiB and the first 4 KiB leaf PTEs.
fn page_tables(mem: &PhysMemory) -> (u64, u64) {
    set(
        mem,
        RAM + 0x1ff * 8,
        pte(0x8000_0000, V | R | W | X | A | D),
    );
    set(mem, RAM, pte(RAM + 0x1000, V));
    let mega = RAM + 0x1000 + 2 * 8;
    set(mem, mega, pte(0x8020_0000, V | R | W | X | U));
    set(mem, RAM + 0x1000 + 3 * 8, pte(RAM + 0x2000, V));
    let small = RAM + 0x2000;
    set(mem, small, pte(0x8003_0000, V | R | U | A));
    set(mem, small + 8, pte(0x8003_1000, V | R | W | A | D));
    (mega, small)
}

fn csr(
    cpu: &mut Riscv64Cpu,
    env: &ExecEnv<'_>,
    op: u64,
    num: u16,
    src: u64,
) -> Result<u64, Exception> {
    let raw = (u64::from(num) << 20) | 0x1073;
    let write = op == CSR_OP_RW || src != 0;
    cpu.helper(
        helpers::CSR,
        [csr_info(num, op, true, write), src, raw],
        env,
    )
}

fn illegal(num: u16) -> Result<u64, Exception> {
    Err(Exception::illegal((u64::from(num) << 20) | 0x1073))
}

#[test]
fn boot_flow_m_to_s_to_u_and_back() {
    let mem = memory();
    let env = ExecEnv {
        mem: &mem,
        bus: &NoDevices,
    };
    let (mega, _) = page_tables(&mem);
    let mut cpu = Riscv64Cpu::new(0);
    cpu.reset(0x8000_0000);
    // Firmware: delegate U ecalls and page faults, set the vectors, mret into S at the kernel.
    csr(
        &mut cpu,
        &env,
        CSR_OP_RW,
        0x302,
        (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15),
    )
    .unwrap();
    csr(&mut cpu, &env, CSR_OP_RW, 0x303, 0x222).unwrap();
    csr(&mut cpu, &env, CSR_OP_RW, 0x305, 0x8000_0100).unwrap();
    csr(&mut cpu, &env, CSR_OP_RW, 0x341, 0xffff_ffff_c020_0000).unwrap();
    csr(&mut cpu, &env, CSR_OP_RS, 0x300, 1 << 11).unwrap();
    csr(&mut cpu, &env, CSR_OP_RW, 0x180, SV39 | (RAM >> 12)).unwrap();
    let pc = cpu
        .helper(helpers::MRET, [0, 0, 0x3020_0073], &env)
        .unwrap();
    assert_eq!(pc, 0xffff_ffff_c020_0000);
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    cpu.set_pc(pc);
    // The kernel runs translated.
    assert_eq!(
        cpu.translate(pc, AccessKind::Fetch, &env),
        Ok(GuestPhysAddr(0x8020_0000))
    );
    // The kernel sets stvec; without SUM it cannot read user pages.
    csr(&mut cpu, &env, CSR_OP_RW, 0x105, 0xffff_ffff_c000_4000).unwrap();
    assert_eq!(
        cpu.translate(0x40_1234, AccessKind::Read, &env),
        Err(Exception::Memory {
            kind: AccessKind::Read,
            fault: FaultKind::Page,
            vaddr: 0x40_1234
        })
    );
    csr(&mut cpu, &env, CSR_OP_RS, 0x100, 1 << 18).unwrap();
    assert_eq!(
        cpu.translate(0x40_1234, AccessKind::Write, &env),
        Ok(GuestPhysAddr(0x8020_1234))
    );
    assert_eq!(get(&mem, mega), pte(0x8020_0000, V | R | W | X | U | A | D));
    // sret to U at 0x40_0000.
    csr(&mut cpu, &env, CSR_OP_RW, 0x141, 0x40_0000).unwrap();
    csr(&mut cpu, &env, CSR_OP_RC, 0x100, 1 << 8).unwrap();
    let pc = cpu
        .helper(helpers::SRET, [0, 0, 0x1020_0073], &env)
        .unwrap();
    assert_eq!((pc, cpu.privilege()), (0x40_0000, Privilege::User));
    cpu.set_pc(pc);
    assert_eq!(
        cpu.translate(0x40_0010, AccessKind::Fetch, &env),
        Ok(GuestPhysAddr(0x8020_0010))
    );
    // U cannot touch kernel pages, nor write its read-only page; both are delegated page faults.
    let fault = cpu
        .translate(0xffff_ffff_c000_0000, AccessKind::Read, &env)
        .unwrap_err();
    cpu.raise(fault, 0x40_0010);
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    assert_eq!(cpu.pc(), 0xffff_ffff_c000_4000);
    assert_eq!(
        (
            cpu.read_csr(0x142),
            cpu.read_csr(0x143),
            cpu.read_csr(0x141)
        ),
        (Some(13), Some(0xffff_ffff_c000_0000), Some(0x40_0010))
    );
    cpu.helper(helpers::SRET, [0, 0, 0x1020_0073], &env)
        .unwrap();
    let fault = cpu
        .translate(0x60_0008, AccessKind::Write, &env)
        .unwrap_err();
    cpu.raise(fault, 0x40_0020);
    assert_eq!(
        (cpu.read_csr(0x142), cpu.read_csr(0x143)),
        (Some(15), Some(0x60_0008))
    );
    // A user ecall goes to S with cause 8; an ecall from S goes to M with cause 9.
    cpu.helper(helpers::SRET, [0, 0, 0x1020_0073], &env)
        .unwrap();
    let ecall = Exception::Trap {
        cause: TrapCause::SystemCall,
        tval: 0,
    };
    cpu.raise(ecall, 0x40_0030);
    assert_eq!(
        (cpu.privilege(), cpu.read_csr(0x142)),
        (Privilege::Supervisor, Some(8))
    );
    cpu.raise(ecall, 0xffff_ffff_c000_4010);
    assert_eq!(
        (cpu.privilege(), cpu.read_csr(0x342)),
        (Privilege::Machine, Some(9))
    );
    assert_eq!(cpu.pc(), 0x8000_0100);
    assert_eq!(cpu.read_csr(0x341), Some(0xffff_ffff_c000_4010));
    // M-mode is untranslated.
    assert_eq!(
        cpu.translate(0x60_0000, AccessKind::Read, &env),
        Ok(GuestPhysAddr(0x60_0000))
    );
}

#[test]
fn mprv_translates_loads_and_stores_only() {
    let mem = memory();
    let env = ExecEnv {
        mem: &mem,
        bus: &NoDevices,
    };
    page_tables(&mem);
    let mut cpu = Riscv64Cpu::new(0);
    assert!(cpu.write_csr(0x180, SV39 | (RAM >> 12)));
    // MPRV with MPP = U: loads as U-mode.
    assert!(cpu.write_csr(0x300, 1 << 17));
    let key_u = cpu.context_key();
    assert_eq!(
        cpu.translate(0x60_0010, AccessKind::Read, &env),
        Ok(GuestPhysAddr(0x8003_0010))
    );
    assert_eq!(
        cpu.translate(0x60_1010, AccessKind::Read, &env),
        Err(Exception::Memory {
            kind: AccessKind::Read,
            fault: FaultKind::Page,
            vaddr: 0x60_1010
        })
    );
    // Fetches stay untranslated in M-mode.
    assert_eq!(
        cpu.translate(0x60_1010, AccessKind::Fetch, &env),
        Ok(GuestPhysAddr(0x60_1010))
    );
    // MPP = S: the supervisor page is writable, the user page needs SUM.
    assert!(cpu.write_csr(0x300, (1 << 17) | (1 << 11)));
    assert_ne!(cpu.context_key(), key_u);
    assert_eq!(
        cpu.translate(0x60_1010, AccessKind::Write, &env),
        Ok(GuestPhysAddr(0x8003_1010))
    );
    assert_eq!(
        cpu.translate(0x60_0010, AccessKind::Read, &env),
        Err(Exception::Memory {
            kind: AccessKind::Read,
            fault: FaultKind::Page,
            vaddr: 0x60_0010
        })
    );
    // With SUM, S-mode loads may read the user page.
    assert!(cpu.write_csr(0x300, (1 << 17) | (1 << 11) | (1 << 18)));
    assert_eq!(
        cpu.translate(0x60_0010, AccessKind::Read, &env),
        Ok(GuestPhysAddr(0x8003_0010))
    );
    // mret to S clears MPRV.
    cpu.helper(helpers::MRET, [0, 0, 0x3020_0073], &env)
        .unwrap();
    assert_eq!(cpu.read_csr(0x300), Some(XLEN | (1 << 7) | (1 << 18)));
}

#[test]
fn csr_helper_checks() {
    let mem = memory();
    let env = ExecEnv {
        mem: &mem,
        bus: &NoDevices,
    };
    let mut cpu = Riscv64Cpu::new(5);
    // csrrw with rd = x0 does not read: returns 0.
    let info = csr_info(0x340, CSR_OP_RW, false, true);
    assert_eq!(cpu.helper(helpers::CSR, [info, 0x55, 0], &env), Ok(0));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RW, 0x340, 0x66), Ok(0x55));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x340, 0x01), Ok(0x66));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RC, 0x340, 0x06), Ok(0x67));
    assert_eq!(cpu.read_csr(0x340), Some(0x61));
    // Read-only, unknown, and privileged CSRs.
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0xf14, 0), Ok(5));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RW, 0xf11, 0), illegal(0xf11));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x5a8, 0), illegal(0x5a8));
    cpu.write_csr(0x300, 1 << 11);
    cpu.helper(helpers::MRET, [0, 0, 0x3020_0073], &env)
        .unwrap();
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x340, 0), illegal(0x340));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x140, 0), Ok(0));
    // The debugger interface ignores privilege but not read-only-ness.
    assert_eq!(cpu.read_csr(0x340), Some(0x61));
    assert!(!cpu.write_csr(0xf14, 1));
    assert!(!cpu.write_csr(0xc00, 1));
    assert!(!cpu.write_csr(0x7c0, 1));
    // fcsr = frm << 5 | fflags, in the FFLAGS/FRM slots.
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RW, 0x003, 0x45), illegal(0x003));
    cpu.write_csr(0x300, 3 << 13);
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RW, 0x003, 0x45), Ok(0));
    assert_eq!((cpu.slots()[65], cpu.slots()[66]), (0x05, 0x02));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x002, 0), Ok(2));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x001, 0), Ok(5));
}

#[test]
fn interrupts_from_another_thread() {
    let mut cpu = Riscv64Cpu::new(0);
    let irqs: Arc<HartIrqs> = cpu.irqs();
    cpu.write_csr(0x305, 0x8000_0001);
    cpu.write_csr(0x304, (1 << 7) | (1 << 11) | (1 << 9));
    cpu.write_csr(0x300, 1 << 3);
    cpu.set_pc(0x8000_2000);
    assert!(!cpu.take_interrupt());
    let wire = Arc::clone(&irqs);
    std::thread::spawn(move || {
        wire.set(IRQ_MTI, true);
        wire.set(IRQ_SEI, true);
    })
    .join()
    .expect("thread");
    assert!(cpu.wake_pending());
    // MTI outranks SEI (not delegated here): vectored to BASE + 4 * 7.
    assert!(cpu.take_interrupt());
    assert_eq!(cpu.pc(), 0x8000_0000 + 28);
    assert_eq!(cpu.read_csr(0x342), Some(INTERRUPT_BIT | 7));
    assert_eq!(cpu.read_csr(0x341), Some(0x8000_2000));
    // In the handler MIE is 0: nothing more until mret.
    irqs.set(IRQ_MEI, true);
    assert!(!cpu.take_interrupt());
    let mem = memory();
    let env = ExecEnv {
        mem: &mem,
        bus: &NoDevices,
    };
    assert_eq!(
        cpu.helper(helpers::MRET, [0, 0, 0x3020_0073], &env),
        Ok(0x8000_2000)
    );
    cpu.set_pc(0x8000_2000);
    assert!(cpu.take_interrupt());
    assert_eq!(cpu.read_csr(0x342), Some(INTERRUPT_BIT | 11));
    assert_eq!(cpu.pc(), 0x8000_0000 + 44);
}

#[test]
fn time_counters_and_sstc_through_csrs() {
    let mem = memory();
    let env = ExecEnv {
        mem: &mem,
        bus: &NoDevices,
    };
    let mut cpu = Riscv64Cpu::new(0);
    let mtime = Arc::new(AtomicU64::new(1_000));
    let t = Arc::clone(&mtime);
    cpu.set_time_source(Arc::new(move || t.load(Ordering::Relaxed)));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0xc01, 0), Ok(1_000));
    cpu.add_retired(42);
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0xc02, 0), Ok(42));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0xb00, 0), Ok(42));
    // Firmware enables Sstc and the time counter for S, delegates STI; S programs stimecmp.
    cpu.write_csr(0x30a, 1 << 63);
    cpu.write_csr(0x306, 0b111);
    cpu.write_csr(0x303, 1 << 5);
    cpu.write_csr(0x300, 1 << 11);
    cpu.write_csr(0x105, 0x8020_0000);
    cpu.helper(helpers::MRET, [0, 0, 0x3020_0073], &env)
        .unwrap();
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RW, 0x14d, 1_500), Ok(u64::MAX));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x104, 1 << 5), Ok(0));
    assert_eq!(
        csr(&mut cpu, &env, CSR_OP_RS, 0x100, 1 << 1),
        Ok(XLEN & (3 << 32))
    );
    assert_eq!(cpu.sstc_deadline(), Some(1_500));
    assert!(!cpu.take_interrupt());
    mtime.store(1_500, Ordering::Relaxed);
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x144, 0), Ok(1 << 5));
    assert!((0..32).any(|_| cpu.take_interrupt()));
    assert_eq!(cpu.read_csr(0x142), Some(INTERRUPT_BIT | 5));
    assert_eq!(cpu.privilege(), Privilege::Supervisor);
    // The handler pushes stimecmp forward: STIP drops.
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RW, 0x14d, 2_500), Ok(1_500));
    assert_eq!(csr(&mut cpu, &env, CSR_OP_RS, 0x144, 0), Ok(0));
}

#[test]
fn reset_and_register_accessors() {
    let mut cpu = Riscv64Cpu::new(9);
    cpu.set_xreg(0, 5);
    cpu.set_xreg(10, 0x1234);
    cpu.set_freg(31, 0xffff_ffff_4049_0fdb);
    assert_eq!(
        (cpu.xreg(0), cpu.xreg(10), cpu.xreg(42)),
        (0, 0x1234, 0x1234)
    );
    assert_eq!(cpu.freg(31), 0xffff_ffff_4049_0fdb);
    assert_eq!(cpu.slots()[63], 0xffff_ffff_4049_0fdb);
    cpu.set_privilege(Privilege::User);
    cpu.write_csr(0x340, 1);
    cpu.reset(0x8000_0000);
    assert_eq!(
        (cpu.pc(), cpu.privilege(), cpu.xreg(10)),
        (0x8000_0000, Privilege::Machine, 0)
    );
    assert_eq!(
        (cpu.read_csr(0x340), cpu.read_csr(0xf14)),
        (Some(0), Some(9))
    );
    assert_eq!(cpu.hart_id(), 9);
    assert_eq!(cpu.arch(), vm_core::GuestArch::Riscv64);
}

/// Linux's address-space switch with ASIDs: `csrw satp` to another ASID *without* `sfence.vma`,
/// on vm-engine's interpreter. The hart's TLB keeps both ASIDs' entries, and the engine's own
/// (untagged) TLB must not answer for the old ASID: the context key changes at every switch.
#[test]
fn asid_switch_without_sfence_on_the_interpreter() {
    use vm_core::exec::{ExecutionEngine, Exit, RunLimit};
    use vm_engine::interp::Interpreter;

    let mem = memory();
    let root = |asid: u64| RAM + 0x1_0000 + asid * 0x1000;
    let satp = |asid: u64| SV39 | (asid << 44) | (root(asid) >> 12);
    for asid in [1, 2] {
        // The code: a global gigapage, identity-mapped.
        set(&mem, root(asid) + 2 * 8, pte(RAM, V | R | X | A | 32));
        // VA 0x4000_0000 -> a 4 KiB page of its own per ASID.
        let (l1, l0) = (
            RAM + 0x1_4000 + asid * 0x2000,
            RAM + 0x1_5000 + asid * 0x2000,
        );
        set(&mem, root(asid) + 8, pte(l1, V));
        set(&mem, l1, pte(l0, V));
        set(&mem, l0, pte(RAM + 0x2_0000 + asid * 0x1000, V | R | A));
        set(&mem, RAM + 0x2_0000 + asid * 0x1000, 100 * asid);
    }
    let code: [u32; 8] = [
        0x4000_02b7, // lui t0, 0x40000
        0x0002_b503, // ld a0, 0(t0)
        0x1805_9073, // csrw satp, a1 (ASID 2)
        0x0002_b603, // ld a2, 0(t0)
        0x1806_9073, // csrw satp, a3 (ASID 1)
        0x0002_b703, // ld a4, 0(t0)
        0x1050_0073, // wfi
        0x0000_0013, // nop
    ];
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.load_image(GuestPhysAddr(RAM), &bytes).expect("code");
    let mut cpu = Riscv64Cpu::new(0);
    assert!(cpu.write_csr(0x180, satp(1)));
    cpu.set_privilege(Privilege::Supervisor);
    cpu.set_pc(RAM);
    cpu.set_xreg(11, satp(2));
    cpu.set_xreg(13, satp(1));
    let env = ExecEnv {
        mem: &mem,
        bus: &NoDevices,
    };
    let mut engine = Interpreter::new();
    let exit = engine
        .run(&mut cpu, &env, RunLimit { max_insns: 100 })
        .expect("the interpreter runs it");
    assert_eq!(exit, Exit::Wait);
    assert_eq!(
        [10, 12, 14].map(|r| cpu.xreg(r)),
        [100, 200, 100],
        "each ASID reads its own page"
    );
    // The hart's TLB answered the last load (and the fetches after each switch) from ASID 1's
    // entry and the global code page.
    let s = cpu.tlb_stats();
    assert_eq!((s.misses, s.flushes), (3, 0));
    assert!(s.hits >= 1, "{s:?}");
}
