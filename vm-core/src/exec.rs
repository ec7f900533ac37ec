//! The traits that join frontends, engines and machines: decoding, the guest CPU as engines see it,
//! execution engines and vCPUs.
//!
//! The flow of one block (see `docs/architecture.md`): a [`Vcpu`] asks its [`ExecutionEngine`] to run a
//! [`GuestCpu`]. The engine translates the PC (through [`GuestCpu::translate`]), looks the block up in its
//! cache (keyed by guest physical PC and [`GuestCpu::context_key`]) or asks [`GuestCpu::decode`] for it,
//! runs the IR against [`GuestCpu::slots`] and an [`ExecEnv`] (memory and MMIO bus), and hands
//! exceptions to [`GuestCpu::raise`]. At block boundaries it calls [`GuestCpu::take_interrupt`].
//!
//! ```
//! use vm_core::exec::{Exception, InsnFetch};
//! use vm_core::mem::AccessKind;
//!
//! /// Fetches from a byte slice mapped at address 0x1000.
//! struct Rom<'a>(&'a [u8]);
//!
//! impl InsnFetch for Rom<'_> {
//!     fn fetch(&mut self, vaddr: u64, buf: &mut [u8]) -> Result<(), Exception> {
//!         let fault = Exception::fetch_fault(vaddr);
//!         let start = vaddr.checked_sub(0x1000).ok_or(fault)? as usize;
//!         let src = self.0.get(start..start + buf.len()).ok_or(fault)?;
//!         buf.copy_from_slice(src);
//!         Ok(())
//!     }
//! }
//!
//! let mut rom = Rom(&[0x13, 0, 0, 0]);
//! let mut word = [0u8; 4];
//! rom.fetch(0x1000, &mut word).unwrap();
//! assert_eq!(u32::from_le_bytes(word), 0x13);
//! assert_eq!(rom.fetch(0x1004, &mut word), Err(Exception::fetch_fault(0x1004)));
//! ```

use crate::addr::GuestPhysAddr;
use crate::arch::GuestArch;
use crate::device::Bus;
use crate::ir::{Block, HelperId, TrapCause};
use crate::mem::{AccessKind, GuestMemory};

/// Why a memory access raised an exception.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The address is not aligned as the access requires.
    Misaligned,
    /// Nothing (or a device that refused) is at the physical address, or physical protection denied it.
    Access,
    /// The page tables have no valid mapping, or deny this access.
    Page,
}

/// A guest exception: the architecture's system semantics turns it into a trap.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Exception {
    /// Raised by the IR ([`crate::ir::Op::TrapIf`], [`crate::ir::Terminator::Trap`]) or a helper.
    Trap {
        /// The cause.
        cause: TrapCause,
        /// Architecture-defined trap value (RISC-V `tval`).
        tval: u64,
    },
    /// A memory access failed.
    Memory {
        /// What the access was for.
        kind: AccessKind,
        /// Why it failed.
        fault: FaultKind,
        /// The guest virtual address.
        vaddr: u64,
    },
}

impl Exception {
    /// An access fault on an instruction fetch at `vaddr`.
    pub const fn fetch_fault(vaddr: u64) -> Self {
        Exception::Memory {
            kind: AccessKind::Fetch,
            fault: FaultKind::Access,
            vaddr,
        }
    }

    /// An illegal-instruction trap with the instruction bits as trap value.
    pub const fn illegal(raw: u64) -> Self {
        Exception::Trap {
            cause: TrapCause::IllegalInstruction,
            tval: raw,
        }
    }
}

/// Reads instruction bytes for a decoder. The engine implements it (translating and reading memory);
/// an exception here is an instruction-fetch fault.
pub trait InsnFetch {
    /// Fill `buf` with the bytes at guest virtual address `vaddr`.
    fn fetch(&mut self, vaddr: u64, buf: &mut [u8]) -> Result<(), Exception>;
}

/// Turns guest instructions into IR blocks. Implemented per architecture in `vm-frontend`.
///
/// A block ends at a control-flow instruction, a system instruction that needs [`crate::ir::Terminator::Sync`],
/// after `max_insns` instructions, or before an instruction whose fetch faults (the fault is raised when
/// that instruction starts a block of its own). Illegal encodings become
/// [`crate::ir::Terminator::Trap`] — decoding never panics on any input.
pub trait Decoder {
    /// Decode the block at `pc`. An `Err` means the *first* instruction could not be fetched.
    fn decode_block(
        &self,
        pc: u64,
        fetch: &mut dyn InsnFetch,
        max_insns: u32,
    ) -> Result<Block, Exception>;
}

/// The memory and devices an engine works against.
#[derive(Copy, Clone)]
pub struct ExecEnv<'a> {
    /// Guest physical memory (RAM and ROM).
    pub mem: &'a dyn GuestMemory,
    /// The MMIO bus for physical addresses that are not memory.
    pub bus: &'a dyn Bus,
}

/// A guest CPU as the engines see it: its register slots, its decoder and its system semantics.
/// Implemented per architecture in `vm-frontend`; the engines know nothing else of the architecture.
pub trait GuestCpu: Send {
    /// The architecture.
    fn arch(&self) -> GuestArch;

    /// The register slots the IR's [`crate::ir::Reg`] indexes (see [`crate::regs`] for layouts).
    fn slots(&mut self) -> &mut [u64];

    /// The program counter.
    fn pc(&self) -> u64;

    /// Set the program counter.
    fn set_pc(&mut self, pc: u64);

    /// The slot that holds the program counter, when the CPU keeps it among its [`slots`](Self::slots)
    /// (then [`pc`](Self::pc) and [`set_pc`](Self::set_pc) read and write exactly that slot). Engines that
    /// keep slots in their own frame between blocks use it to keep the PC there too. `None` (the
    /// default): the PC lives outside the slots.
    fn pc_slot(&self) -> Option<crate::ir::Reg> {
        None
    }

    /// A value that changes whenever the meaning of guest code changes (privilege level, enabled
    /// extensions, translation mode): engines key cached translations by it together with the PC.
    fn context_key(&self) -> u64;

    /// Decode the block at `pc` in the CPU's current mode.
    fn decode(
        &self,
        pc: u64,
        fetch: &mut dyn InsnFetch,
        max_insns: u32,
    ) -> Result<Block, Exception>;

    /// Translate a guest virtual address for an access of `kind` in the current mode.
    fn translate(
        &mut self,
        vaddr: u64,
        kind: AccessKind,
        env: &ExecEnv<'_>,
    ) -> Result<GuestPhysAddr, Exception>;

    /// Run system helper `id` (CSR access, privilege return, `cpuid`...). May raise an exception.
    fn helper(&mut self, id: HelperId, args: [u64; 3], env: &ExecEnv<'_>)
    -> Result<u64, Exception>;

    /// Enter the trap handler for `exc`, raised by the instruction at `pc`: updates the slots and PC.
    fn raise(&mut self, exc: Exception, pc: u64);

    /// At a block boundary: if an interrupt is pending and enabled, enter its handler and return true.
    fn take_interrupt(&mut self) -> bool;

    /// Whether an interrupt is pending that would wake the CPU from [`crate::ir::Terminator::Wait`],
    /// even if it is not enabled (as RISC-V `wfi` wakes on pending & enabled-in-mie).
    fn wake_pending(&self) -> bool;
}

/// How long an engine may run before returning.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RunLimit {
    /// Stop after at least this many guest instructions (engines stop at the next block boundary).
    pub max_insns: u64,
}

impl RunLimit {
    /// No instruction limit.
    pub const UNLIMITED: RunLimit = RunLimit {
        max_insns: u64::MAX,
    };
}

/// Why an engine or vCPU returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The instruction limit was reached.
    LimitReached,
    /// The guest waits for an interrupt (the PC is already past the waiting instruction).
    Wait,
    /// A stop was requested from outside.
    Stopped,
    /// The machine was powered off with this exit code.
    Shutdown(u32),
    /// The machine asked for a reset.
    Reset,
}

/// Counters every engine keeps.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Guest instructions executed.
    pub insns: u64,
    /// Blocks executed.
    pub blocks: u64,
    /// Blocks decoded (cache misses).
    pub blocks_decoded: u64,
    /// Exceptions taken.
    pub exceptions: u64,
    /// Interrupts taken.
    pub interrupts: u64,
}

/// Runs guest code. Implemented by the interpreter and the JIT in `vm-engine`.
pub trait ExecutionEngine: Send {
    /// Host-side failure (never a guest's doing: guests get exceptions).
    type Error: core::fmt::Debug;

    /// Run `cpu` until the limit, a wait, or a stop request.
    fn run(
        &mut self,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        limit: RunLimit,
    ) -> Result<Exit, Self::Error>;

    /// Forget every translation of guest physical code in `[start, start + len)`.
    fn invalidate(&mut self, start: GuestPhysAddr, len: u64);

    /// Counters so far.
    fn stats(&self) -> EngineStats;
}

/// A virtual CPU of a running machine: emulated (an engine and a [`GuestCpu`]) or accelerated (KVM).
pub trait Vcpu: Send {
    /// Host-side failure.
    type Error: core::fmt::Debug;

    /// The vCPU's index (hart ID, APIC ID).
    fn id(&self) -> u32;

    /// Run until the limit, a wait that cannot be served here, a stop request, or a machine event.
    fn run(&mut self, limit: RunLimit) -> Result<Exit, Self::Error>;
}
