//! A test-only RISC-V hart for running lowered code on vm-engine's interpreter: machine mode only,
//! identity address translation, RAM from vm-mem, and helpers for just what the tests need (the FP
//! CSRs, `mscratch`, `mepc` for `mret`, `wfi`, `sfence.vma`). The first exception stops the run and is
//! recorded, so a program ends with `ecall`.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

pub mod asm;
pub mod fpx;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vm_core::GuestPhysAddr;
use vm_core::arch::GuestArch;
use vm_core::device::{Bus, BusError};
use vm_core::exec::{Exception, ExecEnv, ExecutionEngine, Exit, GuestCpu, InsnFetch, RunLimit};
use vm_core::ir::{Block, HelperId, TrapCause};
use vm_core::mem::{AccessKind, AccessSize, GuestMemory};
use vm_core::regs::riscv64::{FFLAGS, FRM, NUM_SLOTS, PC};
use vm_engine::interp::Interpreter;
use vm_frontend::riscv64::helpers;
use vm_frontend::riscv64::lower::{LowerCtx, decode_block};
use vm_mem::PhysMemory;

/// Where programs are loaded and start.
pub const BASE: u64 = 0x8000_0000;
/// A data area in the same RAM.
pub const DATA: u64 = 0x8000_8000;
/// RAM size.
pub const RAM_SIZE: u64 = 0x1_0000;

/// The test hart.
pub struct TestCpu {
    /// The register slots (vm-core's RISC-V layout).
    pub slots: Vec<u64>,
    /// `mstatus.FS` is not Off.
    pub fp_enabled: bool,
    /// `mscratch`.
    pub mscratch: u64,
    /// `mepc`, the target of `mret`.
    pub mepc: u64,
    /// The exception that stopped the run, and the PC it was raised at.
    pub trap: Option<(Exception, u64)>,
    /// Every helper call: id and arguments.
    pub calls: Vec<(HelperId, [u64; 3])>,
    stop: Arc<AtomicBool>,
}

impl TestCpu {
    fn new(stop: Arc<AtomicBool>) -> TestCpu {
        let mut slots = vec![0; usize::from(NUM_SLOTS)];
        slots[usize::from(PC.0)] = BASE;
        TestCpu {
            slots,
            fp_enabled: true,
            mscratch: 0,
            mepc: 0,
            trap: None,
            calls: Vec::new(),
            stop,
        }
    }

    /// `x{n}`.
    pub fn x(&self, n: u32) -> u64 {
        self.slots[n as usize]
    }

    /// `f{n}` (the 64-bit container).
    pub fn f(&self, n: u32) -> u64 {
        self.slots[32 + n as usize]
    }

    /// The program counter.
    pub fn pc_now(&self) -> u64 {
        self.slots[usize::from(PC.0)]
    }

    /// `fflags`.
    pub fn fflags(&self) -> u64 {
        self.slots[usize::from(FFLAGS.0)]
    }

    /// Read a CSR the tests know.
    fn csr_read(&self, csr: u16) -> Option<u64> {
        let fflags = self.slots[usize::from(FFLAGS.0)];
        let frm = self.slots[usize::from(FRM.0)];
        Some(match csr {
            0x001 => fflags,
            0x002 => frm,
            0x003 => fflags | (frm << 5),
            0x340 => self.mscratch,
            0x341 => self.mepc,
            _ => return None,
        })
    }

    /// Write a CSR the tests know (the FP ones keep only their defined bits).
    fn csr_write(&mut self, csr: u16, v: u64) {
        let (fl, rm) = (usize::from(FFLAGS.0), usize::from(FRM.0));
        match csr {
            0x001 => self.slots[fl] = v & 0x1f,
            0x002 => self.slots[rm] = v & 7,
            0x003 => {
                self.slots[fl] = v & 0x1f;
                self.slots[rm] = (v >> 5) & 7;
            }
            0x340 => self.mscratch = v,
            _ => self.mepc = v,
        }
    }

    fn csr(&mut self, args: [u64; 3]) -> Result<u64, Exception> {
        let (csr, op, read, write) = helpers::csr_info_parts(args[0]);
        let illegal = Exception::illegal(args[2]);
        let old = self.csr_read(csr).ok_or(illegal)?;
        if csr <= 3 && !self.fp_enabled {
            return Err(illegal);
        }
        if write {
            let new = match op {
                helpers::CSR_OP_RW => args[1],
                helpers::CSR_OP_RS => old | args[1],
                helpers::CSR_OP_RC => old & !args[1],
                _ => return Err(illegal),
            };
            self.csr_write(csr, new);
        }
        Ok(if read { old } else { 0 })
    }
}

impl GuestCpu for TestCpu {
    fn arch(&self) -> GuestArch {
        GuestArch::Riscv64
    }

    fn slots(&mut self) -> &mut [u64] {
        &mut self.slots
    }

    fn pc(&self) -> u64 {
        self.slots[usize::from(PC.0)]
    }

    fn set_pc(&mut self, pc: u64) {
        self.slots[usize::from(PC.0)] = pc;
    }

    fn pc_slot(&self) -> Option<vm_core::ir::Reg> {
        Some(PC)
    }

    fn context_key(&self) -> u64 {
        let ctx = self.lower_ctx();
        u64::from(ctx.fp_enabled) | (u64::from(ctx.frm_valid) << 1)
    }

    fn decode(
        &self,
        pc: u64,
        fetch: &mut dyn InsnFetch,
        max_insns: u32,
    ) -> Result<Block, Exception> {
        decode_block(pc, fetch, max_insns, self.lower_ctx())
    }

    fn translate(
        &mut self,
        vaddr: u64,
        _kind: AccessKind,
        _env: &ExecEnv<'_>,
    ) -> Result<GuestPhysAddr, Exception> {
        Ok(GuestPhysAddr(vaddr))
    }

    fn helper(
        &mut self,
        id: HelperId,
        args: [u64; 3],
        _env: &ExecEnv<'_>,
    ) -> Result<u64, Exception> {
        self.calls.push((id, args));
        match id {
            helpers::CSR => self.csr(args),
            helpers::MRET => Ok(self.mepc),
            helpers::WFI | helpers::SFENCE_VMA => Ok(0),
            _ => Err(Exception::illegal(args[2])),
        }
    }

    fn raise(&mut self, exc: Exception, pc: u64) {
        self.trap = Some((exc, pc));
        self.stop.store(true, Ordering::SeqCst);
    }

    fn take_interrupt(&mut self) -> bool {
        false
    }

    fn wake_pending(&self) -> bool {
        false
    }
}

impl TestCpu {
    /// The lowering context of the current state.
    pub fn lower_ctx(&self) -> LowerCtx {
        LowerCtx {
            fp_enabled: self.fp_enabled,
            frm_valid: self.slots[usize::from(FRM.0)] <= 4,
        }
    }
}

/// A bus with no devices.
struct NoBus;

impl Bus for NoBus {
    fn read(&self, addr: GuestPhysAddr, _size: AccessSize) -> Result<u64, BusError> {
        Err(BusError::NoDevice { addr: addr.raw() })
    }

    fn write(&self, addr: GuestPhysAddr, _size: AccessSize, _value: u64) -> Result<(), BusError> {
        Err(BusError::NoDevice { addr: addr.raw() })
    }
}

/// A finished run.
pub struct Run {
    /// The hart after the run.
    pub cpu: TestCpu,
    /// The RAM after the run.
    pub mem: PhysMemory,
    /// Why the engine returned.
    pub exit: Exit,
}

impl Run {
    /// The 64-bit word at `addr`.
    pub fn read_u64(&self, addr: u64) -> u64 {
        self.mem.read_u64(GuestPhysAddr(addr)).expect("RAM")
    }

    /// The exception that stopped the run, and where.
    pub fn trap(&self) -> (Exception, u64) {
        self.cpu.trap.expect("the run stopped on an exception")
    }
}

/// Run `code` (bytes) at [`BASE`] after `setup`, until the first exception (or 10 000 instructions).
pub fn run_bytes(code: &[u8], setup: impl FnOnce(&mut TestCpu, &PhysMemory)) -> Run {
    let mem = PhysMemory::builder()
        .ram("ram", GuestPhysAddr(BASE), RAM_SIZE)
        .build()
        .expect("memory map");
    mem.load_image(GuestPhysAddr(BASE), code)
        .expect("code fits");
    let mut engine = Interpreter::new();
    let mut cpu = TestCpu::new(engine.stop_handle());
    setup(&mut cpu, &mem);
    let env = ExecEnv {
        mem: &mem,
        bus: &NoBus,
    };
    let exit = engine
        .run(&mut cpu, &env, RunLimit { max_insns: 10_000 })
        .expect("the interpreter accepts every lowered block");
    Run { cpu, mem, exit }
}

/// Run 32-bit instruction words followed by `ecall`, with `x` registers preset; checks the run
/// ended at that `ecall`.
pub fn run(words: &[u32], xregs: &[(u32, u64)]) -> Run {
    run_with(words, |cpu, _| {
        for &(r, v) in xregs {
            cpu.slots[r as usize] = v;
        }
    })
}

/// [`run`] with a free setup.
pub fn run_with(words: &[u32], setup: impl FnOnce(&mut TestCpu, &PhysMemory)) -> Run {
    let mut code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    code.extend_from_slice(&asm::ECALL.to_le_bytes());
    let r = run_bytes(&code, setup);
    let end = BASE + 4 * words.len() as u64;
    assert_eq!(
        r.cpu.trap,
        Some((
            Exception::Trap {
                cause: TrapCause::SystemCall,
                tval: 0
            },
            end
        )),
        "the program should end at its ecall"
    );
    assert_eq!(r.exit, Exit::Stopped);
    r
}

/// Run one R-type-like instruction `word` on `a1 = a`, `a2 = b`, returning `a0`.
pub fn exec2(word: u32, a: u64, b: u64) -> u64 {
    run(&[word], &[(11, a), (12, b)]).cpu.x(10)
}

/// The RAM word helper for setups: write `v` at `addr`.
pub fn poke_u64(mem: &PhysMemory, addr: u64, v: u64) {
    mem.write_u64(GuestPhysAddr(addr), v).expect("RAM");
}

/// Whether the stop flag was honoured (the engine ran nothing after the exception).
pub fn stopped(r: &Run) -> bool {
    r.exit == Exit::Stopped
}
