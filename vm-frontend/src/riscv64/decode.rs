//! Decoder for the 32-bit encodings: RV64I, M, A, F, D, Zicsr, Zifencei, Zba, Zbb, Zbs, Zihintpause
//! and the privileged instructions of machine and supervisor mode.
//!
//! Written by hand rather than taken from a crate: the published RISC-V decoders either stop at
//! RV64GC without the bit-manipulation extensions, need `std`, or produce types shaped for their own
//! emulators rather than for our IR lowering. Every encoding the specification reserves is
//! [`Illegal`]; decoding is a pure function of the 32 bits and never panics.

use super::Illegal;
use super::csr::Csr;
use super::decode_fp;
use super::insn::{
    AluOp, AmoOp, AmoWidth, BranchCond, CsrOp, CsrSrc, FenceSet, Insn, LoadOp, MulDivOp, Op,
    StoreOp, UnaryOp,
};
use super::reg::XReg;

/// Decodes a 32-bit instruction word (its low two bits must be `0b11`; other words are not 32-bit
/// instructions and are illegal here — use [`super::decode`] to dispatch on the length).
pub fn decode_full(raw: u32) -> Result<Insn, Illegal> {
    if raw & 0b11 != 0b11 {
        return Err(Illegal { raw });
    }
    decode_op(raw).map(Insn::full).ok_or(Illegal { raw })
}

/// `rd`, bits 11:7.
pub(super) const fn rd(raw: u32) -> XReg {
    XReg::from_field(raw >> 7)
}

/// `rs1`, bits 19:15.
pub(super) const fn rs1(raw: u32) -> XReg {
    XReg::from_field(raw >> 15)
}

/// `rs2`, bits 24:20.
pub(super) const fn rs2(raw: u32) -> XReg {
    XReg::from_field(raw >> 20)
}

/// `funct3`, bits 14:12.
pub(super) const fn funct3(raw: u32) -> u32 {
    (raw >> 12) & 7
}

/// `funct7`, bits 31:25.
pub(super) const fn funct7(raw: u32) -> u32 {
    raw >> 25
}

/// The sign-extended I-type immediate, bits 31:20.
pub(crate) const fn i_imm(raw: u32) -> i32 {
    (raw as i32) >> 20
}

/// The sign-extended S-type immediate, bits 31:25 and 11:7.
pub(crate) const fn s_imm(raw: u32) -> i32 {
    (((raw as i32) >> 25) << 5) | ((raw >> 7) & 0x1f) as i32
}

/// The sign-extended B-type offset: imm\[12|10:5\] in bits 31:25, imm\[4:1|11\] in bits 11:7.
pub(crate) const fn b_imm(raw: u32) -> i32 {
    (((raw as i32) >> 31) << 12)
        | (((raw >> 7) & 1) << 11) as i32
        | (((raw >> 25) & 0x3f) << 5) as i32
        | (((raw >> 8) & 0xf) << 1) as i32
}

/// The U-type immediate, bits 31:12 in place (low twelve bits zero).
pub(crate) const fn u_imm(raw: u32) -> i32 {
    (raw & 0xffff_f000) as i32
}

/// The sign-extended J-type offset: imm\[20|10:1|11|19:12\] in bits 31:12.
pub(crate) const fn j_imm(raw: u32) -> i32 {
    (((raw as i32) >> 31) << 20)
        | (raw & 0x000f_f000) as i32
        | (((raw >> 20) & 1) << 11) as i32
        | (((raw >> 21) & 0x3ff) << 1) as i32
}

fn decode_op(raw: u32) -> Option<Op> {
    let (rd, rs1, rs2) = (rd(raw), rs1(raw), rs2(raw));
    match (raw >> 2) & 0x1f {
        0x0d => Some(Op::Lui {
            rd,
            imm: u_imm(raw),
        }),
        0x05 => Some(Op::Auipc {
            rd,
            imm: u_imm(raw),
        }),
        0x1b => Some(Op::Jal {
            rd,
            offset: j_imm(raw),
        }),
        0x19 => (funct3(raw) == 0).then_some(Op::Jalr {
            rd,
            rs1,
            offset: i_imm(raw),
        }),
        0x18 => {
            let cond = match funct3(raw) {
                0 => BranchCond::Eq,
                1 => BranchCond::Ne,
                4 => BranchCond::Lt,
                5 => BranchCond::Ge,
                6 => BranchCond::Ltu,
                7 => BranchCond::Geu,
                _ => return None,
            };
            Some(Op::Branch {
                cond,
                rs1,
                rs2,
                offset: b_imm(raw),
            })
        }
        0x00 => {
            let op = match funct3(raw) {
                0 => LoadOp::Lb,
                1 => LoadOp::Lh,
                2 => LoadOp::Lw,
                3 => LoadOp::Ld,
                4 => LoadOp::Lbu,
                5 => LoadOp::Lhu,
                6 => LoadOp::Lwu,
                _ => return None,
            };
            Some(Op::Load {
                op,
                rd,
                rs1,
                offset: i_imm(raw),
            })
        }
        0x08 => {
            let op = match funct3(raw) {
                0 => StoreOp::Sb,
                1 => StoreOp::Sh,
                2 => StoreOp::Sw,
                3 => StoreOp::Sd,
                _ => return None,
            };
            Some(Op::Store {
                op,
                rs1,
                rs2,
                offset: s_imm(raw),
            })
        }
        0x04 => op_imm(raw),
        0x06 => op_imm_32(raw),
        0x0c => op_reg(raw),
        0x0e => op_reg_32(raw),
        0x03 => misc_mem(raw),
        0x1c => system(raw),
        0x0b => amo(raw),
        0x01 | 0x09 => decode_fp::fp_load_store(raw),
        0x10..=0x13 => decode_fp::fp_fma(raw),
        0x14 => decode_fp::op_fp(raw),
        _ => None,
    }
}

/// OP-IMM: `addi` .. `andi`, the 64-bit shifts, and the Zbb/Zbs immediate and unary forms.
fn op_imm(raw: u32) -> Option<Op> {
    let (rd, rs1, imm) = (rd(raw), rs1(raw), i_imm(raw));
    let shamt = ((raw >> 20) & 0x3f) as i32;
    let funct6 = raw >> 26;
    let op = match funct3(raw) {
        0 => AluOp::Add,
        2 => AluOp::Slt,
        3 => AluOp::Sltu,
        4 => AluOp::Xor,
        6 => AluOp::Or,
        7 => AluOp::And,
        1 => {
            let op = match funct6 {
                0b000000 => AluOp::Sll,
                0b010010 => AluOp::Bclr,
                0b001010 => AluOp::Bset,
                0b011010 => AluOp::Binv,
                0b011000 => {
                    let op = match raw >> 20 {
                        0x600 => UnaryOp::Clz,
                        0x601 => UnaryOp::Ctz,
                        0x602 => UnaryOp::Cpop,
                        0x604 => UnaryOp::SextB,
                        0x605 => UnaryOp::SextH,
                        _ => return None,
                    };
                    return Some(Op::Unary { op, rd, rs1 });
                }
                _ => return None,
            };
            return Some(Op::AluImm {
                op,
                rd,
                rs1,
                imm: shamt,
            });
        }
        _ => {
            // funct3 5: right shifts, rotate, bit extract, orc.b, rev8.
            match raw >> 20 {
                0x287 => {
                    return Some(Op::Unary {
                        op: UnaryOp::OrcB,
                        rd,
                        rs1,
                    });
                }
                0x6b8 => {
                    return Some(Op::Unary {
                        op: UnaryOp::Rev8,
                        rd,
                        rs1,
                    });
                }
                _ => {}
            }
            let op = match funct6 {
                0b000000 => AluOp::Srl,
                0b010000 => AluOp::Sra,
                0b011000 => AluOp::Ror,
                0b010010 => AluOp::Bext,
                _ => return None,
            };
            return Some(Op::AluImm {
                op,
                rd,
                rs1,
                imm: shamt,
            });
        }
    };
    Some(Op::AluImm { op, rd, rs1, imm })
}

/// OP-IMM-32: `addiw`, the 32-bit shifts, `roriw`, `slli.uw` and the 32-bit counts.
fn op_imm_32(raw: u32) -> Option<Op> {
    let (rd, rs1) = (rd(raw), rs1(raw));
    let shamt5 = ((raw >> 20) & 0x1f) as i32;
    match (funct3(raw), funct7(raw)) {
        (0, _) => Some(Op::AluImmW {
            op: AluOp::Add,
            rd,
            rs1,
            imm: i_imm(raw),
        }),
        (1, 0b0000000) => Some(Op::AluImmW {
            op: AluOp::Sll,
            rd,
            rs1,
            imm: shamt5,
        }),
        (1, 0b0000100 | 0b0000101) => Some(Op::AluImm {
            op: AluOp::SllUw,
            rd,
            rs1,
            imm: ((raw >> 20) & 0x3f) as i32,
        }),
        (1, 0b0110000) => {
            let op = match (raw >> 20) & 0x1f {
                0 => UnaryOp::Clzw,
                1 => UnaryOp::Ctzw,
                2 => UnaryOp::Cpopw,
                _ => return None,
            };
            Some(Op::Unary { op, rd, rs1 })
        }
        (5, 0b0000000) => Some(Op::AluImmW {
            op: AluOp::Srl,
            rd,
            rs1,
            imm: shamt5,
        }),
        (5, 0b0100000) => Some(Op::AluImmW {
            op: AluOp::Sra,
            rd,
            rs1,
            imm: shamt5,
        }),
        (5, 0b0110000) => Some(Op::AluImmW {
            op: AluOp::Ror,
            rd,
            rs1,
            imm: shamt5,
        }),
        _ => None,
    }
}

/// OP: the register-register ALU of RV64I, M, Zba, Zbb and Zbs.
fn op_reg(raw: u32) -> Option<Op> {
    let (rd, rs1, rs2) = (rd(raw), rs1(raw), rs2(raw));
    if funct7(raw) == 1 {
        let op = match funct3(raw) {
            0 => MulDivOp::Mul,
            1 => MulDivOp::Mulh,
            2 => MulDivOp::Mulhsu,
            3 => MulDivOp::Mulhu,
            4 => MulDivOp::Div,
            5 => MulDivOp::Divu,
            6 => MulDivOp::Rem,
            _ => MulDivOp::Remu,
        };
        return Some(Op::MulDiv { op, rd, rs1, rs2 });
    }
    let op = match (funct7(raw), funct3(raw)) {
        (0b0000000, 0) => AluOp::Add,
        (0b0000000, 1) => AluOp::Sll,
        (0b0000000, 2) => AluOp::Slt,
        (0b0000000, 3) => AluOp::Sltu,
        (0b0000000, 4) => AluOp::Xor,
        (0b0000000, 5) => AluOp::Srl,
        (0b0000000, 6) => AluOp::Or,
        (0b0000000, 7) => AluOp::And,
        (0b0100000, 0) => AluOp::Sub,
        (0b0100000, 5) => AluOp::Sra,
        (0b0100000, 4) => AluOp::Xnor,
        (0b0100000, 6) => AluOp::Orn,
        (0b0100000, 7) => AluOp::Andn,
        (0b0010000, 2) => AluOp::Sh1add,
        (0b0010000, 4) => AluOp::Sh2add,
        (0b0010000, 6) => AluOp::Sh3add,
        (0b0000101, 4) => AluOp::Min,
        (0b0000101, 5) => AluOp::Minu,
        (0b0000101, 6) => AluOp::Max,
        (0b0000101, 7) => AluOp::Maxu,
        (0b0110000, 1) => AluOp::Rol,
        (0b0110000, 5) => AluOp::Ror,
        (0b0100100, 1) => AluOp::Bclr,
        (0b0100100, 5) => AluOp::Bext,
        (0b0110100, 1) => AluOp::Binv,
        (0b0010100, 1) => AluOp::Bset,
        _ => return None,
    };
    Some(Op::Alu { op, rd, rs1, rs2 })
}

/// OP-32: the word-sized register-register operations, and the `.uw` forms of Zba.
fn op_reg_32(raw: u32) -> Option<Op> {
    let (rd, rs1, rs2) = (rd(raw), rs1(raw), rs2(raw));
    let w = |op| Some(Op::AluW { op, rd, rs1, rs2 });
    let full = |op| Some(Op::Alu { op, rd, rs1, rs2 });
    let muldiv = |op| Some(Op::MulDivW { op, rd, rs1, rs2 });
    match (funct7(raw), funct3(raw)) {
        (0b0000000, 0) => w(AluOp::Add),
        (0b0000000, 1) => w(AluOp::Sll),
        (0b0000000, 5) => w(AluOp::Srl),
        (0b0100000, 0) => w(AluOp::Sub),
        (0b0100000, 5) => w(AluOp::Sra),
        (0b0110000, 1) => w(AluOp::Rol),
        (0b0110000, 5) => w(AluOp::Ror),
        (0b0000001, 0) => muldiv(MulDivOp::Mul),
        (0b0000001, 4) => muldiv(MulDivOp::Div),
        (0b0000001, 5) => muldiv(MulDivOp::Divu),
        (0b0000001, 6) => muldiv(MulDivOp::Rem),
        (0b0000001, 7) => muldiv(MulDivOp::Remu),
        (0b0000100, 0) => full(AluOp::AddUw),
        (0b0000100, 4) if rs2.is_zero() => Some(Op::Unary {
            op: UnaryOp::ZextH,
            rd,
            rs1,
        }),
        (0b0010000, 2) => full(AluOp::Sh1addUw),
        (0b0010000, 4) => full(AluOp::Sh2addUw),
        (0b0010000, 6) => full(AluOp::Sh3addUw),
        _ => None,
    }
}

/// MISC-MEM: `fence` (with its hint forms `fence.tso` and `pause`) and `fence.i`.
fn misc_mem(raw: u32) -> Option<Op> {
    match funct3(raw) {
        0 => Some(Op::Fence {
            pred: FenceSet(((raw >> 24) & 0xf) as u8),
            succ: FenceSet(((raw >> 20) & 0xf) as u8),
            fm: (raw >> 28) as u8,
        }),
        1 => Some(Op::FenceI),
        _ => None,
    }
}

/// SYSTEM: environment calls, trap returns, `wfi`, `sfence.vma` and the CSR instructions.
fn system(raw: u32) -> Option<Op> {
    let (rd, rs1) = (rd(raw), rs1(raw));
    let csr = Csr::from_field(raw >> 20);
    let (op, src) = match funct3(raw) {
        0 => {
            return match raw {
                0x0000_0073 => Some(Op::Ecall),
                0x0010_0073 => Some(Op::Ebreak),
                0x1020_0073 => Some(Op::Sret),
                0x3020_0073 => Some(Op::Mret),
                0x1050_0073 => Some(Op::Wfi),
                _ if funct7(raw) == 0b0001001 && rd.is_zero() => {
                    Some(Op::SfenceVma { rs1, rs2: rs2(raw) })
                }
                _ => None,
            };
        }
        1 => (CsrOp::Rw, CsrSrc::Reg(rs1)),
        2 => (CsrOp::Rs, CsrSrc::Reg(rs1)),
        3 => (CsrOp::Rc, CsrSrc::Reg(rs1)),
        5 => (CsrOp::Rw, CsrSrc::Imm(rs1.num())),
        6 => (CsrOp::Rs, CsrSrc::Imm(rs1.num())),
        7 => (CsrOp::Rc, CsrSrc::Imm(rs1.num())),
        _ => return None,
    };
    Some(Op::Csr { op, rd, csr, src })
}

/// AMO: `lr`, `sc` and the read-modify-write atomics, 32 and 64 bits.
fn amo(raw: u32) -> Option<Op> {
    let (rd, rs1, rs2) = (rd(raw), rs1(raw), rs2(raw));
    let width = match funct3(raw) {
        2 => AmoWidth::W,
        3 => AmoWidth::D,
        _ => return None,
    };
    let aq = (raw >> 26) & 1 == 1;
    let rl = (raw >> 25) & 1 == 1;
    let op = match raw >> 27 {
        0b00010 => {
            return rs2.is_zero().then_some(Op::Lr {
                width,
                aq,
                rl,
                rd,
                rs1,
            });
        }
        0b00011 => {
            return Some(Op::Sc {
                width,
                aq,
                rl,
                rd,
                rs1,
                rs2,
            });
        }
        0b00001 => AmoOp::Swap,
        0b00000 => AmoOp::Add,
        0b00100 => AmoOp::Xor,
        0b01100 => AmoOp::And,
        0b01000 => AmoOp::Or,
        0b10000 => AmoOp::Min,
        0b10100 => AmoOp::Max,
        0b11000 => AmoOp::Minu,
        0b11100 => AmoOp::Maxu,
        _ => return None,
    };
    Some(Op::Amo {
        op,
        width,
        aq,
        rl,
        rd,
        rs1,
        rs2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i_and_s_immediates_sign_extend() {
        assert_eq!(i_imm(0x7ff0_0000), 2047);
        assert_eq!(i_imm(0x8000_0000), -2048);
        assert_eq!(i_imm(0xfff0_0000), -1);
        assert_eq!(i_imm(0x000f_ffff), 0);
        // sd a0,-8(sp) = 0xfea13c23.
        assert_eq!(s_imm(0xfea1_3c23), -8);
        assert_eq!(s_imm(0x7e00_0f80), 2047);
        assert_eq!(s_imm(0x8000_0000), -2048);
    }

    #[test]
    fn b_immediate_scramble() {
        // Only imm[12] (bit 31): -4096.
        assert_eq!(b_imm(0x8000_0000), -4096);
        // Only imm[11] (bit 7).
        assert_eq!(b_imm(0x0000_0080), 2048);
        // imm[10:5] (bits 30:25) and imm[4:1] (bits 11:8).
        assert_eq!(b_imm(0x7e00_0000), 0x7e0);
        assert_eq!(b_imm(0x0000_0f00), 0x1e);
        // Every immediate bit set: -2.
        assert_eq!(b_imm(0xfe00_0f80), -2);
        // beqz a0,-96 from objdump: 0xfa0508e3.
        assert_eq!(b_imm(0xfa05_08e3), -0x50);
    }

    #[test]
    fn u_and_j_immediates() {
        assert_eq!(u_imm(0x1234_5537), 0x1234_5000);
        assert_eq!(u_imm(0xffff_f537), -4096);
        // Only imm[20] (bit 31).
        assert_eq!(j_imm(0x8000_0000), -(1 << 20));
        // imm[19:12] in place.
        assert_eq!(j_imm(0x000f_f000), 0xff000);
        // imm[11] is bit 20.
        assert_eq!(j_imm(0x0010_0000), 0x800);
        // imm[10:1] are bits 30:21.
        assert_eq!(j_imm(0x7fe0_0000), 0x7fe);
        // j -0x70 from objdump: 0xf91ff06f.
        assert_eq!(j_imm(0xf91f_f06f), -0x70);
    }
}
