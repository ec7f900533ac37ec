//! Printing the floating-point instructions in objdump's syntax (the same in both syntaxes, but
//! for the sign-injection aliases in [`alias`](super::alias)).

use core::fmt::{self, Display, Formatter};

use super::disasm::Printer;
use super::insn::{FArithOp, FCmpOp, FmaOp, FpFmt, IntFmt, MinMaxOp, Op, Rm, RoundingMode, SgnjOp};

/// A rounding-mode operand: `,rtz` etc., nothing for the default.
struct RmSuffix {
    rm: Rm,
    /// The mode objdump leaves out: `dyn` normally, `rne` for the exact conversions.
    default: Rm,
}

impl Display for RmSuffix {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.rm == self.default {
            return Ok(());
        }
        f.write_str(match self.rm {
            Rm::Static(RoundingMode::NearestEven) => ",rne",
            Rm::Static(RoundingMode::TowardZero) => ",rtz",
            Rm::Static(RoundingMode::Down) => ",rdn",
            Rm::Static(RoundingMode::Up) => ",rup",
            Rm::Static(RoundingMode::NearestMaxMagnitude) => ",rmm",
            Rm::Dynamic => ",dyn",
        })
    }
}

const fn rm(rm: Rm) -> RmSuffix {
    RmSuffix {
        rm,
        default: Rm::Dynamic,
    }
}

const fn fmt_suffix(fmt: FpFmt) -> &'static str {
    match fmt {
        FpFmt::S => "s",
        FpFmt::D => "d",
    }
}

const fn int_suffix(int: IntFmt) -> &'static str {
    match int {
        IntFmt::W => "w",
        IntFmt::Wu => "wu",
        IntFmt::L => "l",
        IntFmt::Lu => "lu",
    }
}

impl Printer {
    /// Floating-point instructions, which objdump prints the same in both syntaxes except for the
    /// sign-injection aliases.
    pub(super) fn fp(&self, f: &mut Formatter<'_>, op: &Op) -> fmt::Result {
        match *op {
            Op::FLoad {
                fmt,
                rd,
                rs1,
                offset,
            } => {
                let name = if fmt == FpFmt::S { "flw" } else { "fld" };
                write!(f, "{name}\t{rd},{offset}({rs1})")
            }
            Op::FStore {
                fmt,
                rs1,
                rs2,
                offset,
            } => {
                let name = if fmt == FpFmt::S { "fsw" } else { "fsd" };
                write!(f, "{name}\t{rs2},{offset}({rs1})")
            }
            Op::FArith {
                op,
                fmt,
                rd,
                rs1,
                rs2,
                rm: m,
            } => {
                let name = match op {
                    FArithOp::Add => "fadd",
                    FArithOp::Sub => "fsub",
                    FArithOp::Mul => "fmul",
                    FArithOp::Div => "fdiv",
                };
                write!(f, "{name}.{}\t{rd},{rs1},{rs2}{}", fmt_suffix(fmt), rm(m))
            }
            Op::FSqrt {
                fmt,
                rd,
                rs1,
                rm: m,
            } => {
                write!(f, "fsqrt.{}\t{rd},{rs1}{}", fmt_suffix(fmt), rm(m))
            }
            Op::FFma {
                op,
                fmt,
                rd,
                rs1,
                rs2,
                rs3,
                rm: m,
            } => {
                let name = match op {
                    FmaOp::Madd => "fmadd",
                    FmaOp::Msub => "fmsub",
                    FmaOp::Nmsub => "fnmsub",
                    FmaOp::Nmadd => "fnmadd",
                };
                write!(
                    f,
                    "{name}.{}\t{rd},{rs1},{rs2},{rs3}{}",
                    fmt_suffix(fmt),
                    rm(m)
                )
            }
            Op::FSgnj {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } => {
                let name = match op {
                    SgnjOp::Sgnj => "fsgnj",
                    SgnjOp::Sgnjn => "fsgnjn",
                    SgnjOp::Sgnjx => "fsgnjx",
                };
                write!(f, "{name}.{}\t{rd},{rs1},{rs2}", fmt_suffix(fmt))
            }
            Op::FMinMax {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } => {
                let name = if op == MinMaxOp::Min { "fmin" } else { "fmax" };
                write!(f, "{name}.{}\t{rd},{rs1},{rs2}", fmt_suffix(fmt))
            }
            Op::FCmp {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } => {
                let name = match op {
                    FCmpOp::Eq => "feq",
                    FCmpOp::Lt => "flt",
                    FCmpOp::Le => "fle",
                };
                write!(f, "{name}.{}\t{rd},{rs1},{rs2}", fmt_suffix(fmt))
            }
            Op::FClass { fmt, rd, rs1 } => write!(f, "fclass.{}\t{rd},{rs1}", fmt_suffix(fmt)),
            Op::FCvtToInt {
                int,
                fmt,
                rd,
                rs1,
                rm: m,
            } => {
                write!(
                    f,
                    "fcvt.{}.{}\t{rd},{rs1}{}",
                    int_suffix(int),
                    fmt_suffix(fmt),
                    rm(m)
                )
            }
            Op::FCvtFromInt {
                int,
                fmt,
                rd,
                rs1,
                rm: m,
            } => {
                // Conversions of 32-bit integers to double are exact: objdump leaves out `rne`.
                let exact = fmt == FpFmt::D && matches!(int, IntFmt::W | IntFmt::Wu);
                let suffix = if exact {
                    RmSuffix {
                        rm: m,
                        default: Rm::Static(RoundingMode::NearestEven),
                    }
                } else {
                    rm(m)
                };
                write!(
                    f,
                    "fcvt.{}.{}\t{rd},{rs1}{suffix}",
                    fmt_suffix(fmt),
                    int_suffix(int)
                )
            }
            Op::FCvtFmt {
                to,
                from,
                rd,
                rs1,
                rm: m,
            } => {
                let suffix = if to == FpFmt::D {
                    RmSuffix {
                        rm: m,
                        default: Rm::Static(RoundingMode::NearestEven),
                    }
                } else {
                    rm(m)
                };
                write!(
                    f,
                    "fcvt.{}.{}\t{rd},{rs1}{suffix}",
                    fmt_suffix(to),
                    fmt_suffix(from)
                )
            }
            Op::FMvToInt { fmt, rd, rs1 } => {
                write!(
                    f,
                    "fmv.x.{}\t{rd},{rs1}",
                    if fmt == FpFmt::S { "w" } else { "d" }
                )
            }
            Op::FMvFromInt { fmt, rd, rs1 } => {
                write!(
                    f,
                    "fmv.{}.x\t{rd},{rs1}",
                    if fmt == FpFmt::S { "w" } else { "d" }
                )
            }
            // `canonical` sends only the floating-point operations here (its match is exhaustive).
            _ => Ok(()),
        }
    }
}
