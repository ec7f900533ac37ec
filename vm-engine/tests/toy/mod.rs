//! A toy guest for the interpreter tests: a CPU with 16 slots whose "decoder" returns hand-built IR
//! blocks from a table keyed by PC, RAM backed by a vector, and an MMIO bus that records accesses.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the toy"
)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use vm_core::GuestPhysAddr;
use vm_core::arch::GuestArch;
use vm_core::device::{Bus, BusError};
use vm_core::exec::{Exception, ExecEnv, FaultKind, GuestCpu, InsnFetch};
use vm_core::exec::{ExecutionEngine, Exit, RunLimit};
use vm_core::ir::{
    BinOp, Block, BlockBuilder, HelperId, MemOp, Op, Place, Reg, Temp, Terminator, TrapCause, Ty,
    Value,
};
use vm_core::mem::{AccessKind, AccessSize, GuestMemory, HostSlice, MemFault};
use vm_engine::Error;
use vm_engine::interp::Interpreter;

/// Where `raise` sends the CPU: a block that waits.
pub const TRAP_VEC: u64 = 0x8000;
/// Where `take_interrupt` sends the CPU.
pub const IRQ_VEC: u64 = 0x8800;
/// A virtual page whose translation always faults.
pub const FAULT_PAGE: u64 = 0x9000;
/// MMIO window base.
pub const MMIO: u64 = 0x1000_0000;
/// RAM size (at guest physical 0).
pub const RAM_SIZE: usize = 0x10000;

/// Makes a block from the 32-bit code word at its PC.
pub type Gen = Box<dyn Fn(u32) -> Block + Send>;

pub struct ToyCpu {
    pub slots: Vec<u64>,
    pub pc: u64,
    /// When set, the PC lives in this slot instead of `pc`.
    pub pc_slot: Option<usize>,
    pub table: HashMap<u64, Gen>,
    /// Blocks for (PC, context key), preferred over `table`.
    pub ctx_table: HashMap<(u64, u64), Gen>,
    /// Calls of `take_interrupt`.
    pub irq_polls: u32,
    pub raised: Vec<(Exception, u64)>,
    pub irq: bool,
    pub wake: bool,
    pub ctx: u64,
    pub translations: u32,
}

impl ToyCpu {
    pub fn new() -> Self {
        let mut cpu = Self {
            slots: vec![0; 16],
            pc: 0,
            pc_slot: None,
            table: HashMap::new(),
            ctx_table: HashMap::new(),
            irq_polls: 0,
            raised: Vec::new(),
            irq: false,
            wake: false,
            ctx: 0,
            translations: 0,
        };
        for vec in [TRAP_VEC, IRQ_VEC] {
            cpu.add(vec, move |_| {
                let mut b = BlockBuilder::new(vec);
                b.insn(vec, 4);
                b.finish(Terminator::Wait { next: vec })
            });
        }
        cpu
    }

    /// Register the block generator for `pc`.
    pub fn add(&mut self, pc: u64, f: impl Fn(u32) -> Block + Send + 'static) {
        self.table.insert(pc, Box::new(f));
    }

    /// Register a fixed block.
    pub fn block(&mut self, b: Block) {
        self.add(b.pc, move |_| b.clone());
    }

    /// Register a fixed block for context key `ctx` only.
    pub fn ctx_block(&mut self, ctx: u64, b: Block) {
        self.ctx_table
            .insert((b.pc, ctx), Box::new(move |_| b.clone()));
    }
}

impl GuestCpu for ToyCpu {
    fn arch(&self) -> GuestArch {
        GuestArch::Riscv64
    }
    fn slots(&mut self) -> &mut [u64] {
        &mut self.slots
    }
    fn pc(&self) -> u64 {
        match self.pc_slot {
            Some(i) => self.slots[i],
            None => self.pc,
        }
    }
    fn set_pc(&mut self, pc: u64) {
        match self.pc_slot {
            Some(i) => self.slots[i] = pc,
            None => self.pc = pc,
        }
    }
    fn pc_slot(&self) -> Option<Reg> {
        self.pc_slot.map(|i| Reg(i as u16))
    }
    fn context_key(&self) -> u64 {
        self.ctx
    }
    fn decode(&self, pc: u64, fetch: &mut dyn InsnFetch, _max: u32) -> Result<Block, Exception> {
        let mut w = [0u8; 4];
        fetch.fetch(pc, &mut w)?;
        let g = self
            .ctx_table
            .get(&(pc, self.ctx))
            .or_else(|| self.table.get(&pc))
            .ok_or(Exception::illegal(0))?;
        let b = g(u32::from_le_bytes(w));
        // Read all the code the block covers, as a real decoder would.
        let mut code = vec![0u8; b.guest_len as usize];
        fetch.fetch(pc, &mut code)?;
        Ok(b)
    }
    fn translate(
        &mut self,
        vaddr: u64,
        kind: AccessKind,
        _env: &ExecEnv<'_>,
    ) -> Result<GuestPhysAddr, Exception> {
        self.translations += 1;
        if vaddr & !0xfff == FAULT_PAGE {
            return Err(Exception::Memory {
                kind,
                fault: FaultKind::Page,
                vaddr,
            });
        }
        Ok(GuestPhysAddr(vaddr))
    }
    fn helper(
        &mut self,
        id: HelperId,
        args: [u64; 3],
        _env: &ExecEnv<'_>,
    ) -> Result<u64, Exception> {
        match id.0 {
            1 => {
                // Sees the slots as the block left them, and changes one.
                self.slots[15] = self.slots[1] + 0x70;
                Ok(args[0] + args[1])
            }
            3 => {
                // Switches the context key.
                self.ctx = args[0];
                Ok(0)
            }
            _ => Err(Exception::Trap {
                cause: TrapCause::Arch(5),
                tval: args[2],
            }),
        }
    }
    fn raise(&mut self, exc: Exception, pc: u64) {
        self.raised.push((exc, pc));
        self.set_pc(TRAP_VEC);
    }
    fn take_interrupt(&mut self) -> bool {
        self.irq_polls += 1;
        if self.irq {
            self.irq = false;
            self.set_pc(IRQ_VEC);
            true
        } else {
            false
        }
    }
    fn wake_pending(&self) -> bool {
        self.wake
    }
}

/// RAM at guest physical 0, optionally offering the host-pointer fast path.
pub struct Ram {
    bytes: Box<[AtomicU8]>,
    fast: bool,
}

impl Ram {
    pub fn new(fast: bool) -> Self {
        Self {
            bytes: (0..RAM_SIZE).map(|_| AtomicU8::new(0)).collect(),
            fast,
        }
    }
}

impl GuestMemory for Ram {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        let s = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let src = self
            .bytes
            .get(s..s.saturating_add(buf.len()))
            .ok_or(MemFault::Unmapped { addr })?;
        for (d, b) in buf.iter_mut().zip(src) {
            *d = b.load(Ordering::Relaxed);
        }
        Ok(())
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        let s = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let dst = self
            .bytes
            .get(s..s.saturating_add(buf.len()))
            .ok_or(MemFault::Unmapped { addr })?;
        for (d, b) in dst.iter().zip(buf) {
            d.store(*b, Ordering::Relaxed);
        }
        Ok(())
    }
    fn host_slice(&self, addr: GuestPhysAddr) -> Option<HostSlice> {
        (self.fast && addr.raw() < RAM_SIZE as u64).then_some(HostSlice {
            gpa: GuestPhysAddr(0),
            // AtomicU8 has the layout of u8 and allows mutation through shared references.
            host: self.bytes.as_ptr() as *mut u8,
            len: RAM_SIZE as u64,
            writable: true,
        })
    }
}

/// One recorded MMIO access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Read(u64, AccessSize),
    Write(u64, AccessSize, u64),
}

/// A bus with one 256-byte device at [`MMIO`]; reads return `0xa5a5_0000_0000_0000 | offset`
/// truncated to the size.
#[derive(Default)]
pub struct LogBus {
    pub log: Mutex<Vec<Access>>,
}

impl Bus for LogBus {
    fn read(&self, addr: GuestPhysAddr, size: AccessSize) -> Result<u64, BusError> {
        let off = addr
            .raw()
            .checked_sub(MMIO)
            .filter(|o| *o < 0x100)
            .ok_or(BusError::NoDevice { addr: addr.raw() })?;
        self.log
            .lock()
            .unwrap()
            .push(Access::Read(addr.raw(), size));
        Ok((0xa5a5_0000_0000_0000 | off) & size.mask())
    }
    fn write(&self, addr: GuestPhysAddr, size: AccessSize, value: u64) -> Result<(), BusError> {
        if !(MMIO..MMIO + 0x100).contains(&addr.raw()) {
            return Err(BusError::NoDevice { addr: addr.raw() });
        }
        self.log
            .lock()
            .unwrap()
            .push(Access::Write(addr.raw(), size, value));
        Ok(())
    }
}

/// A block of one-op instructions (4 bytes each) starting at `pc`: `insns[i]` are the ops of
/// instruction `i`.
pub fn blk(pc: u64, num_temps: u16, insns: &[&[Op]], term: Terminator) -> Block {
    let mut b = BlockBuilder::new(pc);
    for _ in 0..num_temps {
        b.temp();
    }
    for (i, ops) in insns.iter().enumerate() {
        b.insn(pc + 4 * i as u64, 4);
        for op in *ops {
            b.push(*op);
        }
    }
    b.finish(term)
}

// Op shorthands and a whole machine for the tests.

pub fn r(n: u16) -> Reg {
    Reg(n)
}
pub fn t(n: u16) -> Temp {
    Temp(n)
}
pub fn imm(v: u64) -> Value {
    Value::Imm(v)
}
pub fn mov(d: Reg, v: u64) -> Op {
    Op::Mov {
        dst: d.into(),
        src: imm(v),
    }
}
pub fn bin(op: BinOp, ty: Ty, d: impl Into<Place>, a: impl Into<Value>, b: impl Into<Value>) -> Op {
    Op::Bin {
        op,
        ty,
        dst: d.into(),
        a: a.into(),
        b: b.into(),
    }
}
pub fn load(d: Reg, addr: u64, mem: MemOp) -> Op {
    Op::Load {
        dst: d.into(),
        addr: imm(addr),
        offset: 0,
        mem,
    }
}
pub fn store(v: impl Into<Value>, addr: u64, mem: MemOp) -> Op {
    Op::Store {
        src: v.into(),
        addr: imm(addr),
        offset: 0,
        mem,
    }
}
pub const HALT: Terminator = Terminator::Jump { target: TRAP_VEC };

pub struct Machine {
    pub cpu: ToyCpu,
    pub ram: Ram,
    pub bus: LogBus,
    pub eng: Interpreter,
}

impl Machine {
    pub fn new(fast: bool) -> Self {
        Self {
            cpu: ToyCpu::new(),
            ram: Ram::new(fast),
            bus: LogBus::default(),
            eng: Interpreter::new(),
        }
    }
    pub fn run_from(&mut self, pc: u64, limit: RunLimit) -> Result<Exit, Error> {
        self.cpu.set_pc(pc);
        self.run(limit)
    }
    pub fn run(&mut self, limit: RunLimit) -> Result<Exit, Error> {
        let env = ExecEnv {
            mem: &self.ram,
            bus: &self.bus,
        };
        self.eng.run(&mut self.cpu, &env, limit)
    }
}
