//! Decoder for the floating-point encodings of F and D: loads and stores, fused multiply-add and
//! OP-FP.

use super::decode::{funct3, i_imm, rd, rs1, s_imm};
use super::insn::{FArithOp, FCmpOp, FmaOp, FpFmt, IntFmt, MinMaxOp, Op, Rm, RoundingMode, SgnjOp};
use super::reg::FReg;

/// The floating-point rounding-mode field (bits 14:12); `None` for the reserved values 5 and 6.
const fn rm(raw: u32) -> Option<Rm> {
    match funct3(raw) {
        0 => Some(Rm::Static(RoundingMode::NearestEven)),
        1 => Some(Rm::Static(RoundingMode::TowardZero)),
        2 => Some(Rm::Static(RoundingMode::Down)),
        3 => Some(Rm::Static(RoundingMode::Up)),
        4 => Some(Rm::Static(RoundingMode::NearestMaxMagnitude)),
        7 => Some(Rm::Dynamic),
        _ => None,
    }
}

/// The floating-point format field (bits 26:25): S or D; H and Q are not implemented.
const fn fp_fmt(raw: u32) -> Option<FpFmt> {
    match (raw >> 25) & 3 {
        0 => Some(FpFmt::S),
        1 => Some(FpFmt::D),
        _ => None,
    }
}

/// LOAD-FP and STORE-FP: `flw`, `fld`, `fsw`, `fsd`.
pub(super) fn fp_load_store(raw: u32) -> Option<Op> {
    let fmt = match funct3(raw) {
        2 => FpFmt::S,
        3 => FpFmt::D,
        _ => return None,
    };
    let rs1 = rs1(raw);
    if raw & 0x20 == 0 {
        Some(Op::FLoad {
            fmt,
            rd: FReg::from_field(raw >> 7),
            rs1,
            offset: i_imm(raw),
        })
    } else {
        Some(Op::FStore {
            fmt,
            rs1,
            rs2: FReg::from_field(raw >> 20),
            offset: s_imm(raw),
        })
    }
}

/// The four fused multiply-add opcodes.
pub(super) fn fp_fma(raw: u32) -> Option<Op> {
    let op = match (raw >> 2) & 3 {
        0 => FmaOp::Madd,
        1 => FmaOp::Msub,
        2 => FmaOp::Nmsub,
        _ => FmaOp::Nmadd,
    };
    Some(Op::FFma {
        op,
        fmt: fp_fmt(raw)?,
        rd: FReg::from_field(raw >> 7),
        rs1: FReg::from_field(raw >> 15),
        rs2: FReg::from_field(raw >> 20),
        rs3: FReg::from_field(raw >> 27),
        rm: rm(raw)?,
    })
}

/// OP-FP: arithmetic, sign injection, min/max, comparisons, conversions, moves and classify.
pub(super) fn op_fp(raw: u32) -> Option<Op> {
    let fmt = fp_fmt(raw)?;
    let (frd, frs1, frs2) = (
        FReg::from_field(raw >> 7),
        FReg::from_field(raw >> 15),
        FReg::from_field(raw >> 20),
    );
    let (xrd, xrs1) = (rd(raw), rs1(raw));
    let rs2_field = (raw >> 20) & 0x1f;
    let f3 = funct3(raw);
    let arith = |op| {
        Some(Op::FArith {
            op,
            fmt,
            rd: frd,
            rs1: frs1,
            rs2: frs2,
            rm: rm(raw)?,
        })
    };
    let int = || match rs2_field {
        0 => Some(IntFmt::W),
        1 => Some(IntFmt::Wu),
        2 => Some(IntFmt::L),
        3 => Some(IntFmt::Lu),
        _ => None,
    };
    match raw >> 27 {
        0b00000 => arith(FArithOp::Add),
        0b00001 => arith(FArithOp::Sub),
        0b00010 => arith(FArithOp::Mul),
        0b00011 => arith(FArithOp::Div),
        0b01011 if rs2_field == 0 => Some(Op::FSqrt {
            fmt,
            rd: frd,
            rs1: frs1,
            rm: rm(raw)?,
        }),
        0b00100 => {
            let op = match f3 {
                0 => SgnjOp::Sgnj,
                1 => SgnjOp::Sgnjn,
                2 => SgnjOp::Sgnjx,
                _ => return None,
            };
            Some(Op::FSgnj {
                op,
                fmt,
                rd: frd,
                rs1: frs1,
                rs2: frs2,
            })
        }
        0b00101 => {
            let op = match f3 {
                0 => MinMaxOp::Min,
                1 => MinMaxOp::Max,
                _ => return None,
            };
            Some(Op::FMinMax {
                op,
                fmt,
                rd: frd,
                rs1: frs1,
                rs2: frs2,
            })
        }
        0b01000 => {
            let from = match (fmt, rs2_field) {
                (FpFmt::S, 1) => FpFmt::D,
                (FpFmt::D, 0) => FpFmt::S,
                _ => return None,
            };
            Some(Op::FCvtFmt {
                to: fmt,
                from,
                rd: frd,
                rs1: frs1,
                rm: rm(raw)?,
            })
        }
        0b10100 => {
            let op = match f3 {
                2 => FCmpOp::Eq,
                1 => FCmpOp::Lt,
                0 => FCmpOp::Le,
                _ => return None,
            };
            Some(Op::FCmp {
                op,
                fmt,
                rd: xrd,
                rs1: frs1,
                rs2: frs2,
            })
        }
        0b11000 => Some(Op::FCvtToInt {
            int: int()?,
            fmt,
            rd: xrd,
            rs1: frs1,
            rm: rm(raw)?,
        }),
        0b11010 => Some(Op::FCvtFromInt {
            int: int()?,
            fmt,
            rd: frd,
            rs1: xrs1,
            rm: rm(raw)?,
        }),
        0b11100 if rs2_field == 0 && f3 == 0 => Some(Op::FMvToInt {
            fmt,
            rd: xrd,
            rs1: frs1,
        }),
        0b11100 if rs2_field == 0 && f3 == 1 => Some(Op::FClass {
            fmt,
            rd: xrd,
            rs1: frs1,
        }),
        0b11110 if rs2_field == 0 && f3 == 0 => Some(Op::FMvFromInt {
            fmt,
            rd: frd,
            rs1: xrs1,
        }),
        _ => None,
    }
}
