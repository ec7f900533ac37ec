//! The operand kinds of [`Op`](super::insn::Op): which variant of an instruction family, access
//! widths, rounding modes, fence sets.

pub use vm_core::ir::RoundingMode;

use super::insn::Extension;
use super::reg::XReg;

/// Branch conditions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BranchCond {
    /// `rs1 == rs2`.
    Eq,
    /// `rs1 != rs2`.
    Ne,
    /// Signed `rs1 < rs2`.
    Lt,
    /// Signed `rs1 >= rs2`.
    Ge,
    /// Unsigned `rs1 < rs2`.
    Ltu,
    /// Unsigned `rs1 >= rs2`.
    Geu,
}

/// Integer loads: width and extension.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LoadOp {
    /// 8 bits, sign-extended.
    Lb,
    /// 16 bits, sign-extended.
    Lh,
    /// 32 bits, sign-extended.
    Lw,
    /// 64 bits.
    Ld,
    /// 8 bits, zero-extended.
    Lbu,
    /// 16 bits, zero-extended.
    Lhu,
    /// 32 bits, zero-extended.
    Lwu,
}

impl LoadOp {
    /// Access size in bytes.
    pub const fn size(self) -> u8 {
        match self {
            LoadOp::Lb | LoadOp::Lbu => 1,
            LoadOp::Lh | LoadOp::Lhu => 2,
            LoadOp::Lw | LoadOp::Lwu => 4,
            LoadOp::Ld => 8,
        }
    }

    /// Whether the value is sign-extended to 64 bits.
    pub const fn signed(self) -> bool {
        matches!(self, LoadOp::Lb | LoadOp::Lh | LoadOp::Lw | LoadOp::Ld)
    }
}

/// Integer stores.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// 8 bits.
    Sb,
    /// 16 bits.
    Sh,
    /// 32 bits.
    Sw,
    /// 64 bits.
    Sd,
}

impl StoreOp {
    /// Access size in bytes.
    pub const fn size(self) -> u8 {
        match self {
            StoreOp::Sb => 1,
            StoreOp::Sh => 2,
            StoreOp::Sw => 4,
            StoreOp::Sd => 8,
        }
    }
}

/// Two-operand integer operations of RV64I, Zba, Zbb and Zbs. Which ones have an immediate form
/// ([`Op::AluImm`](super::insn::Op::AluImm)) and a 32-bit form
/// ([`Op::AluW`](super::insn::Op::AluW), [`Op::AluImmW`](super::insn::Op::AluImmW)) is said per
/// variant.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// Addition (`add`, `addi`, `addw`, `addiw`).
    Add,
    /// Subtraction (`sub`, `subw`).
    Sub,
    /// Shift left logical (`sll`, `slli`, `sllw`, `slliw`).
    Sll,
    /// Set if less than, signed (`slt`, `slti`).
    Slt,
    /// Set if less than, unsigned (`sltu`, `sltiu`; the immediate is sign-extended, then compared
    /// unsigned).
    Sltu,
    /// Exclusive or (`xor`, `xori`).
    Xor,
    /// Shift right logical (`srl`, `srli`, `srlw`, `srliw`).
    Srl,
    /// Shift right arithmetic (`sra`, `srai`, `sraw`, `sraiw`).
    Sra,
    /// Or (`or`, `ori`).
    Or,
    /// And (`and`, `andi`).
    And,
    /// `rs2 + zext32(rs1)` (Zba `add.uw`).
    AddUw,
    /// `rs2 + (rs1 << 1)` (Zba).
    Sh1add,
    /// `rs2 + (rs1 << 2)` (Zba).
    Sh2add,
    /// `rs2 + (rs1 << 3)` (Zba).
    Sh3add,
    /// `rs2 + (zext32(rs1) << 1)` (Zba).
    Sh1addUw,
    /// `rs2 + (zext32(rs1) << 2)` (Zba).
    Sh2addUw,
    /// `rs2 + (zext32(rs1) << 3)` (Zba).
    Sh3addUw,
    /// `zext32(rs1) << imm`; immediate form only (Zba `slli.uw`).
    SllUw,
    /// `rs1 & !rs2` (Zbb).
    Andn,
    /// `rs1 | !rs2` (Zbb).
    Orn,
    /// `!(rs1 ^ rs2)` (Zbb).
    Xnor,
    /// Signed maximum (Zbb).
    Max,
    /// Unsigned maximum (Zbb).
    Maxu,
    /// Signed minimum (Zbb).
    Min,
    /// Unsigned minimum (Zbb).
    Minu,
    /// Rotate left (Zbb `rol`, `rolw`).
    Rol,
    /// Rotate right (Zbb `ror`, `rori`, `rorw`, `roriw`).
    Ror,
    /// Clear bit `rs2 & 63` (Zbs `bclr`, `bclri`).
    Bclr,
    /// Extract bit `rs2 & 63` (Zbs `bext`, `bexti`).
    Bext,
    /// Invert bit `rs2 & 63` (Zbs `binv`, `binvi`).
    Binv,
    /// Set bit `rs2 & 63` (Zbs `bset`, `bseti`).
    Bset,
}

impl AluOp {
    /// The extension that defines the operation.
    pub const fn extension(self) -> Extension {
        match self {
            AluOp::Add
            | AluOp::Sub
            | AluOp::Sll
            | AluOp::Slt
            | AluOp::Sltu
            | AluOp::Xor
            | AluOp::Srl
            | AluOp::Sra
            | AluOp::Or
            | AluOp::And => Extension::I,
            AluOp::AddUw
            | AluOp::Sh1add
            | AluOp::Sh2add
            | AluOp::Sh3add
            | AluOp::Sh1addUw
            | AluOp::Sh2addUw
            | AluOp::Sh3addUw
            | AluOp::SllUw => Extension::Zba,
            AluOp::Andn
            | AluOp::Orn
            | AluOp::Xnor
            | AluOp::Max
            | AluOp::Maxu
            | AluOp::Min
            | AluOp::Minu
            | AluOp::Rol
            | AluOp::Ror => Extension::Zbb,
            AluOp::Bclr | AluOp::Bext | AluOp::Binv | AluOp::Bset => Extension::Zbs,
        }
    }
}

/// One-operand bit-manipulation operations (Zbb).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// Count leading zeros (64 bits).
    Clz,
    /// Count trailing zeros (64 bits).
    Ctz,
    /// Population count (64 bits).
    Cpop,
    /// Count leading zeros of the low 32 bits.
    Clzw,
    /// Count trailing zeros of the low 32 bits.
    Ctzw,
    /// Population count of the low 32 bits.
    Cpopw,
    /// Sign-extend the low byte.
    SextB,
    /// Sign-extend the low halfword.
    SextH,
    /// Zero-extend the low halfword.
    ZextH,
    /// Reverse the bytes.
    Rev8,
    /// Each byte becomes 0xff if it was non-zero, else 0.
    OrcB,
}

/// Multiplication and division (M). Division by zero and signed overflow do not trap: the results
/// are those the specification gives (all ones / the dividend).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MulDivOp {
    /// Low bits of the product.
    Mul,
    /// High 64 bits of the signed × signed product.
    Mulh,
    /// High 64 bits of the signed × unsigned product.
    Mulhsu,
    /// High 64 bits of the unsigned × unsigned product.
    Mulhu,
    /// Signed division, rounding toward zero.
    Div,
    /// Unsigned division.
    Divu,
    /// Signed remainder.
    Rem,
    /// Unsigned remainder.
    Remu,
}

/// Width of an atomic memory operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AmoWidth {
    /// 32 bits (the loaded value is sign-extended).
    W,
    /// 64 bits.
    D,
}

/// Atomic read-modify-write operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AmoOp {
    /// Swap.
    Swap,
    /// Addition.
    Add,
    /// Exclusive or.
    Xor,
    /// And.
    And,
    /// Or.
    Or,
    /// Signed minimum.
    Min,
    /// Signed maximum.
    Max,
    /// Unsigned minimum.
    Minu,
    /// Unsigned maximum.
    Maxu,
}

/// A fence's predecessor or successor set: bits I (8), O (4), R (2), W (1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FenceSet(pub u8);

impl FenceSet {
    /// Device input.
    pub const I: FenceSet = FenceSet(8);
    /// Device output.
    pub const O: FenceSet = FenceSet(4);
    /// Memory reads.
    pub const R: FenceSet = FenceSet(2);
    /// Memory writes.
    pub const W: FenceSet = FenceSet(1);
    /// Memory reads and writes.
    pub const RW: FenceSet = FenceSet(3);
    /// Everything.
    pub const IORW: FenceSet = FenceSet(15);
}

/// The read-modify-write of a CSR instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CsrOp {
    /// Write the source (`csrrw`, `csrrwi`).
    Rw,
    /// Set the bits of the source (`csrrs`, `csrrsi`).
    Rs,
    /// Clear the bits of the source (`csrrc`, `csrrci`).
    Rc,
}

/// The source operand of a CSR instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CsrSrc {
    /// A register (`csrrw`, `csrrs`, `csrrc`).
    Reg(XReg),
    /// A five-bit zero-extended immediate (`csrrwi`, `csrrsi`, `csrrci`).
    Imm(u8),
}

impl CsrSrc {
    /// Whether the source is `x0` or the immediate 0 (then `csrrs`/`csrrc` do not write).
    pub const fn is_zero(self) -> bool {
        match self {
            CsrSrc::Reg(r) => r.is_zero(),
            CsrSrc::Imm(i) => i == 0,
        }
    }
}

/// Floating-point formats of F and D.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FpFmt {
    /// binary32 (`.s`), NaN-boxed in the 64-bit registers.
    S,
    /// binary64 (`.d`).
    D,
}

impl FpFmt {
    /// The extension that defines instructions of this format.
    pub const fn extension(self) -> Extension {
        match self {
            FpFmt::S => Extension::F,
            FpFmt::D => Extension::D,
        }
    }
}

/// The integer side of a conversion.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntFmt {
    /// Signed 32-bit (`.w`).
    W,
    /// Unsigned 32-bit (`.wu`).
    Wu,
    /// Signed 64-bit (`.l`).
    L,
    /// Unsigned 64-bit (`.lu`).
    Lu,
}

/// The rounding mode of a floating-point instruction. The reserved encodings 5 and 6 are rejected
/// by the decoder (the specification makes them illegal instructions); `Dynamic` takes the mode from
/// `frm`, whose validity the execution checks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rm {
    /// Fixed in the instruction.
    Static(RoundingMode),
    /// From the `frm` CSR (encoding 7).
    Dynamic,
}

/// Basic floating-point arithmetic.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FArithOp {
    /// Addition.
    Add,
    /// Subtraction.
    Sub,
    /// Multiplication.
    Mul,
    /// Division.
    Div,
}

/// Fused multiply-add variants.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FmaOp {
    /// `rs1 * rs2 + rs3`.
    Madd,
    /// `rs1 * rs2 - rs3`.
    Msub,
    /// `-(rs1 * rs2) + rs3`.
    Nmsub,
    /// `-(rs1 * rs2) - rs3`.
    Nmadd,
}

/// Sign-injection variants.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SgnjOp {
    /// Sign of `rs2`.
    Sgnj,
    /// Opposite of the sign of `rs2`.
    Sgnjn,
    /// Xor of both signs.
    Sgnjx,
}

/// Minimum or maximum.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum MinMaxOp {
    /// Minimum.
    Min,
    /// Maximum.
    Max,
}

/// Floating-point comparisons (`feq` is quiet, `flt`/`fle` signal on NaN).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FCmpOp {
    /// Equal.
    Eq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}
