//! IR operations, operands and terminators.

use serde::{Deserialize, Serialize};

use super::fp::{FBinOp, FCmpOp, FUnOp, FloatTy, FpEnv, Rounding};
use crate::mem::AccessSize;

/// A guest register slot: an index into the vCPU's `u64` slot array.
///
/// The layout (which slot is `x10`, `pc`, `fflags`...) belongs to the architecture; see `vm_core::regs`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reg(pub u16);

/// A block-local temporary, numbered from 0 to `Block::num_temps - 1`. Its value is lost at block end.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Temp(pub u16);

/// Where an operation writes its result.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Place {
    /// A guest register slot.
    Reg(Reg),
    /// A temporary.
    Temp(Temp),
}

/// An operand.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Value {
    /// The current content of a guest register slot.
    Reg(Reg),
    /// The current content of a temporary.
    Temp(Temp),
    /// A constant (narrow types use its low bits).
    Imm(u64),
}

impl From<Reg> for Place {
    fn from(r: Reg) -> Self {
        Place::Reg(r)
    }
}
impl From<Temp> for Place {
    fn from(t: Temp) -> Self {
        Place::Temp(t)
    }
}
impl From<Reg> for Value {
    fn from(r: Reg) -> Self {
        Value::Reg(r)
    }
}
impl From<Temp> for Value {
    fn from(t: Temp) -> Self {
        Value::Temp(t)
    }
}
impl From<Place> for Value {
    fn from(p: Place) -> Self {
        match p {
            Place::Reg(r) => Value::Reg(r),
            Place::Temp(t) => Value::Temp(t),
        }
    }
}

/// Integer operand width. Results narrower than 64 bits are zero-extended into their 64-bit container.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ty {
    /// 8 bits.
    I8,
    /// 16 bits.
    I16,
    /// 32 bits.
    I32,
    /// 64 bits.
    I64,
}

impl Ty {
    /// Width in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        match self {
            Ty::I8 => 8,
            Ty::I16 => 16,
            Ty::I32 => 32,
            Ty::I64 => 64,
        }
    }

    /// Mask of the low `bits()` bits.
    #[inline]
    pub const fn mask(self) -> u64 {
        match self {
            Ty::I64 => u64::MAX,
            t => (1u64 << t.bits()) - 1,
        }
    }

    /// The type of a memory access of this size.
    pub const fn of_size(size: AccessSize) -> Ty {
        match size {
            AccessSize::U8 => Ty::I8,
            AccessSize::U16 => Ty::I16,
            AccessSize::U32 => Ty::I32,
            AccessSize::U64 => Ty::I64,
        }
    }
}

/// Two-operand integer operations. All work on the low `ty.bits()` bits of their operands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction `a - b`.
    Sub,
    /// Low half of the product.
    Mul,
    /// High half of the signed x signed product.
    MulHS,
    /// High half of the unsigned x unsigned product.
    MulHU,
    /// High half of the signed `a` x unsigned `b` product.
    MulHSU,
    /// Signed division rounding toward zero. `a / 0` = all ones; `MIN / -1` = `MIN`.
    DivS,
    /// Unsigned division. `a / 0` = all ones.
    DivU,
    /// Signed remainder with the sign of `a`. `a % 0` = `a`; `MIN % -1` = 0.
    RemS,
    /// Unsigned remainder. `a % 0` = `a`.
    RemU,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise exclusive or.
    Xor,
    /// `a & !b`.
    AndNot,
    /// `a | !b`.
    OrNot,
    /// `!(a ^ b)`.
    XorNot,
    /// Shift left by `b mod bits`.
    Shl,
    /// Logical shift right by `b mod bits`.
    ShrU,
    /// Arithmetic shift right by `b mod bits`.
    ShrS,
    /// Rotate left by `b mod bits`.
    RotL,
    /// Rotate right by `b mod bits`.
    RotR,
    /// Signed minimum.
    MinS,
    /// Unsigned minimum.
    MinU,
    /// Signed maximum.
    MaxS,
    /// Unsigned maximum.
    MaxU,
}

/// One-operand integer operations, on the low `ty.bits()` bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnOp {
    /// Bitwise not.
    Not,
    /// Two's-complement negation.
    Neg,
    /// Count of leading zero bits (`bits` for 0).
    Clz,
    /// Count of trailing zero bits (`bits` for 0).
    Ctz,
    /// Count of one bits.
    Popcnt,
    /// Byte swap.
    Bswap,
    /// Each byte becomes 0xff if it is non-zero and 0x00 otherwise.
    OrCombineBytes,
}

/// Integer comparison conditions. The result is 1 when true and 0 when false.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cond {
    /// `a == b`.
    Eq,
    /// `a != b`.
    Ne,
    /// Signed `a < b`.
    LtS,
    /// Unsigned `a < b`.
    LtU,
    /// Signed `a <= b`.
    LeS,
    /// Unsigned `a <= b`.
    LeU,
    /// Signed `a > b`.
    GtS,
    /// Unsigned `a > b`.
    GtU,
    /// Signed `a >= b`.
    GeS,
    /// Unsigned `a >= b`.
    GeU,
}

impl BinOp {
    /// Every two-operand operation, in declaration order (for exhaustive tests and fuzzers).
    pub const ALL: [BinOp; 25] = [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::MulHS,
        BinOp::MulHU,
        BinOp::MulHSU,
        BinOp::DivS,
        BinOp::DivU,
        BinOp::RemS,
        BinOp::RemU,
        BinOp::And,
        BinOp::Or,
        BinOp::Xor,
        BinOp::AndNot,
        BinOp::OrNot,
        BinOp::XorNot,
        BinOp::Shl,
        BinOp::ShrU,
        BinOp::ShrS,
        BinOp::RotL,
        BinOp::RotR,
        BinOp::MinS,
        BinOp::MinU,
        BinOp::MaxS,
        BinOp::MaxU,
    ];
}

impl UnOp {
    /// Every one-operand operation, in declaration order (for exhaustive tests and fuzzers).
    pub const ALL: [UnOp; 7] = [
        UnOp::Not,
        UnOp::Neg,
        UnOp::Clz,
        UnOp::Ctz,
        UnOp::Popcnt,
        UnOp::Bswap,
        UnOp::OrCombineBytes,
    ];
}

impl Cond {
    /// Every condition, in declaration order (for exhaustive tests and fuzzers).
    pub const ALL: [Cond; 10] = [
        Cond::Eq,
        Cond::Ne,
        Cond::LtS,
        Cond::LtU,
        Cond::LeS,
        Cond::LeU,
        Cond::GtS,
        Cond::GtU,
        Cond::GeS,
        Cond::GeU,
    ];
}

/// The shape of one memory access.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemOp {
    /// Access size.
    pub size: AccessSize,
    /// Loads: sign-extend (true) or zero-extend (false) the value to 64 bits.
    pub signed: bool,
    /// Whether a misaligned address raises a misaligned fault (true) or is performed (false).
    pub aligned: bool,
}

impl MemOp {
    /// An unsigned access of `size` that may be misaligned.
    pub const fn unsigned(size: AccessSize) -> Self {
        Self {
            size,
            signed: false,
            aligned: false,
        }
    }

    /// A signed access of `size` that may be misaligned.
    pub const fn signed(size: AccessSize) -> Self {
        Self {
            size,
            signed: true,
            aligned: false,
        }
    }

    /// The same access but requiring natural alignment (atomics).
    pub const fn must_align(self) -> Self {
        Self {
            aligned: true,
            ..self
        }
    }
}

/// Memory ordering of atomics and fences, with C++11 meaning.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemOrder {
    /// No ordering beyond atomicity.
    Relaxed,
    /// Later accesses stay after this one.
    Acquire,
    /// Earlier accesses stay before this one.
    Release,
    /// Both.
    AcqRel,
    /// Sequentially consistent.
    SeqCst,
}

/// Read-modify-write operations. The operation is applied at the access width.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RmwOp {
    /// Store `src`.
    Swap,
    /// Store `old + src`.
    Add,
    /// Store `old & src`.
    And,
    /// Store `old | src`.
    Or,
    /// Store `old ^ src`.
    Xor,
    /// Store the signed minimum.
    MinS,
    /// Store the signed maximum.
    MaxS,
    /// Store the unsigned minimum.
    MinU,
    /// Store the unsigned maximum.
    MaxU,
}

/// What a fence orders.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FenceKind {
    /// Data accesses, with this ordering.
    Data(MemOrder),
    /// Instruction fetch after earlier stores (RISC-V `fence.i`): the engine discards this vCPU's
    /// translations of code that may have been written. Frontends end the block after it.
    Instruction,
    /// Address translations changed (RISC-V `sfence.vma`, x86 `invlpg`, AArch64 `tlbi`): the engine
    /// drops every virtual-to-physical translation it cached for this vCPU. Frontends end the block
    /// after it.
    Translations,
}

/// Exceptions the IR raises directly. The frontend's system semantics turns them into its trap.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrapCause {
    /// An encoding the architecture does not define (or not in this mode).
    IllegalInstruction,
    /// A breakpoint instruction.
    Breakpoint,
    /// A system call instruction (`ecall`, `svc`, `syscall`).
    SystemCall,
    /// An integer division the architecture traps on (x86 `#DE`).
    DivideError,
    /// An architecture-specific cause code, interpreted by the frontend.
    Arch(u16),
}

/// Identifies a system-semantics helper of the frontend.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HelperId(pub u16);

/// One IR operation.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// The start of the guest instruction at `pc`, `len` bytes long. Engines count instructions here
    /// and use the last marker as the faulting PC.
    Insn {
        /// Guest virtual address of the instruction.
        pc: u64,
        /// Length in bytes.
        len: u8,
    },
    /// `dst = src`.
    Mov {
        /// Destination.
        dst: Place,
        /// Source.
        src: Value,
    },
    /// `dst = a op b` at width `ty`.
    Bin {
        /// Operation.
        op: BinOp,
        /// Width.
        ty: Ty,
        /// Destination.
        dst: Place,
        /// Left operand.
        a: Value,
        /// Right operand.
        b: Value,
    },
    /// `dst = op a` at width `ty`.
    Un {
        /// Operation.
        op: UnOp,
        /// Width.
        ty: Ty,
        /// Destination.
        dst: Place,
        /// Operand.
        a: Value,
    },
    /// `dst = (a cond b) ? 1 : 0`, comparing the low `ty.bits()` bits.
    Cmp {
        /// Condition.
        cond: Cond,
        /// Width.
        ty: Ty,
        /// Destination.
        dst: Place,
        /// Left operand.
        a: Value,
        /// Right operand.
        b: Value,
    },
    /// `dst = cond != 0 ? a : b` (all 64 bits).
    Select {
        /// Destination.
        dst: Place,
        /// Condition.
        cond: Value,
        /// Value when the condition is non-zero.
        a: Value,
        /// Value when it is zero.
        b: Value,
    },
    /// Sign- or zero-extend the low `from.bits()` bits of `src` to 64 bits.
    Ext {
        /// Destination.
        dst: Place,
        /// Source.
        src: Value,
        /// Width of the source value.
        from: Ty,
        /// Sign-extend (true) or zero-extend (false).
        signed: bool,
    },
    /// `dst = mem[addr + offset]` (guest virtual address, wrapping), extended per `mem.signed`.
    Load {
        /// Destination.
        dst: Place,
        /// Base address.
        addr: Value,
        /// Signed displacement.
        offset: i32,
        /// Access shape.
        mem: MemOp,
    },
    /// `mem[addr + offset] = low bytes of src`.
    Store {
        /// Value to store.
        src: Value,
        /// Base address.
        addr: Value,
        /// Signed displacement.
        offset: i32,
        /// Access shape.
        mem: MemOp,
    },
    /// Load and set this vCPU's reservation on the aligned `mem.size` bytes at `addr`.
    LoadReserved {
        /// Destination.
        dst: Place,
        /// Address (must be aligned).
        addr: Value,
        /// Access shape.
        mem: MemOp,
        /// Ordering.
        order: MemOrder,
    },
    /// Store if this vCPU still holds a reservation covering `addr` and the memory still holds the value
    /// loaded; `dst = 0` on success and 1 on failure. The reservation is cleared either way.
    StoreConditional {
        /// Status destination.
        dst: Place,
        /// Address (must be aligned).
        addr: Value,
        /// Value to store.
        src: Value,
        /// Access shape.
        mem: MemOp,
        /// Ordering.
        order: MemOrder,
    },
    /// Atomically `old = mem[addr]; mem[addr] = old op src; dst = old` (extended per `mem.signed`).
    AtomicRmw {
        /// Operation.
        op: RmwOp,
        /// Receives the old value.
        dst: Place,
        /// Address (must be aligned).
        addr: Value,
        /// Operand.
        src: Value,
        /// Access shape.
        mem: MemOp,
        /// Ordering.
        order: MemOrder,
    },
    /// Atomically `old = mem[addr]; if old == expected { mem[addr] = new }; dst = old`.
    CmpXchg {
        /// Receives the old value.
        dst: Place,
        /// Address (must be aligned).
        addr: Value,
        /// Expected value.
        expected: Value,
        /// New value.
        new: Value,
        /// Access shape.
        mem: MemOp,
        /// Ordering.
        order: MemOrder,
    },
    /// A memory or instruction fence.
    Fence(FenceKind),
    /// Two-operand floating-point arithmetic.
    FBin {
        /// Operation.
        op: FBinOp,
        /// Format.
        ty: FloatTy,
        /// Destination.
        dst: Place,
        /// Left operand.
        a: Value,
        /// Right operand.
        b: Value,
        /// Rounding.
        rm: Rounding,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// One-operand floating-point arithmetic.
    FUn {
        /// Operation.
        op: FUnOp,
        /// Format.
        ty: FloatTy,
        /// Destination.
        dst: Place,
        /// Operand.
        a: Value,
        /// Rounding.
        rm: Rounding,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// Fused multiply-add: `dst = (±(a × b)) ± c` with one rounding.
    FMulAdd {
        /// Format.
        ty: FloatTy,
        /// Destination.
        dst: Place,
        /// Multiplicand.
        a: Value,
        /// Multiplier.
        b: Value,
        /// Addend.
        c: Value,
        /// Negate the product.
        negate_product: bool,
        /// Negate the addend.
        negate_addend: bool,
        /// Rounding.
        rm: Rounding,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// Floating-point comparison; `dst` = 1 when true, 0 when false (false when unordered, except
    /// `Unordered`).
    FCmp {
        /// Comparison.
        op: FCmpOp,
        /// Signalling: any NaN operand raises invalid (true), or only signalling NaNs do (false).
        signaling: bool,
        /// Format.
        ty: FloatTy,
        /// Destination.
        dst: Place,
        /// Left operand.
        a: Value,
        /// Right operand.
        b: Value,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// Float to integer, saturating: out-of-range values give the nearest representable integer, NaN
    /// gives the largest one; both raise invalid. The result is zero-extended from `to`.
    FToInt {
        /// Destination.
        dst: Place,
        /// Source.
        src: Value,
        /// Source format.
        from: FloatTy,
        /// Integer width (I32 or I64).
        to: Ty,
        /// Signed integer result.
        signed: bool,
        /// Rounding.
        rm: Rounding,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// Integer to float.
    IntToF {
        /// Destination.
        dst: Place,
        /// Source.
        src: Value,
        /// Integer width (I32 or I64).
        from: Ty,
        /// Treat the source as signed.
        signed: bool,
        /// Result format.
        to: FloatTy,
        /// Rounding.
        rm: Rounding,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// Float to float of the other format.
    FConvert {
        /// Destination.
        dst: Place,
        /// Source.
        src: Value,
        /// Source format.
        from: FloatTy,
        /// Result format.
        to: FloatTy,
        /// Rounding.
        rm: Rounding,
        /// NaN rules and exception-flag accumulation.
        env: FpEnv,
    },
    /// Classify: `dst` gets one bit set, in RISC-V `fclass` order: bit 0 −∞, 1 negative normal,
    /// 2 negative subnormal, 3 −0, 4 +0, 5 positive subnormal, 6 positive normal, 7 +∞, 8 signalling NaN,
    /// 9 quiet NaN.
    FClass {
        /// Format.
        ty: FloatTy,
        /// Destination.
        dst: Place,
        /// Operand.
        src: Value,
        /// NaN rules (`box_f32` applies to the operand).
        env: FpEnv,
    },
    /// Call the frontend's system helper `id` with `args`; its result goes to `dst` if any. The helper
    /// may raise a guest exception (precisely, like a faulting load).
    Helper {
        /// Which helper.
        id: HelperId,
        /// Result destination.
        dst: Option<Place>,
        /// Arguments (a helper uses as many as it documents; the rest are ignored).
        args: [Value; 3],
    },
    /// Raise `cause` (with `tval`) at the current instruction if `cond != 0`.
    TrapIf {
        /// Condition.
        cond: Value,
        /// Exception.
        cause: TrapCause,
        /// Architecture-defined trap value.
        tval: u64,
    },
}

/// How a block ends. Exactly one per block.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Terminator {
    /// Continue at `target`.
    Jump {
        /// Next guest PC.
        target: u64,
    },
    /// Continue at `taken` if `cond != 0`, else at `not_taken`.
    Branch {
        /// Condition.
        cond: Value,
        /// PC when true.
        taken: u64,
        /// PC when false.
        not_taken: u64,
    },
    /// Continue at the address in `target` (the frontend clears any low bits the architecture ignores).
    JumpIndirect {
        /// Next guest PC.
        target: Value,
    },
    /// Raise an exception at the last instruction of the block.
    Trap {
        /// Exception.
        cause: TrapCause,
        /// Architecture-defined trap value.
        tval: u64,
    },
    /// Wait for an interrupt (`wfi`, `hlt`), then continue at `next`.
    Wait {
        /// PC after the waiting instruction.
        next: u64,
    },
    /// Return to the vCPU loop (re-check interrupts, translation state and stop requests), then continue
    /// at `next`. Frontends end a block this way after system operations that change privilege, address
    /// translation or interrupt enables.
    Sync {
        /// Next guest PC.
        next: u64,
    },
}

impl Op {
    /// Whether the op can raise a guest exception.
    pub const fn may_fault(&self) -> bool {
        matches!(
            self,
            Op::Load { .. }
                | Op::Store { .. }
                | Op::LoadReserved { .. }
                | Op::StoreConditional { .. }
                | Op::AtomicRmw { .. }
                | Op::CmpXchg { .. }
                | Op::Helper { .. }
                | Op::TrapIf { .. }
        )
    }

    /// The place the op writes, if any.
    pub const fn dst(&self) -> Option<Place> {
        match *self {
            Op::Mov { dst, .. }
            | Op::Bin { dst, .. }
            | Op::Un { dst, .. }
            | Op::Cmp { dst, .. }
            | Op::Select { dst, .. }
            | Op::Ext { dst, .. }
            | Op::Load { dst, .. }
            | Op::LoadReserved { dst, .. }
            | Op::StoreConditional { dst, .. }
            | Op::AtomicRmw { dst, .. }
            | Op::CmpXchg { dst, .. }
            | Op::FBin { dst, .. }
            | Op::FUn { dst, .. }
            | Op::FMulAdd { dst, .. }
            | Op::FCmp { dst, .. }
            | Op::FToInt { dst, .. }
            | Op::IntToF { dst, .. }
            | Op::FConvert { dst, .. }
            | Op::FClass { dst, .. } => Some(dst),
            Op::Helper { dst, .. } => dst,
            Op::Insn { .. } | Op::Store { .. } | Op::Fence(_) | Op::TrapIf { .. } => None,
        }
    }

    /// Call `f` on every operand the op reads, including a dynamic rounding-mode register.
    pub fn for_each_operand(&self, mut f: impl FnMut(Value)) {
        let rm = |r: Rounding, f: &mut dyn FnMut(Value)| {
            if let Rounding::Dynamic(reg) = r {
                f(Value::Reg(reg));
            }
        };
        match *self {
            Op::Insn { .. } | Op::Fence(_) => {}
            Op::Mov { src, .. } | Op::Ext { src, .. } => f(src),
            Op::Bin { a, b, .. } | Op::Cmp { a, b, .. } => {
                f(a);
                f(b);
            }
            Op::FCmp { a, b, .. } => {
                f(a);
                f(b);
            }
            Op::Un { a, .. } => f(a),
            Op::FClass { src, .. } => f(src),
            Op::Select { cond, a, b, .. } => {
                f(cond);
                f(a);
                f(b);
            }
            Op::Load { addr, .. } | Op::LoadReserved { addr, .. } => f(addr),
            Op::Store { src, addr, .. }
            | Op::StoreConditional { src, addr, .. }
            | Op::AtomicRmw { src, addr, .. } => {
                f(addr);
                f(src);
            }
            Op::CmpXchg {
                addr,
                expected,
                new,
                ..
            } => {
                f(addr);
                f(expected);
                f(new);
            }
            Op::FBin { a, b, rm: r, .. } => {
                f(a);
                f(b);
                rm(r, &mut f);
            }
            Op::FUn { a, rm: r, .. } => {
                f(a);
                rm(r, &mut f);
            }
            Op::FMulAdd { a, b, c, rm: r, .. } => {
                f(a);
                f(b);
                f(c);
                rm(r, &mut f);
            }
            Op::FToInt { src, rm: r, .. }
            | Op::IntToF { src, rm: r, .. }
            | Op::FConvert { src, rm: r, .. } => {
                f(src);
                rm(r, &mut f);
            }
            Op::Helper { args, .. } => args.into_iter().for_each(f),
            Op::TrapIf { cond, .. } => f(cond),
        }
    }
}
