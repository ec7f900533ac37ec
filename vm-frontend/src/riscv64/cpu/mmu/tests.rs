//! The hart's TLB: `sfence.vma`'s four forms through the helper, `satp` writes that do not flush,
//! and the counters. The walker's own tests live with it in vm-mem.

use vm_core::GuestPhysAddr;
use vm_core::device::{Bus, BusError};
use vm_core::exec::{ExecEnv, GuestCpu};
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};
use vm_mem::PhysMemory;

use super::*;
use crate::riscv64::cpu::Privilege;
use crate::riscv64::helpers;

const RAM: u64 = 0x8000_0000;
const SV39: u64 = 8 << 60;
const SFENCE: u64 = 0x1200_0073;

struct NoDevices;

impl Bus for NoDevices {
    fn read(&self, addr: GuestPhysAddr, _size: AccessSize) -> Result<u64, BusError> {
        Err(BusError::NoDevice { addr: addr.raw() })
    }
    fn write(&self, addr: GuestPhysAddr, _size: AccessSize, _v: u64) -> Result<(), BusError> {
        Err(BusError::NoDevice { addr: addr.raw() })
    }
}

const fn pte(pa: u64, flags: u64) -> u64 {
    ((pa >> 12) << PTE_PPN_SHIFT) | flags
}

fn set(mem: &PhysMemory, addr: u64, value: u64) {
    mem.write_sized(GuestPhysAddr(addr), AccessSize::U64, value)
        .expect("PTE in RAM");
}

/// Sv39 tables rooted at RAM: VA 0x1000 and 0x2000 (user pages, through RAM + 0x1000 and
/// RAM + 0x2000) and a global kernel gigapage at 0xffff_ffc0_0000_0000.
fn memory() -> PhysMemory {
    let mem = PhysMemory::builder()
        .ram("ram", GuestPhysAddr(RAM), 0x40_0000)
        .build()
        .expect("memory map");
    set(&mem, RAM, pte(RAM + 0x1000, PTE_V));
    set(&mem, RAM + 0x1000, pte(RAM + 0x2000, PTE_V));
    let rwad = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    set(&mem, RAM + 0x2008, pte(0x8010_0000, rwad));
    set(&mem, RAM + 0x2010, pte(0x8020_0000, rwad));
    set(&mem, RAM + 0x100 * 8, pte(0xc000_0000, rwad | PTE_G));
    mem
}

const KERNEL: u64 = 0xffff_ffc0_0000_0000;

fn hart(asid: u64) -> Riscv64Cpu {
    let mut cpu = Riscv64Cpu::new(0);
    assert!(cpu.write_csr(0x180, SV39 | (asid << 44) | (RAM >> 12)));
    cpu.set_privilege(Privilege::Supervisor);
    cpu
}

fn read(cpu: &mut Riscv64Cpu, mem: &PhysMemory, va: u64) -> Option<u64> {
    let env = ExecEnv {
        mem,
        bus: &NoDevices,
    };
    cpu.translate(va, AccessKind::Read, &env)
        .ok()
        .map(GuestPhysAddr::raw)
}

fn sfence(cpu: &mut Riscv64Cpu, vaddr: Option<u64>, asid: Option<u64>) {
    let mut raw = SFENCE;
    if vaddr.is_none() {
        raw |= helpers::SFENCE_ALL_ADDR;
    }
    if asid.is_none() {
        raw |= helpers::SFENCE_ALL_ASID;
    }
    let args = [vaddr.unwrap_or(0), asid.unwrap_or(0), raw];
    assert_eq!(cpu.run_helper(helpers::SFENCE_VMA, args), Ok(0));
}

/// Fill the TLB for ASIDs 1 and 2, then clear every PTE: what still translates comes from the TLB.
fn warm(cpu: &mut Riscv64Cpu, mem: &PhysMemory) {
    for asid in [1, 2] {
        assert!(cpu.write_csr(0x180, SV39 | (asid << 44) | (RAM >> 12)));
        assert_eq!(read(cpu, mem, 0x1008), Some(0x8010_0008));
        assert_eq!(read(cpu, mem, 0x2008), Some(0x8020_0008));
        assert_eq!(read(cpu, mem, KERNEL + 8), Some(0xc000_0008));
    }
    mem.zero(GuestPhysAddr(RAM), 0x3000).expect("RAM");
}

/// Which of (0x1008, 0x2008, kernel) translate for ASIDs 1 and 2.
fn cached(cpu: &mut Riscv64Cpu, mem: &PhysMemory) -> [[bool; 3]; 2] {
    [1u64, 2].map(|asid| {
        assert!(cpu.write_csr(0x180, SV39 | (asid << 44) | (RAM >> 12)));
        [0x1008, 0x2008, KERNEL + 8].map(|va| read(cpu, mem, va).is_some())
    })
}

#[test]
fn sfence_vma_all() {
    let mem = memory();
    let mut cpu = hart(1);
    warm(&mut cpu, &mem);
    assert_eq!(cached(&mut cpu, &mem), [[true; 3]; 2]);
    sfence(&mut cpu, None, None);
    assert_eq!(cached(&mut cpu, &mem), [[false; 3]; 2]);
}

#[test]
fn sfence_vma_asid_keeps_global_entries() {
    let mem = memory();
    let mut cpu = hart(1);
    warm(&mut cpu, &mem);
    sfence(&mut cpu, None, Some(2));
    assert_eq!(
        cached(&mut cpu, &mem),
        [[true, true, true], [false, false, true]]
    );
    // Only the ASID's 16 bits count.
    sfence(&mut cpu, None, Some(0x1_0001));
    assert_eq!(
        cached(&mut cpu, &mem),
        [[false, false, true], [false, false, true]]
    );
}

#[test]
fn sfence_vma_addr_flushes_every_asid_and_global_entries() {
    let mem = memory();
    let mut cpu = hart(1);
    warm(&mut cpu, &mem);
    sfence(&mut cpu, Some(0x1fff), None);
    sfence(&mut cpu, Some(KERNEL + 0x1234_5678), None);
    assert_eq!(
        cached(&mut cpu, &mem),
        [[false, true, false], [false, true, false]]
    );
}

#[test]
fn sfence_vma_addr_asid_keeps_global_entries_and_other_asids() {
    let mem = memory();
    let mut cpu = hart(1);
    warm(&mut cpu, &mem);
    sfence(&mut cpu, Some(0x2000), Some(1));
    sfence(&mut cpu, Some(KERNEL), Some(1));
    assert_eq!(
        cached(&mut cpu, &mem),
        [[true, false, true], [true, true, true]]
    );
}

#[test]
fn satp_writes_do_not_flush_and_reset_does() {
    let mem = memory();
    let mut cpu = hart(1);
    assert_eq!(read(&mut cpu, &mem, 0x1008), Some(0x8010_0008));
    // Another root and ASID, then back: the entry is still there.
    assert!(cpu.write_csr(0x180, SV39 | (5 << 44) | ((RAM + 0x10_0000) >> 12)));
    assert_eq!(read(&mut cpu, &mem, 0x1008), None);
    assert!(cpu.write_csr(0x180, SV39 | (1 << 44) | (RAM >> 12)));
    mem.zero(GuestPhysAddr(RAM), 0x3000).expect("RAM");
    assert_eq!(read(&mut cpu, &mem, 0x1008), Some(0x8010_0008));
    let s = cpu.tlb_stats();
    assert_eq!((s.hits, s.misses, s.flushes), (1, 2, 0));
    cpu.reset(0x1000);
    assert_eq!(cpu.tlb_stats().flushes, 1);
    let mut cpu2 = cpu;
    assert!(cpu2.write_csr(0x180, SV39 | (1 << 44) | (RAM >> 12)));
    cpu2.set_privilege(Privilege::Supervisor);
    assert_eq!(read(&mut cpu2, &mem, 0x1008), None);
}

#[test]
fn sfence_is_checked_before_it_flushes() {
    let mem = memory();
    let mut cpu = hart(1);
    assert_eq!(read(&mut cpu, &mem, 0x1008), Some(0x8010_0008));
    cpu.set_privilege(Privilege::User);
    let raw = SFENCE | helpers::SFENCE_ALL_ADDR | helpers::SFENCE_ALL_ASID;
    assert!(cpu.run_helper(helpers::SFENCE_VMA, [0, 0, raw]).is_err());
    assert_eq!(cpu.tlb_stats().flushes, 0);
}
