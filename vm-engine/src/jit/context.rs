//! The run-time interface between generated code and its caller: [`JitContext`], exit codes, memory
//! callbacks.

use core::ffi::c_void;

use vm_core::ir::TrapCause;

/// Memory read slow path: `(ctx, vaddr, size_in_bytes, aligned) -> value`, the value zero-extended.
///
/// On a fault the callback sets [`JitContext::fault`] to a non-zero value (and records whatever it needs
/// about the fault through [`JitContext::user`]); the return value is then ignored.
pub type LoadFn = extern "C" fn(ctx: *mut JitContext, vaddr: u64, size: u32, aligned: u32) -> u64;

/// Memory write slow path: `(ctx, vaddr, value, size_in_bytes, aligned)`; writes the low `size` bytes of
/// `value`. Faults are reported as for [`LoadFn`].
pub type StoreFn =
    extern "C" fn(ctx: *mut JitContext, vaddr: u64, value: u64, size: u32, aligned: u32);

/// State shared between generated code and the engine. `#[repr(C)]`: generated code addresses its fields
/// by offset.
#[repr(C)]
#[derive(Debug)]
pub struct JitContext {
    /// Written at every exit: the next guest PC, or the PC of the faulting/trapping instruction.
    pub next_pc: u64,
    /// Incremented at every exit by the number of guest instructions that completed.
    pub insn_count: u64,
    /// Set non-zero by a memory callback that faults; [`crate::jit::CompiledBlock::run`] clears it on entry.
    pub fault: u64,
    /// On a trap exit: the cause, encoded by [`encode_trap_cause`].
    pub trap_cause: u64,
    /// On a trap exit: the architecture-defined trap value.
    pub trap_tval: u64,
    /// Memory read slow path.
    pub load: LoadFn,
    /// Memory write slow path.
    pub store: StoreFn,
    /// Opaque pointer for the callbacks (the engine's memory environment); never touched by generated code.
    pub user: *mut c_void,
}

extern "C" fn no_memory_load(ctx: *mut JitContext, _vaddr: u64, _size: u32, _aligned: u32) -> u64 {
    // SAFETY: generated code passes the context pointer it was entered with, which `run` derived from a
    // live `&mut JitContext` that nothing else uses during the call.
    unsafe { (*ctx).fault = 1 };
    0
}

extern "C" fn no_memory_store(
    ctx: *mut JitContext,
    _vaddr: u64,
    _value: u64,
    _size: u32,
    _aligned: u32,
) {
    // SAFETY: as in `no_memory_load`.
    unsafe { (*ctx).fault = 1 };
}

impl JitContext {
    /// A context whose memory accesses go through `load` and `store`, which receive `user`.
    pub fn new(load: LoadFn, store: StoreFn, user: *mut c_void) -> Self {
        Self {
            next_pc: 0,
            insn_count: 0,
            fault: 0,
            trap_cause: 0,
            trap_tval: 0,
            load,
            store,
            user,
        }
    }

    /// A context without guest memory: every load and store faults.
    pub fn without_memory() -> Self {
        Self::new(no_memory_load, no_memory_store, core::ptr::null_mut())
    }
}

/// The raw code a compiled block returns.
#[repr(u64)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// `Jump`, `Branch` or `JumpIndirect`: continue at `next_pc`.
    Next = 0,
    /// `Sync`: return to the vCPU loop, then continue at `next_pc`.
    Sync = 1,
    /// `Wait`: wait for an interrupt, then continue at `next_pc`.
    Wait = 2,
    /// `Trap` terminator or `TrapIf`: raise `trap_cause`/`trap_tval` at `next_pc`.
    Trap = 3,
    /// A memory callback faulted at the instruction at `next_pc`.
    MemFault = 4,
}

impl ExitCode {
    /// The exit code for a raw return value, if it is one.
    pub const fn from_raw(code: u64) -> Option<Self> {
        Some(match code {
            0 => Self::Next,
            1 => Self::Sync,
            2 => Self::Wait,
            3 => Self::Trap,
            4 => Self::MemFault,
            _ => return None,
        })
    }
}

/// How a run of a compiled block ended, decoded from the exit code and the context.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Continue at this PC.
    Next(u64),
    /// Return to the vCPU loop, then continue at this PC.
    Sync(u64),
    /// Wait for an interrupt, then continue at this PC.
    Wait(u64),
    /// Raise an exception at the instruction at `pc`.
    Trap {
        /// PC of the trapping instruction.
        pc: u64,
        /// The exception.
        cause: TrapCause,
        /// Architecture-defined trap value.
        tval: u64,
    },
    /// A memory callback faulted at the instruction at this PC; the callback recorded the details.
    MemFault(u64),
}

const ARCH_CAUSE: u64 = 1 << 16;

/// Encode a trap cause into the `u64` that generated code stores in [`JitContext::trap_cause`].
pub const fn encode_trap_cause(cause: TrapCause) -> u64 {
    match cause {
        TrapCause::IllegalInstruction => 0,
        TrapCause::Breakpoint => 1,
        TrapCause::SystemCall => 2,
        TrapCause::DivideError => 3,
        TrapCause::Arch(n) => ARCH_CAUSE | n as u64,
    }
}

/// Decode [`encode_trap_cause`]'s value.
pub const fn decode_trap_cause(code: u64) -> Option<TrapCause> {
    Some(match code {
        0 => TrapCause::IllegalInstruction,
        1 => TrapCause::Breakpoint,
        2 => TrapCause::SystemCall,
        3 => TrapCause::DivideError,
        c if c & !0xffff == ARCH_CAUSE => TrapCause::Arch((c & 0xffff) as u16),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_causes_round_trip_and_unknown_codes_are_rejected() {
        for cause in [
            TrapCause::IllegalInstruction,
            TrapCause::Breakpoint,
            TrapCause::SystemCall,
            TrapCause::DivideError,
            TrapCause::Arch(0),
            TrapCause::Arch(0xffff),
        ] {
            assert_eq!(decode_trap_cause(encode_trap_cause(cause)), Some(cause));
        }
        assert_eq!(decode_trap_cause(4), None);
        assert_eq!(decode_trap_cause(1 << 17), None);
        assert_eq!(ExitCode::from_raw(4), Some(ExitCode::MemFault));
        assert_eq!(ExitCode::from_raw(5), None);
    }
}
