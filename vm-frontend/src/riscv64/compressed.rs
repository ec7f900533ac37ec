//! Decoder for the 16-bit RV64C encodings: each expands to the base instruction it stands for, and
//! the [`CForm`] records which compressed instruction it was.
//!
//! Reserved encodings are [`Illegal`]: the all-zero halfword, `c.addi4spn` with a zero immediate,
//! `c.addi16sp` and `c.lui` with a zero immediate, `c.addiw`/`c.lwsp`/`c.ldsp` with `rd` = `x0`,
//! `c.jr` with `rs1` = `x0`, and the opcode points C leaves to other extensions (Zcb, Zcmp, ...).
//! HINT encodings (for example `c.addi x0, 5`, `c.li x0, 1`, `c.slli` with a zero shift) are
//! legal instructions and decode to their expansion, which does nothing.

use super::Illegal;
use super::insn::{AluOp, BranchCond, CForm, FpFmt, Insn, LoadOp, Op, StoreOp};
use super::reg::{FReg, XReg};

/// Decodes a 16-bit compressed instruction (its low two bits must not be `0b11`).
pub fn decode_compressed(raw: u16) -> Result<Insn, Illegal> {
    expand(u32::from(raw))
        .map(|(op, form)| Insn::from_compressed(op, form))
        .ok_or(Illegal {
            raw: u32::from(raw),
        })
}

/// Bit `n` of `raw`, shifted to position `to`.
const fn bit(raw: u32, n: u32, to: u32) -> u32 {
    ((raw >> n) & 1) << to
}

/// Bits `hi..=lo` of `raw`, shifted so that bit `lo` lands at position `to`.
const fn bits(raw: u32, hi: u32, lo: u32, to: u32) -> u32 {
    ((raw >> lo) & ((1 << (hi - lo + 1)) - 1)) << to
}

/// Sign-extends the low `width` bits of `value`.
const fn sext(value: u32, width: u32) -> i32 {
    let shift = 32 - width;
    ((value << shift) as i32) >> shift
}

/// The six-bit signed immediate of CI-format instructions: imm\[5\] = bit 12, imm\[4:0\] = 6:2.
pub(crate) const fn ci_imm(raw: u32) -> i32 {
    sext(bit(raw, 12, 5) | bits(raw, 6, 2, 0), 6)
}

/// The six-bit shift amount of `c.slli`/`c.srli`/`c.srai`.
const fn c_shamt(raw: u32) -> i32 {
    (bit(raw, 12, 5) | bits(raw, 6, 2, 0)) as i32
}

/// `c.addi4spn`: nzuimm\[5:4|9:6|2|3\] in bits 12:5.
pub(crate) const fn addi4spn_imm(raw: u32) -> i32 {
    (bits(raw, 12, 11, 4) | bits(raw, 10, 7, 6) | bit(raw, 6, 2) | bit(raw, 5, 3)) as i32
}

/// `c.addi16sp`: nzimm\[9\] = bit 12, nzimm\[4|6|8:7|5\] = bits 6:2.
pub(crate) const fn addi16sp_imm(raw: u32) -> i32 {
    sext(
        bit(raw, 12, 9) | bit(raw, 6, 4) | bit(raw, 5, 6) | bits(raw, 4, 3, 7) | bit(raw, 2, 5),
        10,
    )
}

/// `c.lui`: nzimm\[17\] = bit 12, nzimm\[16:12\] = bits 6:2, sign-extended from bit 17.
pub(crate) const fn lui_imm(raw: u32) -> i32 {
    sext(bit(raw, 12, 17) | bits(raw, 6, 2, 12), 18)
}

/// `c.lw`/`c.sw`: uimm\[5:3\] = bits 12:10, uimm\[2\] = bit 6, uimm\[6\] = bit 5.
pub(crate) const fn clw_imm(raw: u32) -> i32 {
    (bits(raw, 12, 10, 3) | bit(raw, 6, 2) | bit(raw, 5, 6)) as i32
}

/// `c.ld`/`c.sd`/`c.fld`/`c.fsd`: uimm\[5:3\] = bits 12:10, uimm\[7:6\] = bits 6:5.
pub(crate) const fn cld_imm(raw: u32) -> i32 {
    (bits(raw, 12, 10, 3) | bits(raw, 6, 5, 6)) as i32
}

/// `c.lwsp`: uimm\[5\] = bit 12, uimm\[4:2|7:6\] = bits 6:2.
pub(crate) const fn lwsp_imm(raw: u32) -> i32 {
    (bit(raw, 12, 5) | bits(raw, 6, 4, 2) | bits(raw, 3, 2, 6)) as i32
}

/// `c.ldsp`/`c.fldsp`: uimm\[5\] = bit 12, uimm\[4:3|8:6\] = bits 6:2.
pub(crate) const fn ldsp_imm(raw: u32) -> i32 {
    (bit(raw, 12, 5) | bits(raw, 6, 5, 3) | bits(raw, 4, 2, 6)) as i32
}

/// `c.swsp`: uimm\[5:2|7:6\] = bits 12:7.
pub(crate) const fn swsp_imm(raw: u32) -> i32 {
    (bits(raw, 12, 9, 2) | bits(raw, 8, 7, 6)) as i32
}

/// `c.sdsp`/`c.fsdsp`: uimm\[5:3|8:6\] = bits 12:7.
pub(crate) const fn sdsp_imm(raw: u32) -> i32 {
    (bits(raw, 12, 10, 3) | bits(raw, 9, 7, 6)) as i32
}

/// `c.j`: offset\[11|4|9:8|10|6|7|3:1|5\] = bits 12:2.
pub(crate) const fn cj_imm(raw: u32) -> i32 {
    sext(
        bit(raw, 12, 11)
            | bit(raw, 11, 4)
            | bits(raw, 10, 9, 8)
            | bit(raw, 8, 10)
            | bit(raw, 7, 6)
            | bit(raw, 6, 7)
            | bits(raw, 5, 3, 1)
            | bit(raw, 2, 5),
        12,
    )
}

/// `c.beqz`/`c.bnez`: offset\[8|4:3\] = bits 12:10, offset\[7:6|2:1|5\] = bits 6:2.
pub(crate) const fn cb_imm(raw: u32) -> i32 {
    sext(
        bit(raw, 12, 8)
            | bits(raw, 11, 10, 3)
            | bits(raw, 6, 5, 6)
            | bits(raw, 4, 3, 1)
            | bit(raw, 2, 5),
        9,
    )
}

/// The expansion of a compressed instruction, or `None` when the encoding is reserved.
fn expand(raw: u32) -> Option<(Op, CForm)> {
    // Full register fields (CR/CI formats) and the three-bit x8..x15 fields (CIW/CL/CS/CA/CB).
    let rd = XReg::from_field(raw >> 7);
    let rs2 = XReg::from_field(raw >> 2);
    let rd_p = XReg::from_compressed(raw >> 2);
    let rs1_p = XReg::from_compressed(raw >> 7);
    let funct3 = (raw >> 13) & 7;
    let op = match (raw & 3, funct3) {
        (0, 0) => {
            let imm = addi4spn_imm(raw);
            if imm == 0 {
                return None;
            }
            (
                Op::AluImm {
                    op: AluOp::Add,
                    rd: rd_p,
                    rs1: XReg::SP,
                    imm,
                },
                CForm::CAddi4spn,
            )
        }
        (0, 1) => {
            let rd = FReg::from_compressed(raw >> 2);
            (
                Op::FLoad {
                    fmt: FpFmt::D,
                    rd,
                    rs1: rs1_p,
                    offset: cld_imm(raw),
                },
                CForm::CFld,
            )
        }
        (0, 2) => (
            Op::Load {
                op: LoadOp::Lw,
                rd: rd_p,
                rs1: rs1_p,
                offset: clw_imm(raw),
            },
            CForm::CLw,
        ),
        (0, 3) => (
            Op::Load {
                op: LoadOp::Ld,
                rd: rd_p,
                rs1: rs1_p,
                offset: cld_imm(raw),
            },
            CForm::CLd,
        ),
        (0, 5) => {
            let rs2 = FReg::from_compressed(raw >> 2);
            (
                Op::FStore {
                    fmt: FpFmt::D,
                    rs1: rs1_p,
                    rs2,
                    offset: cld_imm(raw),
                },
                CForm::CFsd,
            )
        }
        (0, 6) => (
            Op::Store {
                op: StoreOp::Sw,
                rs1: rs1_p,
                rs2: rd_p,
                offset: clw_imm(raw),
            },
            CForm::CSw,
        ),
        (0, 7) => (
            Op::Store {
                op: StoreOp::Sd,
                rs1: rs1_p,
                rs2: rd_p,
                offset: cld_imm(raw),
            },
            CForm::CSd,
        ),
        (1, 0) => (
            Op::AluImm {
                op: AluOp::Add,
                rd,
                rs1: rd,
                imm: ci_imm(raw),
            },
            CForm::CAddi,
        ),
        (1, 1) => {
            if rd.is_zero() {
                return None;
            }
            (
                Op::AluImmW {
                    op: AluOp::Add,
                    rd,
                    rs1: rd,
                    imm: ci_imm(raw),
                },
                CForm::CAddiw,
            )
        }
        (1, 2) => (
            Op::AluImm {
                op: AluOp::Add,
                rd,
                rs1: XReg::ZERO,
                imm: ci_imm(raw),
            },
            CForm::CLi,
        ),
        (1, 3) if rd == XReg::SP => {
            let imm = addi16sp_imm(raw);
            if imm == 0 {
                return None;
            }
            (
                Op::AluImm {
                    op: AluOp::Add,
                    rd,
                    rs1: rd,
                    imm,
                },
                CForm::CAddi16sp,
            )
        }
        (1, 3) => {
            let imm = lui_imm(raw);
            if imm == 0 {
                return None;
            }
            (Op::Lui { rd, imm }, CForm::CLui)
        }
        (1, 4) => return misc_alu(raw, rs1_p),
        (1, 5) => (
            Op::Jal {
                rd: XReg::ZERO,
                offset: cj_imm(raw),
            },
            CForm::CJ,
        ),
        (1, 6 | 7) => {
            let (cond, form) = if funct3 == 6 {
                (BranchCond::Eq, CForm::CBeqz)
            } else {
                (BranchCond::Ne, CForm::CBnez)
            };
            (
                Op::Branch {
                    cond,
                    rs1: rs1_p,
                    rs2: XReg::ZERO,
                    offset: cb_imm(raw),
                },
                form,
            )
        }
        (2, 0) => (
            Op::AluImm {
                op: AluOp::Sll,
                rd,
                rs1: rd,
                imm: c_shamt(raw),
            },
            CForm::CSlli,
        ),
        (2, 1) => {
            let rd = FReg::from_field(raw >> 7);
            (
                Op::FLoad {
                    fmt: FpFmt::D,
                    rd,
                    rs1: XReg::SP,
                    offset: ldsp_imm(raw),
                },
                CForm::CFldsp,
            )
        }
        (2, 2 | 3) => {
            if rd.is_zero() {
                return None;
            }
            if funct3 == 2 {
                (
                    Op::Load {
                        op: LoadOp::Lw,
                        rd,
                        rs1: XReg::SP,
                        offset: lwsp_imm(raw),
                    },
                    CForm::CLwsp,
                )
            } else {
                (
                    Op::Load {
                        op: LoadOp::Ld,
                        rd,
                        rs1: XReg::SP,
                        offset: ldsp_imm(raw),
                    },
                    CForm::CLdsp,
                )
            }
        }
        (2, 4) => return jump_move_add(raw, rd, rs2),
        (2, 5) => {
            let rs2 = FReg::from_field(raw >> 2);
            (
                Op::FStore {
                    fmt: FpFmt::D,
                    rs1: XReg::SP,
                    rs2,
                    offset: sdsp_imm(raw),
                },
                CForm::CFsdsp,
            )
        }
        (2, 6) => (
            Op::Store {
                op: StoreOp::Sw,
                rs1: XReg::SP,
                rs2,
                offset: swsp_imm(raw),
            },
            CForm::CSwsp,
        ),
        (2, 7) => (
            Op::Store {
                op: StoreOp::Sd,
                rs1: XReg::SP,
                rs2,
                offset: sdsp_imm(raw),
            },
            CForm::CSdsp,
        ),
        // Quadrant 0 funct3 4 is reserved (Zcb); quadrant 3 is not compressed.
        _ => return None,
    };
    Some(op)
}

/// Quadrant 1, funct3 4: `c.srli`, `c.srai`, `c.andi` and the register-register CA format.
fn misc_alu(raw: u32, rd: XReg) -> Option<(Op, CForm)> {
    let rs2 = XReg::from_compressed(raw >> 2);
    let imm_form = |op, imm, form| {
        Some((
            Op::AluImm {
                op,
                rd,
                rs1: rd,
                imm,
            },
            form,
        ))
    };
    match ((raw >> 10) & 3, (raw >> 12) & 1, (raw >> 5) & 3) {
        (0, _, _) => imm_form(AluOp::Srl, c_shamt(raw), CForm::CSrli),
        (1, _, _) => imm_form(AluOp::Sra, c_shamt(raw), CForm::CSrai),
        (2, _, _) => imm_form(AluOp::And, ci_imm(raw), CForm::CAndi),
        (_, 0, funct2) => {
            let (op, form) = match funct2 {
                0 => (AluOp::Sub, CForm::CSub),
                1 => (AluOp::Xor, CForm::CXor),
                2 => (AluOp::Or, CForm::COr),
                _ => (AluOp::And, CForm::CAnd),
            };
            Some((
                Op::Alu {
                    op,
                    rd,
                    rs1: rd,
                    rs2,
                },
                form,
            ))
        }
        (_, _, 0) => Some((
            Op::AluW {
                op: AluOp::Sub,
                rd,
                rs1: rd,
                rs2,
            },
            CForm::CSubw,
        )),
        (_, _, 1) => Some((
            Op::AluW {
                op: AluOp::Add,
                rd,
                rs1: rd,
                rs2,
            },
            CForm::CAddw,
        )),
        // c.mulw and the other Zcb points.
        _ => None,
    }
}

/// Quadrant 2, funct3 4: `c.jr`, `c.mv`, `c.ebreak`, `c.jalr`, `c.add`.
fn jump_move_add(raw: u32, rd: XReg, rs2: XReg) -> Option<(Op, CForm)> {
    let high = (raw >> 12) & 1 == 1;
    match (high, rd.is_zero(), rs2.is_zero()) {
        (false, true, true) => None,
        (false, false, true) => Some((
            Op::Jalr {
                rd: XReg::ZERO,
                rs1: rd,
                offset: 0,
            },
            CForm::CJr,
        )),
        (false, _, false) => Some((
            Op::Alu {
                op: AluOp::Add,
                rd,
                rs1: XReg::ZERO,
                rs2,
            },
            CForm::CMv,
        )),
        (true, true, true) => Some((Op::Ebreak, CForm::CEbreak)),
        (true, false, true) => Some((
            Op::Jalr {
                rd: XReg::RA,
                rs1: rd,
                offset: 0,
            },
            CForm::CJalr,
        )),
        (true, _, false) => Some((
            Op::Alu {
                op: AluOp::Add,
                rd,
                rs1: rd,
                rs2,
            },
            CForm::CAdd,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_immediates() {
        // c.li a0,-1 = 0x557d; c.li a0,31 = 0x457d; c.addi a0,-32 = 0x1501.
        assert_eq!(ci_imm(0x557d), -1);
        assert_eq!(ci_imm(0x457d), 31);
        assert_eq!(ci_imm(0x1501), -32);
        // c.lui a0,0xfffff = 0x757d: nzimm = -4096.
        assert_eq!(lui_imm(0x757d), -4096);
        // c.lui a0,0x1f = 0x657d.
        assert_eq!(lui_imm(0x657d), 0x1f000);
        assert_eq!(lui_imm(0x7501), -0x20000);
    }

    #[test]
    fn stack_pointer_immediates() {
        // c.addi16sp sp,-512 = 0x7101; sp,496 = 0x617d; sp,16 = 0x6141.
        assert_eq!(addi16sp_imm(0x7101), -512);
        assert_eq!(addi16sp_imm(0x617d), 496);
        assert_eq!(addi16sp_imm(0x6141), 16);
        // c.addi4spn s0,sp,4 = 0x0040; s0,sp,32 = 0x1000; a5,sp,1020 = 0x1ffc.
        assert_eq!(addi4spn_imm(0x0040), 4);
        assert_eq!(addi4spn_imm(0x1000), 32);
        assert_eq!(addi4spn_imm(0x1ffc), 1020);
    }

    #[test]
    fn load_store_offsets() {
        // Every offset bit of each format set: the largest offset.
        assert_eq!(clw_imm(0x1c60), 124);
        assert_eq!(cld_imm(0x1c60), 248);
        assert_eq!(lwsp_imm(0x107c), 252);
        assert_eq!(ldsp_imm(0x107c), 504);
        assert_eq!(swsp_imm(0x1f80), 252);
        assert_eq!(sdsp_imm(0x1f80), 504);
        // Single bits land where the format says: c.lw uimm[6] is bit 5, uimm[2] is bit 6.
        assert_eq!(clw_imm(0x0020), 64);
        assert_eq!(clw_imm(0x0040), 4);
        // c.fldsp fs4,192(sp) = 0x2a0e.
        assert_eq!(ldsp_imm(0x2a0e), 192);
    }

    #[test]
    fn jump_and_branch_offsets() {
        // c.j with every offset bit: -2; with only bit 12: -2048.
        assert_eq!(cj_imm(0x1ffc), -2);
        assert_eq!(cj_imm(0x1000), -2048);
        assert_eq!(cj_imm(0x0004), 32);
        assert_eq!(cj_imm(0x0100), 1024);
        // c.beqz a0,+6 = 0xc119.
        assert_eq!(cb_imm(0xc119), 6);
        assert_eq!(cb_imm(0x1000), -256);
        assert_eq!(cb_imm(0x1c7c), -2);
        assert_eq!(cb_imm(0x0004), 32);
    }
}
