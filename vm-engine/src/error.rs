//! The crate's error type: host-side failures of an engine (never a guest's doing; guests get
//! exceptions).

use vm_core::ir::IrError;

/// A host-side failure of an engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The frontend handed over a structurally malformed IR block.
    #[error("Malformed IR block at guest PC {pc:#x}")]
    InvalidBlock {
        /// Guest virtual PC the block was decoded for.
        pc: u64,
        /// What is wrong with it.
        #[source]
        source: IrError,
    },
    /// The frontend decoded a block for a different PC than the one asked for.
    #[error("Decoder returned a block for PC {got:#x} when asked for {asked:#x}")]
    BlockPcMismatch {
        /// The PC asked for.
        asked: u64,
        /// The PC of the returned block.
        got: u64,
    },
    /// A block names a register slot the guest CPU does not have.
    #[error("Block at {pc:#x} uses register slot r{reg}, but the CPU has only {slots} slots")]
    RegisterOutOfRange {
        /// Guest PC of the block.
        pc: u64,
        /// The slot.
        reg: u16,
        /// Number of slots of the CPU.
        slots: usize,
    },
    /// The CPU has more register slots than the interpreter's frame can hold.
    #[error("The CPU has {slots} register slots, more than the interpreter's frame holds")]
    TooManySlots {
        /// Number of slots of the CPU.
        slots: usize,
    },
    /// Even a one-instruction block at this PC needs more frame space than the interpreter has.
    #[error("The one-instruction block at guest PC {pc:#x} does not fit the interpreter's frame")]
    BlockTooLarge {
        /// Guest PC of the block.
        pc: u64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
