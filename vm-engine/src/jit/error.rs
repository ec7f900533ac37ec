//! The JIT's error type.

/// Why the JIT could not compile or run a block. None of these is a guest's doing: the caller keeps
/// interpreting the block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// The block contains an operation the JIT does not translate yet; interpret it instead.
    #[error("Block at {pc:#x}: op {index} ({what}) is not supported by the JIT")]
    Unsupported {
        /// Guest PC of the block.
        pc: u64,
        /// Index of the op (`ops.len()` for the terminator).
        index: usize,
        /// The kind of op.
        what: &'static str,
    },
    /// The block is structurally malformed.
    #[error("Malformed IR block at guest PC {pc:#x}: {source}")]
    InvalidBlock {
        /// Guest PC of the block.
        pc: u64,
        /// What is wrong with it.
        source: vm_core::ir::IrError,
    },
    /// Cranelift does not support this host.
    #[error("Host is not supported by Cranelift: {0}")]
    HostUnsupported(String),
    /// Cranelift failed to build the ISA, compile or finalise a function.
    #[error("Cranelift failed: {0}")]
    Codegen(String),
    /// A code-cache configuration that cannot work.
    #[error("Invalid code cache configuration: {0}")]
    InvalidConfig(&'static str),
    /// The slot array handed to a compiled block is shorter than the registers it uses.
    #[error("Compiled block at {pc:#x} uses {needed} register slots, but only {given} were given")]
    SlotsTooShort {
        /// Guest PC of the block.
        pc: u64,
        /// Slots the block needs.
        needed: usize,
        /// Slots given.
        given: usize,
    },
    /// Generated code returned an exit code this module does not define (a JIT bug).
    #[error("Compiled block at {pc:#x} returned unknown exit code {code}")]
    BadExitCode {
        /// Guest PC of the block.
        pc: u64,
        /// The raw code.
        code: u64,
    },
}

/// `Result` with [`JitError`].
pub type JitResult<T> = Result<T, JitError>;
