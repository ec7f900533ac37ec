//! Floating-point types of the IR: formats, rounding, NaN rules and IEEE exception flags.

use serde::{Deserialize, Serialize};

use super::op::Reg;

/// Floating-point format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FloatTy {
    /// IEEE-754 binary32, in the low 32 bits of its container.
    F32,
    /// IEEE-754 binary64.
    F64,
}

/// IEEE-754 rounding modes. The discriminants are the encoding a [`Rounding::Dynamic`] register holds
/// (the same as RISC-V's `frm`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum RoundingMode {
    /// Round to nearest, ties to even.
    NearestEven = 0,
    /// Round toward zero.
    TowardZero = 1,
    /// Round down (toward −∞).
    Down = 2,
    /// Round up (toward +∞).
    Up = 3,
    /// Round to nearest, ties away from zero.
    NearestMaxMagnitude = 4,
}

impl RoundingMode {
    /// The mode with this encoding, if it is one.
    pub const fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            0 => Some(Self::NearestEven),
            1 => Some(Self::TowardZero),
            2 => Some(Self::Down),
            3 => Some(Self::Up),
            4 => Some(Self::NearestMaxMagnitude),
            _ => None,
        }
    }
}

/// Where an operation takes its rounding mode from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rounding {
    /// Fixed in the instruction.
    Static(RoundingMode),
    /// Read from a guest register slot holding a [`RoundingMode`] encoding. Frontends check the value is
    /// valid before the op (RISC-V raises illegal instruction otherwise); an invalid value rounds to
    /// nearest-even.
    Dynamic(Reg),
}

/// How NaN results are produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NanMode {
    /// Every NaN result is the canonical quiet NaN (`0x7fc00000` / `0x7ff8000000000000`): RISC-V, and
    /// AArch64 with FPCR.DN set.
    Canonical,
    /// The first NaN operand is propagated, quietened (signalling operands take priority over quiet
    /// ones); an invalid operation with no NaN operand yields the default NaN `0x7fc00000` /
    /// `0x7ff8000000000000`: AArch64 with FPCR.DN clear.
    PropagateArm,
    /// The first NaN operand is propagated, quietened; an invalid operation with no NaN operand yields
    /// x86's "QNaN floating-point indefinite" `0xffc00000` / `0xfff8000000000000`.
    PropagateX86,
}

/// The floating-point environment of one operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FpEnv {
    /// NaN rules.
    pub nan: NanMode,
    /// F32 values are NaN-boxed in their 64-bit container (RISC-V): an F32 operand whose upper 32 bits
    /// are not all ones reads as the canonical NaN, and F32 results get their upper 32 bits set to ones.
    /// When false, F32 operands use the low 32 bits and results are zero-extended.
    pub box_f32: bool,
    /// A guest register slot the operation ORs its [`FpFlags`] into, if the architecture accumulates them.
    pub flags: Option<Reg>,
}

/// IEEE-754 exception flags, as accumulated into [`FpEnv::flags`]. The bit layout is RISC-V's `fflags`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FpFlags(pub u8);

impl FpFlags {
    /// Inexact.
    pub const INEXACT: u8 = 1 << 0;
    /// Underflow.
    pub const UNDERFLOW: u8 = 1 << 1;
    /// Overflow.
    pub const OVERFLOW: u8 = 1 << 2;
    /// Division by zero.
    pub const DIV_BY_ZERO: u8 = 1 << 3;
    /// Invalid operation.
    pub const INVALID: u8 = 1 << 4;
}

/// Two-operand floating-point operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FBinOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a × b`.
    Mul,
    /// `a ÷ b`.
    Div,
    /// IEEE 754-2019 `minimumNumber`: a NaN operand yields the other operand (both NaN: a NaN per
    /// [`NanMode`]); −0 is less than +0; signalling NaN operands raise invalid.
    MinNum,
    /// IEEE 754-2019 `maximumNumber`, as [`FBinOp::MinNum`].
    MaxNum,
}

/// One-operand floating-point operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FUnOp {
    /// Square root.
    Sqrt,
    /// Round to an integral value in the same format (raises inexact when the value changes).
    RoundToIntegral,
}

/// Floating-point comparisons.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FCmpOp {
    /// `a == b`.
    Eq,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// Either operand is a NaN.
    Unordered,
}
